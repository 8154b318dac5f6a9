"""One function per layer and day: read the warehouse, call the domain functions, write back.

These are what the Dagster assets call; they need no Dagster, so tests and the
benchmark can run a layer directly on a DuckDB connection. Each write replaces the
day's rows in one transaction, so a re-run gives the same rows and a crash changes
nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from engagement_pipeline import accounts as acc
from engagement_pipeline import churn
from engagement_pipeline import exports as exp
from engagement_pipeline import snapshots as snap
from engagement_pipeline import charts
from engagement_pipeline.backtest import calibration, outcome_events, precision_at_k, score_backtest, summarize_backtest
from engagement_pipeline.cohorts import cohort_daily
from engagement_pipeline.config import Config
from engagement_pipeline.errors import PipelineError
from engagement_pipeline.report import render_report
from engagement_pipeline.weights import suggest_weights
from engagement_pipeline.ingest import iter_landed_file, list_day_files
from engagement_pipeline.scoring import ScoreDay, score_users, window_bounds
from engagement_pipeline.staging import (
    ACCOUNT_HISTORY_SPEC, ACCOUNTS_SQL, MEMBERSHIPS_SQL, USER_HISTORY_SPEC, USERS_SQL, StagingResult,
    account_attributes, read_billing, refresh_history, stage_day,
)
from engagement_pipeline.warehouse import (
    ACCOUNT_CONTRIBUTIONS, ACCOUNT_FEATURE_USAGE, ACCOUNT_HISTORY, ACCOUNT_SCORES, ACCOUNTS,
    ACTIVATION_STEPS, BENCHMARKS, BILLING, COHORT_DAILY, SCORE_BACKTEST, USER_WINDOW_SCORES,
    DAILY_EVENT_COUNTS, DUPLICATES, EVENTS, EXPORT_RUNS, LANDED_LINES, MEMBERSHIPS, PRODUCT_DAILY, QUARANTINE,
    USER_SCORES, USERS, insert_rows, registered, replace_rows, transaction,
)

DAY = "received_date = ?"


def land_raw(con: duckdb.DuckDBPyConnection, day: dt.date, config: Config) -> pl.DataFrame:
    """Copy the day's landed lines verbatim into raw.landed_lines, one file at a time (so only
    one file's text is in memory); returns every line's position and read error, not its text."""
    positions = []
    with transaction(con):
        con.execute(f"DELETE FROM {LANDED_LINES.qualified} WHERE {DAY}", [day])
        for file in list_day_files(config.paths.landing, day):
            kept = len(positions)
            for lines, restart in iter_landed_file(file):
                if restart:  # the file failed part-way: it is one unreadable line, nothing more
                    con.execute(f"DELETE FROM {LANDED_LINES.qualified} WHERE {DAY} AND source_file = ?",
                                [day, file.relative])
                    del positions[kept:]
                lines = lines.with_columns(pl.lit(day, dtype=pl.Date).alias("received_date"))
                insert_rows(con, LANDED_LINES, lines)
                positions.append(lines.drop("line"))
                del lines
    if not positions:
        return pl.DataFrame(schema={k: v for k, v in LANDED_LINES.polars_schema().items() if k != "line"})
    return pl.concat(positions)


@dataclass
class StagedDay:
    result: StagingResult
    users: int
    accounts: int
    memberships: int
    billing_rows: int
    billing_warnings: list[str]
    user_history: int = 0
    account_history: int = 0


def stage(con: duckdb.DuckDBPyConnection, day: dt.date, config: Config) -> StagedDay:
    """Stage a received day, restate the neighbour days it changes, refresh users and accounts."""
    result = stage_day(con, day, None, config)
    billing, warnings = read_billing(con, config.paths.billing)
    with transaction(con):
        histories = (USER_HISTORY_SPEC, ACCOUNT_HISTORY_SPEC)
        before = [h.call_keys(con, day) for h in histories]  # this day's keys before a re-run replaces it
        replace_rows(con, EVENTS, result.events, DAY, [day])
        replace_rows(con, QUARANTINE, result.quarantine, DAY, [day])
        replace_rows(con, DUPLICATES, result.duplicates, DAY, [day])
        replace_rows(con, DAILY_EVENT_COUNTS, result.counts, DAY, [day])
        _restate(con, result)
        user_history, account_history = (refresh_history(con, h, day, keys, result.restated)
                                         for h, keys in zip(histories, before))
        users = replace_rows(con, USERS, con.execute(USERS_SQL).pl(), None)
        accounts = replace_rows(con, ACCOUNTS, con.execute(ACCOUNTS_SQL).pl(), None)
        memberships = replace_rows(con, MEMBERSHIPS, con.execute(MEMBERSHIPS_SQL).pl(), None)
        billing_rows = replace_rows(con, BILLING, billing, None)
    return StagedDay(result, users, accounts, memberships, billing_rows, warnings, user_history, account_history)


def _restate(con: duckdb.DuckDBPyConnection, result: StagingResult) -> None:
    """Apply a staging's changes to neighbour days and rebuild their daily aggregates."""
    if not result.restated_days:
        return
    keys = pl.concat([
        result.restated.select("received_date", "message_id"),
        result.later_duplicates.select("received_date", "message_id"),
    ])
    with registered(con, "_keys", keys):
        con.execute("DELETE FROM staging.events e USING _keys k "
                    "WHERE e.received_date = k.received_date AND e.message_id = k.message_id")
    insert_rows(con, EVENTS, result.restated)
    insert_rows(con, DUPLICATES, result.later_duplicates)
    days = result.restated_days
    con.execute("DELETE FROM staging.daily_event_counts WHERE list_contains(?, received_date)", [days])
    con.execute(
        """INSERT INTO staging.daily_event_counts BY NAME
           SELECT received_date, event_date, user_id, account_id, type, event, count(*)::BIGINT AS event_count
           FROM staging.events WHERE list_contains(?, received_date) AND user_id IS NOT NULL GROUP BY ALL""",
        [days],
    )


