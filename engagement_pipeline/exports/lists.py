"""The lists with reasons for sales and customer success: PQLs, at-risk, expansion-ready,
case-study candidates and feature-adoption gaps, each with the account's main users."""

from __future__ import annotations

import datetime as dt

import polars as pl

from engagement_pipeline.accounts.health import is_active_account
from engagement_pipeline.core.config import Config
from engagement_pipeline.core.privacy import EMAIL_RE, PHONE_RE
from engagement_pipeline.core.vocab import Health, Trend
from engagement_pipeline.exports.privacy import public_user_id

LIST_HEADERS: dict[str, tuple[str, ...]] = {
    "pql_accounts.csv": (
        "account_id",
        "name",
        "pql_reason",
        "main_users",
        "plan",
        "score",
        "activation_pct",
        "activated_at",
        "days_to_activation",
        "active_days",
        "active_users",
        "total_users",
        "trend",
        "last_active_date",
    ),
    "at_risk_accounts.csv": (
        "account_id",
        "name",
        "health_reason",
        "what_dropped",
        "since",
        "since_basis",
        "mrr_at_risk",
        "churn_risk",
        "mrr",
        "score",
        "previous_score",
        "trend_delta",
        "last_active_date",
        "active_users",
        "total_users",
        "plan",
        "main_users",
    ),
    "expansion_accounts.csv": (
        "account_id",
        "name",
        "health_reason",
        "score",
        "trend",
        "trend_delta",
        "active_users",
        "total_users",
        "pct_active",
        "adoption_rate",
        "plan",
        "mrr",
        "main_users",
    ),
    "case_study_candidates.csv": (
        "account_id",
        "name",
        "reason",
        "score",
        "tenure_days",
        "trend",
        "active_users",
        "total_users",
        "activation_pct",
        "plan",
        "mrr",
        "industry",
        "main_users",
    ),
    "new_and_ramping_accounts.csv": (
        "account_id",
        "name",
        "reason",
        "score",
        "created_date",
        "tenure_days",
        "activation_pct",
        "activated_at",
        "active_users",
        "total_users",
        "plan",
        "main_users",
    ),
    "churned_accounts.csv": (
        "account_id",
        "name",
        "reason",
        "churned_on",
        "last_score",
        "last_health",
        "last_churn_risk",
        "last_mrr",
        "last_active_date",
        "plan",
    ),
    "feature_adoption_gaps.csv": (
        "account_id",
        "name",
        "never_used",
        "never_used_features",
        "next_nudge",
        "missing_count",
        "activation_pct",
        "score",
        "active_users",
        "plan",
    ),
}
CASE_STUDY_LIMIT = 25
CASE_STUDY_MIN_TENURE_DAYS = 90


def main_users(user_scores: pl.DataFrame, users: pl.DataFrame, n: int = 3) -> pl.DataFrame:
    """Per account, its n most engaged active users as `user_id (title)`: ids and titles, never
    names, emails or phones (an id that is itself an email or phone is pseudonymized)."""
    titles = (
        users.select("user_id", "title")
        .sort("user_id", "title", nulls_last=True)
        .unique("user_id", keep="first", maintain_order=True)
        .with_columns(
            pl.col("title")
            .str.replace_all(EMAIL_RE, "[email removed]")
            .str.replace_all(PHONE_RE, "[phone removed]")
            .str.replace_all(r"\s+", " ")
            .str.strip_chars()
        )
    )
    ranked = (
        user_scores.filter((pl.col("score") > 0) & pl.col("account_id").is_not_null())
        .join(titles, on="user_id", how="left")
        .sort(["account_id", "score", "user_id"], descending=[False, True, False])
        .group_by("account_id", maintain_order=True)
        .head(n)
    )
    return ranked.group_by("account_id", maintain_order=True).agg(
        pl.format(
            "{} ({})",
            public_user_id(pl.col("user_id")),
            pl.when(pl.col("title").fill_null("") == "").then(pl.lit("no title")).otherwise(pl.col("title")),
        )
        .str.join("; ")
        .alias("main_users")
    )


def pql_list(base: pl.DataFrame) -> pl.DataFrame:
    """Product-qualified leads, most engaged first, with why each qualifies and its main users."""
    return (
        base.filter(pl.col("is_pql").fill_null(False))
        .sort(["score", "account_id"], descending=[True, False])
        .select(*LIST_HEADERS["pql_accounts.csv"])
    )


