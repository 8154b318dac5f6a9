"""The round trip through the project's own collector: the Segment destination pushes the
day's engagement traits to `engagement-pipeline collect` (a real process on 127.0.0.1), the
collector lands them, and staging reads them back as group calls carrying those traits."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from engagement_pipeline.core.config import load_config
from engagement_pipeline.core.config_destinations import Destinations, SegmentDestination
from engagement_pipeline.core.warehouse import connect
from engagement_pipeline.destinations import step
from tests.collector.server import WRITE_KEY, landed_days, running_collector
from tests.conftest import HANDFUL_START, base_config, day_range, land_handful, run_days, write_config


@pytest.mark.slow  # a collector process and three layers
def test_traits_pushed_to_the_collector_come_back_as_staged_group_calls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_SEGMENT_WRITE_KEY", WRITE_KEY)
    config_path = write_config(tmp_path, base_config(HANDFUL_START.isoformat()))
    config = load_config(config_path)
    days = day_range(HANDFUL_START, 2)
    land_handful(config, days)
    con = connect(config.paths.warehouse)
    try:
        run_days(con, days, config, through="accounts")
        handful_days = set(landed_days(config.paths.landing))
        with running_collector(config_path, tmp_path / "collector.log") as collector:
            segment = SegmentDestination(endpoint=collector.url, write_key_env="TEST_SEGMENT_WRITE_KEY")
            pushing = config.model_copy(update={"destinations": Destinations(segment=segment)})
            sent = step.sync_segment(con, days[-1], pushing)
            assert sent.sent == 2 and sent.failed == 0
            assert step.sync_segment(con, days[-1], pushing).sent == 0  # a re-run sends nothing new
        received = sorted(set(landed_days(config.paths.landing)) - handful_days)
        today = dt.datetime.now(dt.UTC).date()
        assert received and all(d in (today, today + dt.timedelta(days=1)) for d in received)
        run_days(con, received, config, through="staging")
        staged = con.execute(
            "SELECT group_id, CAST(traits->>'$.engagement_score' AS DOUBLE), traits->>'$.engagement_health' "
            "FROM staging.events WHERE type = 'group' AND received_date >= ? ORDER BY group_id",
            [received[0]],
        ).fetchall()
        scores = con.execute(
            "SELECT account_id, score, health FROM accounts.account_scores WHERE as_of_date = ? ORDER BY 1",
            [days[-1]],
        ).fetchall()
        quarantined = con.execute("SELECT count(*) FROM staging.quarantine").fetchone()
    finally:
        con.close()
    assert staged == scores and len(staged) == 2
    assert quarantined == (0,)
