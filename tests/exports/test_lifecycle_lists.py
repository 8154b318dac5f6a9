"""Lists that mean what they say: no new account heating, no churned account cooling (it is in the
churned section with its last score), no near-zero account healthy; on hand-made rows and on the demo."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import duckdb
import polars as pl

from engagement_pipeline.accounts.health import mover, new_and_ramping
from engagement_pipeline.core.config import Config, parse_config
from engagement_pipeline.core.vocab import Trend
from engagement_pipeline.exports.movers import churned_list, new_and_ramping_list
from engagement_pipeline.exports.report_sections import movers_section
from tests.conftest import DemoWorld, base_config

DAY = dt.date(2026, 3, 31)
OLD = dt.date(2025, 1, 1)


def _config() -> Config:
    return parse_config(base_config())


def _rows() -> pl.DataFrame:
    base = {"as_of_date": DAY, "plan": "pro", "mrr": 100.0, "activation_pct": 50.0, "activated_at": None}
    rows = [
        # id, created, status, health, trend, score, previous
        ("old_up", OLD, "active", "healthy", "heating", 60.0, 30.0),
        ("new_up", DAY - dt.timedelta(days=5), "trial", "new", "heating", 40.0, 0.0),
        ("old_down", OLD, "active", "at_risk", "cooling", 20.0, 50.0),
        ("gone_down", OLD, "churned", "churned", "cooling", 0.0, 45.0),
        ("unknown_up", None, "active", "healthy", "heating", 50.0, 0.0),
    ]
    return pl.DataFrame(
        [
            base
            | {
                "account_id": a,
                "name": f"{a} Inc",
                "created_date": c,
                "status": s,
                "health": h,
                "health_reason": "billing status is churned" if h == "churned" else h,
                "trend": t,
                "score": sc,
                "previous_score": p,
                "trend_delta": sc - p,
                "active_users": 0 if h == "churned" else 2,
                "total_users": 2,
                "main_users": None,
                "last_active_date": None,
            }
            for a, c, s, h, t, sc, p in rows
        ]
    )


def test_heating_and_cooling_only_for_old_accounts_not_churned() -> None:
    rows = _rows()
    heating = movers_section(rows, Trend.HEATING, 10, 30)
    cooling = movers_section(rows, Trend.COOLING, 10, 30)
    assert [r["account_id"] for r in heating["rows"]] == ["old_up"]
    assert [r["account_id"] for r in cooling["rows"]] == ["old_down"]
    ramping = new_and_ramping_list(rows, DAY, _config())
    assert ramping["account_id"].to_list() == ["unknown_up", "new_up"]  # most engaged first
    assert ramping.row(1, named=True)["reason"].startswith("created 5 days ago")
    # a shorter look-back makes the 5-day-old account old enough
    assert rows.filter(mover(Trend.HEATING, 5))["account_id"].to_list() == ["old_up", "new_up"]


def test_churned_this_period_with_the_last_score() -> None:
    rows = _rows()
    history = pl.DataFrame(
        [
            {
                "date": DAY - dt.timedelta(days=d),
                "account_id": "gone_down",
                "score": 45.0 - d,
                "status": "active",
                "health": "at_risk",
                "churn_risk": 0.7,
                "mrr": 120.0,
            }
            for d in range(3, 10)
        ]
        + [
            {
                "date": DAY - dt.timedelta(days=d),
                "account_id": "gone_down",
                "score": 0.0,
                "status": "churned",
                "health": "churned",
                "churn_risk": 0.9,
                "mrr": 0.0,
            }
            for d in (1, 2)
        ]
    )
    out = churned_list(rows, history, DAY, _config())
    assert out.height == 1
    row = out.row(0, named=True)
    assert row["account_id"] == "gone_down"
    assert row["churned_on"] == DAY - dt.timedelta(days=2)
    assert row["last_score"] == 42.0 and row["last_health"] == "at_risk" and row["last_mrr"] == 120.0
    assert "last score 42.0" in row["reason"]
    # churned before the period: not "this period"
    long_ago = history.with_columns(pl.col("date") - pl.duration(days=60))
    assert churned_list(rows, long_ago, DAY, _config()).is_empty()


def test_the_demo_lists_hold_the_rules(demo_world: DemoWorld) -> None:
    cfg = demo_world.config
    lookback = cfg.model.trend_lookback_days
    with demo_world.read() as con:
        scores = con.execute("SELECT * FROM accounts.account_scores").pl()
        product = con.execute("SELECT date, heating_accounts, cooling_accounts FROM snapshots.product_daily").pl()
    assert scores.height
    for day in demo_world.days:
        today = scores.filter(pl.col("as_of_date") == day)
        # independent of accounts.health: an account created within the look-back, or churned
        young = (pl.lit(day) - pl.col("created_date")).dt.total_days() < lookback
        churned = pl.col("status") == "churned"
        heating = today.filter(mover(Trend.HEATING, lookback))
        cooling = today.filter(mover(Trend.COOLING, lookback))
        assert heating.filter(young.fill_null(False) | churned.fill_null(False)).is_empty()
        assert cooling.filter(young.fill_null(False) | churned.fill_null(False)).is_empty()
        counts = product.filter(pl.col("date") == day).row(0, named=True)
        assert (counts["heating_accounts"], counts["cooling_accounts"]) == (heating.height, cooling.height)
        # no near-zero account healthy
        low = today.filter((pl.col("health") == "healthy") & (pl.col("score") < cfg.model.health.min_healthy_score))
        assert low.is_empty()
        folder = cfg.paths.exports / day.isoformat()
        page = (folder / "report.html").read_text()
        shown = re.search(r"Accounts heating up \((\d+)\)", page)
        assert shown is not None and int(shown.group(1)) == heating.height
        ramping = pl.read_csv(folder / "new_and_ramping_accounts.csv")
        assert set(ramping["account_id"]) == set(today.filter(new_and_ramping(lookback))["account_id"])
        assert not set(ramping["account_id"]) & set(heating["account_id"])
        assert "New and ramping (" in page and "Churned this period (" in page
        churned_file = pl.read_csv(folder / "churned_accounts.csv", infer_schema_length=0)
        assert not set(churned_file["account_id"]) & set(cooling["account_id"])


def test_the_demo_has_no_healthy_account_under_the_minimum(demo_world: DemoWorld, tmp_path: Path) -> None:
    """The demo's day rescored (accounts step) with a minimum that bites (the median healthy score):
    the accounts that were healthy under it become inactive (free) or at risk (paying), none stays healthy."""
    from engagement_pipeline.accounts import step as accounts_step

    day = demo_world.days[-1]
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(demo_world.config.paths.warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        before = con.execute("SELECT * FROM accounts.account_scores WHERE as_of_date = ?", [day]).pl()
        # a minimum that bites on this demo whatever its scores: the median healthy account's score
        minimum = float(before.filter(pl.col("health") == "healthy")["score"].median())  # type: ignore[arg-type]
        data = demo_world.config.model_dump(mode="json", exclude={"source"})
        data["model"]["health"]["min_healthy_score"] = minimum
        after = accounts_step.run(con, day, parse_config(data)).scores
    low = before.filter((pl.col("health") == "healthy") & (pl.col("score") < minimum))
    assert low.height > 0  # the rule has something to move on this demo
    assert after.filter((pl.col("health") == "healthy") & (pl.col("score") < minimum)).is_empty()
    moved = after.join(low.select("account_id"), on="account_id")
    assert set(moved.filter(pl.col("is_paying"))["health"]) <= {"at_risk"}
    assert set(moved.filter(~pl.col("is_paying"))["health"]) <= {"inactive", "new", "expansion_ready"}
