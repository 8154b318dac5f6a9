"""accounts: one row per account with values in their sets and ranges, consistent with user scores."""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl
from dagster import AssetCheckResult

from checks.common import Check, result
from engagement_pipeline.core import keys
from engagement_pipeline.core.vocab import Health, Trend, values

if TYPE_CHECKING:  # Great Expectations takes seconds to import: only when a suite runs
    import great_expectations as gx

CHECKS = {
    c.name: c
    for c in (
        Check(
            "one_row_per_account",
            keys.ACCOUNT_SCORES,
            "Exactly one row per account, with valid trend, health and 0..100 scores.",
        ),
        Check(
            "consistent_with_users",
            keys.ACCOUNT_SCORES,
            "Every active user in scores.user_scores is counted active in their account.",
        ),
        Check(
            "gx_account_scores",
            keys.ACCOUNT_SCORES,
            "Great Expectations suite on the day's "
            "accounts.account_scores: one row per account, scores, trends, health states and probabilities in range.",
        ),
        Check(
            "score_distribution_shift",
            keys.ACCOUNT_SCORES,
            "WARN when the median or p90 account score moves more "
            "than 10 / 15 points from the previous day (a model, data or tracking change).",
            blocking=False,
        ),
    )
}


def one_row_per_account(accounts: pl.DataFrame) -> AssetCheckResult:
    problems = []
    dupes = accounts.height - accounts["account_id"].n_unique()
    if dupes:
        problems.append(f"{dupes} accounts have more than one row")
    bad = accounts.filter(
        ~pl.col("score").is_between(0, 100)
        | ~pl.col("trend").is_in(values(Trend))
        | ~pl.col("health").is_in(values(Health))
        | ~pl.col("churn_risk").is_between(0, 1)
        | ~pl.col("activation_pct").is_between(0, 100)
    )
    if bad.height:
        problems.append(f"{bad.height} accounts have a value outside its allowed range or set")
    return result(
        CHECKS["one_row_per_account"],
        problems,
        bad.select("account_id", "score", "trend", "health", "churn_risk"),
        accounts=accounts.height,
    )


def consistent_with_users(accounts: pl.DataFrame, user_scores: pl.DataFrame) -> AssetCheckResult:
    expected = (
        user_scores.filter((pl.col("score") > 0) & pl.col("account_id").is_not_null())
        .group_by("account_id")
        .agg(pl.len().alias("primary_active"))
    )
    joined = expected.join(accounts.select("account_id", "active_users"), on="account_id", how="left")
    bad = joined.filter(pl.col("active_users").fill_null(0) < pl.col("primary_active"))
    problems = (
        [f"{bad.height} accounts count fewer active users than scores.user_scores attributes to them"]
        if bad.height
        else []
    )
    return result(CHECKS["consistent_with_users"], problems, bad, accounts=accounts.height)


def score_distribution_shift(
    today: pl.DataFrame, yesterday: pl.DataFrame, max_median_shift: float = 10.0, max_p90_shift: float = 15.0
) -> AssetCheckResult:
    """WARN when the active accounts' median or p90 score moved sharply since the previous day."""

    def stats(frame: pl.DataFrame) -> tuple[float, float] | None:
        active = frame.filter(pl.col("active_users") > 0)["score"]
        if not active.len():
            return None
        return float(active.median()), float(active.quantile(0.9, "linear"))  # type: ignore[arg-type]

    now, before = stats(today), stats(yesterday)
    problems = []
    figures: dict[str, float] = {}
    if now and before:
        figures = {"median": now[0], "median_previous_day": before[0], "p90": now[1], "p90_previous_day": before[1]}
        if abs(now[0] - before[0]) > max_median_shift:
            problems.append(f"median account score moved {now[0] - before[0]:+.1f} points in a day")
        if abs(now[1] - before[1]) > max_p90_shift:
            problems.append(f"p90 account score moved {now[1] - before[1]:+.1f} points in a day")
    return result(CHECKS["score_distribution_shift"], problems, **figures)


def account_scores_suite() -> gx.ExpectationSuite:
    import great_expectations as gx

    e = gx.expectations
    return gx.ExpectationSuite(
        name="account_scores",
        expectations=[
            e.ExpectColumnValuesToNotBeNull(column="account_id"),
            e.ExpectColumnValuesToBeUnique(column="account_id"),
            e.ExpectColumnValuesToBeBetween(column="score", min_value=0, max_value=100),
            e.ExpectColumnValuesToBeBetween(column="activation_pct", min_value=0, max_value=100),
            e.ExpectColumnValuesToBeBetween(column="churn_risk", min_value=0, max_value=1),
            e.ExpectColumnValuesToBeInSet(column="trend", value_set=values(Trend)),
            e.ExpectColumnValuesToBeInSet(column="health", value_set=values(Health)),
            e.ExpectColumnValuesToNotBeNull(column="is_pql"),
            e.ExpectColumnPairValuesAToBeGreaterThanB(column_A="total_users", column_B="active_users", or_equal=True),
        ],
    )