def user_dropoff(user_scores: pl.DataFrame, day: dt.date, quiet_days: int) -> pl.DataFrame:
    """Per account: users active in the window but not in the last `quiet_days` days (`quiet_users`)
    and the earliest last-active day among them (`first_quiet_date`): when users began to drop away."""
    cutoff = day - dt.timedelta(days=quiet_days - 1)
    return (
        user_scores.filter(
            (pl.col("score") > 0) & pl.col("account_id").is_not_null() & (pl.col("last_active_date") < cutoff)
        )
        .group_by("account_id")
        .agg(pl.len().cast(pl.Int64).alias("quiet_users"), pl.col("last_active_date").min().alias("first_quiet_date"))
    )


def at_risk_list(base: pl.DataFrame, day: dt.date, config: Config) -> pl.DataFrame:
    """At-risk accounts by MRR at stake (churn_risk x mrr, unknown MRR last), with what dropped and since when.

    One day's rows hold no score history, so `since` is the best date they support, and
    `since_basis` names it: (1) the account's last active day when it went quiet
    (`model.health.quiet_days`); else (2), when the score fell or churn risk is high and some
    users went quiet, the earliest last active day among those users (`quiet_users`,
    `first_quiet_date` from `user_dropoff`; absent, this step is skipped); else (3), when the score
    fell, the day the trend compares with (`model.trend.lookback_days` ago: the score was higher
    then, so the fall began after it); else (4), when only churn risk is high, the start of the last
    7 days (churn risk compares them with the 30 days before); else (a low, steady score) none.
    """
    quiet_days, lookback = config.model.health.quiet_days, config.model.trend_lookback_days
    if "quiet_users" not in base.columns:
        base = base.with_columns(
            pl.lit(0, dtype=pl.Int64).alias("quiet_users"), pl.lit(None, dtype=pl.Date).alias("first_quiet_date")
        )
    quiet = (pl.lit(day) - pl.col("last_active_date")).dt.total_days()
    went_quiet = quiet.fill_null(10_000) >= quiet_days
    falling = pl.col("trend_delta").fill_null(0.0) < 0
    risky = pl.col("churn_risk").fill_null(0.0) >= config.model.health.at_risk_churn_risk
    users_left = (falling | risky) & (pl.col("quiet_users").fill_null(0) > 0) & pl.col("first_quiet_date").is_not_null()
    what = pl.concat_str(
        [
            pl.when(falling).then(
                pl.format(
                    "score {} -> {} ({} points in {} days)",
                    pl.col("previous_score"),
                    pl.col("score"),
                    pl.col("trend_delta"),
                    pl.lit(lookback),
                )
            ),
            pl.when(went_quiet & pl.col("last_active_date").is_not_null()).then(
                pl.format("no activity for {} days", quiet)
            ),
            pl.when(~went_quiet & (pl.col("quiet_users").fill_null(0) > 0)).then(
                pl.format(
                    "{} {} not active in the last {} days",
                    pl.col("quiet_users"),
                    pl.when(pl.col("quiet_users") == 1).then(pl.lit("user")).otherwise(pl.lit("users")),
                    pl.lit(quiet_days),
                )
            ),
            pl.when(pl.col("pct_active").fill_null(0.0) < 0.5).then(
                pl.format("{} of {} users active", pl.col("active_users"), pl.col("total_users"))
            ),
            pl.when(risky & ~went_quiet).then(pl.lit("activity in the last 7 days below its 30-day baseline")),
        ],
        separator="; ",
        ignore_nulls=True,
    )
    since = (
        pl.when(went_quiet)
        .then(pl.col("last_active_date"))
        .when(users_left)
        .then(pl.col("first_quiet_date"))
        .when(falling)
        .then(pl.lit(day - dt.timedelta(days=lookback)))
        .when(risky)
        .then(pl.lit(day - dt.timedelta(days=6)))
        .otherwise(pl.lit(None, dtype=pl.Date))
    )
    basis = (
        pl.when(went_quiet & pl.col("last_active_date").is_not_null())
        .then(pl.lit("account last active"))
        .when(went_quiet)
        .then(pl.lit("no scored event on record"))
        .when(users_left)
        .then(pl.lit("first user to go quiet last active"))
        .when(falling)
        .then(pl.format("score was {} then, higher than now", pl.col("previous_score")))
        .when(risky)
        .then(pl.lit("start of the last 7 days, whose activity is below the baseline"))
        .otherwise(pl.format("score low, not falling, over {} days: no start date", pl.lit(lookback)))
    )
    return (
        base.filter(pl.col("health") == Health.AT_RISK)
        .with_columns(
            (pl.col("churn_risk") * pl.col("mrr")).round(2).alias("mrr_at_risk"),
            pl.when(what == "").then(pl.format("score {}", pl.col("score"))).otherwise(what).alias("what_dropped"),
            since.alias("since"),
            basis.alias("since_basis"),
        )
        .sort(["mrr_at_risk", "churn_risk", "account_id"], descending=[True, True, False], nulls_last=True)
        .select(*LIST_HEADERS["at_risk_accounts.csv"])
    )


