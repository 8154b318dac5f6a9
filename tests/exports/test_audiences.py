"""Tests for engagement_pipeline.exports.audiences (customer-list normalisation, hashing, platform files)."""

from __future__ import annotations

import hashlib
import re

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engagement_pipeline.exports.audiences.normalize import (
    country_lookup,
    is_sha256_hex,
    neutralize_formula,
    normalize_city_meta,
    normalize_country,
    normalize_email,
    normalize_name,
    normalize_name_meta,
    normalize_state_meta,
    normalize_zip,
    sha256_hex,
)
from engagement_pipeline.exports.audiences.phones import normalize_phone_e164
from engagement_pipeline.exports.audiences.platforms import (
    FILES,
    GOOGLE,
    GOOGLE_HEADER,
    LINKEDIN_COMPANIES,
    LINKEDIN_COMPANY_HEADER,
    META,
    META_HEADER,
    AudienceResult,
    google_customer_match,
    linkedin_company_list,
    meta_customer_list,
)
from engagement_pipeline.exports.audiences.reference import COUNTRY_SYNONYMS

USER_COLUMNS = ("user_id", "email", "phone", "first_name", "last_name", "city", "state", "zip", "country")
COMPANY_COLUMNS = (
    "account_id", "name", "website", "industry", "city", "state", "zip", "country",
    "linkedin_url", "stock_symbol",
)  # fmt: skip
HEX64 = re.compile(r"[0-9a-f]{64}")


def h(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def users(*rows: dict[str, str | None]) -> pl.DataFrame:
    return pl.DataFrame(
        [{c: row.get(c) for c in USER_COLUMNS} for row in rows],
        schema={c: pl.String for c in USER_COLUMNS},
        orient="row",
    )


def companies(*rows: dict[str, str | None]) -> pl.DataFrame:
    return pl.DataFrame(
        [{c: row.get(c) for c in COMPANY_COLUMNS} for row in rows],
        schema={c: pl.String for c in COMPANY_COLUMNS},
        orient="row",
    )


def assert_reconciles(result: AudienceResult) -> None:
    assert result.input_rows == result.frame.height + sum(result.rejected.values())
    assert set(result.rejected) <= {"invalid_email", "invalid_phone", "unknown_country", "no_identifier", "duplicate"}
    assert all(count > 0 for count in result.rejected.values())


# ---------------------------------------------------------------------------
# Headers and hashing
# ---------------------------------------------------------------------------


def test_headers_exact() -> None:
    assert GOOGLE_HEADER == ("Email", "Phone", "First Name", "Last Name", "Country", "Zip")
    assert ",".join(GOOGLE_HEADER) == "Email,Phone,First Name,Last Name,Country,Zip"
    assert ",".join(META_HEADER) == "email,phone,fn,ln,ct,st,zip,country"
    assert ",".join(LINKEDIN_COMPANY_HEADER) == (
        "companyname,companywebsite,companyemaildomain,linkedincompanypageurl,"
        "stocksymbol,industry,city,state,companycountry,zipcode"
    )


def test_sha256_literal_digest() -> None:
    assert sha256_hex("test@example.com") == "973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b"


def test_sha256_of_normalized_email_matches_hashlib() -> None:
    normalized = normalize_email("  John.Doe@Example.COM ")
    assert normalized == "john.doe@example.com"
    assert sha256_hex(normalized) == hashlib.sha256(b"john.doe@example.com").hexdigest()


def test_sha256_hashes_utf8_bytes() -> None:
    assert sha256_hex("josé") == hashlib.sha256("josé".encode()).hexdigest()
    # Decomposed input normalises to the same name, hence the same hash.
    assert sha256_hex(normalize_name("Jose\u0301")) == sha256_hex("josé")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b", True),
        ("973DFE463EC85785F5F95AF5BA3906EEDB2D931C24E69824A89EA65DBA4E813B", True),
        ("  973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b ", True),
        ("973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813", False),  # 63
        ("973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813bb", False),  # 65
        ("g73dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b", False),
        ("test@example.com", False),
        ("", False),
    ],
)
def test_is_sha256_hex(value: str, expected: bool) -> None:
    assert is_sha256_hex(value) is expected


