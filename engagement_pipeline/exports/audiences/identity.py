"""Who a customer-list row identifies: the email and phone rules Google and Meta share."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from engagement_pipeline.exports.audiences.normalize import already_hashed, normalize_country, normalize_email, present
from engagement_pipeline.exports.audiences.phones import INVALID_PHONE, parse_phone

INVALID_EMAIL = "invalid_email"
NO_IDENTIFIER = "no_identifier"
Row = Mapping[str, str | None]


@dataclass(frozen=True)
class Identity:
    """Per-row outcome of the identifier rules shared by Google and Meta."""

    email: str | None  # normalised email or already-hashed digest
    phone: str | None  # E.164 or already-hashed digest
    alpha2: str | None
    reason: str | None  # rejection reason, None when the row is kept
    email_blanked: bool
    phone_blanked: bool
    country_blanked: bool


def identity(row: Row) -> Identity:
    """The identifier rules shared by Google and Meta: email, else phone (parsed in the row's country)."""
    email_raw, phone_raw, country_raw = row["email"], row["phone"], row["country"]
    alpha2 = normalize_country(country_raw)

    email: str | None = None
    email_given = present(email_raw)
    if email_given:
        email = already_hashed(email_raw) or normalize_email(email_raw)

    phone: str | None = None
    phone_reason: str | None = None
    phone_given = present(phone_raw)
    if phone_given:
        phone = already_hashed(phone_raw)
        if phone is None:
            phone, phone_reason = parse_phone(phone_raw, alpha2)

    reason: str | None = None
    if email is None and phone is None:
        if email_given:
            reason = INVALID_EMAIL
        elif phone_given:
            reason = phone_reason or INVALID_PHONE
        else:
            reason = NO_IDENTIFIER
    return Identity(
        email=email,
        phone=phone,
        alpha2=alpha2,
        reason=reason,
        email_blanked=email_given and email is None,
        phone_blanked=phone_given and phone is None,
        country_blanked=alpha2 is None and present(country_raw),
    )