SCORING_COUNTS_SQL = """
WITH weights AS (SELECT unnest($events) AS event, unnest($weights) AS weight)
SELECT c.event_date, c.user_id, c.account_id, 'track' AS type, NULL::VARCHAR AS event,
       sum(c.event_count)::BIGINT AS event_count, sum(c.event_count * w.weight)::DOUBLE AS points
FROM staging.daily_event_counts c JOIN weights w ON w.event = c.event
WHERE c.event_date BETWEEN $scored_start AND $day AND c.type = 'track'
GROUP BY c.event_date, c.user_id, c.account_id
UNION ALL
SELECT max(c.event_date), c.user_id, c.account_id, 'seen', NULL, 0::BIGINT, 0.0
FROM staging.daily_event_counts c JOIN (SELECT unnest($seen_ends) AS seen_end) e
  ON c.event_date BETWEEN $seen_start AND e.seen_end
GROUP BY e.seen_end, c.user_id, c.account_id
"""


def scoring_counts(con: duckdb.DuckDBPyConnection, weights: dict[str, int], scored_start: dt.date, day: dt.date,
                   seen_start: dt.date, seen_ends: list[dt.date]) -> pl.DataFrame:
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
    return con.execute(SCORING_COUNTS_SQL, {
        "scored_start": scored_start, "day": day, "events": list(weights), "weights": list(weights.values()),
        "seen_start": seen_start, "seen_ends": seen_ends,
    }).pl()