def test_sha256_passes_existing_digest_through_lowercased() -> None:
    upper = "973DFE463EC85785F5F95AF5BA3906EEDB2D931C24E69824A89EA65DBA4E813B"
    assert sha256_hex(upper) == upper.lower()
    assert sha256_hex(upper.lower()) == upper.lower()


# ---------------------------------------------------------------------------
# Field normalisers
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  John.Doe@Example.COM ", "john.doe@example.com"),
        ("test@example.com", "test@example.com"),
        ("first.last+tag@sub.example.co.uk", "first.last+tag@sub.example.co.uk"),
        ("MAILTO:Ana@Example.org", "ana@example.org"),
        ("josé@exämple.de", "josé@exämple.de"),
        ("john.doe@gmail.com", "john.doe@gmail.com"),  # no gmail dot removal
        ("", None),
        ("   ", None),
        (None, None),
        ("not-an-email", None),
        ("a@b", None),
        ("a@@example.com", None),
        ("a b@example.com", None),
        (".a@example.com", None),
        ("a..b@example.com", None),
        ("a@example.c", None),
        ("a@example.123", None),
        ("a@-example.com", None),
        ("a@example..com", None),
        ('"quoted"@example.com', None),
        ("=cmd|'/c calc'!A0@example.com", None),
    ],
)
def test_normalize_email(raw: str | None, expected: str | None) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("us", "us"),
        ("GB", "gb"),
        (" de ", "de"),
        ("USA", "us"),
        ("DEU", "de"),
        ("gbr", "gb"),
        ("United Kingdom", "gb"),
        ("UK", "gb"),
        ("U.K.", "gb"),
        ("England", "gb"),
        ("Deutschland", "de"),
        ("Germany", "de"),
        ("United States", "us"),
        ("United States of America", "us"),
        ("U.S.A.", "us"),
        ("U.S.", "us"),
        ("U S", "us"),
        ("the Netherlands", "nl"),
        ("Holland", "nl"),
        ("España", "es"),
        ("Espana", "es"),
        ("Österreich", "at"),
        ("Türkiye", "tr"),
        ("Korea, Republic of", "kr"),
        ("People's Republic of China", "cn"),
        ("UAE", "ae"),
        ("Brasil", "br"),
        ("new zealand", "nz"),
        ("Narnia", None),
        ("XX", None),
        ("EU", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_country(raw: str | None, expected: str | None) -> None:
    assert normalize_country(raw) == expected


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("+1 (415) 555-0134", None, "+14155550134"),
        ("+1 (415) 555-0134", "GB", "+14155550134"),  # explicit country code wins
        ("415-555-0134", "US", "+14155550134"),
        ("(415) 555.0134", "United States", "+14155550134"),
        ("1-415-555-0134", "us", "+14155550134"),
        ("415 555 0134 ext. 12", "US", "+14155550134"),
        ("+1 415 555 0134 x7", None, "+14155550134"),
        ("011 44 20 7946 0958", "US", "+442079460958"),
        ("416-555-0199", "Canada", "+14165550199"),
        ("0044 20 7946 0958", None, "+442079460958"),
        ("+44 (0)20 7946 0958", None, "+442079460958"),
        ("+44 (0) 20 7946 0958", "GB", "+442079460958"),
        ("+44 020 7946 0958", None, "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("020 7946 0958", "United Kingdom", "+442079460958"),
        ("07700 900123", "UK", "+447700900123"),
        ("+49 30 1234567", None, "+49301234567"),
        ("030 1234567", "DE", "+49301234567"),
        ("030/1234567", "Deutschland", "+49301234567"),
        ("06 1234 5678", "IT", "+390612345678"),  # Italy keeps its leading 0
        ("+39 06 1234 5678", None, "+390612345678"),
        ("01 23 45 67 89", "FR", "+33123456789"),
        ("8 (495) 123-45-67", "RU", "+74951234567"),
        ("\uff0b\uff14\uff14 20 7946 0958", None, "+442079460958"),  # full-width
        ("tel:+442079460958", None, "+442079460958"),
    ],
)
def test_normalize_phone_e164(raw: str, country: str | None, expected: str) -> None:
    assert normalize_phone_e164(raw, country) == expected


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        # Countries the library knows beyond the old hand-written table.
        ("0912 345 6789", "Iran", "+989123456789"),
        ("876-555-0123", "Jamaica", "+18765550123"),
        # Trunk prefixes the old table got wrong after the calling code.
        ("+36 06 1 234 5678", None, "+3612345678"),
        ("+7 8 495 123-45-67", None, "+74951234567"),
        # Argentina's mobile "15" after the area code (national format).
        ("011 15-2345-6789", "AR", "+5491123456789"),
        # Mexico's legacy 044/01 prefixes (gone since 2019, still written).
        ("044 55 1234 5678", "MX", "+525512345678"),
        ("+52 044 55 1234 5678", None, "+525512345678"),
    ],
)
def test_normalize_phone_e164_library_rules(raw: str, country: str | None, expected: str) -> None:
    assert normalize_phone_e164(raw, country) == expected


