"""Account health and product-qualified leads (PQL): the one place for their rules.

Health (`accounts.account_scores.health`, one of `core.vocab.Health`) is the first of
these rules that holds, in this order (`health_exprs`, where each rule sits beside its
reason in words, `health_reason`):

1. `churned`: the status (billing, else an `Account Deleted` lifecycle event, else the
   `status` trait) is churned; the reason names which.
2. `inactive`: no scored event in the last 30 days (`INACTIVE_DAYS`, the contract's
   definition, whatever the window), or, for an account that does not pay, none in the
   window (`model.window_days`, when shorter: its score is 0).
3. `at_risk`: paying (`is_paying`), and churn_risk at or over
   `model.health.at_risk_churn_risk`, or quiet for `model.health.quiet_days`, or a score
   under `model.health.low_score` that is cooling, or a score under
   `model.health.min_healthy_score` (engagement too low to call healthy). So with a 7-day
   window a paying account silent 11 days is `at_risk`, as the contract says, not `inactive`.
4. `new`: younger than one window.
5. `expansion_ready`: a score at or over `model.health.expansion_score`, and at least
   `model.health.expansion_active_share` of the users active or a heating trend.
6. `inactive` again, for an account that does not pay and scores under
   `model.health.min_healthy_score`: near-zero engagement is not health.
7. otherwise `healthy` (so a healthy account always scores at least `min_healthy_score`).

A new state is a member of `Health` (core/vocab.py) and its rule here, at its place in
the order; a new flag is one more expression returned beside these (and its column in
`accounts.account_scores`, declared in core/warehouse.py).

PQL (`pql_exprs`: `is_pql`, `pql_reason`): a trial or free account (plan free or trial,
or status trial), not churned, activated (unless `model.pql.require_activation` is off),
and active on at least `model.pql.min_active_days` of the last `model.pql.recent_days`.

Both read an account's row as `accounts.model.account_day` builds it: score, trend,
churn_risk, pct_active, active_users, total_users, status, plan, is_paying, activated_at
and days_to_activation, plus its working columns `_status_source` (who said the status),
`_days_quiet` (days since the last scored event), `_tenure_days` (days since created),
`_risk_reasons` (`churn.reasons`) and `_recent_active_days` (active days in the PQL look-back).
"""

from __future__ import annotations

from typing import Any

import polars as pl

from engagement_pipeline.core.config import Config
from engagement_pipeline.core.vocab import UNPAID_PLANS, Health, Status, Trend

# The contract's `inactive`: no event in the last 30 days (and its `at_risk`: a paying account
# that went quiet within them), whatever `model.window_days` is.
INACTIVE_DAYS = 30
# `_days_quiet` of an account with no scored event on record (`model.py` fills it with this).
NEVER_ACTIVE_DAYS = 10_000

# The reason of `churned`, by the source of the status (`staging.traits.account_attributes`).
CHURNED_BECAUSE = {
    "billing": "billing status is churned",
    "lifecycle": "the account was deleted (lifecycle event)",
    "traits": "the status trait is churned",
}


def is_active_account() -> pl.Expr:
    """The one definition of an active account, everywhere a count of them is shown (CLI, report,
    product_daily, ICP): a scored event in the window, i.e. at least one active user."""
    return pl.col("active_users").fill_null(0) > 0


def health_exprs(config: Config) -> list[pl.Expr]:
    """`health` and `health_reason` (see the module docstring)."""
    h, m = config.model.health, config.model
    quiet = pl.col("_days_quiet")
    paying = pl.col("is_paying").fill_null(False)
    low_and_falling = (pl.col("score") < h.low_score) & (pl.col("trend") == Trend.COOLING)
    risky = pl.col("churn_risk") >= h.at_risk_churn_risk
    went_quiet = quiet >= h.quiet_days
    too_low = pl.col("score").fill_null(0.0) < h.min_healthy_score
    at_risk_reasons = pl.concat_str(
        [
            pl.when(pl.col("_risk_reasons") != "").then(pl.col("_risk_reasons")),
            pl.when(low_and_falling).then(pl.format("score {} and falling", pl.col("score"))),
            pl.when(too_low & ~low_and_falling).then(
                pl.format("score {} under the minimum engagement {}", pl.col("score"), pl.lit(h.min_healthy_score))
            ),
            # one unit for churn risk wherever a person reads it: a percentage (the column stays 0..1)
            pl.format("churn risk {}%", (pl.col("churn_risk") * 100).round(0).cast(pl.Int64)),
        ],
        separator="; ",
        ignore_nulls=True,
    )
    # (state, when it holds, why), in order: the first that holds is the account's health.
    rules: list[tuple[Health, pl.Expr, pl.Expr]] = [
        (
            Health.CHURNED,
            pl.col("status") == Status.CHURNED,
            pl.col("_status_source")
            .replace_strict(CHURNED_BECAUSE, default="status is churned", return_dtype=pl.String)
            .fill_null("status is churned"),
        ),
        (
            Health.INACTIVE,
            (quiet >= INACTIVE_DAYS) | (~paying & (quiet >= m.window_days)),
            pl.when(quiet >= NEVER_ACTIVE_DAYS)
            .then(pl.lit("no scored event on record"))
            .otherwise(pl.format("no event in the last {} days", quiet)),
        ),
        (Health.AT_RISK, paying & (risky | went_quiet | low_and_falling | too_low), at_risk_reasons),
        (
            Health.NEW,
            pl.col("_tenure_days").fill_null(0) < m.window_days,
            pl.format("created {} days ago", pl.col("_tenure_days")),
        ),
        (
            Health.EXPANSION_READY,
            (pl.col("score") >= h.expansion_score)
            & ((pl.col("pct_active") >= h.expansion_active_share) | (pl.col("trend") == Trend.HEATING)),
            pl.format(
                "score {}, {} of {} users active, trend {}",
                pl.col("score"),
                pl.col("active_users"),
                pl.col("total_users"),
                pl.col("trend"),
            ),
        ),
        (
            Health.INACTIVE,
            too_low,
            pl.format(
                "score {} under the minimum engagement {} (free or trial account)",
                pl.col("score"),
                pl.lit(h.min_healthy_score),
            ),
        ),
    ]
    otherwise = (Health.HEALTHY, pl.format("score {}, trend {}", pl.col("score"), pl.col("trend")))

    # The index of the first rule that holds: a state may have several rules (inactive has two),
    # each with its own reason.
    first = _first([(when, pl.lit(i)) for i, (_, when, _) in enumerate(rules)], pl.lit(len(rules)))
    health = _first([(first == i, pl.lit(state)) for i, (state, _, _) in enumerate(rules)], pl.lit(otherwise[0]))
    reason = _first([(first == i, why) for i, (_, _, why) in enumerate(rules)], otherwise[1])
    return [health.alias("health"), reason.alias("health_reason")]


