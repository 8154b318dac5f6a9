"""One way to keep people's data out of what operators see: Dagster metadata, check samples
and logs (exports have their own rules, in `exports/privacy.py`, on the same patterns).

User ids are often emails with Segment, so every person id shown anywhere but the warehouse
is the same pseudonym, `user-` + the first 12 hex digits of its SHA-256 (stable, so a row in
the UI can still be found in the warehouse by hashing the id there); names, emails and phone
numbers are not shown at all; any other text is shown with what looks like an email or a phone
number masked.
"""

from __future__ import annotations

import hashlib
import re

EMAIL_RE = r"[^\s@,;:<>()\[\]\"']+@[^\s@,;:<>()\[\]\"']+\.[A-Za-z]{2,}"  # for polars (linear-time engine)
# Python's backtracking `re` needs the local part anchored at a separator: without the
# lookbehind a long run with no separator (a base64 image) costs quadratic time to reject.
EMAIL_SCAN = re.compile(r"(?<![^\s@,;:<>()\[\]\"'])" + EMAIL_RE)
PHONE_RE = r"\+?\d(?:[\s().-]*\d){8,}"  # nine or more digits in a phone-like run
_PHONE_SCAN = re.compile(PHONE_RE)

# Columns naming a person: shown as pseudonyms.
PERSON_ID_COLUMNS = frozenset({"user_id", "anonymous_id", "previous_id", "canonical_user_id"})
# Columns holding a person's contact data or a raw line (which may hold anything): never shown.
HIDDEN_COLUMNS = frozenset({"email", "phone", "first_name", "last_name", "payload", "line", "traits"})


def pseudonym(user_id: str) -> str:
    """The one pseudonym of a person id in metadata and logs."""
    return "user-" + hashlib.sha256(user_id.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def mask_text(text: str) -> str:
    """Free text with anything shaped like an email or a phone number masked."""
    return _PHONE_SCAN.sub("[phone removed]", EMAIL_SCAN.sub("[email removed]", text))


def shown(column: str, value: object) -> str:
    """How one cell of column `column` may be shown outside the warehouse."""
    if value is None:
        return ""
    if column in HIDDEN_COLUMNS:
        return "[hidden]"
    if column in PERSON_ID_COLUMNS:
        return pseudonym(str(value))
    return mask_text(str(value)) if isinstance(value, str) else str(value)
