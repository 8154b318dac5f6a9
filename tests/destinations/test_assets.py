"""destinations' asset through Dagster: a destination that is down fails its own asset only."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from dagster import AssetSelection, materialize

from engagement_pipeline.core import keys
from engagement_pipeline.core.config import load_config
from engagement_pipeline.ops.partitions import daily_partitions
from tests.conftest import (
    HANDFUL_START,
    LAYERS,
    base_config,
    day_range,
    land_handful,
    layer_resources,
    read_warehouse,
    run_days,
    write_config,
)
from tests.destinations.receiver import Receiver, closed_port_url


def _materialize(tmp_path: Path, destinations: dict[str, object]):  # type: ignore[no-untyped-def]
    config = load_config(
        write_config(tmp_path, {**base_config(HANDFUL_START.isoformat()), "destinations": destinations})
    )
    day = day_range(HANDFUL_START, 1)[0]
    land_handful(config, [day])
    run_days(config.paths.warehouse, [day], config, through="snapshots")
    graph = [a for name in LAYERS for a in importlib.import_module(f"assets.{name}").build(daily_partitions(config))]
    result = materialize(
        graph,
        partition_key=day.isoformat(),
        resources=layer_resources(config),
        selection=AssetSelection.groups("exports", "destinations"),
        raise_on_error=False,
    )
    return config, result


def test_a_segment_endpoint_that_is_down_fails_only_the_destination_asset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_SEGMENT_WRITE_KEY", "wk")
    segment = {"endpoint": closed_port_url(), "write_key_env": "TEST_SEGMENT_WRITE_KEY", "max_attempts": 2}
    config, result = _materialize(tmp_path, {"segment": {**segment, "backoff_seconds": 0}})
    assert not result.success
    done = {e.step_materialization_data.materialization.asset_key for e in result.get_asset_materialization_events()}
    assert keys.EXPORTS in done and keys.SEGMENT_TRAITS not in done
    assert keys.CS_DIGEST in done  # off, and not held back by the other destination
    failures = [e for e in result.all_events if e.is_step_failure]
    assert [e.step_key for e in failures] == [keys.DESTINATIONS_STEP]
    message = str(failures[0].step_failure_data.error.cause.message)
    assert "destinations.segment: the Segment endpoint" in message and "after 2 attempts" in message
    observed = [e.asset_observation_data.asset_observation for e in result.all_events if e.is_asset_observation]
    assert [(o.asset_key, o.metadata["status"].value, o.metadata["sent"].value) for o in observed] == [
        (keys.SEGMENT_TRAITS, "failed", 0)
    ]
    assert observed[0].metadata["failed"].value == 2  # the handful's two accounts, counted in the UI
    assert read_warehouse(config, "SELECT count(*) FROM exports.export_runs") == [(1,)]
    assert (config.paths.exports / HANDFUL_START.isoformat() / "manifest.json").exists()


def test_destinations_report_their_counts_as_metadata(
    tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_SEGMENT_WRITE_KEY", "wk")
    monkeypatch.setenv("TEST_DIGEST_URL", receiver.url)
    config, result = _materialize(
        tmp_path,
        {
            "segment": {"endpoint": receiver.url, "write_key_env": "TEST_SEGMENT_WRITE_KEY"},
            "digest": {"webhook_url_env": "TEST_DIGEST_URL"},
        },
    )
    assert result.success
    meta = {
        e.step_materialization_data.materialization.asset_key: e.step_materialization_data.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    segment = meta[keys.SEGMENT_TRAITS]
    assert (segment["status"].value, segment["sent"].value, segment["skipped"].value, segment["failed"].value) == (
        "sent",
        2,
        0,
        0,
    )
    assert (meta[keys.CS_DIGEST]["sent"].value, meta[keys.CS_DIGEST]["failed"].value) == (1, 0)
    assert len(receiver.acknowledged) == 2  # one Segment batch, one digest