@pytest.mark.parametrize(
    ("raw", "country"),
    [
        ("+44 070521690", None),  # a trunk 0 kept because the rest is too short: no such number
        ("+33 1 23 45", None),  # 7 digits, but no French number is that short
        ("+999 1234567", None),  # unassigned calling code
    ],
)
def test_normalize_phone_rejects_impossible_numbers(raw: str, country: str | None) -> None:
    assert normalize_phone_e164(raw, country) is None


def test_country_lookup_covers_iso_and_synonyms() -> None:
    lookup = country_lookup()  # builds only when no spelling means two countries
    assert len({code for code in lookup.values()}) >= 249
    assert normalize_country("Côte d'Ivoire") == "ci"
    assert normalize_country("Islamic Republic of Iran") == "ir"
    assert normalize_country("Viet Nam") == normalize_country("Vietnam") == "vn"
    for synonym, code in COUNTRY_SYNONYMS.items():
        assert normalize_country(synonym) == code


@pytest.mark.parametrize(
    ("raw", "country"),
    [
        ("", "US"),
        (None, "US"),
        ("415-555-0134", None),  # national number, no country
        ("415-555-0134", "Narnia"),  # national number, unknown country
        ("555-0134", "US"),  # 7-digit local NANP number
        ("+1 055 555 0134", None),  # invalid NANP area code
        ("1-800-FLOWERS", "US"),  # letters
        ("+44 12", None),  # fewer than 7 digits
        ("+1234567890123456", None),  # more than 15 digits
        ("+0 123 456 789", None),  # leading zero after +
        ("12+34", "US"),
        ("n/a", "US"),
    ],
)
def test_normalize_phone_invalid(raw: str | None, country: str | None) -> None:
    assert normalize_phone_e164(raw, country) is None


