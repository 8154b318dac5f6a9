"""Cohort rows and their figures on a hand-made set of accounts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest

from engagement_pipeline.core.warehouse import ACCOUNT_SCORES, ACCOUNTS
from engagement_pipeline.snapshots.cohorts import COHORT_DAILY_SCHEMA, DIMENSIONS, cohort_daily

DAY = dt.date(2026, 3, 31)


def _scores(*rows: dict[str, Any], day: dt.date = DAY) -> pl.DataFrame:
    defaults: dict[str, Any] = {
        "as_of_date": day,
        "name": None,
        "score": 0.0,
        "active_users": 0,
        "activated_at": None,
        "days_to_activation": None,
        "plan": None,
        "status": None,
        "mrr": 0.0,
        "health": "healthy",
        "is_pql": False,
    }
    frame = pl.DataFrame(
        [{**defaults, **r} for r in rows],
        schema_overrides={c: t for c, t in ACCOUNT_SCORES.polars_schema().items() if c in {*defaults, *rows[0]}},
        strict=False,
    )
    return frame.with_columns(
        [pl.lit(None).cast(t).alias(c) for c, t in ACCOUNT_SCORES.polars_schema().items() if c not in frame.columns]
    )


def _accounts(*rows: tuple[str, str | None, int | None]) -> pl.DataFrame:
    return pl.DataFrame(
        [{"account_id": a, "industry": i, "employees": e} for a, i, e in rows],
        schema={"account_id": pl.String, "industry": pl.String, "employees": pl.Int64},
    ).with_columns(
        [
            pl.lit(None).cast(t).alias(c)
            for c, t in ACCOUNTS.polars_schema().items()
            if c not in ("account_id", "industry", "employees")
        ]
    )


def _hand_made() -> tuple[pl.DataFrame, pl.DataFrame]:
    scores = _scores(
        # a: new paid, active, activated in 4 days, at risk
        {
            "account_id": "a",
            "created_date": dt.date(2026, 3, 2),
            "score": 80.0,
            "active_users": 3,
            "activated_at": dt.date(2026, 3, 5),
            "days_to_activation": 4,
            "plan": "pro",
            "status": "active",
            "mrr": 500.0,
            "health": "at_risk",
        },
        # b: new trial (by plan), active, activated in 10 days, PQL
        {
            "account_id": "b",
            "created_date": dt.date(2026, 2, 10),
            "score": 40.0,
            "active_users": 1,
            "activated_at": dt.date(2026, 2, 20),
            "days_to_activation": 10,
            "plan": "trial",
            "status": "trial",
            "is_pql": True,
            "health": "new",
        },
        # c: established free, inactive
        {
            "account_id": "c",
            "created_date": dt.date(2025, 6, 15),
            "score": 0.0,
            "active_users": 0,
            "plan": "free",
            "status": "active",
            "health": "inactive",
        },
        # d: established, churned from a paid plan, still a little active
        {
            "account_id": "d",
            "created_date": dt.date(2025, 1, 2),
            "score": 10.0,
            "active_users": 1,
            "activated_at": dt.date(2025, 2, 1),
            "plan": "starter",
            "status": "churned",
            "mrr": 0.0,
            "health": "churned",
        },
        # e: exactly 90 days old -> established; trial by status on a paid plan name
        {
            "account_id": "e",
            "created_date": DAY - dt.timedelta(days=90),
            "score": 60.0,
            "active_users": 2,
            "plan": "pro",
            "status": "trial",
            "health": "healthy",
        },
        # f: 89 days old -> new; paid enterprise, no firmographics
        {
            "account_id": "f",
            "created_date": DAY - dt.timedelta(days=89),
            "score": 90.0,
            "active_users": 5,
            "activated_at": dt.date(2026, 1, 20),
            "days_to_activation": 18,
            "plan": "enterprise",
            "status": "active",
            "mrr": 1500.0,
            "health": "expansion_ready",
        },
    )
    accounts = _accounts(
        ("a", "Software", 12), ("b", "Software", 10), ("c", "Retail", 5001), ("d", "Retail", 0), ("e", "Finance", 1000)
    )
    return scores, accounts


def _row(frame: pl.DataFrame, dimension: str, cohort: str) -> dict[str, Any]:
    rows = frame.filter((pl.col("dimension") == dimension) & (pl.col("cohort") == cohort))
    assert rows.height == 1, (dimension, cohort, rows)
    return rows.row(0, named=True)


def test_cohort_membership_per_dimension() -> None:
    out = cohort_daily(*_hand_made(), DAY)
    assert out.schema == pl.Schema(COHORT_DAILY_SCHEMA)
    assert (out["date"] == DAY).all()
    members = {(d, c): n for d, c, n in out.select("dimension", "cohort", "accounts").iter_rows()}
    assert members == {
        ("tenure", "new"): 3,
        ("tenure", "established"): 3,
        ("plan_type", "free"): 1,
        ("plan_type", "trial"): 2,
        ("plan_type", "paid"): 2,
        ("plan_type", "churned"): 1,
        ("plan", "enterprise"): 1,
        ("plan", "free"): 1,
        ("plan", "pro"): 2,
        ("plan", "starter"): 1,
        ("plan", "trial"): 1,
        ("industry", "Finance"): 1,
        ("industry", "Retail"): 2,
        ("industry", "Software"): 2,
        ("industry", "unknown"): 1,
        ("company_size", "1-10"): 1,
        ("company_size", "11-50"): 1,
        ("company_size", "201-1000"): 1,
        ("company_size", "5001+"): 1,
        ("company_size", "unknown"): 2,
        ("signup_month", "2025-01"): 1,
        ("signup_month", "2025-06"): 1,
        ("signup_month", "2025-12"): 1,
        ("signup_month", "2026-01"): 1,
        ("signup_month", "2026-02"): 1,
        ("signup_month", "2026-03"): 1,
    }
    # every dimension covers every account exactly once
    assert out.group_by("dimension").agg(pl.col("accounts").sum()).sort("dimension")["accounts"].to_list() == [6] * 6


def test_cohort_figures() -> None:
    out = cohort_daily(*_hand_made(), DAY)
    new = _row(out, "tenure", "new")  # a, b, f
    assert new["active_accounts"] == 3
    assert new["mean_score"] == pytest.approx((80 + 40 + 90) / 3, abs=0.01)
    assert new["median_score"] == 80.0
    assert new["activation_rate"] == 100.0
    assert new["median_days_to_activation"] == 10.0
    assert (new["pql_accounts"], new["at_risk_accounts"], new["mrr"]) == (1, 1, 2000.0)

    established = _row(out, "tenure", "established")  # c (inactive, score 0), d, e
    assert established["active_accounts"] == 2
    # the inactive account's 0 is not averaged in (like the product score)
    assert established["mean_score"] == 35.0 and established["median_score"] == 35.0
    assert established["activation_rate"] == pytest.approx(33.3)  # d only
    assert established["median_days_to_activation"] is None  # d's is unknown
    assert (established["pql_accounts"], established["at_risk_accounts"], established["mrr"]) == (0, 0, 0.0)

    free = _row(out, "plan_type", "free")
    assert free["active_accounts"] == 0 and free["mean_score"] is None and free["median_score"] is None
    assert free["activation_rate"] == 0.0

    paid = _row(out, "plan_type", "paid")  # a and f
    assert (paid["accounts"], paid["mrr"], paid["mean_score"]) == (2, 2000.0, 85.0)
    assert _row(out, "plan_type", "trial")["pql_accounts"] == 1
    assert _row(out, "plan_type", "churned")["accounts"] == 1


def test_deterministic_order_and_input_order_independence() -> None:
    scores, accounts = _hand_made()
    out = cohort_daily(scores, accounts, DAY)
    shuffled = cohort_daily(scores.reverse(), accounts.reverse(), DAY)
    assert out.equals(shuffled)
    assert list(dict.fromkeys(out["dimension"].to_list())) == list(DIMENSIONS)

    def cohorts(dimension: str) -> list[str]:
        return out.filter(pl.col("dimension") == dimension)["cohort"].to_list()

    assert cohorts("tenure") == ["new", "established"]
    assert cohorts("plan_type") == ["free", "trial", "paid", "churned"]
    assert cohorts("company_size") == ["1-10", "11-50", "201-1000", "5001+", "unknown"]
    assert cohorts("industry") == ["Finance", "Retail", "Software", "unknown"]


def test_new_account_days_and_other_days_filtered() -> None:
    scores, accounts = _hand_made()
    other_day = scores.with_columns(pl.lit(DAY - dt.timedelta(days=1)).alias("as_of_date"))
    out = cohort_daily(pl.concat([scores, other_day]), accounts, DAY, new_account_days=30)
    tenure = dict(out.filter(pl.col("dimension") == "tenure").select("cohort", "accounts").iter_rows())
    assert tenure == {"new": 1, "established": 5}  # only a (29 days old) is new; the other day is ignored


def test_empty_input_gives_typed_empty_frame() -> None:
    scores, accounts = _hand_made()
    assert cohort_daily(scores.clear(), accounts, DAY).schema == pl.Schema(COHORT_DAILY_SCHEMA)
    assert cohort_daily(scores, accounts, DAY + dt.timedelta(days=1)).height == 0
    # no firmographics at all: industry and size are unknown, nothing fails
    out = cohort_daily(scores, accounts.clear(), DAY)
    assert _row(out, "industry", "unknown")["accounts"] == 6
    assert _row(out, "company_size", "unknown")["accounts"] == 6
