"""Company fields of the LinkedIn company list: website and email domain, LinkedIn page,
stock ticker (LinkedIn's company-list template; values are not hashed)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from engagement_pipeline.exports.audiences.normalize import clean

_HOST_LABEL_RE = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_STOCK_RE = re.compile(r"[A-Z0-9][A-Z0-9.\-]{0,9}")


def normalize_website(raw: str | None) -> tuple[str | None, str | None]:
    """``(website, email_domain)`` for a company website, or ``(None, None)``.

    The website is kept as given (trimmed), with ``https://`` prepended when it
    has no scheme; only http(s) URLs with a plausible dotted host are accepted.
    The domain is the lowercase host without a leading ``www.`` -- without a
    public-suffix list, other subdomains ("shop.example.co.uk") are kept.
    """
    text = clean(raw)
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


_LINKEDIN_PAGE_KINDS = ("company", "school", "showcase")


def normalize_linkedin_url(raw: str | None) -> str | None:
    """A LinkedIn page URL as LinkedIn's template takes it, or ``None``.

    The URL is kept as given, with ``https://`` as its scheme (prepended when it has
    none, replacing ``http://``) and without a query or fragment (``?trk=...`` tracking,
    ``#...``): "linkedin.com/company/acme/?trk=x" -> "https://linkedin.com/company/acme/".
    Only linkedin.com pages of a company, school or showcase are accepted; anything else
    (a profile, another site, an address with "@" or spaces) is ``None``.
    """
    text = clean(raw)
    if text is None or " " in text or "@" in text:
        return None
    if text.startswith("//"):
        text = "https:" + text
    elif "://" not in text:
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
    if len(segments) < 2 or segments[0].lower() not in _LINKEDIN_PAGE_KINDS:
        return None
    return f"https://{parts.netloc}{parts.path}"


def normalize_stock_symbol(raw: str | None) -> str | None:
    """The ticker, uppercased, or ``None``: "msft" -> "MSFT"; a leading "$" and an exchange
    prefix are dropped ("$msft", "NASDAQ:MSFT" -> "MSFT"); at most 10 letters, digits, dots
    or hyphens ("BRK.B", "RDS-A")."""
    text = clean(raw)
    if text is None:
        return None
    text = text.upper().lstrip("$")
    if ":" in text:
        text = text.rsplit(":", 1)[1].strip()
    return text if _STOCK_RE.fullmatch(text) else None