@pytest.mark.parametrize(
    ("raw", "google", "meta"),
    [
        ("  José  ", "josé", "josé"),
        ("JOSÉ", "josé", "josé"),
        ("Zoë", "zoë", "zoë"),
        ("Łukasz", "łukasz", "łukasz"),
        ("Dr. Jane", "jane", "jane"),
        ("Mrs Jane", "jane", "jane"),
        ("Smith Jr.", "smith", "smith"),
        ("Smith, Jr.", "smith", "smith"),
        ("Smith III", "smith", "smith"),
        ("Smith PhD", "smith", "smith"),
        ("Smith Ph.D.", "smith", "smith"),
        ("Smith M.D.", "smith", "smith"),
        ("Smith Jr. CPA", "smith", "smith"),
        ("O'Brien", "o'brien", "obrien"),
        ("Jean-Luc", "jean-luc", "jeanluc"),
        ("Mary  Ann", "mary ann", "maryann"),
        ("Md", "md", "md"),  # a lone title-like token is the name itself
        ("Md Rahman", "md rahman", "mdrahman"),  # prefix list does not include Md
        ("  ", None, None),
        ("-", None, None),
        (None, None, None),
    ],
)
def test_normalize_names(raw: str | None, google: str | None, meta: str | None) -> None:
    assert normalize_name(raw) == google
    assert normalize_name_meta(raw) == meta


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("San Francisco", "sanfrancisco"),
        ("  St. Louis ", "stlouis"),
        ("Winston-Salem", "winstonsalem"),
        ("Zürich", "zürich"),
        ("São Paulo", "sãopaulo"),
        ("", None),
        ("...", None),
    ],
)
def test_normalize_city_meta(raw: str, expected: str | None) -> None:
    assert normalize_city_meta(raw) == expected


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("California", "US", "ca"),
        ("CA", "US", "ca"),
        ("new york", "USA", "ny"),
        ("N.Y.", "us", "ny"),
        ("Washington, D.C.", "US", "dc"),
        ("District of Columbia", "US", "dc"),
        ("Virgin Islands, U.S.", "US", "vi"),
        ("Texas", None, "tx"),
        ("Gotham", "US", None),  # unknown US state is blanked
        ("ON", "CA", "on"),
        ("Ontario", "Canada", "ontario"),
        ("NSW", "AU", "nsw"),
        ("Île-de-France", "FR", "îledefrance"),
        ("Bavaria", None, "bavaria"),
        ("", "US", None),
    ],
)
def test_normalize_state_meta(raw: str, country: str | None, expected: str | None) -> None:
    assert normalize_state_meta(raw, country) == expected


@pytest.mark.parametrize(
    ("raw", "country", "google", "meta"),
    [
        ("SW1A 1AA", "GB", "sw1a1aa", "sw1a1aa"),
        (" sw1a  1aa ", "United Kingdom", "sw1a1aa", "sw1a1aa"),
        ("94105-1234", "US", "94105-1234", "94105"),
        ("941051234", "US", "94105-1234", "94105"),  # Google's template: 5 digits, or 5 and the extension
        ("94105", "US", "94105", "94105"),
        ("9410", "US", None, None),  # not a US ZIP
        ("94105-1234", None, "94105-1234", "94105"),  # Meta cuts at the hyphen whatever the country
        ("10115", "DE", "10115", "10115"),
        # Meta's business SDK keeps only the part before a hyphen (Brazil, Portugal, Poland, Japan);
        # Google keeps other countries' codes as written.
        ("30555-451", "BR", "30555-451", "30555"),
        ("1000-001", "PT", "1000-001", "1000"),
        ("00-950", "PL", "00-950", "00"),
        ("100-0001", "JP", "100-0001", "100"),
        ("K1A 0B1", "CA", "k1a0b1", "k1a0b1"),
        ("=1+1", "US", None, None),
        ("-123", None, None, None),
        ("", "US", None, None),
    ],
)
def test_normalize_zip(raw: str, country: str | None, google: str | None, meta: str | None) -> None:
    assert normalize_zip(raw, country, "google") == google
    assert normalize_zip(raw, country, "meta") == meta


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("=SUM(A1:A2)", "'=SUM(A1:A2)"),
        ("+1 555", "'+1 555"),
        ("-5", "'-5"),
        ("@cmd", "'@cmd"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("  =1", "'  =1"),
        ("Northwind", "Northwind"),
        ("a=b", "a=b"),
        ("", ""),
        (None, None),
    ],
)
def test_neutralize_formula(text: str | None, expected: str | None) -> None:
    assert neutralize_formula(text) == expected


# ---------------------------------------------------------------------------
# Google Customer Match
# ---------------------------------------------------------------------------


def test_google_row_hashing_and_plain_columns() -> None:
    result = google_customer_match(
        users(
            {
                "user_id": "u1",
                "email": "  John.Doe@Example.COM ",
                "phone": "+44 (0)20 7946 0958",
                "first_name": "Dr. Jane",
                "last_name": "O'Brien Jr.",
                "country": "United Kingdom",
                "zip": "SW1A 1AA",
            }
        )
    )
    assert result.frame.columns == list(GOOGLE_HEADER)
    assert all(dtype == pl.String for dtype in result.frame.dtypes)
    assert result.frame.row(0) == (
        h("john.doe@example.com"),
        h("+442079460958"),
        h("jane"),
        h("o'brien"),
        "gb",
        "sw1a1aa",
    )
    assert result.rejected == {}
    assert result.input_rows == 1


