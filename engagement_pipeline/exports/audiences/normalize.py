"""Normalisation and hashing of customer-list fields (emails, names, places).

Each function takes one raw value and returns the normalised text, or ``None`` when the
value is empty or unusable; none raises on any input. Countries are ISO 3166-1 via
`pycountry` (the few spellings it lacks live in `reference.py`); phones are in
`phones.py`, company fields (website, LinkedIn page, ticker) in `companies.py`.

Hashing: SHA-256 of the UTF-8 bytes of the *normalised* value, as lowercase hex.
Values that already are SHA-256 hex (64 hex characters) pass through, lowercased,
so a list that was hashed upstream can be re-exported.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache
from typing import Literal

import pycountry

from engagement_pipeline.exports.audiences.reference import (
    COUNTRY_SYNONYMS,
    NAME_PREFIXES,
    NAME_SUFFIXES,
    US_STATE_SYNONYMS,
)

# ---------------------------------------------------------------------------
# Hashing
# ---------------------------------------------------------------------------

_SHA256_RE = re.compile(r"[0-9a-fA-F]{64}")


def is_sha256_hex(value: str) -> bool:
    """True when ``value`` (ignoring surrounding whitespace) is 64 hex characters."""
    if not isinstance(value, str):
        return False
    return _SHA256_RE.fullmatch(value.strip()) is not None


def sha256_hex(value: str) -> str:
    """SHA-256 of the UTF-8 bytes of ``value`` as lowercase hex.

    A value that already is a SHA-256 hex digest is returned stripped and
    lowercased instead of being hashed a second time.
    """
    if is_sha256_hex(value):
        return value.strip().lower()
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def hash_or_empty(value: str | None) -> str:
    """The digest of a normalised value, or ``""`` for a missing one (never the hash of "")."""
    return "" if not value else sha256_hex(value)


def already_hashed(raw: str | None) -> str | None:
    """The lowercased digest when ``raw`` already is SHA-256 hex, else ``None``."""
    if raw is not None and is_sha256_hex(raw):
        return raw.strip().lower()
    return None


# ---------------------------------------------------------------------------
# Small text helpers
# ---------------------------------------------------------------------------

_WS_RE = re.compile(r"\s+")
# Unicode categories Cc (C0/C1 controls), Zl and Zp.
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def clean(raw: str | None) -> str | None:
    """NFC-normalise, drop control characters, collapse whitespace, strip.

    NFC matters for hashing: "é" typed as one code point or as "e" + combining
    accent must produce the same digest.
    """
    if raw is None or not isinstance(raw, str):
        return None
    text = _CONTROL_RE.sub(" ", unicodedata.normalize("NFC", raw))
    text = _WS_RE.sub(" ", text).strip()
    return text or None


def present(raw: str | None) -> bool:
    """A value was given (something other than whitespace)."""
    return clean(raw) is not None


def _letters_only(text: str) -> str:
    """Keep Unicode letters (and combining marks, so NFC-irreducible accents stay)."""
    return "".join(ch for ch in text if unicodedata.category(ch)[0] in ("L", "M"))


# ---------------------------------------------------------------------------
# Email
# ---------------------------------------------------------------------------

_EMAIL_FORBIDDEN = set(' "(),:;<>[]\\')
_DOMAIN_LABEL_RE = re.compile(r"(?!-)[a-z0-9\u00a1-\U0010ffff-]{1,63}(?<!-)")
_TLD_RE = re.compile(r"(?:[a-z\u00a1-\U0010ffff]{2,63}|xn--[a-z0-9-]{1,59})")


def normalize_email(raw: str | None) -> str | None:
    """Trim and lowercase an email; ``None`` when empty or malformed.

    Validation is deliberately pragmatic (one ``@``, no whitespace or quoting,
    dotted domain with an alphabetic TLD), not full RFC 5322: quoted local
    parts and IP-literal domains never match on ad platforms anyway. Gmail
    dots are *not* removed (Customer Match file rules: trim + lowercase only).
    """
    text = clean(raw)
    if text is None:
        return None
    text = text.lower()
    if text.startswith("mailto:"):
        text = text[len("mailto:") :].strip()
    if len(text) > 254 or text.count("@") != 1:
        return None
    if any(ch in _EMAIL_FORBIDDEN or not ch.isprintable() for ch in text):
        return None
    local, domain = text.split("@")
    if not local or len(local) > 64 or local.startswith(".") or local.endswith(".") or ".." in local:
        return None
    labels = domain.split(".")
    if len(labels) < 2 or not all(_DOMAIN_LABEL_RE.fullmatch(label) for label in labels):
        return None
    if not _TLD_RE.fullmatch(labels[-1]):
        return None
    return text


GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})


def google_email(email: str | None) -> str | None:
    """Google's own addresses as Google matches them (its Data Manager API formatting guide): in a
    gmail.com or googlemail.com address the dots before the @ and a ``+suffix`` are removed
    ("cloudy.sanfrancisco+shopping@gmail.com" -> "cloudysanfrancisco@gmail.com"); other domains keep
    theirs ("user.name+nyc@example.com" stays). Takes a normalised email (or a digest, returned as is)."""
    if email is None or "@" not in email:
        return email
    local, domain = email.split("@")
    if domain not in GMAIL_DOMAINS:
        return email
    local = local.split("+", 1)[0].replace(".", "")
    return f"{local}@{domain}" if local else None


# ---------------------------------------------------------------------------
# Countries (pycountry) and US states (pycountry's ISO 3166-2:US)
# ---------------------------------------------------------------------------


def country_key(text: str) -> str:
    """Fold a place spelling to a lookup key: ASCII, lowercase, no dots/apostrophes."""
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch)).casefold()
    folded = folded.replace("&", " and ")
    folded = re.sub(r"[.'\u2019`]", "", folded)
    folded = re.sub(r"[^0-9a-z]+", " ", folded).strip()
    if folded.startswith("the "):
        folded = folded[4:]
    return folded


def _add(lookup: dict[str, str], spelling: str, code: str) -> None:
    key = country_key(spelling)
    existing = lookup.setdefault(key, code)
    if existing != code:
        raise AssertionError(f"{spelling!r} would mean both {existing} and {code}")


@lru_cache(maxsize=1)
def country_lookup() -> dict[str, str]:
    """Folded spelling -> lowercase alpha-2: every ISO 3166-1 code and name, then the synonyms."""
    lookup: dict[str, str] = {}
    for country in pycountry.countries:
        alpha2 = country.alpha_2.lower()
        for attribute in ("alpha_2", "alpha_3", "name", "official_name", "common_name"):
            spelling = getattr(country, attribute, None)
            if spelling:
                _add(lookup, spelling, alpha2)
    for synonym, alpha2 in COUNTRY_SYNONYMS.items():
        _add(lookup, synonym, alpha2)
    return lookup


@lru_cache(maxsize=4096)
def normalize_country(raw: str | None) -> str | None:
    """Lowercase ISO 3166-1 alpha-2 code, or ``None`` for empty/unknown input.

    Accepts alpha-2 ("us", "GB"), alpha-3 ("USA", "DEU"), ISO English names
    ("United Kingdom", "Korea, Republic of"), and the synonyms of `reference.py`
    ("UK", "U.S.A.", "Deutschland"). Anything else is ``None`` (callers count it
    as ``unknown_country``).
    """
    text = clean(raw)
    if text is None:
        return None
    key = country_key(text)
    if not key:
        return None
    lookup = country_lookup()
    found = lookup.get(key)
    if found is None and " " in key:
        # "U S", "U K": spaced-out codes.
        compact = key.replace(" ", "")
        found = lookup.get(compact) if len(compact) <= 3 else None
    return found


@lru_cache(maxsize=1)
def us_state_lookup() -> dict[str, str]:
    """Folded US state name or code -> lowercase USPS code (ISO 3166-2:US, then synonyms)."""
    lookup: dict[str, str] = {}
    for subdivision in pycountry.subdivisions.get(country_code="US") or ():
        code = subdivision.code.split("-", 1)[1].lower()
        _add(lookup, subdivision.name, code)
        _add(lookup, code, code)
    for synonym, code in US_STATE_SYNONYMS.items():
        _add(lookup, synonym, code)
    return lookup


# ---------------------------------------------------------------------------
# Names, city, state
# ---------------------------------------------------------------------------


def _title_key(token: str) -> str:
    return token.replace(".", "").strip(",;")


def _strip_titles(text: str) -> str:
    """Drop leading honorifics and trailing generational/professional suffixes.

    The last remaining token is never dropped, so a name that *is* a title-like
    word (e.g. the Bangladeshi first name "Md") survives when it stands alone.
    """
    tokens = text.split(" ")
    while len(tokens) > 1 and _title_key(tokens[0]) in NAME_PREFIXES:
        tokens.pop(0)
    while len(tokens) > 1 and _title_key(tokens[-1]) in NAME_SUFFIXES:
        tokens.pop()
    return " ".join(tokens).strip(" ,;")


@lru_cache(maxsize=65536)
def normalize_name(raw: str | None) -> str | None:
    """Google name rule: trim, lowercase, drop prefixes/suffixes, keep accents.

    Internal punctuation (apostrophes, hyphens) is kept ("O'Brien" -> "o'brien").
    A value without any letter ("-", "123") is treated as missing.
    """
    text = clean(raw)
    if text is None:
        return None
    text = _strip_titles(text.lower())
    if not text or not _letters_only(text):
        return None
    return unicodedata.normalize("NFC", text)


@lru_cache(maxsize=65536)
def normalize_name_meta(raw: str | None) -> str | None:
    """Meta name rule: the Google rule, then letters only (no punctuation, digits
    or spaces: "O'Brien" -> "obrien", "Mary Ann" -> "maryann"). Accented letters
    are kept as UTF-8 (Meta's SDK would strip them to a-z; Meta's docs accept UTF-8)."""
    text = normalize_name(raw)
    if text is None:
        return None
    return _letters_only(text) or None


@lru_cache(maxsize=65536)
def normalize_city_meta(raw: str | None) -> str | None:
    """Meta city rule: lowercase letters only ("St. Louis" -> "stlouis")."""
    text = clean(raw)
    if text is None:
        return None
    return unicodedata.normalize("NFC", _letters_only(text.lower())) or None


@lru_cache(maxsize=65536)
def normalize_state_meta(raw: str | None, country: str | None) -> str | None:
    """Meta state rule.

    US (or country unknown): ISO 3166-2:US names and 2-letter codes map to the
    lowercase code ("California" / "CA" -> "ca"). For an explicit US country an
    unrecognised value is ``None``. Elsewhere (and for unmapped values without a
    country) Meta asks for lowercase without punctuation or spaces, so the value is
    reduced to lowercase letters: a 2-letter code stays a code ("ON" -> "on"), a
    name stays a name ("Île-de-France" -> "îledefrance").
    """
    text = clean(raw)
    if text is None:
        return None
    alpha2 = normalize_country(country) if country is not None else None
    if alpha2 in (None, "us"):
        key = country_key(text)
        states = us_state_lookup()
        compact = key.replace(" ", "")  # "N Y" after folding "N. Y."
        found = states.get(key) or (states.get(compact) if len(compact) == 2 else None)
        if found is not None:
            return found
        if alpha2 == "us":
            return None
    return unicodedata.normalize("NFC", _letters_only(text.lower())) or None


_ZIP_RE = re.compile(r"[0-9a-z][0-9a-z-]{0,15}")
_US_ZIP_RE = re.compile(r"([0-9]{5})(?:-?([0-9]{4}))?")


@lru_cache(maxsize=65536)
def normalize_zip(raw: str | None, country: str | None, platform: Literal["google", "meta"]) -> str | None:
    """Postal code: lowercase, all whitespace removed ("SW1A 1AA" -> "sw1a1aa").

    Google (Customer Match template: US codes of 5 digits, or 5 digits and the 4-digit extension;
    other countries' codes as written): a US ZIP+4 is written ``94105-1234`` (``941051234`` too),
    a US value that is no ZIP is ``None``; elsewhere the code keeps its hyphen (``30555-451``).
    Meta keeps only the part before a hyphen, as Meta's own business SDK does (``30555-451`` ->
    ``30555``, ``100-0001`` -> ``100``), and the first 5 digits of a US ZIP+4 (``941051234`` ->
    ``94105``). Values with characters other than letters, digits and hyphens (or not starting
    with a letter/digit) are ``None`` -- no real postal code has them, and it keeps the unhashed
    Google column free of formula triggers.
    """
    text = clean(raw)
    if text is None:
        return None
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"\s+", "", text.lower())
    if _ZIP_RE.fullmatch(text) is None or not text.isascii():
        return None
    if platform not in ("google", "meta"):
        raise ValueError(f"unknown platform {platform!r}")
    alpha2 = normalize_country(country) if country is not None else None
    if alpha2 == "us":
        match = _US_ZIP_RE.fullmatch(text)
        if match is None:
            return None
        if platform == "meta" or match.group(2) is None:
            return match.group(1)
        return f"{match.group(1)}-{match.group(2)}"
    if platform == "meta":
        return text.split("-", 1)[0] or None
    return text


# ---------------------------------------------------------------------------
# Formula injection
# ---------------------------------------------------------------------------

_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralize_formula(text: str | None) -> str | None:
    """Prefix ``'`` to text a spreadsheet would evaluate as a formula.

    Triggers are ``= + - @`` and tab/CR as the first character; leading spaces
    are looked through because some spreadsheet apps trim them on import. Use
    only on human-facing text columns, never on hashed values.
    """
    if text is None:
        return None
    if text.lstrip(" ").startswith(_FORMULA_TRIGGERS):
        return "'" + text
    return text
