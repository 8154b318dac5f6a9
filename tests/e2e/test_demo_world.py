"""The small generated demo (`demo_world`, run once per session with the step functions) fills every layer.

The fast counterpart of tests/e2e/test_cli_e2e.py: the same contract, without the CLI and Dagster.
"""

from __future__ import annotations

import os

from engagement_pipeline.exports.publish import verify_export_folder
from tests.conftest import DemoWorld

# Per-day tables and the column that names the day.
DAY_TABLES = {
    "raw.landed_lines": "received_date",
    "staging.events": "received_date",
    "staging.daily_event_counts": "received_date",
    "scores.user_scores": "as_of_date",
    "accounts.account_scores": "as_of_date",
    "accounts.account_feature_usage": "as_of_date",
    "snapshots.account_history": "date",
    "snapshots.product_daily": "date",
    "exports.export_runs": "as_of_date",
}
WHOLE_TABLES = ("staging.users", "staging.accounts", "staging.memberships", "staging.billing")


def test_every_layer_has_rows_for_every_day(demo_world: DemoWorld) -> None:
    con = demo_world.read()
    try:
        for table, column in DAY_TABLES.items():
            per_day = dict(con.execute(f"SELECT {column}, count(*) FROM {table} GROUP BY 1").fetchall())
            missing = [d.isoformat() for d in demo_world.days if not per_day.get(d)]
            assert not missing, f"{table} has no rows for {missing}"
        for table in WHOLE_TABLES:
            assert con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] > 0, f"{table} is empty"
        accounts = con.execute("SELECT count(DISTINCT account_id) FROM accounts.account_scores").fetchone()[0]
        assert 0 < accounts <= demo_world.accounts
    finally:
        con.close()


def test_every_landed_line_is_accepted_duplicate_or_quarantined(demo_world: DemoWorld) -> None:
    con = demo_world.read()
    try:
        landed, accepted, dupes, quarantined = con.execute(
            """SELECT (SELECT count(*) FROM raw.landed_lines), (SELECT count(*) FROM staging.events),
                      (SELECT count(*) FROM staging.duplicates), (SELECT count(*) FROM staging.quarantine)"""
        ).fetchone()
        # The generator's faults (duplicates, malformed lines) reach both sides of the ledger.
        assert landed == accepted + dupes + quarantined and dupes > 0 and quarantined > 0
        low, high = con.execute("SELECT min(score), max(score) FROM scores.user_scores").fetchone()
        assert (low, high) == (0, 100)
    finally:
        con.close()


def test_each_day_has_a_verified_export_folder_and_latest_is_the_last(demo_world: DemoWorld) -> None:
    root = demo_world.config.paths.exports
    for day in demo_world.days:
        assert verify_export_folder(root / day.isoformat()) == [], day
    assert os.readlink(root / "latest") == demo_world.days[-1].isoformat()
