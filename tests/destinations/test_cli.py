"""`engagement-pipeline run` with a destination that is down: every day is exported, the command
ends non-zero with the destination's one sentence, and a re-run once it is back sends what was missed."""

from __future__ import annotations

from pathlib import Path

import pytest

from engagement_pipeline.core.config import load_config
from engagement_pipeline.ops.cli import main
from tests.conftest import HANDFUL_START, base_config, day_range, land_handful, read_warehouse, write_config
from tests.destinations.receiver import Receiver, closed_port_url


@pytest.mark.slow
def test_run_exports_every_day_and_names_the_destination_that_is_down(
    tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TEST_SEGMENT_WRITE_KEY", "wk")
    segment = {"write_key_env": "TEST_SEGMENT_WRITE_KEY", "max_attempts": 2, "backoff_seconds": 0}
    data = {**base_config(HANDFUL_START.isoformat()), "destinations": {"segment": {**segment}}}
    data["destinations"]["segment"]["endpoint"] = closed_port_url()
    path = write_config(tmp_path, data)
    days = day_range(HANDFUL_START, 2)
    land_handful(load_config(path), days)

    assert main(["run", "--config", str(path)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "destinations.segment: the Segment endpoint" in err and "could not be reached" in err
    assert "(and on 1 more day)" in err and "the exports of every day were written" in err
    config = load_config(path)
    assert read_warehouse(config, "SELECT count(*) FROM exports.export_runs") == [(2,)]
    assert read_warehouse(config, "SELECT count(*) FROM destinations.segment_sync_state") == [(0,)]

    data["destinations"]["segment"]["endpoint"] = receiver.url  # the endpoint is back
    write_config(tmp_path, data)
    assert main(["run", "--config", str(path), "--date", days[-1].isoformat()]) == 0
    assert sorted(m["groupId"] for m in receiver.messages) == ["acc_a", "acc_b"]
