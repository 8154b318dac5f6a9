"""Phone numbers to E.164, parsed and formatted by `phonenumbers` (Google's libphonenumber).

Google wants E.164 with the leading ``+``; Meta the same digits without it. The library
reads each country's calling code and trunk prefix; what is added here: letters are
refused (the library would read them as keypad digits), a number must have a length its
country's numbers have, North American numbers must have the plan's shape, and a national
number without a known country is ``unknown_country`` rather than guessed.
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers

from engagement_pipeline.exports.audiences.normalize import clean, normalize_country
from engagement_pipeline.exports.audiences.reference import LEGACY_NATIONAL_PREFIXES, NANP_CALLING_CODE

# Reasons a phone is unusable (the audience builders' row-rejection reasons).
INVALID_PHONE = "invalid_phone"
UNKNOWN_COUNTRY = "unknown_country"

# E.164 allows at most 15 digits; 7 is the floor (the shortest real international numbers,
# e.g. of small island states, have 7-8 digits).
MIN_E164_DIGITS = 7
MAX_E164_DIGITS = 15


_PHONE_ALLOWED_RE = re.compile(r"\+?[0-9 .\-/()]*")
_PHONE_EXTENSION_RE = re.compile(r"\s*(?:ext\.?|extension|x|#)\s*[0-9]{1,6}\s*$", re.IGNORECASE)
_PHONE_TRUNK_IN_PARENS_RE = re.compile(r"\(\s*0\s*\)")
_DASHES_RE = re.compile(r"[\u2010-\u2015\u2212]")


def _nanp_ok(national: str) -> bool:
    """North American numbers: 10 digits, area code and exchange start with 2-9."""
    return len(national) == 10 and national[0] in "23456789" and national[3] in "23456789"


def _possible(number: phonenumbers.PhoneNumber) -> bool:
    """A length some number of that country has (a local-only number is not enough)."""
    return phonenumbers.is_possible_number_with_reason(number) == phonenumbers.ValidationResult.IS_POSSIBLE


def _drop_written_prefix(number: phonenumbers.PhoneNumber) -> phonenumbers.PhoneNumber | None:
    """The number without a prefix the library kept as part of it; ``None`` when it is junk.

    libphonenumber keeps a leading trunk prefix when dropping it leaves a number of
    impossible length ("011 1595-9244" in Argentina, where 15 also marks mobiles; "+44
    070521690"). In a country that has a trunk prefix no number starts with it, so such a
    number is invalid: the prefix is dropped when what remains is possible, and the number
    is refused when it is not. A legacy prefix of `reference.LEGACY_NATIONAL_PREFIXES` is
    dropped when the number is impossible with it.
    """
    region = phonenumbers.region_code_for_country_code(number.country_code or 0)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    prefixes: tuple[str, ...] = ()
    if not _possible(number):
        prefixes += LEGACY_NATIONAL_PREFIXES.get(region, ())
    kept_trunk = bool(
        number.italian_leading_zero
        and metadata is not None
        and metadata.national_prefix
        and not phonenumbers.is_valid_number(number)
    )
    if kept_trunk and metadata is not None and metadata.national_prefix:
        prefixes += (metadata.national_prefix,)
    national = phonenumbers.national_significant_number(number)
    for prefix in sorted(prefixes, key=len, reverse=True):
        if national.startswith(prefix) and len(national) > len(prefix):
            try:
                retry = phonenumbers.parse(f"+{number.country_code}{national[len(prefix) :]}", None)
            except phonenumbers.NumberParseException:
                continue
            if _possible(retry):
                return retry
    return None if kept_trunk else number


def parse_phone(raw: str | None, country: str | None) -> tuple[str | None, str | None]:
    """``(e164, None)`` or ``(None, reason)``; reason is ``invalid_phone``, or
    ``unknown_country`` for a national-format number without a usable country."""
    text = clean(raw)
    if text is None:
        return None, INVALID_PHONE
    text = unicodedata.normalize("NFKC", text)
    text = _DASHES_RE.sub("-", text)
    if text.lower().startswith("tel:"):
        text = text[4:].strip()
    text = _PHONE_EXTENSION_RE.sub("", text)
    text = _PHONE_TRUNK_IN_PARENS_RE.sub(" ", text).strip()
    # Letters ("1-800-FLOWERS") are refused here: the library would read them as keypad digits.
    if not text or _PHONE_ALLOWED_RE.fullmatch(text) is None:
        return None, INVALID_PHONE
    digits = re.sub(r"[^0-9]", "", text)
    if not digits:
        return None, INVALID_PHONE

    alpha2 = normalize_country(country) if country is not None else None
    region = alpha2.upper() if alpha2 and phonenumbers.country_code_for_region(alpha2.upper()) else None
    if text.startswith("+"):
        number_text, parse_region = "+" + (digits[2:] if digits.startswith("00") else digits), None  # "+0044 ..."
    elif digits.startswith("00"):
        number_text, parse_region = "+" + digits[2:], None  # "0044 ...", whatever the country
    elif region is None:
        plausible = 4 <= len(digits) <= MAX_E164_DIGITS
        return None, (UNKNOWN_COUNTRY if plausible else INVALID_PHONE)
    else:
        number_text, parse_region = digits, region  # national, or the region's own prefix ("011" in NANP)
    try:
        number = phonenumbers.parse(number_text, parse_region)
    except phonenumbers.NumberParseException:
        return None, INVALID_PHONE
    repaired = _drop_written_prefix(number)
    if repaired is None:
        return None, INVALID_PHONE
    number = repaired
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    e164_digits = e164[1:]
    if not e164_digits.isdigit() or e164_digits[0] == "0" or not MIN_E164_DIGITS <= len(e164_digits) <= MAX_E164_DIGITS:
        return None, INVALID_PHONE
    if number.country_code == NANP_CALLING_CODE and not _nanp_ok(phonenumbers.national_significant_number(number)):
        return None, INVALID_PHONE
    if not _possible(number):
        return None, INVALID_PHONE  # a length no number of that country has: it cannot match anyone
    return e164, None


def normalize_phone_e164(raw: str | None, country: str | None) -> str | None:
    """E.164 phone ("+14155550134") or ``None`` when empty/invalid.

    International input ("+44 ...", "0044 ...", "011 ..." for NANP countries) keeps
    its calling code; "(0)" and a trunk prefix written after the calling code are
    dropped where the country's numbering plan has one ("+44 020 ..."; Italy keeps
    its leading 0). National input needs ``country`` (any spelling accepted by
    :func:`normalize_country`): libphonenumber removes its trunk prefix and prepends
    its calling code. Extensions ("x123", "ext. 5") are ignored; letters make the
    number invalid. The result must have 7-15 digits; +1 numbers must be valid
    10-digit NANP numbers.
    """
    e164, _ = parse_phone(raw, country)
    return e164