def test_google_empty_optional_values_stay_empty() -> None:
    result = google_customer_match(users({"email": "test@example.com", "first_name": "   "}))
    row = result.frame.row(0, named=True)
    assert row["Email"] == "973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b"
    for column in ("Phone", "First Name", "Last Name", "Country", "Zip"):
        assert row[column] == ""
    assert h("") not in result.frame.row(0)


def test_google_already_hashed_values_pass_through() -> None:
    email_hash = h("a@example.com").upper()
    phone_hash = h("+14155550134")
    result = google_customer_match(users({"email": email_hash, "phone": phone_hash, "first_name": h("jane")}))
    row = result.frame.row(0, named=True)
    assert row["Email"] == email_hash.lower()
    assert row["Phone"] == phone_hash
    assert row["First Name"] == h("jane")


def test_google_row_rules_and_reconciliation() -> None:
    frame = users(
        {"user_id": "ok", "email": "a@example.com", "country": "US"},
        {"user_id": "dup", "email": " A@Example.com ", "country": "US"},
        {"user_id": "dup-hashed", "email": h("a@example.com")},
        {"user_id": "bad-email", "email": "not-an-email"},
        {"user_id": "bad-email-good-phone", "email": "nope", "phone": "415-555-0134", "country": "US"},
        {"user_id": "bad-phone", "phone": "12"},
        {"user_id": "phone-no-country", "phone": "415-555-0134"},
        {"user_id": "phone-unknown-country", "phone": "415-555-0134", "country": "Narnia"},
        {"user_id": "nothing", "first_name": "Jane", "country": "US"},
        {"user_id": "blank-country", "email": "b@example.com", "country": "Narnia"},
        {"user_id": "phone-only", "phone": "+49 30 1234567"},
        {"user_id": "phone-dup", "phone": "030 1234567", "country": "DE"},
    )
    result = google_customer_match(frame)
    assert_reconciles(result)
    assert result.input_rows == 12
    assert result.rejected == {
        "duplicate": 3,
        "invalid_email": 1,
        "invalid_phone": 1,
        "unknown_country": 2,
        "no_identifier": 1,
    }
    assert result.frame.height == 4
    assert set(result.frame["Email"]) == {h("a@example.com"), h("b@example.com"), ""}
    # Blanked values of kept rows are reported per column.
    assert result.field_errors == {"Email": 1, "Country": 1}


def test_google_output_sorted_by_email_then_phone() -> None:
    emails = [f"user{i}@example.com" for i in range(20)]
    result = google_customer_match(
        users(*({"email": e} for e in emails), {"phone": "+14155550134"}, {"phone": "+14155550135"})
    )
    assert result.frame["Email"].to_list() == sorted(result.frame["Email"].to_list())
    phone_only = result.frame.filter(pl.col("Email") == "")["Phone"].to_list()
    assert phone_only == sorted([h("+14155550134"), h("+14155550135")])
    reversed_input = google_customer_match(
        users({"phone": "+14155550135"}, {"phone": "+14155550134"}, *({"email": e} for e in reversed(emails)))
    )
    assert reversed_input.frame.equals(result.frame)


def test_google_empty_input() -> None:
    result = google_customer_match(users())
    assert result.frame.columns == list(GOOGLE_HEADER)
    assert result.frame.height == 0
    assert result.rejected == {}
    assert result.input_rows == 0


def test_missing_required_column_raises() -> None:
    with pytest.raises(ValueError, match="missing required columns"):
        google_customer_match(pl.DataFrame({"email": ["a@example.com"]}))


# ---------------------------------------------------------------------------
# Meta customer list
# ---------------------------------------------------------------------------


