"""Normalisation and hashing of customer-list fields for ad-platform seed audiences.

Three exports are built here, each a pure function of a polars frame:

* :func:`google_customer_match` -- Google Ads Customer Match CSV
  (``Email,Phone,First Name,Last Name,Country,Zip``).
* :func:`meta_customer_list` -- Meta custom-audience customer list
  (``email,phone,fn,ln,ct,st,zip,country``).
* :func:`linkedin_company_list` -- LinkedIn Matched Audiences company list.

Hashing: SHA-256 of the UTF-8 bytes of the *normalised* value, as lowercase hex.
Values that already are SHA-256 hex (64 hex characters) pass through, lowercased,
so a list that was hashed upstream can be re-exported. Empty or missing values
are written as ``""`` -- never as the hash of the empty string, which would be
a real (and shared) identifier on the platform side.

Row rules for the two user-level lists (Google and Meta)
--------------------------------------------------------
Every input row ends either in ``frame`` or under exactly one ``rejected``
reason, so ``input_rows == frame.height + sum(rejected.values())`` always holds.

1. Each field is normalised independently. A value that is present but fails
   normalisation (malformed email, unusable phone, unknown country, ...) is
   *blanked*; blanked values in rows that are kept are counted per output
   column in ``AudienceResult.field_errors`` (informational only -- these
   rows are in the output, so the counts are not part of the reconciliation).
2. A row is kept when it has at least one usable identifier: a valid email
   or a valid phone (or an already-hashed one). Names and address fields
   alone never keep a row.
3. A row without a usable identifier is left out with the first reason that
   applies:

   * ``invalid_email`` -- an email was given but is malformed;
   * ``unknown_country`` -- no email, and a national-format phone could not be
     converted to E.164 because the country is missing or not recognised;
   * ``invalid_phone`` -- no email, and the phone is malformed or has fewer
     than 7 / more than 15 E.164 digits;
   * ``no_identifier`` -- neither an email nor a phone was given.

4. ``duplicate`` -- among the kept rows, the first row in input order wins
   for each dedup key: the hashed email when present, otherwise the hashed
   phone.
5. Output order is by hashed email, then hashed phone (both as written), which
   is unique after step 4 and therefore fully deterministic.

LinkedIn company list rules
---------------------------
Only ``companyname`` is required: rows without it are left out as
``no_identifier``; later rows repeating an earlier (case-insensitive name,
email domain) pair are left out as ``duplicate``. Other invalid values are
blanked and counted in ``field_errors``. Output ordered by lowercase name,
then domain.

Formula injection
-----------------
:func:`neutralize_formula` is applied to the free-text columns of the
human-facing LinkedIn file. Hashed columns are never touched. The plain
(unhashed) Google ``Country``/``Zip`` columns cannot start with a formula
trigger because normalisation only lets ``[a-z0-9-]`` through and requires a
leading letter or digit.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

import polars as pl

__all__ = [
    "GOOGLE_HEADER",
    "META_HEADER",
    "LINKEDIN_COMPANY_HEADER",
    "REJECT_REASONS",
    "AudienceResult",
    "sha256_hex",
    "is_sha256_hex",
    "normalize_email",
    "normalize_country",
    "normalize_phone_e164",
    "normalize_name",
    "normalize_name_meta",
    "normalize_city_meta",
    "normalize_state_meta",
    "normalize_zip",
    "neutralize_formula",
    "google_customer_match",
    "meta_customer_list",
    "linkedin_company_list",
]

GOOGLE_HEADER: tuple[str, ...] = ("Email", "Phone", "First Name", "Last Name", "Country", "Zip")
META_HEADER: tuple[str, ...] = ("email", "phone", "fn", "ln", "ct", "st", "zip", "country")
LINKEDIN_COMPANY_HEADER: tuple[str, ...] = (
    "companyname",
    "companywebsite",
    "companyemaildomain",
    "linkedincompanypageurl",
    "stocksymbol",
    "industry",
    "city",
    "state",
    "companycountry",
    "zipcode",
)

REJECT_REASONS: tuple[str, ...] = (
    "invalid_email",
    "invalid_phone",
    "unknown_country",
    "no_identifier",
    "duplicate",
)

# E.164 allows at most 15 digits; the brief sets 7 as the floor (shortest real
# international numbers, e.g. small island states, are 7-8 digits).
_MIN_E164_DIGITS = 7
_MAX_E164_DIGITS = 15


@dataclass(frozen=True)
class AudienceResult:
    """One platform export plus the accounting of rows that were left out.

    ``frame`` has exactly the platform header as columns (all ``pl.String``, in
    header order). ``rejected`` maps reason -> number of input rows left out,
    and always satisfies ``input_rows == frame.height + sum(rejected.values())``.
    ``field_errors`` maps output column -> number of *kept* rows where a given
    value was blanked because it failed normalisation.
    """

    frame: pl.DataFrame
    rejected: dict[str, int]
    input_rows: int
    field_errors: dict[str, int] = field(default_factory=dict)


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


def _hash_or_empty(value: str | None) -> str:
    return "" if not value else sha256_hex(value)


# ---------------------------------------------------------------------------
# Small text helpers
# ---------------------------------------------------------------------------

_WS_RE = re.compile(r"\s+")
# Unicode categories Cc (C0/C1 controls), Zl and Zp.
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _clean(raw: str | None) -> str | None:
    """NFC-normalise, drop control characters, collapse whitespace, strip.

    NFC matters for hashing: "é" typed as one code point or as "e" + combining
    accent must produce the same digest.
    """
    if raw is None or not isinstance(raw, str):
        return None
    text = _CONTROL_RE.sub(" ", unicodedata.normalize("NFC", raw))
    text = _WS_RE.sub(" ", text).strip()
    return text or None


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
    text = _clean(raw)
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


# ---------------------------------------------------------------------------
# Countries
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Country:
    alpha2: str
    alpha3: str
    calling_code: str
    # National trunk prefixes to drop before prepending the calling code.
    # Empty for countries where a leading 0 is part of the number (IT) or
    # there is no trunk prefix (NANP, ES, PT, DK, NO, ...).
    trunk: tuple[str, ...]
    names: tuple[str, ...]


_COUNTRIES: tuple[_Country, ...] = (
    # North America (NANP, calling code 1, no trunk prefix; handled specially)
    _Country("us", "usa", "1", (), ("united states", "united states of america", "america", "us of a")),
    _Country("ca", "can", "1", (), ("canada",)),
    _Country("pr", "pri", "1", (), ("puerto rico",)),
    _Country("do", "dom", "1", (), ("dominican republic", "republica dominicana")),
    _Country("mx", "mex", "52", ("044", "045", "01"), ("mexico",)),
    # Europe
    _Country(
        "gb",
        "gbr",
        "44",
        ("0",),
        (
            "united kingdom",
            "uk",
            "great britain",
            "britain",
            "england",
            "scotland",
            "wales",
            "northern ireland",
            "united kingdom of great britain and northern ireland",
        ),
    ),
    _Country("ie", "irl", "353", ("0",), ("ireland", "republic of ireland", "eire")),
    _Country("de", "deu", "49", ("0",), ("germany", "deutschland", "federal republic of germany")),
    _Country("fr", "fra", "33", ("0",), ("france",)),
    _Country("es", "esp", "34", (), ("spain", "espana")),
    _Country("pt", "prt", "351", (), ("portugal",)),
    _Country("it", "ita", "39", (), ("italy", "italia")),
    _Country("nl", "nld", "31", ("0",), ("netherlands", "holland", "nederland")),
    _Country("be", "bel", "32", ("0",), ("belgium", "belgie", "belgique", "belgien")),
    _Country("lu", "lux", "352", (), ("luxembourg", "luxemburg")),
    _Country("ch", "che", "41", ("0",), ("switzerland", "schweiz", "suisse", "svizzera")),
    _Country("at", "aut", "43", ("0",), ("austria", "osterreich", "oesterreich")),
    _Country("dk", "dnk", "45", (), ("denmark", "danmark")),
    _Country("se", "swe", "46", ("0",), ("sweden", "sverige")),
    _Country("no", "nor", "47", (), ("norway", "norge")),
    _Country("fi", "fin", "358", ("0",), ("finland", "suomi")),
    _Country("is", "isl", "354", (), ("iceland",)),
    _Country("pl", "pol", "48", (), ("poland", "polska")),
    _Country("cz", "cze", "420", (), ("czechia", "czech republic", "cesko")),
    _Country("sk", "svk", "421", ("0",), ("slovakia", "slovak republic", "slovensko")),
    _Country("hu", "hun", "36", ("06",), ("hungary", "magyarorszag")),
    _Country("ro", "rou", "40", ("0",), ("romania",)),
    _Country("bg", "bgr", "359", ("0",), ("bulgaria",)),
    _Country("gr", "grc", "30", (), ("greece", "hellas")),
    _Country("hr", "hrv", "385", ("0",), ("croatia", "hrvatska")),
    _Country("si", "svn", "386", ("0",), ("slovenia",)),
    _Country("rs", "srb", "381", ("0",), ("serbia",)),
    _Country("ua", "ukr", "380", ("0",), ("ukraine",)),
    _Country("ru", "rus", "7", ("8",), ("russia", "russian federation")),
    _Country("tr", "tur", "90", ("0",), ("turkey", "turkiye")),
    _Country("ee", "est", "372", (), ("estonia",)),
    _Country("lv", "lva", "371", (), ("latvia",)),
    _Country("lt", "ltu", "370", ("8", "0"), ("lithuania",)),
    _Country("cy", "cyp", "357", (), ("cyprus",)),
    _Country("mt", "mlt", "356", (), ("malta",)),
    # Middle East & Africa
    _Country("il", "isr", "972", ("0",), ("israel",)),
    _Country("ae", "are", "971", ("0",), ("united arab emirates", "uae", "emirates")),
    _Country("sa", "sau", "966", ("0",), ("saudi arabia", "ksa")),
    _Country("qa", "qat", "974", (), ("qatar",)),
    _Country("kw", "kwt", "965", (), ("kuwait",)),
    _Country("eg", "egy", "20", ("0",), ("egypt",)),
    _Country("za", "zaf", "27", ("0",), ("south africa", "rsa")),
    _Country("ng", "nga", "234", ("0",), ("nigeria",)),
    _Country("ke", "ken", "254", ("0",), ("kenya",)),
    _Country("gh", "gha", "233", ("0",), ("ghana",)),
    _Country("ma", "mar", "212", ("0",), ("morocco",)),
    # Asia-Pacific
    _Country("in", "ind", "91", ("0",), ("india", "bharat")),
    _Country("pk", "pak", "92", ("0",), ("pakistan",)),
    _Country("bd", "bgd", "880", ("0",), ("bangladesh",)),
    _Country("lk", "lka", "94", ("0",), ("sri lanka",)),
    _Country("cn", "chn", "86", ("0",), ("china", "peoples republic of china", "prc", "mainland china")),
    _Country("hk", "hkg", "852", (), ("hong kong", "hong kong sar")),
    _Country("tw", "twn", "886", ("0",), ("taiwan",)),
    _Country("jp", "jpn", "81", ("0",), ("japan", "nippon")),
    _Country("kr", "kor", "82", ("0",), ("south korea", "korea", "republic of korea", "korea republic of")),
    _Country("sg", "sgp", "65", (), ("singapore",)),
    _Country("my", "mys", "60", ("0",), ("malaysia",)),
    _Country("id", "idn", "62", ("0",), ("indonesia",)),
    _Country("th", "tha", "66", ("0",), ("thailand",)),
    _Country("vn", "vnm", "84", ("0",), ("vietnam", "viet nam")),
    _Country("ph", "phl", "63", ("0",), ("philippines",)),
    _Country("kz", "kaz", "7", ("8",), ("kazakhstan",)),
    _Country("au", "aus", "61", ("0",), ("australia",)),
    _Country("nz", "nzl", "64", ("0",), ("new zealand", "aotearoa")),
    # Latin America
    _Country("br", "bra", "55", ("0",), ("brazil", "brasil")),
    _Country("ar", "arg", "54", ("0",), ("argentina",)),
    _Country("cl", "chl", "56", (), ("chile",)),
    _Country("co", "col", "57", (), ("colombia",)),
    _Country("pe", "per", "51", ("0",), ("peru",)),
    _Country("uy", "ury", "598", ("0",), ("uruguay",)),
    _Country("ec", "ecu", "593", ("0",), ("ecuador",)),
    _Country("ve", "ven", "58", ("0",), ("venezuela",)),
    _Country("cr", "cri", "506", (), ("costa rica",)),
    _Country("pa", "pan", "507", (), ("panama",)),
    _Country("gt", "gtm", "502", (), ("guatemala",)),
)

_BY_ALPHA2: dict[str, _Country] = {c.alpha2: c for c in _COUNTRIES}


def _country_key(text: str) -> str:
    """Fold a country spelling to a lookup key: ASCII, lowercase, no dots/apostrophes."""
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch)).casefold()
    folded = folded.replace("&", " and ")
    folded = re.sub(r"[.'\u2019`]", "", folded)
    folded = re.sub(r"[^0-9a-z]+", " ", folded).strip()
    if folded.startswith("the "):
        folded = folded[4:]
    return folded


def _build_country_lookup() -> dict[str, str]:
    lookup: dict[str, str] = {}
    for c in _COUNTRIES:
        for key in (c.alpha2, c.alpha3, *c.names):
            key = _country_key(key)
            existing = lookup.setdefault(key, c.alpha2)
            if existing != c.alpha2:  # pragma: no cover - table sanity
                raise AssertionError(f"country alias {key!r} maps to {existing} and {c.alpha2}")
    return lookup


_COUNTRY_LOOKUP: dict[str, str] = _build_country_lookup()


@lru_cache(maxsize=4096)
def normalize_country(raw: str | None) -> str | None:
    """Lowercase ISO 3166-1 alpha-2 code, or ``None`` for empty/unknown input.

    Accepts alpha-2 ("us", "GB"), alpha-3 ("USA", "DEU"), English and common
    native names ("United Kingdom", "Deutschland"), and aliases ("UK",
    "U.S.A."). Only the countries in the module's table are known; anything
    else is ``None`` (callers count it as ``unknown_country``).
    """
    text = _clean(raw)
    if text is None:
        return None
    key = _country_key(text)
    if not key:
        return None
    found = _COUNTRY_LOOKUP.get(key)
    if found is None and " " in key:
        # "U S", "U K": spaced-out codes.
        found = _COUNTRY_LOOKUP.get(key.replace(" ", "")) if len(key.replace(" ", "")) <= 3 else None
    return found


# ---------------------------------------------------------------------------
# Phones
# ---------------------------------------------------------------------------

_CALLING_CODES: frozenset[str] = frozenset(c.calling_code for c in _COUNTRIES)
# Calling codes for which a 0 written right after the code ("+44 020 ...",
# "+49 030 ...") is always a misplaced trunk prefix: every country sharing the
# code uses trunk prefix 0. Not true for e.g. +39 (Italy keeps its leading 0).
_ZERO_TRUNK_CODES: frozenset[str] = frozenset(
    code
    for code in _CALLING_CODES
    if all("0" in c.trunk for c in _COUNTRIES if c.calling_code == code)
)
_PHONE_ALLOWED_RE = re.compile(r"\+?[0-9 .\-/()]*")
_PHONE_EXTENSION_RE = re.compile(r"\s*(?:ext\.?|extension|x|#)\s*[0-9]{1,6}\s*$", re.IGNORECASE)
_PHONE_TRUNK_IN_PARENS_RE = re.compile(r"\(\s*0\s*\)")
_DASHES_RE = re.compile(r"[\u2010-\u2015\u2212]")


def _nanp_ok(national: str) -> bool:
    """North American numbers: 10 digits, area code and exchange start with 2-9."""
    return len(national) == 10 and national[0] in "23456789" and national[3] in "23456789"


def _match_calling_code(digits: str) -> str | None:
    for length in (1, 2, 3):
        if digits[:length] in _CALLING_CODES:
            return digits[:length]
    return None


def _parse_phone(raw: str | None, country: str | None) -> tuple[str | None, str | None]:
    """Return ``(e164, None)`` or ``(None, reason)``; reason is ``invalid_phone`` or
    ``unknown_country`` (national-format number but no usable country)."""
    text = _clean(raw)
    if text is None:
        return None, "invalid_phone"
    text = unicodedata.normalize("NFKC", text)
    text = _DASHES_RE.sub("-", text)
    if text.lower().startswith("tel:"):
        text = text[4:].strip()
    text = _PHONE_EXTENSION_RE.sub("", text)
    text = _PHONE_TRUNK_IN_PARENS_RE.sub(" ", text).strip()
    if not text or _PHONE_ALLOWED_RE.fullmatch(text) is None:
        return None, "invalid_phone"
    digits = re.sub(r"[^0-9]", "", text)
    if not digits:
        return None, "invalid_phone"

    alpha2 = normalize_country(country) if country is not None else None
    info = _BY_ALPHA2.get(alpha2) if alpha2 else None

    if text.startswith("+"):
        international = digits[2:] if digits.startswith("00") else digits  # "+0044 ..."
    elif digits.startswith("00"):
        international = digits[2:]
    elif info is not None and info.calling_code == "1" and digits.startswith("011"):
        international = digits[3:]  # NANP international access code
    else:
        international = None

    if international is not None:
        code = _match_calling_code(international)
        if code is not None and code in _ZERO_TRUNK_CODES and international[len(code) :].startswith("0"):
            international = code + international[len(code) :].lstrip("0")
        if code == "1" and not _nanp_ok(international[1:]):
            return None, "invalid_phone"
        e164_digits = international
    else:
        if info is None:
            plausible = 4 <= len(digits) <= _MAX_E164_DIGITS
            return None, ("unknown_country" if plausible else "invalid_phone")
        national = digits
        if info.calling_code == "1":
            if len(national) == 11 and national.startswith("1"):
                national = national[1:]
            if not _nanp_ok(national):
                return None, "invalid_phone"
        else:
            for prefix in sorted(info.trunk, key=len, reverse=True):
                if national.startswith(prefix):
                    national = national[len(prefix) :]
                    break
        e164_digits = info.calling_code + national

    if (
        not e164_digits
        or e164_digits[0] == "0"
        or not _MIN_E164_DIGITS <= len(e164_digits) <= _MAX_E164_DIGITS
    ):
        return None, "invalid_phone"
    return "+" + e164_digits, None


def normalize_phone_e164(raw: str | None, country: str | None) -> str | None:
    """E.164 phone ("+14155550134") or ``None`` when empty/invalid.

    International input ("+44 ...", "0044 ...", "011 ..." for NANP countries)
    is used as is; "(0)" and a trunk 0 written after the country code are
    dropped. National input needs ``country`` (any spelling accepted by
    :func:`normalize_country`): its trunk prefix is removed and its calling
    code prepended. Extensions ("x123", "ext. 5") are ignored; letters make the
    number invalid. The result must have 7-15 digits; +1 numbers must be valid
    10-digit NANP numbers.
    """
    e164, _ = _parse_phone(raw, country)
    return e164


# ---------------------------------------------------------------------------
# Names, city, state
# ---------------------------------------------------------------------------

_NAME_PREFIXES = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "prof"})
_NAME_SUFFIXES = frozenset(
    {"jr", "sr", "2nd", "3rd", "ii", "iii", "iv", "cpa", "md", "phd", "esq", "dds", "mba"}
)


def _title_key(token: str) -> str:
    return token.replace(".", "").strip(",;")


def _strip_titles(text: str) -> str:
    """Drop leading honorifics and trailing generational/professional suffixes.

    The last remaining token is never dropped, so a name that *is* a title-like
    word (e.g. the Bangladeshi first name "Md") survives when it stands alone.
    """
    tokens = text.split(" ")
    while len(tokens) > 1 and _title_key(tokens[0]) in _NAME_PREFIXES:
        tokens.pop(0)
    while len(tokens) > 1 and _title_key(tokens[-1]) in _NAME_SUFFIXES:
        tokens.pop()
    return " ".join(tokens).strip(" ,;")


@lru_cache(maxsize=65536)
def normalize_name(raw: str | None) -> str | None:
    """Google name rule: trim, lowercase, drop prefixes/suffixes, keep accents.

    Internal punctuation (apostrophes, hyphens) is kept ("O'Brien" -> "o'brien").
    A value without any letter ("-", "123") is treated as missing.
    """
    text = _clean(raw)
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
    text = _clean(raw)
    if text is None:
        return None
    return unicodedata.normalize("NFC", _letters_only(text.lower())) or None


_US_STATES: dict[str, str] = {
    "alabama": "al", "alaska": "ak", "arizona": "az", "arkansas": "ar", "california": "ca",
    "colorado": "co", "connecticut": "ct", "delaware": "de", "florida": "fl", "georgia": "ga",
    "hawaii": "hi", "idaho": "id", "illinois": "il", "indiana": "in", "iowa": "ia",
    "kansas": "ks", "kentucky": "ky", "louisiana": "la", "maine": "me", "maryland": "md",
    "massachusetts": "ma", "michigan": "mi", "minnesota": "mn", "mississippi": "ms",
    "missouri": "mo", "montana": "mt", "nebraska": "ne", "nevada": "nv", "new hampshire": "nh",
    "new jersey": "nj", "new mexico": "nm", "new york": "ny", "north carolina": "nc",
    "north dakota": "nd", "ohio": "oh", "oklahoma": "ok", "oregon": "or", "pennsylvania": "pa",
    "rhode island": "ri", "south carolina": "sc", "south dakota": "sd", "tennessee": "tn",
    "texas": "tx", "utah": "ut", "vermont": "vt", "virginia": "va", "washington": "wa",
    "west virginia": "wv", "wisconsin": "wi", "wyoming": "wy",
    "district of columbia": "dc", "washington dc": "dc", "washington d c": "dc",
    "puerto rico": "pr", "guam": "gu", "us virgin islands": "vi", "virgin islands": "vi",
    "american samoa": "as", "northern mariana islands": "mp",
}  # fmt: skip
_US_STATE_CODES: frozenset[str] = frozenset(_US_STATES.values())


@lru_cache(maxsize=65536)
def normalize_state_meta(raw: str | None, country: str | None) -> str | None:
    """Meta state rule.

    US (or country unknown): full state names and 2-letter USPS codes map to
    the lowercase code ("California" / "CA" -> "ca"). For an explicit US
    country an unrecognised value is ``None``. Elsewhere (and for unmapped
    values without a country) Meta asks for lowercase without punctuation or
    spaces, so the value is reduced to lowercase letters: a 2-letter code
    stays a code ("ON" -> "on"), a name stays a name ("Île-de-France" ->
    "îledefrance").
    """
    text = _clean(raw)
    if text is None:
        return None
    alpha2 = normalize_country(country) if country is not None else None
    if alpha2 in (None, "us"):
        key = _country_key(text)
        if key in _US_STATES:
            return _US_STATES[key]
        if key.replace(" ", "") in _US_STATE_CODES:
            return key.replace(" ", "")
        if alpha2 == "us":
            return None
    return unicodedata.normalize("NFC", _letters_only(text.lower())) or None


_ZIP_RE = re.compile(r"[0-9a-z][0-9a-z-]{0,15}")
_US_ZIP_RE = re.compile(r"([0-9]{5})(?:-?[0-9]{4})?")


@lru_cache(maxsize=65536)
def normalize_zip(
    raw: str | None, country: str | None, platform: Literal["google", "meta"]
) -> str | None:
    """Postal code: lowercase, all whitespace removed ("SW1A 1AA" -> "sw1a1aa").

    Google keeps the rest as is ("94105-1234" stays). Meta uses only the first
    5 digits for US ZIP/ZIP+4 ("94105-1234" -> "94105"); a US value that is not
    a 5- or 9-digit ZIP is ``None``. Values with characters other than letters,
    digits and hyphens (or not starting with a letter/digit) are ``None`` --
    no real postal code has them, and it keeps the unhashed Google column free
    of formula triggers.
    """
    text = _clean(raw)
    if text is None:
        return None
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"\s+", "", text.lower())
    if _ZIP_RE.fullmatch(text) is None or not text.isascii():
        return None
    if platform == "meta":
        alpha2 = normalize_country(country) if country is not None else None
        if alpha2 == "us":
            match = _US_ZIP_RE.fullmatch(text)
            return match.group(1) if match else None
    elif platform != "google":
        raise ValueError(f"unknown platform {platform!r}")
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


# ---------------------------------------------------------------------------
# Frame helpers
# ---------------------------------------------------------------------------


def _columns(
    frame: pl.DataFrame, names: tuple[str, ...], optional: tuple[str, ...] = ()
) -> dict[str, list[str | None]]:
    """Columns as Python lists of ``str | None`` (non-string dtypes are cast)."""
    missing = [name for name in names if name not in frame.columns]
    if missing:
        raise ValueError(f"input frame is missing required columns: {missing}")
    out: dict[str, list[str | None]] = {}
    for name in (*names, *optional):
        if name in frame.columns:
            series = frame.get_column(name)
            if series.dtype != pl.String:
                series = series.cast(pl.String, strict=False)
            out[name] = series.to_list()
        else:
            out[name] = [None] * frame.height
    return out


def _present(raw: str | None) -> bool:
    return _clean(raw) is not None


def _hashed(raw: str | None) -> str | None:
    """The lowercased digest when ``raw`` already is SHA-256 hex, else ``None``."""
    if raw is not None and is_sha256_hex(raw):
        return raw.strip().lower()
    return None


def _finish(
    rows: list[tuple[str, ...]],
    keys: list[str],
    header: tuple[str, ...],
    sort_by: list[pl.Expr],
    rejected: dict[str, int],
    input_rows: int,
    field_errors: dict[str, int],
) -> AudienceResult:
    """Drop later duplicates (by ``keys``), sort, and assemble the result."""
    schema = {name: pl.String for name in header}
    kept = pl.DataFrame(rows, schema=schema, orient="row").with_columns(
        pl.Series("_key", keys, dtype=pl.String)
    )
    first = kept.get_column("_key").is_first_distinct()
    duplicates = int((~first).sum())
    frame = kept.filter(first).sort([*sort_by, *[pl.col(c) for c in header]]).select(header)
    rejected = {reason: count for reason, count in rejected.items() if count}
    if duplicates:
        rejected["duplicate"] = duplicates
    errors = {name: count for name, count in field_errors.items() if count}
    if input_rows != frame.height + sum(rejected.values()):  # pragma: no cover - invariant
        raise RuntimeError("audience row accounting does not reconcile")
    return AudienceResult(frame=frame, rejected=rejected, input_rows=input_rows, field_errors=errors)


@dataclass(frozen=True)
class _Identity:
    """Per-row outcome of the identifier rules shared by Google and Meta."""

    email: str | None  # normalised email or already-hashed digest
    phone: str | None  # E.164 or already-hashed digest
    alpha2: str | None
    reason: str | None  # rejection reason, None when the row is kept
    email_blanked: bool
    phone_blanked: bool
    country_blanked: bool


def _identity(email_raw: str | None, phone_raw: str | None, country_raw: str | None) -> _Identity:
    alpha2 = normalize_country(country_raw)
    country_blanked = alpha2 is None and _present(country_raw)

    email: str | None = None
    email_given = _present(email_raw)
    if email_given:
        email = _hashed(email_raw) or normalize_email(email_raw)

    phone: str | None = None
    phone_reason: str | None = None
    phone_given = _present(phone_raw)
    if phone_given:
        phone = _hashed(phone_raw)
        if phone is None:
            phone, phone_reason = _parse_phone(phone_raw, alpha2)

    reason: str | None = None
    if email is None and phone is None:
        if email_given:
            reason = "invalid_email"
        elif phone_given:
            reason = phone_reason or "invalid_phone"
        else:
            reason = "no_identifier"
    return _Identity(
        email=email,
        phone=phone,
        alpha2=alpha2,
        reason=reason,
        email_blanked=email_given and email is None,
        phone_blanked=phone_given and phone is None,
        country_blanked=country_blanked,
    )


def _empty_rejected() -> dict[str, int]:
    return {reason: 0 for reason in REJECT_REASONS if reason != "duplicate"}


def _dedup_key(email_hash: str, phone_hash: str) -> str:
    return f"e:{email_hash}" if email_hash else f"p:{phone_hash}"


def _plain(value: str | None) -> str:
    return value or ""


# ---------------------------------------------------------------------------
# Google Customer Match
# ---------------------------------------------------------------------------


def google_customer_match(users: pl.DataFrame) -> AudienceResult:
    """Google Customer Match upload (see module docstring for the row rules).

    Email, Phone (E.164 with "+"), First Name and Last Name are SHA-256 hashed;
    Country (lowercase alpha-2) and Zip (lowercase, no spaces) are plain text.
    """
    cols = _columns(users, ("email", "phone", "first_name", "last_name", "country", "zip"))
    rejected = _empty_rejected()
    errors = dict.fromkeys(GOOGLE_HEADER, 0)
    rows: list[tuple[str, ...]] = []
    keys: list[str] = []
    for email_raw, phone_raw, first_raw, last_raw, country_raw, zip_raw in zip(
        cols["email"], cols["phone"], cols["first_name"], cols["last_name"], cols["country"], cols["zip"]
    ):
        ident = _identity(email_raw, phone_raw, country_raw)
        if ident.reason is not None:
            rejected[ident.reason] += 1
            continue
        zip_code = normalize_zip(zip_raw, ident.alpha2, "google")
        errors["Email"] += ident.email_blanked
        errors["Phone"] += ident.phone_blanked
        errors["Country"] += ident.country_blanked
        errors["Zip"] += zip_code is None and _present(zip_raw)
        email_hash = _hash_or_empty(ident.email)
        phone_hash = _hash_or_empty(ident.phone)
        rows.append(
            (
                email_hash,
                phone_hash,
                _hash_or_empty(_hashed(first_raw) or normalize_name(first_raw)),
                _hash_or_empty(_hashed(last_raw) or normalize_name(last_raw)),
                _plain(ident.alpha2),
                _plain(zip_code),
            )
        )
        keys.append(_dedup_key(email_hash, phone_hash))
    return _finish(
        rows, keys, GOOGLE_HEADER, [pl.col("Email"), pl.col("Phone")], rejected, users.height, errors
    )


# ---------------------------------------------------------------------------
# Meta customer list
# ---------------------------------------------------------------------------


def meta_customer_list(users: pl.DataFrame) -> AudienceResult:
    """Meta custom-audience customer list (see module docstring for the row rules).

    Every non-empty value is SHA-256 hashed; phone is hashed as E.164 digits
    without "+". Already-hashed values in any column pass through.
    """
    cols = _columns(
        users, ("email", "phone", "first_name", "last_name", "city", "state", "zip", "country")
    )
    rejected = _empty_rejected()
    errors = dict.fromkeys(META_HEADER, 0)
    rows: list[tuple[str, ...]] = []
    keys: list[str] = []
    for email_raw, phone_raw, first_raw, last_raw, city_raw, state_raw, zip_raw, country_raw in zip(
        cols["email"],
        cols["phone"],
        cols["first_name"],
        cols["last_name"],
        cols["city"],
        cols["state"],
        cols["zip"],
        cols["country"],
    ):
        ident = _identity(email_raw, phone_raw, country_raw)
        if ident.reason is not None:
            rejected[ident.reason] += 1
            continue
        phone = ident.phone
        if phone is not None and phone.startswith("+"):
            phone = phone[1:]
        alpha2 = ident.alpha2
        country_hash = _hashed(country_raw)
        country_value = country_hash or alpha2
        state = _hashed(state_raw) or normalize_state_meta(state_raw, alpha2)
        zip_code = _hashed(zip_raw) or normalize_zip(zip_raw, alpha2, "meta")
        errors["email"] += ident.email_blanked
        errors["phone"] += ident.phone_blanked
        errors["country"] += ident.country_blanked and country_hash is None
        errors["st"] += state is None and _present(state_raw)
        errors["zip"] += zip_code is None and _present(zip_raw)
        email_hash = _hash_or_empty(ident.email)
        phone_hash = _hash_or_empty(phone)
        rows.append(
            (
                email_hash,
                phone_hash,
                _hash_or_empty(_hashed(first_raw) or normalize_name_meta(first_raw)),
                _hash_or_empty(_hashed(last_raw) or normalize_name_meta(last_raw)),
                _hash_or_empty(_hashed(city_raw) or normalize_city_meta(city_raw)),
                _hash_or_empty(state),
                _hash_or_empty(zip_code),
                _hash_or_empty(country_value),
            )
        )
        keys.append(_dedup_key(email_hash, phone_hash))
    return _finish(
        rows, keys, META_HEADER, [pl.col("email"), pl.col("phone")], rejected, users.height, errors
    )


# ---------------------------------------------------------------------------
# LinkedIn company list
# ---------------------------------------------------------------------------

_HOST_LABEL_RE = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_STOCK_RE = re.compile(r"[A-Z0-9][A-Z0-9.\-]{0,9}")


def _website(raw: str | None) -> tuple[str | None, str | None]:
    """``(website, email_domain)`` for a company website, or ``(None, None)``.

    The website is kept as given (trimmed), with ``https://`` prepended when it
    has no scheme; only http(s) URLs with a plausible dotted host are accepted.
    The domain is the lowercase host without a leading ``www.`` -- without a
    public-suffix list, other subdomains ("shop.example.co.uk") are kept.
    """
    text = _clean(raw)
    if text is None or " " in text:
        return None, None
    if text.startswith("//"):
        text = "https:" + text
    elif "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:
        return None, None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None, None
    host = host.rstrip(".")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return None, None
    labels = host.split(".")
    if len(labels) < 2 or not all(_HOST_LABEL_RE.fullmatch(label) for label in labels):
        return None, None
    if not (labels[-1].isalpha() or labels[-1].startswith("xn--")) or len(labels[-1]) < 2:
        return None, None
    domain = host[4:] if host.startswith("www.") and len(labels) > 2 else host
    return text, domain


def _linkedin_url(raw: str | None) -> str | None:
    """Canonical ``https://www.linkedin.com/company/<slug>`` or ``None``."""
    text = _clean(raw)
    if text is None or " " in text:
        return None
    if "://" not in text:
        text = "https://" + text.lstrip("/")
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https"):
        return None
    if host != "linkedin.com" and not host.endswith(".linkedin.com"):
        return None
    segments = [s for s in parts.path.split("/") if s]
    if len(segments) < 2 or segments[0].lower() not in ("company", "school", "showcase"):
        return None
    return f"https://www.linkedin.com/{segments[0].lower()}/{segments[1]}"