EVENT_TOTALS_SQL = """
WITH weights AS (SELECT unnest($events) AS event, unnest($weights) AS weight),
scored AS (
    SELECT c.account_id, c.event, c.user_id, c.event_date, c.event_count, c.event_count * w.weight AS points
    FROM staging.daily_event_counts c JOIN weights w ON w.event = c.event
    WHERE c.type = 'track' AND c.account_id IS NOT NULL AND c.event_date BETWEEN $earlier_start AND $day
)
SELECT account_id, event,
       coalesce(sum(event_count) FILTER (WHERE event_date >= $start), 0)::BIGINT AS event_count,
       count(DISTINCT user_id) FILTER (WHERE event_date >= $start)::BIGINT AS user_count,
       coalesce(sum(points) FILTER (WHERE event_date >= $start), 0)::DOUBLE AS points,
       coalesce(sum(points) FILTER (WHERE event_date BETWEEN $earlier_start AND $earlier_end), 0)::DOUBLE
           AS previous_points
FROM scored GROUP BY account_id, event
HAVING count(*) FILTER (WHERE event_date >= $start OR event_date BETWEEN $earlier_start AND $earlier_end) > 0
"""


def account_event_totals(con: duckdb.DuckDBPyConnection, day: dt.date, config: Config) -> pl.DataFrame:
    """`accounts.event_totals` of the day, computed in DuckDB (see EVENT_TOTALS_SQL)."""
    m = config.model
    earlier = day - dt.timedelta(days=m.trend_lookback_days)
    return con.execute(EVENT_TOTALS_SQL, {
        "events": list(m.weights), "weights": list(m.weights.values()), "day": day,
        "start": window_bounds(day, m.window_days)[0], "earlier_start": window_bounds(earlier, m.window_days)[0],
        "earlier_end": earlier,
    }).pl()


def score(con: duckdb.DuckDBPyConnection, day: dt.date, config: Config) -> ScoreDay:
    m = config.model
    norm = m.normalization
    scored_start, _ = window_bounds(day, max(m.window_days, *m.extra_windows))
    seen_start, _ = window_bounds(day, m.total_users_days)
    counts = scoring_counts(con, m.weights, scored_start, day, seen_start, [day])
    result = score_users(counts, m.weights, day, m.window_days, m.total_users_days,
                         norm.method, norm.percentile, norm.curve)
    steps = [s.event for s in m.activation.steps if s.event is not None]
    personal = con.execute(
        """SELECT user_id, count(DISTINCT event)::DOUBLE AS steps_done FROM staging.daily_event_counts
           WHERE type = 'track' AND list_contains(?, event) AND event_date <= ? AND user_id IS NOT NULL
           GROUP BY user_id""",
        [steps, day],
    ).pl()
    scores = result.scores.join(personal, on="user_id", how="left").with_columns(
        (pl.col("steps_done").fill_null(0.0) / len(m.activation.steps) * 100).round(1).alias("activation_pct"))
    windows = []
    for days in sorted(set(m.extra_windows)):
        extra = score_users(counts, m.weights, day, days, m.total_users_days, norm.method, norm.percentile, norm.curve)
        windows.append(extra.scores.filter(pl.col("raw_score") > 0).with_columns(
            pl.lit(days).alias("window_days"), pl.lit(extra.benchmark).alias("benchmark_raw")))
    active = result.scores.filter(pl.col("score") > 0).height
    bench = pl.DataFrame([{
        "as_of_date": day, "window_days": m.window_days, "method": norm.method,
        "percentile": norm.percentile, "benchmark_raw": result.benchmark,
        "active_users": active, "total_users": result.scores.height,
    }])
    with transaction(con):
        replace_rows(con, USER_SCORES, scores, "as_of_date = ?", [day])
        replace_rows(con, BENCHMARKS, bench, "as_of_date = ?", [day])
        replace_rows(con, USER_WINDOW_SCORES, pl.concat(windows) if windows else pl.DataFrame(
            schema=USER_WINDOW_SCORES.polars_schema()), "as_of_date = ?", [day])
    return ScoreDay(as_of=day, benchmark=result.benchmark, scores=scores, pair_raw=result.pair_raw)


