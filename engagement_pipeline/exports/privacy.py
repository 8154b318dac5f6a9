"""What keeps personal data and spreadsheet formulas out of the human-facing files.

The lists and the ICP are read by people in spreadsheets: their text columns are
formula-neutralized, anything shaped like an email is blanked, and a user id that is
itself an email or phone number is replaced by a pseudonym. The patterns are shared
with the export verifier, which checks written files for clear-text emails.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from engagement_pipeline.core.privacy import EMAIL_RE, PHONE_RE, pseudonym
from engagement_pipeline.exports.audiences.normalize import neutralize_formula

# Free-text name columns, where an email or a phone number is masked before any file or page is
# built ("Jane Doe's workspace (+1 512 503 2107)"); the verifier refuses a phone in them too.
NAME_COLUMNS = frozenset({"name", "account_name", "companyname"})


def mask_personal(text: pl.Expr) -> pl.Expr:
    """Anything shaped like an email or a phone number in free text, masked."""
    return text.str.replace_all(EMAIL_RE, "[email removed]").str.replace_all(PHONE_RE, "[phone removed]")


def mask_names(frame: pl.DataFrame) -> pl.DataFrame:
    """`mask_personal` on the frame's name columns (see NAME_COLUMNS)."""
    names = [c for c, t in frame.schema.items() if c in NAME_COLUMNS and t == pl.String]
    return frame.with_columns(mask_personal(pl.col(c)) for c in names)


def neutralize(frame: pl.DataFrame, columns: Sequence[str] | None = None) -> pl.DataFrame:
    """Formula-neutralize text columns (all String columns by default) of a human-facing file."""
    names = [c for c, t in frame.schema.items() if t == pl.String] if columns is None else list(columns)
    return frame.with_columns(pl.col(c).map_elements(neutralize_formula, return_dtype=pl.String) for c in names)


def scrub_emails(frame: pl.DataFrame) -> pl.DataFrame:
    """Blank out anything shaped like an email address in the text columns of a list."""
    names = [c for c, t in frame.schema.items() if t == pl.String]
    return frame.with_columns(pl.col(c).str.replace_all(EMAIL_RE, "[email removed]") for c in names)


def public_user_id(user_id: pl.Expr) -> pl.Expr:
    """User ids are fine in lists, unless the id is an email or a phone number: then a pseudonym
    (`user-` + the first 12 hex digits of its SHA-256) replaces it."""
    personal = user_id.str.contains("@", literal=True) | user_id.str.contains(r"^\+\d")
    digest = user_id.map_elements(pseudonym, return_dtype=pl.String)
    return pl.when(personal).then(digest).otherwise(user_id)