def expansion_list(base: pl.DataFrame) -> pl.DataFrame:
    """Expansion-ready accounts (high score and most seats active, or heating), most engaged first."""
    return (
        base.filter(pl.col("health") == Health.EXPANSION_READY)
        .sort(["score", "account_id"], descending=[True, False])
        .select(*LIST_HEADERS["expansion_accounts.csv"])
    )


def case_study_list(base: pl.DataFrame, day: dt.date, config: Config, limit: int = CASE_STUDY_LIMIT) -> pl.DataFrame:
    """Case-study candidates: paying, healthy or expansion-ready, not cooling, score >= 50, and
    accounts for at least a quarter (90 days, or `exports.min_tenure_days` if longer); most
    engaged, then longest tenure first; at most `limit`."""
    min_tenure = max(config.exports.min_tenure_days, CASE_STUDY_MIN_TENURE_DAYS)
    tenure = (pl.lit(day) - pl.col("created_date")).dt.total_days()
    return (
        base.with_columns(tenure.alias("tenure_days"))
        .filter(
            pl.col("is_paying").fill_null(False)
            & (pl.col("trend") != Trend.COOLING)
            & (pl.col("score") >= 50)
            & pl.col("health").is_in([Health.HEALTHY, Health.EXPANSION_READY])
            & (pl.col("tenure_days") >= min_tenure)
        )
        .sort(["score", "tenure_days", "account_id"], descending=[True, True, False])
        .head(limit)
        .with_columns(
            pl.format(
                "score {}, {} of {} users active, customer for {} days, trend {}",
                "score",
                "active_users",
                "total_users",
                "tenure_days",
                "trend",
            ).alias("reason")
        )
        .select(*LIST_HEADERS["case_study_candidates.csv"])
    )


def key_events(config: Config) -> list[str]:
    """The features worth a nudge: the activation checklist's events, then every event of weight 5+."""
    out = [s.event for s in config.model.activation.steps if s.event is not None]  # trait steps are no feature
    out += [name for name, spec in config.model.events.items() if spec.weight >= 5 and name not in out]
    return out


def adoption_gaps(base: pl.DataFrame, first_used: pl.DataFrame, config: Config) -> pl.DataFrame:
    """Active, not churned accounts with key events they never used (first use ever, up to the day).

    `never_used` lists the events in checklist-then-weight order, `never_used_features` their
    features, `next_nudge` the first of them (a checklist step before anything else).
    """
    events = key_events(config)
    order = {name: i for i, name in enumerate(events)}
    feature_of = {name: spec.feature or name for name, spec in config.model.events.items()}
    used = first_used.filter(pl.col("event").is_in(events)).group_by("account_id").agg(pl.col("event").unique())
    frame = base.filter(is_active_account() & (pl.col("health") != Health.CHURNED).fill_null(True)).join(
        used, on="account_id", how="left"
    )
    # The set difference in Python, per row: a list literal broadcast onto a frame with no rows
    # (a day on which no account is active) is an error in polars.
    unused = [[e for e in events if e not in set(done or ())] for done in frame["event"].to_list()]
    frame = frame.with_columns(pl.Series("_missing", unused, dtype=pl.List(pl.String))).filter(
        pl.col("_missing").list.len() > 0
    )
    missing = [sorted(m, key=order.__getitem__) for m in frame["_missing"].to_list()]
    features = ["; ".join(dict.fromkeys(feature_of.get(e, e) for e in m)) for m in missing]
    return (
        frame.with_columns(
            pl.Series("never_used", ["; ".join(m) for m in missing], dtype=pl.String),
            pl.Series("never_used_features", features, dtype=pl.String),
            pl.Series("next_nudge", [m[0] for m in missing], dtype=pl.String),
            pl.Series("missing_count", [len(m) for m in missing], dtype=pl.Int64),
        )
        .sort(["score", "account_id"], descending=[True, False])
        .select(*LIST_HEADERS["feature_adoption_gaps.csv"])
    )
