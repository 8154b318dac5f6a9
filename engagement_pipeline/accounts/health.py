"""Account health and product-qualified leads (PQL): the one place for their rules.

Health (`accounts.account_scores.health`, one of `core.vocab.Health`) is the first of
these rules that holds, in this order (`health_exprs`, where each rule sits beside its
reason in words, `health_reason`):

1. `churned`: the status (billing, else an `Account Deleted` lifecycle event, else the
   `status` trait) is churned; the reason names which.
2. `inactive`: no scored event in the window (`model.window_days`).
3. `at_risk`: paying (`is_paying`), and churn_risk at or over
   `model.health.at_risk_churn_risk`, or quiet for `model.health.quiet_days`, or a score
   under `model.health.low_score` that is cooling.
4. `new`: younger than one window.
5. `expansion_ready`: a score at or over `model.health.expansion_score`, and at least
   `model.health.expansion_active_share` of the users active or a heating trend.
6. otherwise `healthy`.

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

# The reason of `churned`, by the source of the status (`staging.traits.account_attributes`).
CHURNED_BECAUSE = {
    "billing": "billing status is churned",
    "lifecycle": "the account was deleted (lifecycle event)",
    "traits": "the status trait is churned",
}


def health_exprs(config: Config) -> list[pl.Expr]:
    """`health` and `health_reason` (see the module docstring)."""
    h, m = config.model.health, config.model
    quiet = pl.col("_days_quiet")
    low_and_falling = (pl.col("score") < h.low_score) & (pl.col("trend") == Trend.COOLING)
    risky = pl.col("churn_risk") >= h.at_risk_churn_risk
    went_quiet = quiet >= h.quiet_days
    at_risk_reasons = pl.concat_str(
        [
            pl.when(pl.col("_risk_reasons") != "").then(pl.col("_risk_reasons")),
            pl.when(low_and_falling).then(pl.format("score {} and falling", pl.col("score"))),
            pl.format("churn risk {}", pl.col("churn_risk")),
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
        (Health.INACTIVE, quiet >= m.window_days, pl.format("no event in the last {} days", pl.lit(m.window_days))),
        (Health.AT_RISK, pl.col("is_paying") & (risky | went_quiet | low_and_falling), at_risk_reasons),
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
    ]
    otherwise = (Health.HEALTHY, pl.format("score {}, trend {}", pl.col("score"), pl.col("trend")))

    health = _first([(when, pl.lit(state)) for state, when, _ in rules], pl.lit(otherwise[0]))
    reason = _first([(health == state, why) for state, _, why in rules], otherwise[1])
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
