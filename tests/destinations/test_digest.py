"""The customer-success digest: what it says, that it goes once a day, and its failures."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from engagement_pipeline.core.config_destinations import DigestDestination
from engagement_pipeline.core.warehouse import connect
from engagement_pipeline.destinations import step
from engagement_pipeline.destinations.digest import build_digest, transitions
from tests.conftest import DemoWorld
from tests.destinations.conftest import world_copy
from tests.destinations.receiver import Receiver, closed_port_url

DAY = dt.date(2026, 3, 2)


def today() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "account_id": ["a1", "a2", "a3", "a4", "a5"],
            "name": ["Acme <Corp> & Co", "Globex", "Initech", "Umbrella", "Hooli"],
            "score": [81.0, 30.0, 64.0, 20.0, 90.0],
            "previous_score": [70.0, 55.0, 40.0, 45.0, 88.0],
            "trend": ["steady", "cooling", "heating", "cooling", "steady"],
            "trend_delta": [11.0, -25.0, 24.0, -25.0, 2.0],
            "health": ["new", "at_risk", "healthy", "at_risk", "at_risk"],
            "is_pql": [True, False, True, False, False],
            "churn_risk": [0.1, 0.6, 0.2, 0.8, 0.5],
            "mrr": [None, 1200.0, 300.0, None, 500.0],
            "activation_pct": [100.0, 50.0, 100.0, 25.0, 75.0],
        }
    )


def yesterday() -> pl.DataFrame:
    # a3 was already a PQL and a5 already at risk: neither is news today.
    return pl.DataFrame(
        {
            "account_id": ["a1", "a2", "a3", "a4", "a5"],
            "is_pql": [False, False, True, False, False],
            "health": ["new", "healthy", "healthy", "healthy", "at_risk"],
        }
    )


def test_transitions_are_the_days_news() -> None:
    news = transitions(today(), yesterday())
    assert news["new_pql"]["account_id"].to_list() == ["a1"]
    assert news["at_risk"]["account_id"].to_list() == ["a2", "a4"]  # by MRR, unknown MRR last
    assert news["at_risk"]["mrr_at_stake"].to_list() == [720.0, None]
    assert news["heating"]["account_id"].to_list() == ["a3"]
    assert news["cooling"]["account_id"].to_list() == ["a2", "a4"]


def test_digest_is_slack_json_with_escaped_names_and_the_mrr_at_stake() -> None:
    payload = build_digest(DAY, today(), yesterday(), DigestDestination(max_accounts=1))
    assert payload["text"].startswith("Engagement digest for 2026-03-02: 1 new PQLs, 2 accounts turned at risk ($1,200")
    assert payload["blocks"][0]["type"] == "header"
    sections = [b["text"]["text"] for b in payload["blocks"][1:]]
    assert all(b["text"]["type"] == "mrkdwn" for b in payload["blocks"][1:])
    assert "*Acme &lt;Corp&gt; &amp; Co* (`a1`)" in sections[1]  # Slack's control characters escaped
    assert "$1,200 MRR, churn risk 60% ($720 expected loss)" in sections[2]
    assert "… and 1 more" in sections[2]  # max_accounts per section
    assert "score 40 → 64" in sections[3]


def test_the_first_digest_lists_every_current_pql_and_at_risk_account() -> None:
    payload = build_digest(DAY, today(), None, DigestDestination())
    assert "2 new PQLs, 3 accounts turned at risk" in payload["text"] and "first digest" in payload["text"]


def test_the_demo_digest_goes_once_a_day_and_names_no_person(
    demo_world: DemoWorld, tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_DIGEST_URL", f"{receiver.url}/services/T000/B000/XXXX")
    config = world_copy(demo_world, tmp_path, digest=DigestDestination(webhook_url_env="TEST_DIGEST_URL"))
    day = demo_world.days[-1]
    con = connect(config.paths.warehouse)
    try:
        sent = step.send_digest(con, day, config)
        again = step.send_digest(con, day, config)
        emails = {e for (e,) in con.execute("SELECT email FROM staging.users WHERE email IS NOT NULL").fetchall()}
    finally:
        con.close()
    assert (sent.status, sent.sent, again.status, again.skipped) == ("sent", 1, "already_sent", 1)
    assert [path for path, _, _ in receiver.requests] == ["/services/T000/B000/XXXX"]
    body = str(receiver.acknowledged[0])
    assert "Engagement digest" in body and emails and not any(e in body for e in emails)


def test_a_webhook_that_is_down_fails_the_digest_and_it_is_sent_when_it_is_back(
    demo_world: DemoWorld, tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_DIGEST_URL", closed_port_url())
    config = world_copy(demo_world, tmp_path, digest=DigestDestination(webhook_url_env="TEST_DIGEST_URL"))
    day = demo_world.days[-1]
    con = connect(config.paths.warehouse)
    try:
        down = step.send_digest(con, day, config, sleep=lambda s: None)
        monkeypatch.setenv("TEST_DIGEST_URL", receiver.url)
        back = step.send_digest(con, day, config)
    finally:
        con.close()
    assert down.status == "failed" and down.error is not None
    assert down.error.startswith("destinations.digest: the digest webhook ($TEST_DIGEST_URL) could not be reached")
    assert "127.0.0.1" not in down.error  # the webhook URL is a secret: never in a message
    assert back.status == "sent" and len(receiver.acknowledged) == 1


def test_an_email_or_phone_typed_into_an_account_name_never_reaches_the_channel(
    demo_world: DemoWorld, tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_DIGEST_URL", receiver.url)
    config = world_copy(demo_world, tmp_path, digest=DigestDestination(webhook_url_env="TEST_DIGEST_URL"))
    day = demo_world.days[-1]
    con = connect(config.paths.warehouse)
    try:
        con.execute(
            "UPDATE accounts.account_scores SET name = 'Jane Doe (jane.doe@example.org, +1 512 503 2107)', "
            "trend = 'heating', trend_delta = 99 WHERE as_of_date = ? AND account_id = (SELECT min(account_id) "
            "FROM accounts.account_scores WHERE as_of_date = ?)",
            [day, day],
        )
        assert step.send_digest(con, day, config).status == "sent"
    finally:
        con.close()
    body = str(receiver.acknowledged[0])
    assert "Jane Doe ([email removed], [phone removed])" in body
    assert "jane.doe@example.org" not in body and "503 2107" not in body
