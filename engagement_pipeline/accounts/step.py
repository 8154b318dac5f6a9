"""accounts, one day: account scores, activation, trend, health, PQL and churn risk.

The only module of the layer that reads or writes the warehouse.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

import duckdb
import polars as pl

from engagement_pipeline.accounts import churn
from engagement_pipeline.accounts import model as acc
from engagement_pipeline.core.config import Config
from engagement_pipeline.core.config_profiles import DEFAULT_PROFILE
from engagement_pipeline.core.errors import PipelineError
from engagement_pipeline.core.vocab import MessageType
from engagement_pipeline.core.warehouse import (
    ACCOUNT_CONTRIBUTIONS,
    ACCOUNT_FEATURE_USAGE,
    ACCOUNT_SCORES,
    ACTIVATION_STEPS,
    replace_rows,
    transaction,
)
from engagement_pipeline.scores.scoring import window_bounds
from engagement_pipeline.scores.step import scoring_counts
from engagement_pipeline.staging.lifecycle import invites_sent, known_outcomes, removed_members
from engagement_pipeline.staging.traits import account_attributes

EVENT_TOTALS_SQL = f"""
WITH weights AS (SELECT unnest($events) AS event, unnest($weights) AS weight),
scored AS (
    SELECT c.account_id, c.event, c.user_id, c.event_date, c.event_count, c.event_count * w.weight AS points
    FROM staging.daily_event_counts c JOIN weights w ON w.event = c.event
    WHERE c.type = '{MessageType.TRACK}' AND c.account_id IS NOT NULL AND c.event_date BETWEEN $earlier_start AND $day
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
    return con.execute(
        EVENT_TOTALS_SQL,
        {
            "events": list(m.weights),
            "weights": list(m.weights.values()),
            "day": day,
            "start": window_bounds(day, m.window_days)[0],
            "earlier_start": window_bounds(earlier, m.window_days)[0],
            "earlier_end": earlier,
        },
    ).pl()


# The first user of a step: the earliest, and on a tie the smallest user id (arg_min alone picks
# any of the tied rows, so re-runs could name a different user).
STEP_FIRSTS_SQL = f"""
SELECT account_id, event AS step_key, min(event_date) AS first_done,
       arg_min(user_id, (event_date, user_id)) AS first_user_id, count(DISTINCT user_id)::BIGINT AS users_done
FROM staging.daily_event_counts
WHERE type = '{MessageType.TRACK}' AND account_id IS NOT NULL AND event_date <= $day AND list_contains($events, event)
GROUP BY ALL
"""
TRAIT_FIRSTS_SQL = f"""
SELECT group_id AS account_id, $key AS step_key, CAST(min(timestamp) AS DATE) AS first_done,
       arg_min(user_id, (timestamp, user_id)) AS first_user_id, count(DISTINCT user_id)::BIGINT AS users_done
FROM staging.events
WHERE type = '{MessageType.GROUP}' AND group_id IS NOT NULL AND timestamp < $end
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
        f"""SELECT account_id, event, min(event_date) AS first_used FROM staging.daily_event_counts
            WHERE type = '{MessageType.TRACK}' AND account_id IS NOT NULL AND event_date <= ? GROUP BY ALL""",
        [day],
    ).pl()
    if config is None or not any(s.trait for s in config.model.activation.steps):
        return events
    traits = step_firsts(con, day, config).filter(pl.col("step_key").str.starts_with("trait:"))
    return pl.concat(
        [
            events,
            traits.select("account_id", pl.col("step_key").alias("event"), pl.col("first_done").alias("first_used")),
        ]
    )


def churn_events(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every churn (account_id, date) known: from billing, else from the status traits."""
    return known_outcomes(con).filter(pl.col("kind") == "churn").select("account_id", "date")


def churn_model(con: duckdb.DuckDBPyConnection, day: dt.date, config: Config) -> churn.FittedModel | None:
    """The logistic regression of `day`, or None (use the formula): see `churn.fit_day` and `churn.cached_fit`.

    The model is refitted on a schedule, not every day: on the `refit_days` grid from start_date
    (every day between uses the last fit day's model), and again when the outcomes or history it
    learns from change (late billing, a rerun day). Its inputs are those known on the fit day, so
    the result does not depend on the order days are run.
    """
    c = config.model.churn
    if c.method == "formula":
        return None
    fit_on = churn.fit_day(day, config.start_date, c.refit_days)
    cutoff = fit_on - dt.timedelta(days=c.horizon_days)
    events = churn_events(con).filter(pl.col("date") <= fit_on)
    rows, fingerprint = con.execute(
        "SELECT count(*), coalesce(sum(hash(account_id, as_of_date, churn_risk, health)), 0) "
        "FROM accounts.account_scores WHERE as_of_date <= ?",
        [cutoff],
    ).fetchone()  # type: ignore[misc]
    key = (
        fit_on,
        c.method,
        c.horizon_days,
        c.min_training_churns,
        int(rows),
        int(fingerprint),
        churn.frame_hash(events),
    )

    def train() -> churn.FittedModel | None:
        # account_scores, not the snapshot: the model's features read signal columns the snapshot omits
        history = con.execute(
            "SELECT * EXCLUDE (as_of_date), as_of_date AS date FROM accounts.account_scores WHERE as_of_date <= ?",
            [cutoff],
        ).pl()
        features, labels = churn.training_set(history, events, fit_on, c.horizon_days)
        positives = int(labels.sum())
        if min(positives, len(labels) - positives) < c.min_training_churns:
            return None
        model = churn.fit(features, labels, fit_on)
        # `auto` shrinks the fit toward the transparent formula (half each): on the demo's few dozen
        # churns the fit alone ranks churners worse than the formula (README, "Kinds of churn").
        return dataclasses.replace(model, formula_share=0.5) if c.method == "auto" else model

    model = churn.cached_fit(key, train)
    if model is None and c.method == "fitted":
        raise PipelineError(
            f"model.churn.method is `fitted` but the history before {fit_on} holds too few churns in closed "
            f"{c.horizon_days}-day windows (at least {c.min_training_churns} needed): use `auto` or `formula`."
        )
    return model


def signal_attributes(con: duckdb.DuckDBPyConnection, day: dt.date) -> pl.DataFrame:
    """`account_attributes` of the day, with `_mrr_28d_ago` (the MRR 28 days before, for `signals.mrr_exprs`)."""
    before = account_attributes(con, day - dt.timedelta(days=28)).select(
        "account_id", pl.col("mrr").alias("_mrr_28d_ago")
    )
    return account_attributes(con, day).join(before, on="account_id", how="left")


def _profile_day(con: duckdb.DuckDBPyConnection, day: dt.date, config: Config) -> tuple[acc.AccountDay, pl.DataFrame]:
    """Every account's day as one profile's model (weights, checklist) scores it, and its checklist steps."""
    m = config.model
    span = m.total_users_days + m.trend_lookback_days + 40
    scored_start, _ = window_bounds(day, max(m.window_days, acc.ACTIVITY_DAYS, m.trend_lookback_days + m.window_days))
    counts = scoring_counts(
        con,
        m.weights,
        scored_start,
        day,
        day - dt.timedelta(days=span),
        [day, day - dt.timedelta(days=m.trend_lookback_days)],
    )
    result = acc.account_day(
        counts,
        first_used(con, day, config),
        signal_attributes(con, day),
        day,
        config,
        churn_model(con, day, config),
        account_event_totals(con, day, config),
        removed_members(con, day),
    )
    # Seat growth: the lifecycle invite event (`Invite Sent`) in the window.
    invites = invites_sent(con, day, m.window_days, config)
    scores = result.scores.join(invites, on="account_id", how="left").with_columns(pl.col("invites_sent").fill_null(0))
    result = acc.AccountDay(scores, result.usage, result.contributions, result.benchmark)
    steps = acc.activation_detail(step_firsts(con, day, config), config, day)
    return result, steps


def run(con: duckdb.DuckDBPyConnection, day: dt.date, config: Config) -> acc.AccountDay:
    """The day's account rows, each scored by its profile (`model.profiles`: chosen by the account's
    plan or status as of the day; `default` for the rest), with the profile and model version."""
    profiles = config.model.profiles
    chosen = account_attributes(con, day).select(
        "account_id",
        pl.col(profiles.trait)
        .replace_strict(profiles.by_value(), default=DEFAULT_PROFILE, return_dtype=pl.String)
        .alias("profile"),
    )
    frames: dict[str, list[pl.DataFrame]] = {"scores": [], "usage": [], "contributions": [], "steps": []}
    benchmark = 0.0
    for name in [DEFAULT_PROFILE, *(p.name for p in profiles.segments)]:
        part, steps = _profile_day(con, day, config.model_copy(update={"model": config.model.for_profile(name)}))
        benchmark = part.benchmark if name == DEFAULT_PROFILE else benchmark
        mine = part.scores.select("account_id").join(chosen, on="account_id", how="left")
        mine = mine.filter(pl.col("profile").fill_null(DEFAULT_PROFILE) == name).select("account_id")
        for key, frame in (("scores", part.scores), ("usage", part.usage), ("contributions", part.contributions)):
            frames[key].append(frame.join(mine, on="account_id", how="semi"))
        frames["scores"][-1] = frames["scores"][-1].with_columns(pl.lit(name).alias("profile"))
        frames["steps"].append(steps.join(mine, on="account_id", how="semi"))
    scores = pl.concat(frames["scores"], how="vertical_relaxed").sort("account_id")
    result = acc.AccountDay(
        scores.with_columns(pl.lit(config.model_version).alias("model_version")),
        pl.concat(frames["usage"], how="vertical_relaxed").sort("account_id", "event"),
        pl.concat(frames["contributions"], how="vertical_relaxed"),
        benchmark,
    )
    steps = pl.concat(frames["steps"], how="vertical_relaxed").sort("account_id", "step")
    with transaction(con):
        replace_rows(con, ACCOUNT_SCORES, result.scores, "as_of_date = ?", [day])
        replace_rows(con, ACCOUNT_FEATURE_USAGE, result.usage, "as_of_date = ?", [day])
        replace_rows(con, ACCOUNT_CONTRIBUTIONS, result.contributions, "as_of_date = ?", [day])
        replace_rows(con, ACTIVATION_STEPS, steps, "as_of_date = ?", [day])
    return result


@dataclass
class CheckInputs:
    """What the day's account checks compare the new rows with."""

    user_scores: pl.DataFrame
    previous_day: pl.DataFrame
    activation_steps: pl.DataFrame


def check_inputs(con: duckdb.DuckDBPyConnection, day: dt.date) -> CheckInputs:
    """The day's user scores, the previous day's account scores and the day's activation steps."""
    return CheckInputs(
        user_scores=con.execute("SELECT * FROM scores.user_scores WHERE as_of_date = ?", [day]).pl(),
        previous_day=con.execute(
            "SELECT score, active_users FROM accounts.account_scores WHERE as_of_date = ?", [day - dt.timedelta(days=1)]
        ).pl(),
        activation_steps=con.execute("SELECT * FROM accounts.activation_steps WHERE as_of_date = ?", [day]).pl(),
    )