STEP_FIRSTS_SQL = """
SELECT account_id, event AS step_key, min(event_date) AS first_done,
       arg_min(user_id, event_date) AS first_user_id, count(DISTINCT user_id)::BIGINT AS users_done
FROM staging.daily_event_counts
WHERE type = 'track' AND account_id IS NOT NULL AND event_date <= $day AND list_contains($events, event)
GROUP BY ALL
"""
TRAIT_FIRSTS_SQL = """
SELECT group_id AS account_id, $key AS step_key, CAST(min(timestamp) AS DATE) AS first_done,
       arg_min(user_id, timestamp) AS first_user_id, count(DISTINCT user_id)::BIGINT AS users_done
FROM staging.events
WHERE type = 'group' AND group_id IS NOT NULL AND timestamp < $end
  AND NULLIF(trim(json_extract_string(traits, $path)), '') IS NOT NULL
GROUP BY ALL
"""


def step_firsts(con: duckdb.DuckDBPyConnection, day: dt.date, config: Config) -> pl.DataFrame:
    """Account x activation step: first day done, first user, users who did it (up to `day`)."""
    steps = config.model.activation.steps
    frames = [con.execute(STEP_FIRSTS_SQL, {"day": day, "events": [s.event for s in steps if s.event]}).pl()]
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time())
    for step in steps:
        if step.trait:
            frames.append(con.execute(TRAIT_FIRSTS_SQL, {"key": step.key, "end": end, "path": f"$.{step.trait}"}).pl())
    return pl.concat(frames, how="vertical_relaxed")


def first_used(con: duckdb.DuckDBPyConnection, day: dt.date, config: Config | None = None) -> pl.DataFrame:
    """Account x event (and x trait step) -> the first day it was used, up to `day`."""
    events = con.execute(
        """SELECT account_id, event, min(event_date) AS first_used FROM staging.daily_event_counts
           WHERE type = 'track' AND account_id IS NOT NULL AND event_date <= ? GROUP BY ALL""",
        [day],
    ).pl()
    if config is None or not any(s.trait for s in config.model.activation.steps):
        return events
    traits = step_firsts(con, day, config).filter(pl.col("step_key").str.starts_with("trait:"))
    return pl.concat([events, traits.select("account_id", pl.col("step_key").alias("event"),
                                            pl.col("first_done").alias("first_used"))])


