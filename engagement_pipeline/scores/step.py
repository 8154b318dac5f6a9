"""scores, one day: user scores from the compact daily aggregate, and the benchmark.

The only module of the layer that reads or writes the warehouse.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from engagement_pipeline.core.config import Config
from engagement_pipeline.core.vocab import MessageType
from engagement_pipeline.core.warehouse import (
    BENCHMARKS,
    USER_SCORES,
    USER_WINDOW_SCORES,
    replace_rows,
    transaction,
)
from engagement_pipeline.scores.scoring import ScoreDay, score_users, window_bounds

SCORING_COUNTS_SQL = f"""
WITH weights AS (SELECT unnest($events) AS event, unnest($weights) AS weight)
SELECT c.event_date, c.user_id, c.account_id, '{MessageType.TRACK}' AS type, NULL::VARCHAR AS event,
       sum(c.event_count)::BIGINT AS event_count, sum(c.event_count * w.weight)::DOUBLE AS points
FROM staging.daily_event_counts c JOIN weights w ON w.event = c.event
WHERE c.event_date BETWEEN $scored_start AND $day AND c.type = '{MessageType.TRACK}'
GROUP BY c.event_date, c.user_id, c.account_id
UNION ALL
SELECT max(c.event_date), c.user_id, c.account_id, 'seen', NULL, 0::BIGINT, 0.0
FROM staging.daily_event_counts c JOIN (SELECT unnest($seen_ends) AS seen_end) e
  ON c.event_date BETWEEN $seen_start AND e.seen_end
GROUP BY e.seen_end, c.user_id, c.account_id
"""


def scoring_counts(
    con: duckdb.DuckDBPyConnection,
    weights: dict[str, int],
    scored_start: dt.date,
    day: dt.date,
    seen_start: dt.date,
    seen_ends: list[dt.date],
) -> pl.DataFrame:
    """The daily aggregate as scoring reads it, compacted in DuckDB: per user, account and
    day from `scored_start` to `day`, the weighted `points` and count of scored events (no
    event names); and for every user x account one row of type `seen` at the last day it
    had any message from `seen_start` to each of `seen_ends`.

    For every as-of day in `seen_ends`, `score_users` and `account_day` (given
    `event_totals` from EVENT_TOTALS_SQL) give the same result on this as on the event-level
    daily aggregate from `seen_start` to `day`: they score only weighted track events inside their
    window, and read other rows only for who was seen, where last. Polars then holds users
    and days, not user-event-days, so the cost of a day stops growing with the history kept.
    """
    return con.execute(
        SCORING_COUNTS_SQL,
        {
            "scored_start": scored_start,
            "day": day,
            "events": list(weights),
            "weights": list(weights.values()),
            "seen_start": seen_start,
            "seen_ends": seen_ends,
        },
    ).pl()


def run(con: duckdb.DuckDBPyConnection, day: dt.date, config: Config) -> ScoreDay:
    m = config.model
    norm = m.normalization
    scored_start, _ = window_bounds(day, max(m.window_days, *m.extra_windows))
    seen_start, _ = window_bounds(day, m.total_users_days)
    counts = scoring_counts(con, m.weights, scored_start, day, seen_start, [day])
    result = score_users(
        counts, m.weights, day, m.window_days, m.total_users_days, norm.method, norm.percentile, norm.curve
    )
    steps = [s.event for s in m.activation.steps if s.event is not None]
    personal = con.execute(
        f"""SELECT user_id, count(DISTINCT event)::DOUBLE AS steps_done FROM staging.daily_event_counts
            WHERE type = '{MessageType.TRACK}' AND list_contains(?, event) AND event_date <= ? AND user_id IS NOT NULL
            GROUP BY user_id""",
        [steps, day],
    ).pl()
    scores = result.scores.join(personal, on="user_id", how="left").with_columns(
        (pl.col("steps_done").fill_null(0.0) / len(m.activation.steps) * 100).round(1).alias("activation_pct")
    )
    windows = []
    for days in sorted(set(m.extra_windows)):
        extra = score_users(counts, m.weights, day, days, m.total_users_days, norm.method, norm.percentile, norm.curve)
        windows.append(
            extra.scores.filter(pl.col("raw_score") > 0).with_columns(
                pl.lit(days).alias("window_days"), pl.lit(extra.benchmark).alias("benchmark_raw")
            )
        )
    active = result.scores.filter(pl.col("score") > 0).height
    bench = pl.DataFrame(
        [
            {
                "as_of_date": day,
                "window_days": m.window_days,
                "method": norm.method,
                "percentile": norm.percentile,
                "benchmark_raw": result.benchmark,
                "active_users": active,
                "total_users": result.scores.height,
            }
        ]
    )
    with transaction(con):
        # the model version on every score row (core/config.py `model_version`)
        replace_rows(
            con,
            USER_SCORES,
            scores.with_columns(pl.lit(config.model_version).alias("model_version")),
            "as_of_date = ?",
            [day],
        )
        replace_rows(con, BENCHMARKS, bench, "as_of_date = ?", [day])
        replace_rows(
            con,
            USER_WINDOW_SCORES,
            pl.concat(windows) if windows else pl.DataFrame(schema=USER_WINDOW_SCORES.polars_schema()),
            "as_of_date = ?",
            [day],
        )
    return ScoreDay(as_of=day, benchmark=result.benchmark, scores=scores, pair_raw=result.pair_raw)
