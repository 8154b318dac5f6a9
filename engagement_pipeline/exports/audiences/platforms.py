"""The ad platforms' customer-list files: headers, row rules, dedupe keys.

Four files are built here, each a pure function of a polars frame: Google Customer Match
(:func:`google_customer_match`, ``Email,Phone,First Name,Last Name,Country,Zip``), Meta's
customer list (:func:`meta_customer_list`, ``email,phone,fn,ln,ct,st,zip,country``), and
LinkedIn Matched Audiences' company and contact lists (:func:`linkedin_company_list`,
:func:`linkedin_contact_list`).

Field normalisation and hashing are in `normalize.py`, `phones.py` and `companies.py`. Each file is described once, by
a :class:`FileSpec` (header, hashed columns, dedupe key, output order), which the
builders here and the export verifier both read. Empty or missing values are written
as ``""`` -- never as the hash of the empty string, which would be a real (and shared)
identifier on the platform side.

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
   for each dedupe key: the hashed email when present, otherwise the hashed
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

from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from engagement_pipeline.exports.audiences.companies import (
    normalize_linkedin_url,
    normalize_stock_symbol,
    normalize_website,
)
from engagement_pipeline.exports.audiences.identity import INVALID_EMAIL, NO_IDENTIFIER, Row, identity
from engagement_pipeline.exports.audiences.normalize import (
    already_hashed,
    clean,
    google_email,
    hash_or_empty,
    neutralize_formula,
    normalize_city_meta,
    normalize_country,
    normalize_email,
    normalize_name,
    normalize_name_meta,
    normalize_state_meta,
    normalize_zip,
    present,
)
from engagement_pipeline.exports.audiences.phones import (
    INVALID_PHONE,
    UNKNOWN_COUNTRY,
)

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

DUPLICATE = "duplicate"
REJECT_REASONS: tuple[str, ...] = (INVALID_EMAIL, INVALID_PHONE, UNKNOWN_COUNTRY, NO_IDENTIFIER, DUPLICATE)


def _email_else_phone(email: str, phone: str) -> pl.Expr:
    """A person: the hashed email when present, otherwise the hashed phone."""
    return pl.when(pl.col(email) != "").then(pl.lit("e:") + pl.col(email)).otherwise(pl.lit("p:") + pl.col(phone))


@dataclass(frozen=True)
class FileSpec:
    """One platform file: its exact header, the columns written as SHA-256 hex, what
    must be unique in it (`dedupe_key`, over the file's own columns: the first row in
    input order wins), and the order rows are written in (then every column)."""

    file: str
    header: tuple[str, ...]
    hashed: tuple[str, ...]
    dedupe_key: pl.Expr
    order: tuple[pl.Expr, ...]


GOOGLE = FileSpec(
    file="lookalike_google.csv",
    header=GOOGLE_HEADER,
    hashed=("Email", "Phone", "First Name", "Last Name"),
    dedupe_key=_email_else_phone("Email", "Phone"),
    order=(pl.col("Email"), pl.col("Phone")),
)
META = FileSpec(
    file="lookalike_meta.csv",
    header=META_HEADER,
    hashed=META_HEADER,
    dedupe_key=_email_else_phone("email", "phone"),
    order=(pl.col("email"), pl.col("phone")),
)
LINKEDIN_COMPANIES = FileSpec(
    file="lookalike_linkedin_companies.csv",
    header=LINKEDIN_COMPANY_HEADER,
    hashed=(),
    dedupe_key=pl.col("companyname").str.to_lowercase() + pl.lit("\x00") + pl.col("companyemaildomain"),
    order=(pl.col("companyname").str.to_lowercase(), pl.col("companyemaildomain")),
)
LINKEDIN_CONTACT_HEADER = ("email", "firstname", "lastname", "jobtitle", "employeecompany", "country", "googleaid")
LINKEDIN_CONTACTS = FileSpec(
    file="lookalike_linkedin_contacts.csv",
    header=LINKEDIN_CONTACT_HEADER,
    hashed=("email",),
    dedupe_key=pl.col("email"),
    order=(pl.col("email"),),
)
FILES: dict[str, FileSpec] = {spec.file: spec for spec in (GOOGLE, META, LINKEDIN_COMPANIES, LINKEDIN_CONTACTS)}


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
# Building a file
# ---------------------------------------------------------------------------

# A row builder returns the output row (header column -> text) or the reason the input
# row is left out; it adds to `errors` (output column -> blanked values) as it goes.
RowBuilder = Callable[[Row, dict[str, int]], "dict[str, str] | str"]


def _input_rows(frame: pl.DataFrame, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> list[Row]:
    """The input as named rows of ``str | None`` (non-string dtypes are cast; an optional
    column the frame lacks reads as missing)."""
    missing = [name for name in required if name not in frame.columns]
    if missing:
        raise ValueError(f"input frame is missing required columns: {missing}")
    columns = [
        pl.col(name).cast(pl.String, strict=False)
        if name in frame.columns
        else pl.lit(None, dtype=pl.String).alias(name)
        for name in (*required, *optional)
    ]
    return list(frame.select(columns).iter_rows(named=True))


def _build(spec: FileSpec, rows: list[Row], make_row: RowBuilder) -> AudienceResult:
    """Run `make_row` over the input, drop later duplicates by the file's dedupe key,
    order the rows, and account for every input row."""
    rejected: dict[str, int] = {}
    errors = dict.fromkeys(spec.header, 0)
    kept: list[dict[str, str]] = []
    for row in rows:
        out = make_row(row, errors)
        if isinstance(out, str):
            rejected[out] = rejected.get(out, 0) + 1
        else:
            kept.append(out)
    frame = pl.DataFrame(kept, schema=dict.fromkeys(spec.header, pl.String))
    first = frame.select(spec.dedupe_key.is_first_distinct()).to_series()
    duplicates = int((~first).sum())
    frame = frame.filter(first).sort([*spec.order, *[pl.col(c) for c in spec.header]]).select(spec.header)
    rejected = {reason: rejected[reason] for reason in REJECT_REASONS if rejected.get(reason)}
    if duplicates:
        rejected[DUPLICATE] = duplicates
    if len(rows) != frame.height + sum(rejected.values()):  # pragma: no cover - invariant
        raise RuntimeError("audience row accounting does not reconcile")
    errors = {name: count for name, count in errors.items() if count}
    return AudienceResult(frame=frame, rejected=rejected, input_rows=len(rows), field_errors=errors)


# ---------------------------------------------------------------------------
# Google Customer Match
# ---------------------------------------------------------------------------

_GOOGLE_INPUT = ("email", "phone", "first_name", "last_name", "country", "zip")


def _google_row(row: Row, errors: dict[str, int]) -> dict[str, str] | str:
    ident = identity(row)
    if ident.reason is not None:
        return ident.reason
    zip_code = normalize_zip(row["zip"], ident.alpha2, "google")
    errors["Email"] += ident.email_blanked
    errors["Phone"] += ident.phone_blanked
    errors["Country"] += ident.country_blanked
    errors["Zip"] += zip_code is None and present(row["zip"])
    return {
        "Email": hash_or_empty(google_email(ident.email)),
        "Phone": hash_or_empty(ident.phone),
        "First Name": hash_or_empty(already_hashed(row["first_name"]) or normalize_name(row["first_name"])),
        "Last Name": hash_or_empty(already_hashed(row["last_name"]) or normalize_name(row["last_name"])),
        "Country": ident.alpha2 or "",
        "Zip": zip_code or "",
    }


def google_customer_match(users: pl.DataFrame) -> AudienceResult:
    """Google Customer Match upload (see module docstring for the row rules).

    Email, Phone (E.164 with "+"), First Name and Last Name are SHA-256 hashed;
    Country (lowercase alpha-2) and Zip (lowercase, no spaces) are plain text.
    """
    return _build(GOOGLE, _input_rows(users, _GOOGLE_INPUT), _google_row)


# ---------------------------------------------------------------------------
# Meta customer list
# ---------------------------------------------------------------------------

_META_INPUT = ("email", "phone", "first_name", "last_name", "city", "state", "zip", "country")


def _meta_row(row: Row, errors: dict[str, int]) -> dict[str, str] | str:
    ident = identity(row)
    if ident.reason is not None:
        return ident.reason
    phone = ident.phone
    if phone is not None and phone.startswith("+"):
        phone = phone[1:]  # Meta: digits with the country code, no "+"
    alpha2 = ident.alpha2
    country_hash = already_hashed(row["country"])
    state = already_hashed(row["state"]) or normalize_state_meta(row["state"], alpha2)
    zip_code = already_hashed(row["zip"]) or normalize_zip(row["zip"], alpha2, "meta")
    errors["email"] += ident.email_blanked
    errors["phone"] += ident.phone_blanked
    errors["country"] += ident.country_blanked and country_hash is None
    errors["st"] += state is None and present(row["state"])
    errors["zip"] += zip_code is None and present(row["zip"])
    return {
        "email": hash_or_empty(ident.email),
        "phone": hash_or_empty(phone),
        "fn": hash_or_empty(already_hashed(row["first_name"]) or normalize_name_meta(row["first_name"])),
        "ln": hash_or_empty(already_hashed(row["last_name"]) or normalize_name_meta(row["last_name"])),
        "ct": hash_or_empty(already_hashed(row["city"]) or normalize_city_meta(row["city"])),
        "st": hash_or_empty(state),
        "zip": hash_or_empty(zip_code),
        "country": hash_or_empty(country_hash or alpha2),
    }


def meta_customer_list(users: pl.DataFrame) -> AudienceResult:
    """Meta custom-audience customer list (see module docstring for the row rules).

    Every non-empty value is SHA-256 hashed; phone is hashed as E.164 digits
    without "+". Already-hashed values in any column pass through.
    """
    return _build(META, _input_rows(users, _META_INPUT), _meta_row)


# ---------------------------------------------------------------------------
# LinkedIn company list
# ---------------------------------------------------------------------------

_LINKEDIN_INPUT = ("name", "website", "industry", "city", "state", "zip", "country")
_LINKEDIN_OPTIONAL = ("linkedin_url", "stock_symbol")


def _text(raw: str | None) -> str:
    return neutralize_formula(clean(raw)) or ""


def _linkedin_row(row: Row, errors: dict[str, int]) -> dict[str, str] | str:
    name = clean(row["name"])
    if name is None:
        return NO_IDENTIFIER
    website, domain = normalize_website(row["website"])
    linkedin = normalize_linkedin_url(row["linkedin_url"])
    stock = normalize_stock_symbol(row["stock_symbol"])
    alpha2 = normalize_country(row["country"])
    zip_code = normalize_zip(row["zip"], alpha2, "google")
    errors["companywebsite"] += website is None and present(row["website"])
    errors["linkedincompanypageurl"] += linkedin is None and present(row["linkedin_url"])
    errors["stocksymbol"] += stock is None and present(row["stock_symbol"])
    errors["companycountry"] += alpha2 is None and present(row["country"])
    errors["zipcode"] += zip_code is None and present(row["zip"])
    return {
        "companyname": neutralize_formula(name) or "",
        "companywebsite": website or "",
        "companyemaildomain": domain or "",
        "linkedincompanypageurl": linkedin or "",
        "stocksymbol": stock or "",
        "industry": _text(row["industry"]),
        "city": _text(row["city"]),
        "state": _text(row["state"]),
        "companycountry": alpha2 or "",
        "zipcode": zip_code or "",
    }


def linkedin_company_list(companies: pl.DataFrame) -> AudienceResult:
    """LinkedIn Matched Audiences company list (values are not hashed).

    * companyname/industry/city/state: trimmed, whitespace collapsed,
      formula-neutralised.
    * companywebsite / companyemaildomain: see `companies.normalize_website`.
    * linkedincompanypageurl: from optional ``linkedin_url``: the page URL as given,
      https, no query (`companies.normalize_linkedin_url`); blank when absent.
    * stocksymbol: from optional ``stock_symbol``, the ticker uppercased; blank when absent.
    * companycountry: lowercase ISO alpha-2 (unknown -> blank).
    * zipcode: as Google's Zip (lowercase, no spaces).

    Rows without a name are ``no_identifier``; repeats of a (case-insensitive
    name, domain) pair are ``duplicate`` (first in input order wins).
    """
    return _build(LINKEDIN_COMPANIES, _input_rows(companies, _LINKEDIN_INPUT, _LINKEDIN_OPTIONAL), _linkedin_row)


# ---------------------------------------------------------------------------
# LinkedIn contact list
# ---------------------------------------------------------------------------

_LINKEDIN_CONTACT_INPUT = ("email", "title", "company", "country")


def _linkedin_contact_row(row: Row, errors: dict[str, int]) -> dict[str, str] | str:
    email = already_hashed(row["email"]) or normalize_email(row["email"])
    if email is None:
        return INVALID_EMAIL if present(row["email"]) else NO_IDENTIFIER
    alpha2 = normalize_country(row["country"])
    errors["country"] += alpha2 is None and present(row["country"])
    return {
        "email": hash_or_empty(email),
        "firstname": "",
        "lastname": "",
        "jobtitle": _text(row["title"]),
        "employeecompany": _text(row["company"]),
        "country": alpha2 or "",
        "googleaid": "",
    }


def linkedin_contact_list(contacts: pl.DataFrame) -> AudienceResult:
    """LinkedIn Matched Audiences contact list, the template's headers unchanged.

    The email (required: rows without a valid one are ``invalid_email`` / ``no_identifier``) is
    SHA-256 of the trimmed, lowercased address, which LinkedIn accepts; job title and company
    (the account's name) are plain, formula-neutralised text; country lowercase ISO alpha-2.
    First and last name are left blank: LinkedIn takes them only in clear text, and the hashed
    email is what it matches first. ``googleaid`` (a mobile advertising id) is never known here.
    """
    return _build(LINKEDIN_CONTACTS, _input_rows(contacts, _LINKEDIN_CONTACT_INPUT), _linkedin_contact_row)
