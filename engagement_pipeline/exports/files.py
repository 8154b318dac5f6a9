"""The files of a day's export folder: names, exact headers, hashed columns, platform
minimums, and the `ExportBundle` that holds a day's files before they are written."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import polars as pl

from engagement_pipeline.exports.audiences.platforms import FILES as AUDIENCE_FILES
from engagement_pipeline.exports.icp import ICP_HEADER
from engagement_pipeline.exports.lists import LIST_HEADERS

PLATFORM_MINIMUMS = {"lookalike_google.csv": 100, "lookalike_meta.csv": 100, "lookalike_linkedin_companies.csv": 300}
ICP_SUMMARY = "icp_summary.md"
EXPORT_FILES = (
    "lookalike_google.csv",
    "lookalike_meta.csv",
    "lookalike_linkedin_companies.csv",
    "icp_profile.csv",
    ICP_SUMMARY,
    "pql_accounts.csv",
    "at_risk_accounts.csv",
    "expansion_accounts.csv",
    "case_study_candidates.csv",
    "feature_adoption_gaps.csv",
)
TEXT_FILES = frozenset({ICP_SUMMARY})
HASHED_COLUMNS = {spec.file: spec.hashed for spec in AUDIENCE_FILES.values() if spec.hashed}
EXACT_HEADERS: dict[str, tuple[str, ...]] = {
    **{spec.file: spec.header for spec in AUDIENCE_FILES.values()},
    "icp_profile.csv": ICP_HEADER,
    **LIST_HEADERS,
}
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


def text_of(frame: pl.DataFrame) -> str:
    return "".join(f"{line}\n" for line in frame["line"].to_list())
