"""Account aggregates for one as-of day: score, users, adoption, activation, trend, health, PQL.

Definitions (the README's "The engagement model"):

- score (`model.account_score`): `average` - mean score of the account's active users
  (the category's default; it favours small accounts); `size_aware` - mean over all of
  its users seen in `total_users_days`, inactive ones counting 0, so unused seats pull
  it down; `total` - the account's raw points normalized against the same percentile
  of all accounts' raw points.
- active users: users with a scored event in the window; total users: any event in
  the last `total_users_days` (90).
- adoption rate: share of the scored events the account used in the window
  (`adoption_rate`) and ever (`adoption_rate_all_time`); key events (weight 5+) never
  used are listed in `never_used_key_events`.
- explanations: `top_contributors` (events and users that earned most of the points)
  and `change_drivers` (what moved most since one trend look-back earlier), from
  `accounts.account_contributions`: the rules are in `explain.py`.
- segments: score band, recently inactive (last event 30-60 days ago), new, mature
  (older than `mature_days`), active today, multi-user.
- activation: share of checklist steps done by anyone in the account up to the day;
  `activated_at` is the day the last missing step was first done.
- trend: score minus the score `trend.lookback_days` earlier (one window by default),
  computed from the aggregate so it does not depend on the order days were run.
- churn_risk: recent activity against its busiest and its usual weeks (net of the whole
  product's change), idle users, score and its fall, the champion and seat signals
  (`signals.py`), trial or free, through a transparent logistic formula or, where outcome
  history exists, a fitted logistic regression (see `churn.py`).
- health and PQL: the rules are in `health.py`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from engagement_pipeline.accounts import churn, signals
from engagement_pipeline.accounts.explain import contributions, explanations
from engagement_pipeline.accounts.health import NEVER_ACTIVE_DAYS, health_exprs, pql_exprs
from engagement_pipeline.core.config import Config
from engagement_pipeline.core.vocab import UNPAID_PLANS, Status, Trend
from engagement_pipeline.scores.scoring import benchmark, normalize_expr, score_users, scored_counts, window_bounds

# Days of scored activity an account's day reads: its baseline, recent rate and the 8 weeks
# before the last one (see `account_day`).
ACTIVITY_DAYS = 63


def account_scores_from(pair_scores: pl.DataFrame, users: pl.DataFrame, method: str, config: Config) -> pl.DataFrame:
    """Roll user x account scores up to accounts (see the module docstring for the methods)."""
    total = users.group_by("account_id").agg(pl.col("user_id").n_unique().cast(pl.Int64).alias("total_users"))
    active = pair_scores.group_by("account_id").agg(
        pl.col("user_id").n_unique().cast(pl.Int64).alias("active_users"),
        pl.col("raw_score").sum().alias("raw_score"),
        # Scores have one decimal: summing them as integers (x10) makes the result exact, so a
        # mean near a rounding boundary cannot flip with the order a parallel sum takes.
        ((pl.col("score") * 10).round(0).sum() / 10).alias("_score_sum"),
        ((pl.col("score") * 10).round(0).sum() / pl.col("score").count() / 10).alias("_score_mean"),
    )
    out = total.join(active, on="account_id", how="full", coalesce=True).with_columns(
        pl.col("active_users").fill_null(0),
        pl.col("raw_score").fill_null(0.0),
        pl.max_horizontal(pl.col("total_users").fill_null(0), pl.col("active_users").fill_null(0)).alias("total_users"),
    )
    if method == "total":
        bench = benchmark(out["raw_score"], config.model.normalization.percentile)
        norm = config.model.normalization
        score = normalize_expr(pl.col("raw_score"), bench, norm.method, norm.curve)
    elif method == "size_aware":
        score = (pl.col("_score_sum").fill_null(0.0) / pl.col("total_users")).round(1)
    else:
        score = pl.col("_score_mean").fill_null(0.0).round(1)
    return out.with_columns(score.alias("score")).drop("_score_sum", "_score_mean")


def _user_accounts(counts: pl.DataFrame, as_of: dt.date, days: int) -> pl.DataFrame:
    start, _ = window_bounds(as_of, days)
    return (
        counts.filter(
            pl.col("event_date").is_between(start, as_of)
            & pl.col("account_id").is_not_null()
            & pl.col("user_id").is_not_null()
        )
        .select("user_id", "account_id")
        .unique()
    )


def score_accounts_at(
    counts: pl.DataFrame, as_of: dt.date, config: Config, removed: pl.DataFrame | None = None
) -> tuple[pl.DataFrame, float]:
    """Account score, raw score, active and total users for one as-of day, from the aggregate.

    `removed` (user_id, account_id): memberships ended by `Account Removed User` before the day
    the account's row is for; those users are none of its users (active or total) any more.
    """
    model = config.model
    day = score_users(
        counts,
        model.weights,
        as_of,
        model.window_days,
        model.total_users_days,
        model.normalization.method,
        model.normalization.percentile,
        model.normalization.curve,
    )
    pairs = day.pair_raw.filter(pl.col("account_id").is_not_null())
    users = _user_accounts(counts, as_of, model.total_users_days)
    if removed is not None and removed.height:
        pairs, users = (f.join(removed, on=["user_id", "account_id"], how="anti") for f in (pairs, users))
    accounts = account_scores_from(pairs, users, model.account_score, config)
    return accounts, day.benchmark


def event_totals(counts: pl.DataFrame, as_of: dt.date, config: Config) -> pl.DataFrame:
    """Per account x scored event: events and distinct users in the window, and points in the
    window and in the window one trend look-back earlier (a row when either has any).

    `counts` is the event-level daily aggregate; `accounts_step.EVENT_TOTALS_SQL` computes the same
    in DuckDB, so the account layer never holds event-level rows.
    """
    model = config.model
    accounts = counts.filter(pl.col("account_id").is_not_null())
    now = (
        scored_counts(accounts, model.weights, as_of, model.window_days)
        .group_by("account_id", "event")
        .agg(
            pl.col("event_count").sum().cast(pl.Int64).alias("event_count"),
            pl.col("user_id").n_unique().cast(pl.Int64).alias("user_count"),
            pl.col("points").sum().alias("points"),
        )
    )
    earlier = (
        scored_counts(accounts, model.weights, as_of - dt.timedelta(days=model.trend_lookback_days), model.window_days)
        .group_by("account_id", "event")
        .agg(pl.col("points").sum().alias("previous_points"))
    )
    return now.join(earlier, on=["account_id", "event"], how="full", coalesce=True).with_columns(
        pl.col("event_count").fill_null(0),
        pl.col("user_count").fill_null(0),
        pl.col("points").fill_null(0.0),
        pl.col("previous_points").fill_null(0.0),
    )


def feature_usage(totals: pl.DataFrame, config: Config, as_of: dt.date, first_used: pl.DataFrame) -> pl.DataFrame:
    """Account x scored event in the window: events and distinct users; first use ever."""
    features = pl.DataFrame(
        {"event": list(config.model.events), "feature": [s.feature for s in config.model.events.values()]},
        schema={"event": pl.String, "feature": pl.String},
    )
    return (
        totals.filter(pl.col("event_count") > 0)
        .select("account_id", "event", "event_count", "user_count")
        .join(features, on="event", how="left")
        .join(first_used, on=["account_id", "event"], how="left")
        .with_columns(pl.lit(as_of).alias("as_of_date"))
        .sort("account_id", "event")
    )


def activation(first_used: pl.DataFrame, config: Config) -> pl.DataFrame:
    """Per account: % of checklist steps done and the day the checklist was completed.

    `first_used` rows are account x step key (an event name, or `trait:<key>` for a
    trait step) with the first day it was done.
    """
    steps = [s.key for s in config.model.activation.steps]
    done = first_used.filter(pl.col("event").is_in(steps))
    return done.group_by("account_id").agg(
        (pl.col("event").n_unique() / len(steps) * 100.0).round(1).alias("activation_pct"),
        pl.when(pl.col("event").n_unique() == len(steps)).then(pl.col("first_used").max()).alias("activated_at"),
    )


def activation_detail(step_firsts: pl.DataFrame, config: Config, as_of: dt.date) -> pl.DataFrame:
    """Account x checklist step: when it was first done, by whom, and by how many users.

    `step_firsts` has account_id, step_key (event name or `trait:<key>`), first_done,
    first_user_id, users_done, as computed up to the as-of day.
    """
    steps = pl.DataFrame(
        {
            "step": [s.name for s in config.model.activation.steps],
            "step_key": [s.key for s in config.model.activation.steps],
        },
        schema={"step": pl.String, "step_key": pl.String},
    )
    return (
        step_firsts.join(steps, on="step_key", how="inner")
        .with_columns(pl.lit(as_of).alias("as_of_date"))
        .sort("account_id", "step")
    )


def segments_expr(as_of: dt.date, window_days: int, mature_days: int) -> pl.Expr:
    """The category's suggested segments, as a comma-separated list per account."""
    tenure = pl.col("_tenure_days").fill_null(0)
    quiet_any = (pl.lit(as_of) - pl.col("_last_seen_any")).dt.total_days()
    parts = [
        pl.format(
            "band {}",
            pl.when(pl.col("score") >= 75)
            .then(pl.lit("75+"))
            .when(pl.col("score") >= 50)
            .then(pl.lit("50-74"))
            .when(pl.col("score") >= 25)
            .then(pl.lit("25-49"))
            .otherwise(pl.lit("<25")),
        ),
        pl.when(quiet_any.is_between(30, 60)).then(pl.lit("recently inactive")),
        pl.when(tenure < window_days).then(pl.lit("new")),
        pl.when(tenure > mature_days).then(pl.lit("mature")),
        pl.when(pl.col("last_active_date") == as_of).then(pl.lit("active today")),
        pl.when(pl.col("active_users") >= 2).then(pl.lit("multi-user")),
    ]
    return pl.concat_str(parts, separator=", ", ignore_nulls=True)


