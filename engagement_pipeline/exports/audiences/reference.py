"""Reference data for the customer-list normalisers: only what the libraries lack.

Countries come from `pycountry` (ISO 3166-1: every alpha-2 and alpha-3 code, and the
English short, official and common names), US states from `pycountry`'s ISO 3166-2:US
subdivisions, and calling codes, trunk prefixes and international prefixes from
`phonenumbers` (Google's libphonenumber metadata). Nothing here repeats them.

What is left is what people write that ISO does not spell: English synonyms and
abbreviations ("UK", "Holland"), native names ("Deutschland", "Brasil"), constituent
countries ("England"), and a few spellings of US state names; plus the honorifics and
name suffixes Google's and Meta's name rules drop. Keys are compared after
`normalize.country_key` folding (ASCII, lowercase, no dots or apostrophes, a leading
"the " dropped), so "U.S.A.", "u s a" and "USA" are one key; write them plainly.

Adding a synonym: one line here, mapping to the lowercase ISO alpha-2 code; a synonym
must not be another country's ISO name or code (`normalize.country_lookup` refuses to
build when one is).
"""

from __future__ import annotations

# Synonyms -> ISO 3166-1 alpha-2 (lowercase), for spellings pycountry does not carry
# (ISO names such as "Czech Republic", "Viet Nam"/"Vietnam" or "Korea, Republic of" it does).
COUNTRY_SYNONYMS: dict[str, str] = {
    # English synonyms and abbreviations
    "america": "us", "us of a": "us",
    "uk": "gb", "great britain": "gb", "britain": "gb",
    "england": "gb", "scotland": "gb", "wales": "gb", "northern ireland": "gb",
    "republic of ireland": "ie", "eire": "ie",
    "holland": "nl",
    "russia": "ru",
    "turkey": "tr",  # ISO's name is "Türkiye" since 2022
    "uae": "ae", "emirates": "ae",
    "ksa": "sa",
    "rsa": "za",
    "prc": "cn", "mainland china": "cn",
    "hong kong sar": "hk",
    "korea": "kr", "republic of korea": "kr",
    # Native names
    "republica dominicana": "do",
    "deutschland": "de",
    "espana": "es",
    "italia": "it",
    "nederland": "nl",
    "belgie": "be", "belgique": "be", "belgien": "be",
    "luxemburg": "lu",
    "schweiz": "ch", "suisse": "ch", "svizzera": "ch",
    "osterreich": "at", "oesterreich": "at",
    "danmark": "dk", "sverige": "se", "norge": "no", "suomi": "fi",
    "polska": "pl", "cesko": "cz", "slovensko": "sk",
    "magyarorszag": "hu", "hellas": "gr", "hrvatska": "hr",
    "bharat": "in",
    "nippon": "jp",
    "aotearoa": "nz",
    "brasil": "br",
}  # fmt: skip

# US state spellings beyond the ISO 3166-2:US names and codes (pycountry), -> USPS code.
US_STATE_SYNONYMS: dict[str, str] = {
    "washington dc": "dc",
    "washington d c": "dc",
    "us virgin islands": "vi",
    "virgin islands": "vi",
}

# Name rules (Google: drop prefixes such as Mr., Mrs., Ms., Dr. and suffixes such as Jr.,
# Sr., 2nd, II, III, IV, CPA, MD, PhD; Meta follows). Compared without dots and commas.
NAME_PREFIXES: frozenset[str] = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "prof"})
NAME_SUFFIXES: frozenset[str] = frozenset(
    {"jr", "sr", "2nd", "3rd", "ii", "iii", "iv", "cpa", "md", "phd", "esq", "dds", "mba"}
)

# Prefixes people still write that libphonenumber no longer reads as trunk prefixes:
# Mexico dropped 01 (long distance) and 044/045 (mobile) in August 2019, and the library's
# current metadata has no national prefix for MX, so "044 55 1234 5678" would keep them.
# Dropped only when the number is impossible with them and possible without.
LEGACY_NATIONAL_PREFIXES: dict[str, tuple[str, ...]] = {"MX": ("044", "045", "01")}

# The North American Numbering Plan's calling code: its numbers are checked for shape
# (10 digits, area code and exchange starting 2-9) beyond what E.164 asks.
NANP_CALLING_CODE = 1
