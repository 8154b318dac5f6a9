"""Real client libraries nobody here wrote, pointed at `engagement-pipeline collect` by their host
option: Segment's `segment-analytics-python` (plain JSON bodies) and RudderStack's
`rudder-sdk-python` (gzip bodies). Their identify / group / track calls must come out of the
pipeline's raw and staging steps in `staging.events` with the right user, account and received day.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

import pytest

from engagement_pipeline.core.config import load_config
from tests.collector.server import WRITE_KEY, landed_days, running_collector
from tests.conftest import base_config, read_warehouse, run_days, write_config

pytestmark = pytest.mark.slow  # a real collector process and the raw + staging steps: seconds each


def segment_client(url: str, errors: list[Any]) -> Any:
    from segment.analytics import Client

    return Client(WRITE_KEY, host=url, on_error=lambda e, batch: errors.append(e), max_retries=2, gzip=False)


def rudder_client(url: str, errors: list[Any]) -> Any:
    from rudderstack.analytics import Client

    return Client(WRITE_KEY, host=url, on_error=lambda e, batch: errors.append(e), max_retries=2, gzip=True)


def send_calls(client: Any, prefix: str) -> None:
    """What an app does: identify a user, put them in an account, track two events (the first
    names the account in context.groupId, the second leaves it to the group call)."""
    user, account = f"{prefix}-user-1", f"{prefix}-acct-1"
    client.identify(user, {"email": f"{user}@example.com", "firstName": "Ada", "createdAt": "2026-01-02T00:00:00Z"})
    client.group(user, account, {"name": f"{prefix} Inc", "plan": "pro", "status": "active", "employees": 40})
    client.track(user, "Document Created", {"words": 120}, context={"groupId": account})
    client.track(user, "Logged In")
    client.flush()


@pytest.mark.parametrize("make_client", [segment_client, rudder_client], ids=["segment", "rudderstack"])
def test_a_real_client_library_sends_events_that_reach_staging(
    tmp_path: Path, make_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.CRITICAL, logger="segment")  # the libraries log their retries loudly
    today = dt.datetime.now(dt.UTC).date()
    config_path = write_config(tmp_path, base_config((today - dt.timedelta(days=3)).isoformat()))
    config = load_config(config_path)
    prefix = make_client.__name__.split("_")[0]
    errors: list[Any] = []
    with running_collector(config_path, tmp_path / "collector.log") as collector:
        client = make_client(collector.url, errors)
        send_calls(client, prefix)
        client.shutdown() if hasattr(client, "shutdown") else client.join()
        log = collector.log_text()
    assert errors == []
    assert "POST /v1/batch 200" in log
    days = landed_days(config.paths.landing)
    assert days and all(d in (today, today + dt.timedelta(days=1)) for d in days)  # received today (or just after)

    run_days(config.paths.warehouse, days, config, through="staging")
    rows = read_warehouse(
        config,
        "SELECT type, event, user_id, account_id, received_date FROM staging.events ORDER BY type, event NULLS FIRST",
    )
    user, account, day = f"{prefix}-user-1", f"{prefix}-acct-1", days[0]
    assert rows == [
        ("group", None, user, account, day),
        ("identify", None, user, account, day),
        ("track", "Document Created", user, account, day),
        ("track", "Logged In", user, account, day),
    ]
    assert read_warehouse(config, "SELECT count(*) FROM staging.quarantine") == [(0,)]
    (acct,) = read_warehouse(config, "SELECT account_id, name, plan, status FROM staging.accounts")
    assert acct == (account, f"{prefix} Inc", "pro", "active")
    (staged_user,) = read_warehouse(config, "SELECT user_id, email FROM staging.users")
    # Segment's library sends identify traits in `traits`, RudderStack's in `context.traits`: both are read.
    assert staged_user == (user, f"{user}@example.com")
    # No payload, user id or e-mail in the collector's log.
    assert user not in log and "example.com" not in log and WRITE_KEY not in log
