"""Several sources at once (each row keeps its source), and the plan / status synonyms
billing systems send (Stripe's `trialing`, `past_due`, `canceled`, ...)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from engagement_pipeline.core.config import parse_config
from engagement_pipeline.core.warehouse import connect
from tests.conftest import base_config, group, run_days, track, write_config, write_day

DAY = dt.date(2026, 1, 5)
TS = "2026-01-05T10:00:00Z"


def test_each_source_is_kept_on_its_rows_and_same_file_names_do_not_collide(tmp_path: Path) -> None:
    data = base_config(DAY.isoformat())
    data["sources"] = [{"name": "web", "landing": "web"}, {"name": "backend", "landing": "backend"}]
    config = parse_config(data, write_config(tmp_path, data))
    write_day(tmp_path / "web", DAY, [track("w1", "u1", "Logged In", TS, "acc"), "{broken"], "events.jsonl")
    write_day(tmp_path / "backend", DAY, [track("b1", "u2", "Document Created", TS, "acc")], "events.jsonl")
    con = connect(config.paths.warehouse)
    try:
        run_days(con, [DAY], config, through="staging")
        events = con.execute("SELECT message_id, source, source_file FROM staging.events ORDER BY 1").fetchall()
        assert events == [("b1", "backend", f"{DAY}/events.jsonl"), ("w1", "web", f"{DAY}/events.jsonl")]
        assert con.execute("SELECT source, line_number FROM staging.quarantine").fetchall() == [("web", 2)]
        assert con.execute("SELECT count(*) FROM raw.landed_files").fetchone() == (2,)
    finally:
        con.close()


def test_a_day_missing_in_one_source_is_read_from_the_others(tmp_path: Path) -> None:
    data = base_config(DAY.isoformat())
    data["sources"] = [{"name": "web", "landing": "web"}, {"name": "mobile", "landing": "mobile"}]
    config = parse_config(data, write_config(tmp_path, data))
    write_day(tmp_path / "web", DAY, [track("w1", "u1", "Logged In", TS, "acc")])
    (tmp_path / "mobile").mkdir()
    con = connect(config.paths.warehouse)
    try:
        run_days(con, [DAY], config, through="staging")
        assert con.execute("SELECT source FROM staging.events").fetchall() == [("web",)]
    finally:
        con.close()


@pytest.mark.parametrize(
    ("plan", "status", "stored"),
    [
        ("Pro", "trialing", ("pro", "trial")),
        ("pro", "past_due", ("pro", "active")),
        ("pro", "Canceled", ("pro", "churned")),
        ("pro", "cancelled", ("pro", "churned")),
        ("freemium", "active", ("free", "active")),
        ("enterprise", "paused", ("enterprise", "paused")),  # not a synonym: kept as sent, lowercased
    ],
)
def test_status_and_plan_synonyms_become_the_canonical_values(
    tmp_path: Path, plan: str, status: str, stored: tuple[str, str]
) -> None:
    data = base_config(DAY.isoformat())
    config = parse_config(data, write_config(tmp_path, data))
    write_day(config.paths.landing, DAY, [group("g1", "u1", "acc", TS, plan=plan, status=status)])
    con = connect(config.paths.warehouse)
    try:
        run_days(con, [DAY], config, through="staging")
        assert con.execute("SELECT plan, status FROM staging.accounts").fetchone() == stored
    finally:
        con.close()
