"""Staging on generated data with injected faults: reconciliation, idempotency, order independence."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from engagement_pipeline.core.config import load_config
from engagement_pipeline.core.warehouse import connect
from engagement_pipeline.demo.generator import generate_demo
from engagement_pipeline.raw import step as raw_step
from engagement_pipeline.staging import step as staging_step
from engagement_pipeline.staging.traits import ACCOUNT_HISTORY_SPEC, USER_HISTORY_SPEC
from tests.conftest import base_config, write_config

START = dt.date(2026, 1, 1)
DAYS = [START + dt.timedelta(days=i) for i in range(6)]


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("gen")
    generate_demo(root / "landing", START, len(DAYS), accounts=30, seed=11)
    return root / "landing"


def _stage_in(tmp: Path, landing: Path, order: list[dt.date], **staging) -> dict[str, list]:  # type: ignore[no-untyped-def]
    tmp.mkdir(parents=True, exist_ok=True)
    data = base_config()
    data["paths"]["landing"] = str(landing)
    data["staging"] = staging
    config = load_config(write_config(tmp, data))
    con = connect(config.paths.warehouse)
    try:
        for day in order:
            raw_step.run(con, day, config)
            staged = staging_step.run(con, day, config)
            assert staged.result.reconciles
        return {
            "events": con.execute("""SELECT message_id, received_date, type, user_id, account_id, account_source,
                                     stitched, timestamp FROM staging.events ORDER BY ALL""").fetchall(),
            "duplicates": con.execute("SELECT * FROM staging.duplicates ORDER BY ALL").fetchall(),
            "counts": con.execute("SELECT * FROM staging.daily_event_counts ORDER BY ALL").fetchall(),
            "quarantine": con.execute(
                "SELECT reason, count(*) FROM staging.quarantine GROUP BY 1 ORDER BY 1"
            ).fetchall(),
            "users": con.execute("SELECT * FROM staging.users ORDER BY ALL").fetchall(),
            "accounts": con.execute("SELECT * FROM staging.accounts ORDER BY ALL").fetchall(),
            "user_history": con.execute("SELECT * FROM staging.user_traits_history ORDER BY ALL").fetchall(),
            "account_history": con.execute("SELECT * FROM staging.account_traits_history ORDER BY ALL").fetchall(),
            # The histories are folded forward day by day: they must equal a rebuild from every call.
            "user_history_rebuilt": con.execute(f"SELECT * FROM ({USER_HISTORY_SPEC.sql()}) ORDER BY ALL").fetchall(),
            "account_history_rebuilt": con.execute(
                f"SELECT * FROM ({ACCOUNT_HISTORY_SPEC.sql()}) ORDER BY ALL"
            ).fetchall(),
            "reconcile": con.execute("""
                SELECT (SELECT count(*) FROM raw.landed_lines),
                       (SELECT count(*) FROM staging.events) + (SELECT count(*) FROM staging.duplicates)
                       + (SELECT count(*) FROM staging.quarantine)""").fetchall(),
        }
    finally:
        con.close()


@pytest.fixture(scope="module")
def in_order(tmp_path_factory: pytest.TempPathFactory, landing: Path) -> dict[str, list]:
    """The days staged once in order (read by three tests: compared with, never written)."""
    return _stage_in(tmp_path_factory.mktemp("in_order"), landing, DAYS)


def test_generated_faults_are_all_accounted_for(in_order: dict[str, list], landing: Path) -> None:
    got = in_order
    summary = json.loads((landing.parent / "ground_truth" / "summary.json").read_text())
    landed, placed = got["reconcile"][0]
    assert landed == placed == summary["lines"]
    assert sum(n for _, n in got["quarantine"]) == summary["malformed"]
    assert len(got["duplicates"]) == summary["duplicates"]
    assert any(row[6] for row in got["events"])  # some anonymous events were stitched


@pytest.mark.slow  # stages many generated days in three orders
def test_out_of_order_staging_gives_the_same_result(tmp_path: Path, landing: Path, in_order: dict[str, list]) -> None:
    shuffled = _stage_in(tmp_path / "b", landing, [DAYS[i] for i in (5, 2, 0, 4, 1, 3)])
    for key in in_order:
        assert in_order[key] == shuffled[key], key
    for got in (in_order, shuffled):
        assert got["user_history"] == got["user_history_rebuilt"] and len(got["user_history"]) > 50
        assert got["account_history"] == got["account_history_rebuilt"] and len(got["account_history"]) > 30


@pytest.mark.slow  # stages many generated days twice
def test_restaging_a_day_is_idempotent(tmp_path: Path, landing: Path, in_order: dict[str, list]) -> None:
    once = in_order
    twice = _stage_in(tmp_path / "b", landing, DAYS + [DAYS[2], DAYS[4]])
    assert once == twice
    assert twice["account_history"] == twice["account_history_rebuilt"]


def test_first_joined_strategy_pins_users_to_their_first_account(tmp_path: Path, landing: Path) -> None:
    got = _stage_in(tmp_path, landing, DAYS, membership_fallback="first_joined")
    sources = {row[5] for row in got["events"]}
    assert "membership_next" not in sources and "membership" in sources