def test_meta_row_hashes_every_value() -> None:
    result = meta_customer_list(
        users(
            {
                "email": " Test@Example.com",
                "phone": "+1 (415) 555-0134",
                "first_name": "  José ",
                "last_name": "O'Brien III",
                "city": "San Francisco",
                "state": "California",
                "zip": "94105-1234",
                "country": "U.S.A.",
            }
        )
    )
    assert result.frame.columns == list(META_HEADER)
    assert result.frame.row(0) == (
        "973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b",
        h("14155550134"),  # digits with country code, no "+"
        h("josé"),
        h("obrien"),
        h("sanfrancisco"),
        h("ca"),
        h("94105"),
        h("us"),
    )


def test_meta_empty_and_hashed_values() -> None:
    state_hash = h("ny").upper()
    result = meta_customer_list(users({"email": "a@example.com", "state": state_hash, "city": "", "zip": None}))
    row = result.frame.row(0, named=True)
    assert row["st"] == state_hash.lower()
    for column in ("phone", "fn", "ln", "ct", "zip", "country"):
        assert row[column] == ""


def test_meta_rules_match_google_rules() -> None:
    frame = users(
        {"email": "a@example.com", "country": "GB", "zip": "SW1A 1AA"},
        {"email": "a@example.com"},
        {"email": "bad"},
        {"phone": "020 7946 0958", "country": "GB"},
        {"phone": "020 7946 0958"},
        {},
    )
    google = google_customer_match(frame)
    meta = meta_customer_list(frame)
    assert_reconciles(meta)
    assert (
        meta.rejected
        == google.rejected
        == {
            "duplicate": 1,
            "invalid_email": 1,
            "unknown_country": 1,
            "no_identifier": 1,
        }
    )
    assert meta.frame.height == google.frame.height == 2
    gb_row = meta.frame.filter(pl.col("email") != "").row(0, named=True)
    assert gb_row["zip"] == h("sw1a1aa")
    assert gb_row["country"] == h("gb")
    phone_row = meta.frame.filter(pl.col("email") == "").row(0, named=True)
    assert phone_row["phone"] == h("442079460958")


# ---------------------------------------------------------------------------
# LinkedIn company list
# ---------------------------------------------------------------------------


def test_linkedin_company_row() -> None:
    result = linkedin_company_list(
        companies(
            {
                "account_id": "a1",
                "name": "  Northwind   Traders ",
                "website": "www.Northwind.com/about",
                "industry": "Software",
                "city": "Seattle",
                "state": "WA",
                "zip": "98101",
                "country": "United States",
                "linkedin_url": "linkedin.com/company/northwind-traders/",
                "stock_symbol": "nasdaq:nwnd",
            }
        )
    )
    assert result.frame.columns == list(LINKEDIN_COMPANY_HEADER)
    assert result.frame.row(0, named=True) == {
        "companyname": "Northwind Traders",
        "companywebsite": "https://www.Northwind.com/about",
        "companyemaildomain": "northwind.com",
        "linkedincompanypageurl": "https://linkedin.com/company/northwind-traders/",
        "stocksymbol": "NWND",
        "industry": "Software",
        "city": "Seattle",
        "state": "WA",
        "companycountry": "us",
        "zipcode": "98101",
    }


@pytest.mark.parametrize(
    ("website", "expected_site", "expected_domain"),
    [
        ("https://www.contoso.co.uk", "https://www.contoso.co.uk", "contoso.co.uk"),
        ("http://Contoso.com", "http://Contoso.com", "contoso.com"),
        ("contoso.com", "https://contoso.com", "contoso.com"),
        ("shop.contoso.com", "https://shop.contoso.com", "shop.contoso.com"),
        ("ftp://contoso.com", "", ""),
        ("javascript:alert(1)", "", ""),
        ("n/a", "", ""),
        ("localhost", "", ""),
        ("", "", ""),
    ],
)
def test_linkedin_website_and_domain(website: str, expected_site: str, expected_domain: str) -> None:
    result = linkedin_company_list(companies({"name": "Contoso", "website": website}))
    row = result.frame.row(0, named=True)
    assert (row["companywebsite"], row["companyemaildomain"]) == (expected_site, expected_domain)


