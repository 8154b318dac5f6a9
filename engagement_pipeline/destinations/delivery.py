"""Posting a JSON body to a destination: retries with backoff on 429, 5xx and connection
errors, honouring Retry-After, and one sentence when it gives up.

A request counts as delivered only on a 2xx answer; whatever the caller records as sent
must come after `post_json` returned. The URL is never part of a message: a webhook URL
carries its own secret.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import time
from collections.abc import Callable

import httpx

from engagement_pipeline.core.config_destinations import Delivery

Sleep = Callable[[float], None]


class DeliveryError(Exception):
    """A destination did not acknowledge a request: `problem` names it, `fix` says what to do."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(f"{problem}: {fix}")
        self.problem, self.fix = problem, fix


def retry_after_seconds(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date (None when absent or unreadable)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - (now or dt.datetime.now(dt.UTC))).total_seconds())


def _refused(status: int) -> str:
    if status in (401, 403):
        return "check that the key or URL in its environment variable is the right one"
    if status == 400 or status == 413:
        return "the payload was refused as malformed or too large; see the run's log for the batch sizes"
    return "see the destination's documentation for that status"


def post_json(
    client: httpx.Client,
    url: str,
    body: bytes,
    delivery: Delivery,
    what: str,
    *,
    auth: tuple[str, str] | None = None,
    sleep: Sleep = time.sleep,
) -> int:
    """POST `body` until a 2xx answer; returns the number of attempts it took.

    429, 5xx and transport errors are retried `delivery.max_attempts` times in all, waiting
    `backoff_seconds` doubled each time, or what Retry-After asks (capped at `max_wait_seconds`).
    Any other status ends at once. Raises `DeliveryError` (`what` names the destination).
    """
    problem = "was not tried"
    for attempt in range(1, delivery.max_attempts + 1):
        wait = delivery.backoff_seconds * 2 ** (attempt - 1)
        try:
            response = client.post(
                url,
                content=body,
                headers={"Content-Type": "application/json"},
                auth=httpx.BasicAuth(*auth) if auth is not None else httpx.USE_CLIENT_DEFAULT,
                timeout=delivery.timeout_seconds,
            )
        except httpx.TransportError as exc:
            problem = f"could not be reached ({type(exc).__name__})"
        else:
            status = response.status_code
            if 200 <= status < 300:
                return attempt
            if status != 429 and status < 500:
                raise DeliveryError(f"{what} refused the request with HTTP {status}", _refused(status))
            problem = f"answered HTTP {status}"
            asked = retry_after_seconds(response.headers.get("Retry-After"))
            if asked is not None:
                wait = asked
        if attempt < delivery.max_attempts:
            sleep(min(wait, delivery.max_wait_seconds))
    tries = f"{delivery.max_attempts} attempt{'s' if delivery.max_attempts > 1 else ''}"
    raise DeliveryError(f"{what} {problem} after {tries}", "check that it is up and reachable, then run the day again")
