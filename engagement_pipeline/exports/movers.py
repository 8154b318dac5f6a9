"""The lists that follow an account's life: new and ramping accounts (too young for a trend look-back,
so never `heating`) and the accounts that churned this period (never `cooling`), with their last score."""

from __future__ import annotations

import datetime as dt

import polars as pl

from engagement_pipeline.accounts.health import new_and_ramping
from engagement_pipeline.core.config import Config
from engagement_pipeline.core.vocab import Health
from engagement_pipeline.exports.lists import LIST_HEADERS


def new_and_ramping_list(base: pl.DataFrame, day: dt.date, config: Config) -> pl.DataFrame:
    """Accounts too young for a trend look-back (`accounts.health.new_and_ramping`), active and not
    churned, most engaged first: they went from nothing to something, which is ramping, not heating."""
    tenure = (pl.lit(day) - pl.col("created_date")).dt.total_days()
    return (
        base.filter(new_and_ramping(config.model.trend_lookback_days))
        .with_columns(tenure.alias("tenure_days"))
        .with_columns(
            pl.format(
                "{}; score {}, checklist {}% done, {} of {} users active",
                pl.when(pl.col("tenure_days").is_not_null())
                .then(pl.format("created {} days ago", pl.col("tenure_days")))
                .otherwise(pl.lit("first seen within the look-back")),
                pl.col("score"),
                pl.col("activation_pct"),
                pl.col("active_users"),
                pl.col("total_users"),
            ).alias("reason")
        )
        .sort(["score", "account_id"], descending=[True, False])
        .select(*LIST_HEADERS["new_and_ramping_accounts.csv"])
    )


def churned_list(base: pl.DataFrame, history: pl.DataFrame | None, day: dt.date, config: Config) -> pl.DataFrame:
    """Accounts that churned this period (the trend look-back: `model.trend.lookback_days`) with their
    last score before they churned, newest churn first.

    `history`: `snapshots.account_history` rows (date, account_id, score, health, status, churn_risk,
    mrr) of the days before `day`. A churned account of the day is listed when its last day not
    churned falls in the period: `churned_on` is the day after it, `last_*` its values that day.
    """
    headers = LIST_HEADERS["churned_accounts.csv"]
    churned = base.filter(pl.col("health") == Health.CHURNED)
    if history is None or history.is_empty() or churned.is_empty():
        return (
            pl.DataFrame(schema={c: base.schema.get(c, pl.String) for c in headers})
            .with_columns(
                pl.lit(None, dtype=pl.Date).alias("churned_on"),
                pl.lit(None, dtype=pl.Float64).alias("last_score"),
                pl.lit(None, dtype=pl.String).alias("last_health"),
                pl.lit(None, dtype=pl.Float64).alias("last_churn_risk"),
                pl.lit(None, dtype=pl.Float64).alias("last_mrr"),
                pl.lit(None, dtype=pl.String).alias("reason"),
            )
            .select(*headers)
        )
    period_start = day - dt.timedelta(days=config.model.trend_lookback_days - 1)
    last = (
        history.filter((pl.col("date") < day) & (pl.col("health") != Health.CHURNED))
        .sort("account_id", "date")
        .group_by("account_id", maintain_order=True)
        .last()
        .filter(pl.col("date") >= period_start - dt.timedelta(days=1))
        .select(
            "account_id",
            (pl.col("date") + pl.duration(days=1)).alias("churned_on"),
            pl.col("score").alias("last_score"),
            pl.col("health").alias("last_health"),
            pl.col("churn_risk").alias("last_churn_risk"),
            pl.col("mrr").alias("last_mrr"),
        )
    )
    return (
        churned.join(last, on="account_id", how="inner")
        .with_columns(
            pl.format(
                "churned {} ({}); last score {}, health {}, churn risk {}%",
                pl.col("churned_on"),
                pl.col("health_reason"),
                pl.col("last_score"),
                pl.col("last_health"),
                (pl.col("last_churn_risk").fill_null(0.0) * 100).round(0).cast(pl.Int64),
            ).alias("reason")
        )
        .sort(["churned_on", "last_score", "account_id"], descending=[True, True, False], nulls_last=True)
        .select(*headers)
    )