def test_linkedin_neutralizes_text_and_rejects() -> None:
    result = linkedin_company_list(
        companies(
            {"name": '=HYPERLINK("http://evil")', "industry": "+Software", "city": "@Town", "state": "-x"},
            {"name": "Acme", "website": "acme.com", "country": "Narnia"},
            {"name": "ACME ", "website": "https://www.acme.com"},  # same (name, domain)
            {"name": "Acme", "website": "acme.io"},  # different domain -> kept
            {"name": "   ", "website": "nameless.com"},
            {"name": None},
        )
    )
    assert_reconciles(result)
    assert result.rejected == {"no_identifier": 2, "duplicate": 1}
    assert result.frame.height == 3
    evil = result.frame.filter(pl.col("companyname").str.starts_with("'")).row(0, named=True)
    assert evil["companyname"] == '\'=HYPERLINK("http://evil")'
    assert (evil["industry"], evil["city"], evil["state"]) == ("'+Software", "'@Town", "'-x")
    acme = result.frame.filter(pl.col("companyemaildomain") == "acme.com").row(0, named=True)
    assert acme["companycountry"] == ""
    assert result.field_errors == {"companycountry": 1}


def test_dedupe_key_is_defined_once_per_file() -> None:
    """The builders and the export verifier read the same key: the builder's output has
    no duplicate under it."""
    frame = users(
        {"email": "a@example.com"}, {"email": "A@example.com"}, {"phone": "+14155550134"}, {"phone": "+1 415 555 0134"}
    )
    for builder, spec in ((google_customer_match, GOOGLE), (meta_customer_list, META)):
        out = builder(frame).frame
        assert out.height == 2
        assert out.select(spec.dedupe_key.is_unique().all()).item()
    assert FILES[LINKEDIN_COMPANIES.file] is LINKEDIN_COMPANIES


def test_linkedin_without_optional_columns() -> None:
    frame = companies({"name": "Contoso"}).drop("linkedin_url", "stock_symbol")
    result = linkedin_company_list(frame)
    row = result.frame.row(0, named=True)
    assert (row["linkedincompanypageurl"], row["stocksymbol"]) == ("", "")
    assert result.field_errors == {}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://www.linkedin.com/company/contoso", "https://www.linkedin.com/company/contoso"),
        ("http://www.linkedin.com/company/contoso/", "https://www.linkedin.com/company/contoso/"),
        ("linkedin.com/company/contoso", "https://linkedin.com/company/contoso"),
        ("www.linkedin.com/company/contoso?trk=public_profile#about", "https://www.linkedin.com/company/contoso"),
        ("https://uk.linkedin.com/company/contoso/about/", "https://uk.linkedin.com/company/contoso/about/"),
        ("https://www.linkedin.com/school/contoso-university", "https://www.linkedin.com/school/contoso-university"),
        ("https://www.linkedin.com/in/jane-doe", ""),  # a person, not a company page
        ("https://www.linkedin.com/company/", ""),
        ("https://evil.example/company/contoso", ""),
        ("https://linkedin.com.evil.example/company/contoso", ""),
        ("https://user@linkedin.com/company/contoso", ""),
        ("ftp://linkedin.com/company/contoso", ""),
        ("=HYPERLINK(1)", ""),
        ("", ""),
    ],
)
def test_linkedin_page_url(raw: str, expected: str) -> None:
    result = linkedin_company_list(companies({"name": "Contoso", "linkedin_url": raw}))
    assert result.frame.row(0, named=True)["linkedincompanypageurl"] == expected
    assert result.field_errors == ({"linkedincompanypageurl": 1} if raw and not expected else {})


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("msft", "MSFT"),
        (" $msft ", "MSFT"),
        ("NASDAQ:MSFT", "MSFT"),
        ("brk.b", "BRK.B"),
        ("not a ticker", ""),
        ("", ""),
    ],
)
def test_linkedin_stock_symbol(raw: str, expected: str) -> None:
    result = linkedin_company_list(companies({"name": "Contoso", "stock_symbol": raw}))
    assert result.frame.row(0, named=True)["stocksymbol"] == expected


