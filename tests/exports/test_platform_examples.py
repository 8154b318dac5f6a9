"""The audience files against the platforms' own published examples, and the LinkedIn contact list.

Sources: Meta's normalization rules and its business SDK (`Normalize.normalize_field`: zip lowercased,
spaces removed, only the part before a hyphen); Google's Customer Match / Data Manager formatting guide
(email trimmed and lowercased, gmail dots and +suffixes removed, phone E.164 with "+", names without
prefixes; US zip 5 digits or ZIP+4, other countries as written); LinkedIn's contact-list template.
"""

from __future__ import annotations

import hashlib

import polars as pl
import pytest

from engagement_pipeline.exports.audiences.platforms import (
    LINKEDIN_CONTACT_HEADER,
    google_customer_match,
    linkedin_contact_list,
    meta_customer_list,
)
from tests.exports.test_audiences import users


def h(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def test_meta_published_example_row() -> None:
    row = meta_customer_list(
        users(
            {
                "email": "  John_Smith@gmail.com ",
                "phone": "+1 (616) 954-1234",
                "first_name": "Mary",
                "last_name": "Smith",
                "city": "Menlo Park",
                "state": "California",
                "zip": "94035",
                "country": "US",
            }
        )
    ).frame.row(0, named=True)
    expected = ("john_smith@gmail.com", "16169541234", "mary", "smith", "menlopark", "ca", "94035", "us")
    assert tuple(row.values()) == tuple(h(v) for v in expected)


@pytest.mark.parametrize(
    ("country", "zip_code", "meta"),
    [
        ("BR", "30555-451", "30555"),  # the SDK's own example: cut at the hyphen
        ("PT", "1000-001", "1000"),
        ("PL", "00-950", "00"),
        ("JP", "100-0001", "100"),
        ("US", "94035-1234", "94035"),
        ("GB", "SW1A 1AA", "sw1a1aa"),
    ],
)
def test_meta_zip_is_the_part_before_the_hyphen(country: str, zip_code: str, meta: str) -> None:
    frame = meta_customer_list(users({"email": "a@example.com", "zip": zip_code, "country": country})).frame
    assert frame["zip"][0] == h(meta)


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("cloudy.sanfrancisco+shopping@gmail.com", "cloudysanfrancisco@gmail.com"),
        ("Cloudy.SanFrancisco@GoogleMail.com", "cloudysanfrancisco@googlemail.com"),
        ("user.name+NYC@Example.com", "user.name+nyc@example.com"),  # other domains keep dots and +
    ],
)
def test_google_email_rules_published_examples(raw: str, normalized: str) -> None:
    assert google_customer_match(users({"email": raw})).frame["Email"][0] == h(normalized)
    # Meta has no such rule: its hash is of the address as trimmed and lowercased.
    assert meta_customer_list(users({"email": raw})).frame["email"][0] == h(raw.strip().lower())


def test_google_published_example_row() -> None:
    row = google_customer_match(
        users(
            {
                "email": "Test@Example.com",
                "phone": "(800)555-0100",
                "first_name": "Mrs. Jane",
                "last_name": "Doe Jr.",
                "country": "US",
                "zip": "94043",
            }
        )
    ).frame.row(0, named=True)
    assert row == {
        "Email": h("test@example.com"),
        "Phone": h("+18005550100"),
        "First Name": h("jane"),
        "Last Name": h("doe"),
        "Country": "us",
        "Zip": "94043",
    }


@pytest.mark.parametrize(
    ("country", "zip_code", "google"),
    [("US", "94043", "94043"), ("US", "940431234", "94043-1234"), ("BR", "30555-451", "30555-451")],
)
def test_google_zip_as_its_template_writes_it(country: str, zip_code: str, google: str) -> None:
    frame = google_customer_match(users({"email": "a@example.com", "zip": zip_code, "country": country})).frame
    assert frame["Zip"][0] == google


def test_gmail_variants_of_one_person_are_one_google_row() -> None:
    result = google_customer_match(users({"email": "j.doe@gmail.com"}, {"email": "jdoe+ads@gmail.com"}))
    assert result.frame.height == 1 and result.rejected == {"duplicate": 1}


def test_linkedin_contact_list_template_hashes_the_email_and_leaves_names_out() -> None:
    contacts = pl.DataFrame(
        {
            "email": [" Ana@Example.org ", h("b@example.org").upper(), "not-an-email", None, "ana@example.org"],
            "title": ["=VP Sales", "CTO", "CEO", "CFO", "VP Sales"],
            "company": ["Acme", "Globex", "Initech", "Umbrella", "Acme"],
            "country": ["Germany", "us", "fr", "gb", "de"],
        }
    )
    result = linkedin_contact_list(contacts)
    assert ",".join(result.frame.columns) == "email,firstname,lastname,jobtitle,employeecompany,country,googleaid"
    assert tuple(result.frame.columns) == LINKEDIN_CONTACT_HEADER
    rows = {r["email"]: r for r in result.frame.iter_rows(named=True)}
    assert set(rows) == {h("ana@example.org"), h("b@example.org")}
    ana = rows[h("ana@example.org")]
    assert (ana["jobtitle"], ana["employeecompany"], ana["country"]) == ("'=VP Sales", "Acme", "de")
    assert all(r["firstname"] == r["lastname"] == r["googleaid"] == "" for r in rows.values())
    assert result.rejected == {"invalid_email": 1, "no_identifier": 1, "duplicate": 1}
    assert result.input_rows == result.frame.height + sum(result.rejected.values())
