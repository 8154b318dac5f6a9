"""User engagement scores: weighted event counts over a window, normalized to 1..100.

Method (the README's "The engagement model"): a user's raw score is the sum over scored events of
count x weight in the window. The benchmark is the `percentile` (0.90) of the raw
scores of active users, linearly interpolated like numpy's default. Then:

- `linear`: score = raw / benchmark x 100, capped at 100.
- `exponential`: winsorize at the benchmark, x = min(raw, benchmark) / benchmark in
  (0, 1], then score = 1 + 99 x (1 - exp(-k x)) / (1 - exp(-k)), k = `curve` (3.0).
  Raw scores are heavy-tailed: on a linear scale most users bunch near 0 and only a
  few reach the top. The exponential saturation spreads them up the scale (a user at
  a fifth of the benchmark scores 48, not 20) while keeping the order: it is
  monotone, maps the benchmark and above to 100 and any activity to at least 1.

Inactive users (no scored event in the window) score 0. Scores are rounded to one
decimal, so the published example reads as published (101 -> 48.5).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl

from engagement_pipeline.core.vocab import MessageType

Method = Literal["exponential", "linear"]


def benchmark(raw_scores: pl.Series | np.ndarray | list[float], percentile: float) -> float:
    """The raw score at `percentile` among active users (raw > 0); 0.0 when nobody is active."""
    values = np.asarray(raw_scores, dtype=float)
    values = values[values > 0]
    if values.size == 0:
        return 0.0
    return float(np.quantile(values, percentile, method="linear"))


def normalize_expr(raw: pl.Expr, bench: float, method: Method, curve: float = 3.0) -> pl.Expr:
    """The 0..100 score of a raw-score column against a benchmark (see the module docstring)."""
    if bench <= 0:
        return pl.lit(0.0)
    if method == "linear":
        scaled = (raw / bench * 100.0).clip(upper_bound=100.0)
    else:
        x = raw.clip(upper_bound=bench) / bench
        scaled = 1.0 + 99.0 * (1.0 - (-x * curve).exp()) / (1.0 - math.exp(-curve))
    return (
        pl.when(raw <= 0).then(0.0).otherwise(scaled.clip(lower_bound=1.0, upper_bound=100.0).round(1)).cast(pl.Float64)
    )


def normalize(raw: pl.Series | list[float], bench: float, method: Method, curve: float = 3.0) -> pl.Series:
    series = pl.Series("raw", raw, dtype=pl.Float64)
    return pl.select(normalize_expr(pl.lit(series), bench, method, curve)).to_series().alias("score")


def window_bounds(as_of: dt.date, days: int) -> tuple[dt.date, dt.date]:
    """Event dates counted for as-of day D: D - days + 1 .. D."""
    return as_of - dt.timedelta(days=days - 1), as_of


def scored_counts(counts: pl.DataFrame, weights: dict[str, int], as_of: dt.date, window_days: int) -> pl.DataFrame:
    """Rows of the daily aggregate that count for the window, with their `points`.

    `counts` is the daily aggregate (event-level rows, weighted here), or rows already
    weighted per user and day (a `points` column, as `scores_step.scoring_counts` gives them):
    those are only cut to the window.
    """
    start, end = window_bounds(as_of, window_days)
    if "points" in counts.columns:
        return counts.filter((pl.col("type") == MessageType.TRACK) & pl.col("event_date").is_between(start, end))
    weight_frame = pl.DataFrame(
        {"event": list(weights), "weight": list(weights.values())},
        schema={"event": pl.String, "weight": pl.Int64},
    )
    return (
        counts.filter((pl.col("type") == MessageType.TRACK) & pl.col("event_date").is_between(start, end))
        .join(weight_frame, on="event", how="inner")
        .with_columns((pl.col("event_count") * pl.col("weight")).cast(pl.Float64).alias("points"))
    )


@dataclass(frozen=True)
class ScoreDay:
    as_of: dt.date
    benchmark: float
    scores: pl.DataFrame  # one row per user
    pair_raw: pl.DataFrame  # user x account raw scores in the window


def score_users(
    counts: pl.DataFrame,
    weights: dict[str, int],
    as_of: dt.date,
    window_days: int,
    total_users_days: int,
    method: Method,
    percentile: float,
    curve: float,
) -> ScoreDay:
    """Score every user seen in the last `total_users_days` for one as-of day.

    `counts` is the daily aggregate (event_date, user_id, account_id, type, event,
    event_count) covering at least the last `total_users_days`. A user in several
    accounts gets one row, attributed to the account where they earned most points
    (ties: the first account id); a user whose points all came from events without a
    resolved account has none; an inactive user keeps the account of their latest event.
    """
    seen_start, _ = window_bounds(as_of, total_users_days)
    recent = counts.filter(pl.col("event_date").is_between(seen_start, as_of) & pl.col("user_id").is_not_null())
    scored = scored_counts(recent, weights, as_of, window_days)

    pair_raw = scored.group_by("user_id", "account_id").agg(
        pl.col("points").sum().alias("raw_score"),
        pl.col("event_count").sum().alias("scored_events"),
        pl.col("event_date").n_unique().alias("active_days"),
    )
    per_user = scored.group_by("user_id").agg(
        pl.col("points").sum().alias("raw_score"),
        pl.col("event_count").sum().cast(pl.Int64).alias("scored_events"),
        pl.col("event_date").n_unique().cast(pl.Int64).alias("active_days"),
        pl.col("event_date").max().alias("last_active_date"),
    )
    top_account = (
        pair_raw.filter(pl.col("account_id").is_not_null() & (pl.col("raw_score") > 0))
        .sort(["user_id", "raw_score", "account_id"], descending=[False, True, False])
        .unique("user_id", keep="first", maintain_order=True)
        .select("user_id", pl.col("account_id").alias("_top_account"))
    )
    latest_account = (
        recent.filter(pl.col("account_id").is_not_null())
        .group_by("user_id", "account_id")
        .agg(pl.col("event_date").max())  # sort pairs, not days
        .sort(["user_id", "event_date", "account_id"], descending=[False, True, False])
        .unique("user_id", keep="first", maintain_order=True)
        .select("user_id", pl.col("account_id").alias("_latest_account"))
    )
    users = recent.select("user_id").unique()
    bench = benchmark(per_user["raw_score"], percentile)
    scores = (
        users.join(per_user, on="user_id", how="left")
        .join(top_account, on="user_id", how="left")
        .join(latest_account, on="user_id", how="left")
        .with_columns(
            pl.col("raw_score").fill_null(0.0),
            pl.col("scored_events").fill_null(0),
            pl.col("active_days").fill_null(0),
            # An active user is attributed to the account where they earned most points; one
            # whose points all came from events no account could be resolved for stays
            # unattributed; an inactive user keeps the account of their latest event.
            pl.when(pl.col("_top_account").is_not_null())
            .then(pl.col("_top_account"))
            .when(pl.col("raw_score").fill_null(0.0) > 0)
            .then(None)
            .otherwise(pl.col("_latest_account"))
            .alias("account_id"),
            pl.lit(as_of).alias("as_of_date"),
        )
        .with_columns(normalize_expr(pl.col("raw_score"), bench, method, curve).alias("score"))
        .drop("_top_account", "_latest_account")
        .sort("user_id")
    )
    pair_raw = pair_raw.with_columns(normalize_expr(pl.col("raw_score"), bench, method, curve).alias("score"))
    return ScoreDay(as_of=as_of, benchmark=bench, scores=scores, pair_raw=pair_raw)


def histogram(scores: pl.Series, edges: tuple[int, ...] = (0, 1, 25, 50, 75, 100)) -> dict[str, int]:
    """Counts per score band, for metadata: 0 (inactive), 1-24, 25-49, 50-74, 75-100."""
    labels = {0: "0 (inactive)", 1: "1-24", 25: "25-49", 50: "50-74", 75: "75-100"}
    out: dict[str, int] = {}
    values = scores.to_numpy()
    for lo, hi in zip(edges[:-1], edges[1:]):
        upper = values <= hi if hi == 100 else values < hi
        if lo == 0:
            mask = values == 0
        else:
            mask = (values >= lo) & upper
        out[labels[lo]] = int(mask.sum())
    return out
