"""End to end through the CLI on generated data, recorded in a real Dagster instance."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey, DagsterInstance

from engagement_pipeline.ops.cli import main
from tests.conftest import base_config, write_config

pytestmark = pytest.mark.slow  # every test here reads six generated days run through the CLI and Dagster

START = dt.date(2026, 1, 1)
DAYS = 6
CONTRACT_TABLES = {
    "staging.events": "received_date",
    "staging.quarantine": "received_date",
    "scores.user_scores": "as_of_date",
    "accounts.account_scores": "as_of_date",
    "accounts.account_feature_usage": "as_of_date",
    "snapshots.account_history": "date",
    "snapshots.product_daily": "date",
}
WHOLE_TABLES = ("staging.users", "staging.accounts", "staging.memberships")


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    data = base_config(START.isoformat())
    data["model"]["pql"] = {"recent_days": 5, "min_active_days": 3}
    write_config(folder, data)
    old = Path.cwd()
    os.chdir(folder)
    try:
        assert main(["demo", "--days", str(DAYS), "--accounts", "40", "--seed", "7"]) == 0
    finally:
        os.chdir(old)
    return folder


def test_demo_fills_every_contract_table_for_every_day(demo_dir: Path) -> None:
    # closed however the test ends: an open read-only connection would fail the next test of the file
    with duckdb.connect(str(demo_dir / "data" / "warehouse.duckdb"), read_only=True) as con:
        days = [START + dt.timedelta(days=i) for i in range(DAYS)]
        for table, column in CONTRACT_TABLES.items():
            per_day = dict(con.execute(f"SELECT {column}, count(*) FROM {table} GROUP BY 1").fetchall())
            assert all(per_day.get(d, 0) > 0 for d in days), f"{table} is missing days: {per_day}"
        for table in WHOLE_TABLES:
            assert con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] > 0, table
        landed, accepted, dupes, quarantined = con.execute(
            """SELECT (SELECT count(*) FROM raw.landed_lines), (SELECT count(*) FROM staging.events),
                      (SELECT count(*) FROM staging.duplicates), (SELECT count(*) FROM staging.quarantine)"""
        ).fetchone()
        assert landed == accepted + dupes + quarantined and dupes > 0 and quarantined > 0
        scores = con.execute("SELECT min(score), max(score) FROM scores.user_scores").fetchone()
        assert scores[0] == 0 and scores[1] == 100


def test_demo_writes_dated_exports_and_latest(demo_dir: Path) -> None:
    exports = demo_dir / "data" / "exports"
    last = (START + dt.timedelta(days=DAYS - 1)).isoformat()
    assert os.readlink(exports / "latest") == last
    for name in (
        "manifest.json",
        "lookalike_google.csv",
        "lookalike_meta.csv",
        "lookalike_linkedin_companies.csv",
        "icp_profile.csv",
        "pql_accounts.csv",
        "at_risk_accounts.csv",
    ):
        assert (exports / "latest" / name).stat().st_size > 0, name
    assert len([p for p in exports.iterdir() if not p.is_symlink()]) == DAYS


def test_runs_are_recorded_in_the_persistent_instance(demo_dir: Path) -> None:
    instance = DagsterInstance.from_config(str(demo_dir / "data" / "dagster_home"))
    try:
        jobs = [run.job_name for run in instance.get_runs()]
        assert jobs == ["daily_engagement"] * DAYS  # the demo runs day by day, as the schedule would
        partitions = instance.get_materialized_partitions(AssetKey(["exports", "daily_exports"]))
        assert len(partitions) == DAYS
    finally:
        instance.dispose()


def test_rerun_of_a_day_is_idempotent_and_exports_identical(demo_dir: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(demo_dir)
    day = (START + dt.timedelta(days=DAYS - 1)).isoformat()
    db = demo_dir / "data" / "warehouse.duckdb"

    def snapshot() -> tuple:
        con = duckdb.connect(str(db), read_only=True)
        try:
            return tuple(
                tuple(con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall())
                for t in ("staging.events", "scores.user_scores", "accounts.account_scores")
            )
        finally:
            con.close()

    # The demo ran day by day as the schedule would; the first re-run of the last day restates
    # the earlier as-of days its late events belong to. Running it again must change nothing.
    assert main(["run", "--date", day]) == 0
    before = snapshot()
    files = {p.name: p.read_bytes() for p in (demo_dir / "data" / "exports" / day).iterdir()}
    assert main(["run", "--date", day]) == 0
    assert snapshot() == before
    assert {p.name: p.read_bytes() for p in (demo_dir / "data" / "exports" / day).iterdir()} == files


def test_run_of_a_day_without_landing_folder_fails_clearly(demo_dir: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(demo_dir)
    code = main(["run", "--date", "2026-03-01"])
    err = capsys.readouterr().err
    assert code == 2 and "no landing folder for 2026-03-01" in err