# ---------------------------------------------------------------------------
# Property tests
# ---------------------------------------------------------------------------

NORMALIZERS = [
    normalize_email,
    normalize_country,
    normalize_name,
    normalize_name_meta,
    normalize_city_meta,
    neutralize_formula,
]


@given(st.text(), st.one_of(st.none(), st.text(), st.sampled_from(["US", "GB", "de", "Narnia"])))
def test_normalizers_never_raise(value: str, country: str | None) -> None:
    for normalizer in NORMALIZERS:
        out = normalizer(value)
        assert out is None or isinstance(out, str)
    for out in (
        normalize_phone_e164(value, country),
        normalize_state_meta(value, country),
        normalize_zip(value, country, "google"),
        normalize_zip(value, country, "meta"),
    ):
        assert out is None or isinstance(out, str)
    e164 = normalize_phone_e164(value, country)
    if e164 is not None:
        assert re.fullmatch(r"\+[1-9][0-9]{6,14}", e164)
    assert sha256_hex(value) == sha256_hex(value)
    assert HEX64.fullmatch(sha256_hex(value))


REALISTIC = {
    "email": ["a@example.com", " A@Example.com", "bad", "x@y.co", h("a@example.com"), ""],
    "phone": ["+1 (415) 555-0134", "415-555-0134", "020 7946 0958", "12", "+44 (0)20 7946 0958", ""],
    "first_name": ["Dr. Jane", "José", "O'Brien", ""],
    "last_name": ["Smith Jr.", "Zoë", ""],
    "city": ["San Francisco", "St. Louis", ""],
    "state": ["California", "ON", ""],
    "zip": ["94105-1234", "SW1A 1AA", "=1", ""],
    "country": ["US", "GB", "Deutschland", "Narnia", ""],
}


def _cell(column: str) -> st.SearchStrategy[str | None]:
    return st.one_of(st.none(), st.text(max_size=20), st.sampled_from(REALISTIC.get(column, [""])))


user_rows = st.lists(st.fixed_dictionaries({c: _cell(c) for c in USER_COLUMNS}), max_size=25)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(user_rows)
def test_user_lists_reconcile_and_hash(rows: list[dict[str, str | None]]) -> None:
    frame = users(*rows)
    for builder, header, hashed in (
        (google_customer_match, GOOGLE_HEADER, ("Email", "Phone", "First Name", "Last Name")),
        (meta_customer_list, META_HEADER, META_HEADER),
    ):
        result = builder(frame)
        assert result.input_rows == len(rows)
        assert_reconciles(result)
        assert result.frame.columns == list(header)
        assert all(dtype == pl.String for dtype in result.frame.dtypes)
        for column in hashed:
            for value in result.frame[column]:
                assert value == "" or HEX64.fullmatch(value), (column, value)
        # Every kept row has an identifier and (email, phone) is unique.
        key = result.frame.select(header[0], header[1])
        assert key.filter((pl.col(header[0]) == "") & (pl.col(header[1]) == "")).height == 0
        assert key.is_unique().all()


company_rows = st.lists(
    st.fixed_dictionaries(
        {
            c: st.one_of(st.none(), st.text(max_size=20), st.sampled_from(["Acme", "acme.com", "=1", "US", ""]))
            for c in COMPANY_COLUMNS
        }
    ),
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(company_rows)
def test_company_list_reconciles_and_neutralizes(rows: list[dict[str, str | None]]) -> None:
    result = linkedin_company_list(companies(*rows))
    assert result.input_rows == len(rows)
    assert_reconciles(result)
    assert result.frame.columns == list(LINKEDIN_COMPANY_HEADER)
    for column in LINKEDIN_COMPANY_HEADER:
        for value in result.frame[column]:
            assert not value.lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r")), (column, value)
    assert (result.frame["companyname"] != "").all()