def churn_events(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every churn (account_id, date) known: from billing, else from the status traits."""
    billing = con.execute("SELECT account_id, date, plan, mrr, status FROM staging.billing").pl()
    traits = con.execute("SELECT account_id, valid_from, plan, status FROM staging.account_traits_history").pl()
    events = outcome_events(billing, traits)
    return events.filter(pl.col("kind") == "churn").select("account_id", "date")


def churn_model(con: duckdb.DuckDBPyConnection, day: dt.date, config: Config) -> churn.FittedModel | None:
    """A logistic regression fitted on the closed outcome windows before `day`, or None (use the formula)."""
    c = config.model.churn
    if c.method == "formula":
        return None
    history = con.execute("SELECT * FROM snapshots.account_history WHERE date <= ?",
                          [day - dt.timedelta(days=c.horizon_days)]).pl()
    features, labels = churn.training_set(history, churn_events(con), day, c.horizon_days)
    positives = int(labels.sum())
    if min(positives, len(labels) - positives) < c.min_training_churns:
        if c.method == "fitted":
            raise PipelineError(
                f"model.churn.method is `fitted` but the history before {day} holds {positives} churns in closed "
                f"{c.horizon_days}-day windows (at least {c.min_training_churns} needed): use `auto` or `formula`."
            )
        return None
    return churn.fit(features, labels, day)


def account_layer(con: duckdb.DuckDBPyConnection, day: dt.date, config: Config) -> acc.AccountDay:
    m = config.model
    span = m.total_users_days + m.trend_lookback_days + 40
    scored_start, _ = window_bounds(day, max(m.window_days, acc.ACTIVITY_DAYS, m.trend_lookback_days + m.window_days))
    counts = scoring_counts(con, m.weights, scored_start, day, day - dt.timedelta(days=span),
                            [day, day - dt.timedelta(days=m.trend_lookback_days)])
    result = acc.account_day(counts, first_used(con, day, config), account_attributes(con, day), day, config,
                             churn_model(con, day, config), account_event_totals(con, day, config))
    steps = acc.activation_detail(step_firsts(con, day, config), config, day)
    with transaction(con):
        replace_rows(con, ACCOUNT_SCORES, result.scores, "as_of_date = ?", [day])
        replace_rows(con, ACCOUNT_FEATURE_USAGE, result.usage, "as_of_date = ?", [day])
        replace_rows(con, ACCOUNT_CONTRIBUTIONS, result.contributions, "as_of_date = ?", [day])
        replace_rows(con, ACTIVATION_STEPS, steps, "as_of_date = ?", [day])
    return result


@dataclass
class SnapshotDay:
    history: pl.DataFrame
    product: pl.DataFrame
    cohorts: pl.DataFrame
    backtest: pl.DataFrame


HORIZONS = (30, 60, 90)
PREDICTORS = ("score", "churn_risk")


def suggested_weights_scores(con: duckdb.DuckDBPyConnection, as_of: dt.date, config: Config) -> pl.DataFrame:
    """Account scores of `as_of` under the rarity weights `suggest-weights` would have proposed
    from the data up to that day (same events, same method): to compare with the configured ones."""
    m = config.model
    span = m.total_users_days + m.trend_lookback_days + 40
    freq = con.execute(
        """SELECT event, sum(event_count)::BIGINT AS events, count(DISTINCT user_id)::BIGINT AS users,
                  count(DISTINCT account_id)::BIGINT AS accounts
           FROM staging.daily_event_counts
           WHERE event_date BETWEEN ? AND ? AND type = 'track' AND list_contains(?, event) GROUP BY event""",
        [as_of - dt.timedelta(days=span), as_of, list(m.events)]).pl()
    suggested = dict(suggest_weights(freq).select("event", "weight").iter_rows())
    if not suggested:
        return pl.DataFrame(schema={"account_id": pl.String, "score": pl.Float64})
    events = {name: spec.model_copy(update={"weight": suggested.get(name, spec.weight)}) for name, spec in m.events.items()}
    alternative = config.model_copy(update={"model": m.model_copy(update={"events": events})})
    counts = scoring_counts(con, alternative.model.weights, window_bounds(as_of, m.window_days)[0], as_of,
                            window_bounds(as_of, m.total_users_days)[0], [as_of])
    scores, _ = acc.score_accounts_at(counts, as_of, alternative)
    return scores.select("account_id", "score")


def backtest_day(con: duckdb.DuckDBPyConnection, day: dt.date, config: Config) -> pl.DataFrame:
    """Backtest rows of the as-of days whose 30/60/90-day outcome window closes on `day`.

    Beside the category metrics (AUC, lifts, churn per score band, MRR correlation),
    for churn within 30 days: precision of the at-risk list at its size, and the
    calibration of churn_risk by decile.
    """
    dates = [day - dt.timedelta(days=h) for h in HORIZONS] + [day]
    history = con.execute(
        "SELECT date, account_id, score, churn_risk, health, plan, status, mrr FROM snapshots.account_history "
        "WHERE list_contains(?, date)", [dates]).pl()
    outcomes = outcome_events(
        con.execute("SELECT account_id, date, plan, mrr, status FROM staging.billing").pl(),
        con.execute("SELECT account_id, valid_from, plan, status FROM staging.account_traits_history").pl(),
    )
    table = score_backtest(history, outcomes, day, HORIZONS, PREDICTORS)
    table = table.filter(pl.col("as_of_date") + pl.duration(days=pl.col("horizon_days")) == pl.lit(day))
    extra = []
    as_of = day - dt.timedelta(days=30)
    at_as_of = history.filter(pl.col("date") == as_of)
    if at_as_of.height:
        alternative = at_as_of.drop("score").join(suggested_weights_scores(con, as_of, config), on="account_id",
                                                  how="left").with_columns(pl.col("score").fill_null(0.0))
        rival = score_backtest(pl.concat([alternative, history.filter(pl.col("date") == day)], how="diagonal_relaxed"),
                               outcomes, day, (30,), ("score",), outcome_kinds=("churn",))
        table = pl.concat([table, rival.filter(pl.col("as_of_date") == as_of).with_columns(
            pl.lit("score_suggested_weights").alias("predictor"))], how="diagonal_relaxed")
    start = history.filter((pl.col("date") == as_of) & (pl.col("status") != "churned").fill_null(True))
    if start.height:
        churned = outcomes.filter((pl.col("kind") == "churn") & pl.col("date").is_between(as_of, day, closed="right"))
        labelled = start.with_columns(pl.col("account_id").is_in(churned["account_id"].implode()).alias("_churned"))
        flagged = labelled.filter(pl.col("health") == "at_risk")
        base = dict(as_of_date=as_of, horizon_days=30, outcome="churn")
        extra.append({**base, "predictor": "health", "metric": "at_risk_precision", "band": None,
                      "value": precision_at_k(flagged["_churned"]) if flagged.height else None})
        extra.append({**base, "predictor": "health", "metric": "at_risk_accounts", "band": None,
                      "value": float(flagged.height)})
        for row in calibration(labelled["churn_risk"], labelled["_churned"]).iter_rows(named=True):
            band = f"decile {row['decile']}"
            extra += [{**base, "predictor": "churn_risk", "metric": "calibration_predicted", "band": band,
                       "value": row["mean_predicted"]},
                      {**base, "predictor": "churn_risk", "metric": "calibration_observed", "band": band,
                       "value": row["observed_rate"]}]
    if extra:
        table = pl.concat([table, pl.DataFrame(extra, schema=table.select(
            "as_of_date", "horizon_days", "outcome", "predictor", "metric", "band", "value").schema)],
            how="diagonal_relaxed")
    return table.with_columns(pl.lit(day).alias("evaluated_on"))


def snapshot_layer(con: duckdb.DuckDBPyConnection, day: dt.date, config: Config) -> SnapshotDay:
    scores = con.execute("SELECT * FROM accounts.account_scores WHERE as_of_date = ?", [day]).pl()
    users = con.execute("SELECT * FROM scores.user_scores WHERE as_of_date = ?", [day]).pl()
    bench = con.execute("SELECT benchmark_raw FROM scores.benchmarks WHERE as_of_date = ?", [day]).fetchone()
    history = snap.account_history(scores.drop("name"), scores.select("account_id", "name"))
    product = snap.product_daily(scores, users, bench[0] if bench else None, day, config.model.window_days)
    cohorts = cohort_daily(scores, con.execute("SELECT account_id, industry, employees FROM staging.accounts").pl(),
                           day)
    with transaction(con):
        replace_rows(con, ACCOUNT_HISTORY, history, "date = ?", [day])
        replace_rows(con, PRODUCT_DAILY, product, "date = ?", [day])
        replace_rows(con, COHORT_DAILY, cohorts, "date = ?", [day])
    backtest = backtest_day(con, day, config)
    with transaction(con):
        replace_rows(con, SCORE_BACKTEST, backtest, "evaluated_on = ?", [day])
    return SnapshotDay(history, product, cohorts, backtest)


def backtest_summary(con: duckdb.DuckDBPyConnection, until: dt.date) -> pl.DataFrame:
    """Mean AUC per horizon, outcome and predictor over every as-of day evaluated so far."""
    table = con.execute("SELECT * FROM snapshots.score_backtest WHERE evaluated_on <= ?", [until]).pl()
    return summarize_backtest(table) if table.height else pl.DataFrame()


def day_charts(con: duckdb.DuckDBPyConnection, day: dt.date, config: Config) -> dict[str, bytes]:
    """The day's PNG charts, by file name: product trend, score distribution, churn by band,
    activation funnel, cohorts by plan type, churn_risk calibration."""
    product = con.execute("SELECT * FROM snapshots.product_daily WHERE date <= ? ORDER BY date", [day]).pl()
    scores = con.execute("SELECT * FROM accounts.account_scores WHERE as_of_date = ?", [day]).pl()
    backtest = con.execute("SELECT * FROM snapshots.score_backtest WHERE evaluated_on <= ?", [day]).pl()
    steps = con.execute("SELECT * FROM accounts.activation_steps WHERE as_of_date = ?", [day]).pl()
    cohorts = con.execute("SELECT * FROM snapshots.cohort_daily WHERE date <= ? ORDER BY date", [day]).pl()
    calibrated = backtest.filter(pl.col("metric").str.starts_with("calibration_")).group_by("band", "metric").agg(
        pl.col("value").mean()).pivot(on="metric", index="band", values="value") if backtest.height else pl.DataFrame()
    if calibrated.height and {"calibration_predicted", "calibration_observed"} <= set(calibrated.columns):
        calibrated = calibrated.select(
            pl.col("band").str.extract(r"(\d+)").cast(pl.Int64).alias("decile"),
            pl.col("calibration_predicted").alias("mean_predicted"),
            pl.col("calibration_observed").alias("observed_rate"), pl.lit(None, dtype=pl.Int64).alias("n"),
        ).sort("decile")
    return {
        "chart_product_score.png": charts.product_score_chart(product),
        "chart_score_distribution.png": charts.score_distribution_chart(scores),
        "chart_churn_by_band.png": charts.churn_by_band_chart(backtest),
        "chart_activation_funnel.png": charts.activation_funnel_chart(
            steps, scores.height, [s.name for s in config.model.activation.steps]),
        "chart_cohorts_plan_type.png": charts.cohort_chart(cohorts, "plan_type"),
        "chart_churn_risk_calibration.png": charts.calibration_chart(calibrated if calibrated.height else None),
    }


@dataclass
class ExportedDay:
    folder: Path
    bundle: exp.ExportBundle
    problems: list[str]


def export_layer(con: duckdb.DuckDBPyConnection, day: dt.date, config: Config) -> ExportedDay:
    scores = con.execute("SELECT * FROM accounts.account_scores WHERE as_of_date = ?", [day]).pl()
    user_scores = con.execute("SELECT * FROM scores.user_scores WHERE as_of_date = ?", [day]).pl()
    accounts = con.execute("SELECT * FROM staging.accounts").pl()
    users = con.execute("SELECT * FROM staging.users").pl()
    bundle = exp.build_exports(day, scores, accounts, users, user_scores, first_used(con, day, config), config)
    # Charts cost about a second a day: they are drawn for the newest landed day, the one
    # people open; an older day (a backfill) gets its report with the inline trend only.
    newest = con.execute("SELECT max(received_date) FROM raw.landed_lines").fetchone()[0]
    pictures = day_charts(con, day, config) if newest is None or day >= newest else {}
    product = con.execute("SELECT * FROM snapshots.product_daily WHERE date <= ? ORDER BY date", [day]).pl()
    steps = con.execute("SELECT * FROM accounts.activation_steps WHERE as_of_date = ?", [day]).pl()
    page = render_report(day, product, scores, bundle.files["at_risk_accounts.csv"], pictures, activation_steps=steps)
    bundle.attachments = {**pictures, "report.html": page.encode("utf-8")}
    root = config.paths.exports
    exp.clean_stale_temporaries(root)
    folder = exp.write_export_folder(root, bundle, config.model_version)
    problems = exp.verify_export_folder(folder)
    manifest_sha = exp.sha256_file(folder / exp.MANIFEST)
    row = pl.DataFrame([{
        "as_of_date": day, "folder": str(folder), "model_version": config.model_version,
        "files": len(bundle.files) + 1, "manifest_sha256": manifest_sha, "warnings": len(bundle.warnings),
        "written_at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
    }])
    with transaction(con):
        replace_rows(con, EXPORT_RUNS, row, "as_of_date = ?", [day])
    return ExportedDay(folder, bundle, problems)
