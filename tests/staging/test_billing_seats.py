"""Billing's optional `seats` column: files with and without it, a bad value kept as a row without
seats (with a warning), and the day's account attributes carrying the latest row's seats."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import polars as pl

from engagement_pipeline.core.config import load_config
from engagement_pipeline.core.warehouse import ensure_schema
from engagement_pipeline.staging.billing import read_billing
from engagement_pipeline.staging.traits import account_attributes
from tests.conftest import group, run_days, write_config, write_day

D1, D2, D3 = dt.date(2026, 3, 2), dt.date(2026, 3, 3), dt.date(2026, 3, 4)


def _read(tmp_path: Path, files: dict[str, str]) -> tuple[pl.DataFrame, list[str]]:
    folder = tmp_path / "billing"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    return read_billing(duckdb.connect(), folder)


def test_billing_without_seats_reads_as_before_with_seats_null(tmp_path: Path) -> None:
    frame, warnings = _read(tmp_path, {"b.csv": "account_id,date,plan,mrr,status\na1,2026-03-02,pro,90,active\n"})
    assert warnings == []
    assert frame.select("account_id", "plan", "mrr", "status", "seats").rows() == [("a1", "pro", 90.0, "active", None)]


def test_billing_seats_are_read_and_a_bad_value_keeps_its_row_without_seats_and_warns(tmp_path: Path) -> None:
    text = "account_id,date,plan,mrr,status,seats\n" + "".join(
        f"a{i},2026-03-02,pro,90,active,{seats}\n" for i, seats in enumerate(["20", "", "abc", "-3", "2.5", "7.0", "0"])
    )
    old = "account_id,date,plan,mrr,status\nb1,2026-03-02,starter,12,active\n"  # a second file without the column
    frame, warnings = _read(tmp_path, {"a.csv": text, "b.csv": old})
    assert dict(frame.select("account_id", "seats").rows()) == {
        "a0": 20, "a1": None, "a2": None, "a3": None, "a4": None, "a5": 7, "a6": 0, "b1": None,
    }  # fmt: skip
    assert frame.height == 8  # every row kept
    assert warnings == ["3 billing rows with seats not a whole number >= 0 were kept with seats null"]


def test_the_days_attributes_carry_the_seats_of_the_latest_billing_row(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path))
    for day in (D1, D2, D3):
        lines = [group(f"{a}{day}", f"u{a}", a, f"{day}T08:00:00Z", name=a.upper()) for a in ("a1", "a2")]
        write_day(config.paths.landing, day, list(lines))
    assert config.paths.billing is not None
    config.paths.billing.mkdir(parents=True)
    (config.paths.billing / "billing.csv").write_text(
        "account_id,date,plan,mrr,status,seats\n"
        f"a1,{D1},pro,290,active,10\na1,{D3},pro,116,active,4\n"
        f"a2,{D1},pro,145,active,5\na2,{D2},free,0,active,\n"  # the latest row says nothing: no seats, not 5
    )
    con = duckdb.connect(str(config.paths.warehouse))
    ensure_schema(con)
    run_days(con, [D1, D2, D3], config, through="staging")
    seats = {d: dict(account_attributes(con, d).select("account_id", "seats").rows()) for d in (D1, D2, D3)}
    assert seats == {D1: {"a1": 10, "a2": 5}, D2: {"a1": 10, "a2": None}, D3: {"a1": 4, "a2": None}}
    assert con.execute("SELECT count(*) FROM staging.billing WHERE seats IS NOT NULL").fetchone() == (3,)
