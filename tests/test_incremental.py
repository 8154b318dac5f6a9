"""A day's cost follows the day's events, not the history already in the warehouse."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest

from engagement_pipeline import layers
from engagement_pipeline.config import load_config
from engagement_pipeline.synthetic import generate_demo
from engagement_pipeline.warehouse import connect
from tests.conftest import base_config, write_config

START = dt.date(2026, 1, 1)
DAYS = 61  # the measured day is the last; the window (30 days) is full in both warehouses


def _day_cost(con, day: dt.date, config) -> float:  # type: ignore[no-untyped-def]
    """CPU seconds (all threads) of every layer for one day: steadier than wall time on a busy machine."""
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        layers.land_raw(con, day, config)
        layers.stage(con, day, config)
        layers.score(con, day, config)
        layers.account_layer(con, day, config)
        layers.snapshot_layer(con, day, config)
        best = min(best, time.process_time() - started)
    return best


@pytest.mark.slow
def test_day_cost_does_not_grow_with_history(tmp_path: Path) -> None:
    generate_demo(tmp_path / "landing", START, DAYS, accounts=40, seed=9)
    last = START + dt.timedelta(days=DAYS - 1)
    costs = {}
    every = [START + dt.timedelta(days=i) for i in range(DAYS - 1)]
    for label, history in (("30 days", every[-30:]), ("60 days", every)):
        folder = tmp_path / label.replace(" ", "_")
        folder.mkdir()
        data = base_config()
        data["paths"]["landing"] = str(tmp_path / "landing")
        config = load_config(write_config(folder, data))
        con = connect(config.paths.warehouse)
        try:
            for day in history:
                layers.land_raw(con, day, config)
                layers.stage(con, day, config)
            costs[label] = _day_cost(con, last, config)
        finally:
            con.close()
    ratio = costs["60 days"] / costs["30 days"]
    print(f"day {DAYS} cost: {costs['30 days']:.2f} CPU s with 30 days of history, {costs['60 days']:.2f} CPU s "
          f"with 60 days: ratio {ratio:.2f}")
    assert ratio < 1.5
