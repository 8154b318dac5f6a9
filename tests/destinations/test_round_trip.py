"""The round trip: group calls pushed to a Segment-compatible receiver come back through the
landing (as a collector or Segment's own archive would land them) and are staged as group calls
carrying the engagement traits, without changing the accounts they describe."""

from __future__ import annotations

from pathlib import Path

import pytest

from engagement_pipeline.core.config import load_config
from engagement_pipeline.core.config_destinations import Destinations, SegmentDestination
from engagement_pipeline.core.warehouse import connect
from engagement_pipeline.destinations import step
from tests.conftest import HANDFUL_START, base_config, day_range, land_handful, run_days, write_config, write_day
from tests.destinations.receiver import Receiver


def test_pushed_traits_come_back_as_group_calls_and_change_no_account(
    tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_SEGMENT_WRITE_KEY", "wk")
    config = load_config(write_config(tmp_path, base_config(HANDFUL_START.isoformat())))
    segment = SegmentDestination(endpoint=receiver.url, write_key_env="TEST_SEGMENT_WRITE_KEY")
    config = config.model_copy(update={"destinations": Destinations(segment=segment)})
    days = day_range(HANDFUL_START, 3)
    land_handful(config, days)
    con = connect(config.paths.warehouse)
    try:
        run_days(con, days[:1], config)
        assert step.sync_segment(con, days[0], config).sent == 2
        # What the receiver acknowledged lands the next day, as the collector writes it.
        write_day(config.paths.landing, days[1], receiver.messages, name="collector-000.jsonl")
        run_days(con, days[1:], config)
        staged = con.execute(
            "SELECT group_id, traits->>'$.engagement_score', traits->>'$.engagement_health' FROM staging.events "
            "WHERE type = 'group' AND anonymous_id LIKE 'engagement-pipeline:%' ORDER BY group_id"
        ).fetchall()
        first = con.execute(
            "SELECT account_id, score, health FROM accounts.account_scores WHERE as_of_date = ? ORDER BY 1", [days[0]]
        ).fetchall()
        accounts = con.execute("SELECT account_id, name, plan, status FROM staging.accounts ORDER BY 1").fetchall()
        members = con.execute("SELECT count(*) FROM staging.memberships").fetchone()
        last = con.execute(
            "SELECT account_id, total_users FROM accounts.account_scores WHERE as_of_date = ? ORDER BY 1", [days[-1]]
        ).fetchall()
    finally:
        con.close()
    assert [(g, float(s), h) for g, s, h in staged] == [(a, s, h) for a, s, h in first]
    assert accounts == [("acc_a", "acc_a Inc", "pro", "active"), ("acc_b", "acc_b Inc", "pro", "active")]
    assert members == (3,) and last == [("acc_a", 2), ("acc_b", 1)]  # the sender is no user of the account