def pql_exprs(config: Config) -> list[pl.Expr]:
    """`is_pql` and `pql_reason` (see the module docstring)."""
    p = config.model.pql
    unpaid = (pl.col("plan").is_in(UNPAID_PLANS) | (pl.col("status") == Status.TRIAL)).fill_null(False)
    activated = pl.col("activated_at").is_not_null() if p.require_activation else pl.lit(True)
    engaged = pl.col("_recent_active_days") >= p.min_active_days
    is_pql = unpaid & activated & engaged & (pl.col("status") != Status.CHURNED).fill_null(True)
    activated_text = (
        pl.when(pl.col("days_to_activation").is_not_null())
        .then(pl.format("activated {} ({} days after signup)", pl.col("activated_at"), pl.col("days_to_activation")))
        .when(pl.col("activated_at").is_not_null())
        .then(pl.format("activated {}", pl.col("activated_at")))
        .otherwise(pl.lit("not yet activated"))
    )
    reason = pl.when(is_pql).then(
        pl.format(
            "{} plan; {}; active {} of the last {} days; {} of {} users active",
            pl.col("plan"),
            activated_text,
            pl.col("_recent_active_days"),
            pl.lit(p.recent_days),
            pl.col("active_users"),
            pl.col("total_users"),
        )
    )
    return [is_pql.alias("is_pql"), reason.alias("pql_reason")]


def _first(cases: list[tuple[pl.Expr, pl.Expr]], otherwise: pl.Expr) -> pl.Expr:
    """when(case 1).then(value 1).when(case 2)... .otherwise(otherwise): the value of the first case that holds."""
    chain: Any = pl  # pl.when(...).then(...), then .when(...).then(...) on the result
    for when, value in cases:
        chain = chain.when(when).then(value)
    result: pl.Expr = chain.otherwise(otherwise)
    return result


def has_lookback(lookback_days: int) -> pl.Expr:
    """An account old enough to have a trend look-back: created at least `lookback_days` before the
    as-of day (its trend compares two days it existed on). With no creation date known, an account
    that already scored one look-back earlier (`previous_score` > 0). Reads as_of_date, created_date
    and previous_score of an `accounts.account_scores` row."""
    created = pl.col("created_date")
    old = (pl.col("as_of_date") - created).dt.total_days() >= lookback_days
    return pl.when(created.is_null()).then(pl.col("previous_score").fill_null(0.0) > 0).otherwise(old)


def not_churned() -> pl.Expr:
    return (pl.col("health") != Health.CHURNED).fill_null(True) & (pl.col("status") != Status.CHURNED).fill_null(True)


def mover(trend: Trend, lookback_days: int) -> pl.Expr:
    """An account on the `heating` or `cooling` list: that trend, old enough to have a look-back (a new
    account went from nothing to something: it is `new_and_ramping`), and not churned (a churned
    account's score falls because it left: it is `churned this period`)."""
    return (pl.col("trend") == trend) & has_lookback(lookback_days) & not_churned()


def new_and_ramping(lookback_days: int) -> pl.Expr:
    """An account on the "new and ramping" list: too young for a look-back, not churned, active."""
    return ~has_lookback(lookback_days) & not_churned() & is_active_account()


LIST_COLUMNS: dict[str, pl.DataType] = {
    "as_of_date": pl.Date(),
    "created_date": pl.Date(),
    "previous_score": pl.Float64(),
    "status": pl.String(),
    "health": pl.String(),
    "active_users": pl.Int64(),
}


def with_list_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` with the columns `mover` and `new_and_ramping` read, the missing ones null (unknown)."""
    missing = [pl.lit(None, dtype=t).alias(c) for c, t in LIST_COLUMNS.items() if c not in frame.columns]
    return frame.with_columns(missing) if missing else frame