@dataclass(frozen=True)
class AccountDay:
    scores: pl.DataFrame  # accounts.account_scores rows
    usage: pl.DataFrame  # accounts.account_feature_usage rows
    contributions: pl.DataFrame  # accounts.account_contributions rows
    benchmark: float


def account_day(
    counts: pl.DataFrame,
    first_used: pl.DataFrame,
    attributes: pl.DataFrame,
    as_of: dt.date,
    config: Config,
    churn_model: churn.FittedModel | None = None,
    totals: pl.DataFrame | None = None,
    removed: pl.DataFrame | None = None,
) -> AccountDay:
    """All account aggregates for one as-of day.

    `counts`: the daily aggregate covering at least `total_users_days` + the trend
    look-back before `as_of` (event-level, or weighted per user and day with `totals`
    given: see `scores_step.scoring_counts`). `totals`: `event_totals` of the day, computed
    from `counts` when not given. `first_used`: account x event -> first_used date up to the
    day. `attributes`: account_id, name, plan, status, mrr, created_date as of the day.
    `removed`: the members removed before the day (`score_accounts_at`), left out of the
    score and user counts of the day and of the trend's look-back (the trend compares the
    current members then and now).
    """
    model = config.model
    # the optional attributes (who said the status, the MRR 28 days before, billed seats): null when absent
    optional = {"_status_source": pl.String, "_mrr_28d_ago": pl.Float64, "seats": pl.Int64}
    attributes = attributes.with_columns(
        pl.lit(None, dtype=dtype).alias(name) for name, dtype in optional.items() if name not in attributes.columns
    )
    if totals is None:
        totals = event_totals(counts, as_of, config)
    now, bench = score_accounts_at(counts, as_of, config, removed)
    lookback = model.trend_lookback_days
    before, _ = score_accounts_at(counts, as_of - dt.timedelta(days=lookback), config, removed)

    scored = scored_counts(
        counts.filter(pl.col("account_id").is_not_null()), model.weights, as_of, max(model.window_days, ACTIVITY_DAYS)
    )
    recent_start = as_of - dt.timedelta(days=6)
    base_start, base_end = as_of - dt.timedelta(days=36), as_of - dt.timedelta(days=7)
    pql_start = as_of - dt.timedelta(days=model.pql.recent_days - 1)
    activity = scored.group_by("account_id").agg(
        pl.col("event_date").max().alias("last_active_date"),
        pl.col("event_date")
        .filter(pl.col("event_date") >= window_bounds(as_of, model.window_days)[0])
        .n_unique()
        .cast(pl.Int64)
        .alias("active_days"),
        pl.col("event_date").filter(pl.col("event_date") >= pql_start).n_unique().alias("_recent_active_days"),
        (pl.col("event_count").filter(pl.col("event_date") >= recent_start).sum() / 7.0).alias("_recent_rate"),
        (pl.col("event_count").filter(pl.col("event_date").is_between(base_start, base_end)).sum() / 30.0).alias(
            "_baseline_rate"
        ),
    )
    # The account's busiest of the 8 weeks before the last one: "its own normal" at its best.
    weeks = (
        scored.with_columns(((pl.lit(as_of) - pl.col("event_date")).dt.total_days() // 7).alias("_week"))
        .filter(pl.col("_week").is_between(1, 8))
        .group_by("account_id", "_week")
        .agg(pl.col("event_count").sum())
    )
    peak = weeks.group_by("account_id").agg((pl.col("event_count").max() / 7.0).alias("_peak_rate"))
    activity = activity.join(peak, on="account_id", how="left").join(
        signals.account_signals(scored, as_of, model.window_days), on="account_id", how="left"
    )
    usage = feature_usage(totals, config, as_of, first_used)
    adoption = usage.group_by("account_id").agg(
        (pl.col("event").n_unique() / len(model.events)).round(3).alias("adoption_rate")
    )
    adoption_ever = (
        first_used.filter(pl.col("event").is_in(list(model.events)))
        .group_by("account_id")
        .agg((pl.col("event").n_unique() / len(model.events)).round(3).alias("adoption_rate_all_time"))
    )
    key_events = sorted(e for e, spec in model.events.items() if spec.weight >= 5)
    never = (
        now.select("account_id")
        .join(pl.DataFrame({"event": key_events}, schema={"event": pl.String}), how="cross")
        .join(first_used.select("account_id", "event"), on=["account_id", "event"], how="anti")
        .sort("account_id", "event")
        .group_by("account_id", maintain_order=True)
        .agg(pl.col("event").str.join(", ").alias("never_used_key_events"))
    )
    last_seen_any = (
        counts.filter(pl.col("account_id").is_not_null() & (pl.col("event_date") <= as_of))
        .group_by("account_id")
        .agg(pl.col("event_date").max().alias("_last_seen_any"))
    )
    contrib = contributions(counts, totals, as_of, config)
    act = activation(first_used, config)

    frame = (
        now.join(before.select("account_id", pl.col("score").alias("previous_score")), on="account_id", how="left")
        .join(activity, on="account_id", how="left")
        .join(adoption, on="account_id", how="left")
        .join(adoption_ever, on="account_id", how="left")
        .join(never, on="account_id", how="left")
        .join(last_seen_any, on="account_id", how="left")
        .join(explanations(contrib), on="account_id", how="left")
        .join(act, on="account_id", how="left")
        .join(attributes, on="account_id", how="left")
        .with_columns(
            pl.lit(as_of).alias("as_of_date"),
            pl.col("previous_score").fill_null(0.0),
            pl.col("adoption_rate").fill_null(0.0),
            pl.col("adoption_rate_all_time").fill_null(0.0),
            pl.col("never_used_key_events").fill_null(""),
            pl.col("activation_pct").fill_null(0.0),
            pl.col("active_days").fill_null(0),
            pl.col("_recent_active_days").fill_null(0),
            pl.when(pl.col("total_users") > 0)
            .then((pl.col("active_users") / pl.col("total_users")).round(3))
            .otherwise(0.0)
            .alias("pct_active"),
            ((pl.col("status") == Status.ACTIVE) & ~pl.col("plan").is_in(UNPAID_PLANS))
            .fill_null(False)
            .alias("is_paying"),
        )
        .with_columns(
            (pl.col("score") - pl.col("previous_score")).round(1).alias("trend_delta"),
            (pl.lit(as_of) - pl.col("activated_at")).dt.total_days().alias("_since_act"),
            # Unknown for accounts created before tracking began: their early steps are not in the data.
            pl.when(pl.col("created_date") >= config.start_date)
            .then((pl.col("activated_at") - pl.col("created_date")).dt.total_days().clip(lower_bound=0))
            .alias("days_to_activation"),
            (pl.lit(as_of) - pl.col("last_active_date"))
            .dt.total_days()
            .fill_null(NEVER_ACTIVE_DAYS)
            .alias("_days_quiet"),
            (pl.lit(as_of) - pl.col("last_active_date")).dt.total_days().alias("days_since_active"),
            pl.when(pl.col("_baseline_rate") > 0)
            .then((pl.col("_recent_rate").fill_null(0.0) / pl.col("_baseline_rate") - 1).round(3))
            .alias("activity_change"),
            pl.when(pl.col("_peak_rate") > 0)
            .then((pl.col("_recent_rate").fill_null(0.0) / pl.col("_peak_rate") - 1).round(3))
            .alias("activity_vs_peak"),
            (pl.lit(as_of) - pl.col("created_date")).dt.total_days().alias("_tenure_days"),
        )
        .with_columns(
            pl.when(pl.col("trend_delta") >= model.trend.heating_points)
            .then(pl.lit(Trend.HEATING))
            .when(pl.col("trend_delta") <= model.trend.cooling_points)
            .then(pl.lit(Trend.COOLING))
            .otherwise(pl.lit(Trend.STEADY))
            .alias("trend"),
        )
    )
    frame = frame.with_columns(*signals.mrr_exprs(), *signals.seats_exprs()).drop("seats")
    frame = frame.with_columns(signals.reasons_expr())
    features = churn.signal_frame(frame)
    risk = churn_model.predict(features) if churn_model is not None else churn.formula_risk(features)
    frame = frame.with_columns(
        pl.Series("churn_risk", risk).round(3),
        pl.lit("fitted" if churn_model is not None else "formula").alias("churn_model"),
        pl.Series("_risk_reasons", churn.reasons(frame), dtype=pl.String),
    )
    frame = (
        frame.with_columns(*health_exprs(config))
        .with_columns(*pql_exprs(config))
        .with_columns(segments_expr(as_of, model.window_days, model.mature_days).alias("segments"))
    )
    frame = frame.drop([c for c in frame.columns if c.startswith("_")]).sort("account_id")
    return AccountDay(frame, usage, contrib, bench)
