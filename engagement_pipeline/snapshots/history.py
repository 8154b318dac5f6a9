"""Daily history: one row per account and day, and one row per day for the product."""

from __future__ import annotations

import datetime as dt

import polars as pl

from engagement_pipeline.accounts.health import is_active_account, mover
from engagement_pipeline.core.vocab import Trend
from engagement_pipeline.core.warehouse import HEALTH_COUNT_COLUMNS


def score_band(score: pl.Expr) -> pl.Expr:
    """The category's bands: 75+, 50-74, 25-49, below 25."""
    return (
        pl.when(score >= 75)
        .then(pl.lit("75+"))
        .when(score >= 50)
        .then(pl.lit("50-74"))
        .when(score >= 25)
        .then(pl.lit("25-49"))
        .otherwise(pl.lit("<25"))
    )


def account_history(account_scores: pl.DataFrame, names: pl.DataFrame) -> pl.DataFrame:
    """The day's account states, with name and score band, for the history table."""
    return (
        account_scores.join(names, on="account_id", how="left")
        .with_columns(pl.col("as_of_date").alias("date"), score_band(pl.col("score")).alias("score_band"))
        .sort("account_id")
    )


def product_daily(
    account_scores: pl.DataFrame,
    user_scores: pl.DataFrame,
    benchmark_raw: float | None,
    day: dt.date,
    new_account_days: int = 30,
    lookback_days: int = 30,
) -> pl.DataFrame:
    """One row summarizing the product on `day`."""
    a = account_scores
    active = a.filter(is_active_account())
    new_start = day - dt.timedelta(days=new_account_days - 1)
    new = a.filter(pl.col("created_date").is_between(new_start, day)) if "created_date" in a.columns else a.clear()
    activated_new = new.filter(pl.col("activated_at").is_not_null())
    days_to_act = activated_new["days_to_activation"].drop_nulls()

    def count(expr: pl.Expr) -> int:
        return a.filter(expr).height

    row = {
        "date": day,
        "product_score": round(float(active["score"].mean()), 2) if active.height else 0.0,  # type: ignore[arg-type]
        "median_account_score": round(float(active["score"].median()), 2) if active.height else 0.0,  # type: ignore[arg-type]
        "active_accounts": active.height,
        "total_accounts": a.height,
        "active_users": user_scores.filter(pl.col("score") > 0).height,
        "total_users": user_scores.height,
        "benchmark_raw": benchmark_raw,
        "new_accounts_30d": new.height,
        "activated_new_accounts_30d": activated_new.height,
        "activation_rate_30d": round(activated_new.height / new.height * 100, 1) if new.height else None,
        "median_days_to_activation": float(days_to_act.median()) if days_to_act.len() else None,  # type: ignore[arg-type]
        # the lists' rule (accounts.health.mover): no new account heating, no churned one cooling
        "heating_accounts": count(mover(Trend.HEATING, lookback_days)),
        "cooling_accounts": count(mover(Trend.COOLING, lookback_days)),
        **{column: count(pl.col("health") == state) for state, column in HEALTH_COUNT_COLUMNS.items()},
        "pql_accounts": count(pl.col("is_pql")),
        "band_75_plus": count((pl.col("score") >= 75) & is_active_account()),
        "band_50_74": count(pl.col("score").is_between(50, 75, closed="left")),
        "band_25_49": count(pl.col("score").is_between(25, 50, closed="left")),
        "band_below_25": count((pl.col("score") < 25) & is_active_account()),
    }
    return pl.DataFrame([row])