def _stock_symbol(raw: str | None) -> str | None:
    """Uppercase ticker ("$msft" / "NASDAQ:MSFT" -> "MSFT") or ``None``."""
    text = _clean(raw)
    if text is None:
        return None
    text = text.upper().lstrip("$")
    if ":" in text:
        text = text.rsplit(":", 1)[1].strip()
    return text if _STOCK_RE.fullmatch(text) else None


def _text(raw: str | None) -> str | None:
    return neutralize_formula(_clean(raw))


def linkedin_company_list(companies: pl.DataFrame) -> AudienceResult:
    """LinkedIn Matched Audiences company list (values are not hashed).

    * companyname/industry/city/state: trimmed, whitespace collapsed,
      formula-neutralised.
    * companywebsite / companyemaildomain: see :func:`_website`.
    * linkedincompanypageurl: from optional ``linkedin_url``, canonicalised.
    * stocksymbol: from optional ``stock_symbol``, uppercase ticker.
    * companycountry: lowercase ISO alpha-2 (unknown -> blank).
    * zipcode: as Google's Zip (lowercase, no spaces).

    Rows without a name are ``no_identifier``; repeats of a (case-insensitive
    name, domain) pair are ``duplicate`` (first in input order wins).
    """
    cols = _columns(
        companies,
        ("name", "website", "industry", "city", "state", "zip", "country"),
        optional=("linkedin_url", "stock_symbol"),
    )
    rejected = {"no_identifier": 0}
    errors = dict.fromkeys(LINKEDIN_COMPANY_HEADER, 0)
    rows: list[tuple[str, ...]] = []
    keys: list[str] = []
    for name_raw, web_raw, ind_raw, city_raw, state_raw, zip_raw, country_raw, li_raw, stock_raw in zip(
        cols["name"],
        cols["website"],
        cols["industry"],
        cols["city"],
        cols["state"],
        cols["zip"],
        cols["country"],
        cols["linkedin_url"],
        cols["stock_symbol"],
    ):
        name = _clean(name_raw)
        if name is None:
            rejected["no_identifier"] += 1
            continue
        website, domain = _website(web_raw)
        linkedin = _linkedin_url(li_raw)
        stock = _stock_symbol(stock_raw)
        alpha2 = normalize_country(country_raw)
        zip_code = normalize_zip(zip_raw, alpha2, "google")
        errors["companywebsite"] += website is None and _present(web_raw)
        errors["linkedincompanypageurl"] += linkedin is None and _present(li_raw)
        errors["stocksymbol"] += stock is None and _present(stock_raw)
        errors["companycountry"] += alpha2 is None and _present(country_raw)
        errors["zipcode"] += zip_code is None and _present(zip_raw)
        rows.append(
            (
                _plain(neutralize_formula(name)),
                _plain(website),
                _plain(domain),
                _plain(linkedin),
                _plain(stock),
                _plain(_text(ind_raw)),
                _plain(_text(city_raw)),
                _plain(_text(state_raw)),
                _plain(alpha2),
                _plain(zip_code),
            )
        )
        keys.append(f"{name.lower()}\x00{domain or ''}")
    return _finish(
        rows,
        keys,
        LINKEDIN_COMPANY_HEADER,
        [pl.col("companyname").str.to_lowercase(), pl.col("companyemaildomain")],
        rejected,
        companies.height,
        errors,
    )
