"""Why an account scores what it scores: its points by event and by user, and those in words.

`contributions` splits an account's points in the window, and in the window one trend look-back
earlier, by event and by user (the rows of `accounts.account_contributions`); `explanations`
turns them into `top_contributors` (what earned most of the points) and `change_drivers` (what
moved them most). `model.account_day` joins the latter onto the account's row.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from engagement_pipeline.core.config import Config
from engagement_pipeline.scores.scoring import scored_counts


def contributions(counts: pl.DataFrame, totals: pl.DataFrame, as_of: dt.date, config: Config) -> pl.DataFrame:
    """Points per account by event (from `event_totals`) and by user, now and one trend look-back earlier.

    This is what explains a score and its change: `points` in the current window,
    `previous_points` in the window ending `trend.lookback_days` before, `delta`.
    """
    model = config.model
    earlier = as_of - dt.timedelta(days=model.trend_lookback_days)
    parts = []
    for label, day in (("points", as_of), ("previous_points", earlier)):
        scored = scored_counts(counts.filter(pl.col("account_id").is_not_null()), model.weights, day, model.window_days)
        parts.append(scored.group_by("account_id", "user_id").agg(pl.col("points").sum().alias(label)))
    by_user = (
        parts[0]
        .join(parts[1], on=["account_id", "user_id"], how="full", coalesce=True)
        .with_columns(pl.col("points").fill_null(0.0), pl.col("previous_points").fill_null(0.0))
    )
    frames = [
        both.select(
            pl.lit(as_of).alias("as_of_date"),
            "account_id",
            pl.lit(kind).alias("kind"),
            pl.col(key).alias("key"),
            "points",
            "previous_points",
            (pl.col("points") - pl.col("previous_points")).alias("delta"),
        )
        for kind, key, both in (("event", "event", totals), ("user", "user_id", by_user))
    ]
    return pl.concat(frames).sort("account_id", "kind", "key")


def explanations(contrib: pl.DataFrame, top: int = 3) -> pl.DataFrame:
    """Per account, in words: what earned most of its points, and what moved them most."""
    shares = contrib.with_columns(
        (pl.col("points") / pl.col("points").sum().over("account_id", "kind") * 100).round(0).alias("_share")
    )
    top_now = (
        shares.filter(pl.col("points") > 0)
        .sort(["account_id", "kind", "points", "key"], descending=[False, False, True, False])
        .group_by("account_id", "kind", maintain_order=True)
        .head(top)
        .group_by("account_id", maintain_order=True)
        .agg(pl.format("{} {}%", "key", pl.col("_share").cast(pl.Int64)).str.join(", ").alias("top_contributors"))
    )
    movers = (
        contrib.filter(pl.col("delta") != 0)
        .with_columns(pl.col("delta").abs().alias("_abs"))
        .sort(["account_id", "_abs", "kind", "key"], descending=[False, True, False, False])
        .group_by("account_id", maintain_order=True)
        .head(top)
        .group_by("account_id", maintain_order=True)
        .agg(
            pl.format(
                "{} {} pts",
                "key",
                pl.when(pl.col("delta") > 0)
                .then(pl.format("+{}", pl.col("delta").round(0).cast(pl.Int64)))
                .otherwise(pl.col("delta").round(0).cast(pl.Int64).cast(pl.String)),
            )
            .str.join(", ")
            .alias("change_drivers")
        )
    )
    return top_now.join(movers, on="account_id", how="full", coalesce=True)
