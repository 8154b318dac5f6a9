"""The files of a day's export folder: names, exact headers, hashed columns, platform
minimums, and the `ExportBundle` that holds a day's files before they are written."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import polars as pl

from engagement_pipeline.exports.audiences.platforms import FILES as AUDIENCE_FILES
from engagement_pipeline.exports.contacts import CONTACTS_FILE, CONTACTS_HEADER, CONTACTS_KEY
from engagement_pipeline.exports.crm import CRM_HEADERS, HUBSPOT_FILE, SALESFORCE_FILE
from engagement_pipeline.exports.icp import ICP_HEADER
from engagement_pipeline.exports.lists import LIST_HEADERS
from engagement_pipeline.exports.upload import UPLOAD_GUIDE

PLATFORM_MINIMUMS = {
    "lookalike_google.csv": 100,
    "lookalike_meta.csv": 100,
    "lookalike_linkedin_companies.csv": 300,
    "lookalike_linkedin_contacts.csv": 300,
}
ICP_SUMMARY = "icp_summary.md"
EXPORT_FILES = (
    "lookalike_google.csv",
    "lookalike_meta.csv",
    "lookalike_linkedin_companies.csv",
    "lookalike_linkedin_contacts.csv",
    "icp_profile.csv",
    ICP_SUMMARY,
    "pql_accounts.csv",
    "at_risk_accounts.csv",
    "expansion_accounts.csv",
    "case_study_candidates.csv",
    "feature_adoption_gaps.csv",
    "new_and_ramping_accounts.csv",
    "churned_accounts.csv",
    UPLOAD_GUIDE,
)
# Written only when configured (`destinations.crm_files`, `exports.include_contacts`), after the files above.
OPTIONAL_FILES = (HUBSPOT_FILE, SALESFORCE_FILE, CONTACTS_FILE)
TEXT_FILES = frozenset({ICP_SUMMARY, UPLOAD_GUIDE})
HASHED_COLUMNS = {spec.file: spec.hashed for spec in AUDIENCE_FILES.values() if spec.hashed}
EXACT_HEADERS: dict[str, tuple[str, ...]] = {
    **{spec.file: spec.header for spec in AUDIENCE_FILES.values()},
    "icp_profile.csv": ICP_HEADER,
    **LIST_HEADERS,
    **CRM_HEADERS,
    CONTACTS_FILE: CONTACTS_HEADER,
}
# The one file meant to hold clear-text emails (the verifier's email scan skips these columns)...
PERSONAL_COLUMNS: dict[str, tuple[str, ...]] = {CONTACTS_FILE: ("email",)}
# ... and its identifier (a person is there once per list and account, not once per account).
FILE_KEYS: dict[str, pl.Expr] = {CONTACTS_FILE: CONTACTS_KEY}
MANIFEST = "manifest.json"
LATEST = "latest"


@dataclass
class ExportBundle:
    """Every file of a day. `files`: name -> frame; the markdown summary is held as a one-column
    frame `line` (one row per line), so every file has a row count the manifest can carry."""

    day: dt.date
    files: dict[str, pl.DataFrame]
    warnings: list[str] = field(default_factory=list)
    audience_stats: dict[str, dict[str, object]] = field(default_factory=dict)
    selection: dict[str, object] = field(default_factory=dict)
    # Report page and charts written beside the files above (name -> bytes); listed in
    # the manifest with their checksum and `rows: null`.
    attachments: dict[str, bytes] = field(default_factory=dict)

    def text(self, name: str) -> str:
        return text_of(self.files[name])

    def names(self) -> tuple[str, ...]:
        """The files to write, in order: every export file, then the optional ones the day has."""
        return (*EXPORT_FILES, *(name for name in OPTIONAL_FILES if name in self.files))


def text_of(frame: pl.DataFrame) -> str:
    return "".join(f"{line}\n" for line in frame["line"].to_list())
