"""The churn measurements on the generator's data: one generated world run through the pipeline.

`churn_world(root, seed)` generates the demo (every churn kind, the holiday week), runs raw ..
snapshots day by day with the step functions and returns what the churn tests and the README
figures read: the account history, the churn events, the ground truth and the holiday week.
`python -m tests.e2e.churn_world SEED ...` prints the figures (`churn_figures`).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from engagement_pipeline.accounts.step import churn_events
from engagement_pipeline.core.config import Health, load_config
from engagement_pipeline.core.warehouse import connect
from engagement_pipeline.demo.generator import generate_demo
from engagement_pipeline.snapshots.churn_eval import band_churn_rates, churn_kind_backtest, lead_times
from tests.conftest import base_config, day_range, run_days, write_config

START = dt.date(2026, 1, 1)
DAYS = 84
ACCOUNTS = 200
EVENTS_PER_USER_DAY = 3.0


@dataclass(frozen=True)
class ChurnWorld:
    seed: int
    days: list[dt.date]
    history: pl.DataFrame  # snapshots.account_history, every day
    churns: pl.DataFrame  # account_id, date
    truth: pl.DataFrame  # ground_truth/accounts.csv
    holiday: tuple[dt.date, dt.date] | None
    at_risk_churn_risk: float = Health().at_risk_churn_risk


def churn_world(root: Path, seed: int, days: int = DAYS, accounts: int = ACCOUNTS) -> ChurnWorld:
    generate_demo(
        root / "landing",
        START,
        days,
        accounts=accounts,
        seed=seed,
        billing_dir=root / "billing",
        events_per_user_day=EVENTS_PER_USER_DAY,
    )
    data = base_config()
    data["paths"].update(
        landing=str(root / "landing"), billing=str(root / "billing"), warehouse=str(root / "warehouse.duckdb")
    )
    config = load_config(write_config(root, data))
    con = connect(config.paths.warehouse)
    dates = day_range(START, days)
    try:
        run_days(con, dates, config, through="snapshots")
        history = con.execute("SELECT * FROM snapshots.account_history ORDER BY date, account_id").pl()
        churns = churn_events(con)
    finally:
        con.close()
    summary = json.loads((root / "ground_truth" / "summary.json").read_text())
    week = summary.get("holiday_week")
    return ChurnWorld(
        seed=seed,
        days=dates,
        history=history,
        churns=churns,
        truth=pl.read_csv(root / "ground_truth" / "accounts.csv", try_parse_dates=True),
        holiday=(dt.date.fromisoformat(week[0]), dt.date.fromisoformat(week[1])) if week else None,
    )


def holiday_false_alarms(world: ChurnWorld) -> tuple[int, int]:
    """(accounts at risk on any day of the holiday week, accounts) among the accounts healthy (or
    expansion-ready) the day before it that do not churn within 30 days of its end."""
    assert world.holiday is not None
    first, last = world.holiday
    before = world.history.filter(
        (pl.col("date") == first - dt.timedelta(days=1)) & pl.col("health").is_in(["healthy", "expansion_ready"])
    )
    churning = world.churns.filter(pl.col("date") <= last + dt.timedelta(days=30))["account_id"]
    calm = before.filter(~pl.col("account_id").is_in(churning.implode()))["account_id"]
    during = world.history.filter(pl.col("date").is_between(first, last) & pl.col("account_id").is_in(calm.implode()))
    return during.filter(pl.col("health") == "at_risk")["account_id"].n_unique(), calm.len()


def churn_figures(world: ChurnWorld) -> dict[str, Any]:
    kinds = world.truth.select("account_id", "churn_kind")
    per_kind = churn_kind_backtest(world.history, world.churns, kinds, world.days[-1], horizon_days=30)
    leads = lead_times(world.history, world.churns, kinds, trial_risk=world.at_risk_churn_risk)
    bands = band_churn_rates(world.history, world.churns, world.days[-1], horizon_days=30)
    alarms, healthy = holiday_false_alarms(world) if world.holiday else (0, 0)
    return {
        "seed": world.seed,
        "auc_by_kind": {r["churn_kind"]: r["mean_auc"] for r in per_kind.iter_rows(named=True)},
        "lead_days_by_kind": {r["churn_kind"]: r["median_lead_days"] for r in leads.iter_rows(named=True)},
        "holiday_at_risk": f"{alarms} of {healthy}",
        "band_churn": {r["band"]: (r["accounts"], r["churned"]) for r in bands.iter_rows(named=True)},
    }


def saved_world(root: Path, seed: int) -> ChurnWorld:
    """The world of an earlier run kept in `root` (its warehouse and ground truth), without rerunning it."""
    con = connect(root / "warehouse.duckdb")
    try:
        history = con.execute("SELECT * FROM snapshots.account_history ORDER BY date, account_id").pl()
        churns = churn_events(con)
    finally:
        con.close()
    summary = json.loads((root / "ground_truth" / "summary.json").read_text())
    week = summary.get("holiday_week")
    return ChurnWorld(
        seed=seed,
        days=sorted(history["date"].unique().to_list()),
        history=history,
        churns=churns,
        truth=pl.read_csv(root / "ground_truth" / "accounts.csv", try_parse_dates=True),
        holiday=(dt.date.fromisoformat(week[0]), dt.date.fromisoformat(week[1])) if week else None,
    )


if __name__ == "__main__":
    # python -m tests.e2e.churn_world SEED [KEEP_DIR]: the figures of one seed (KEEP_DIR keeps the warehouse)
    seed = int(sys.argv[1])
    if len(sys.argv) > 2:
        keep = Path(sys.argv[2])
        world = saved_world(keep, seed) if (keep / "warehouse.duckdb").exists() else churn_world(keep, seed)
        print(json.dumps(churn_figures(world), default=str))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(churn_figures(churn_world(Path(tmp), seed)), default=str))
