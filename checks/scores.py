"""scores: every user scored once, inside the scale's rules."""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl
from dagster import AssetCheckResult

from checks.common import Check, result
from engagement_pipeline.core import keys

if TYPE_CHECKING:  # Great Expectations takes seconds to import: only when a suite runs
    import great_expectations as gx

CHECKS = {
    c.name: c
    for c in (
        Check(
            "scores_in_range",
            keys.USER_SCORES,
            "Scores are 0..100, 0 exactly when the raw score is 0, and one row per user.",
        ),
        Check("gx_user_scores", keys.USER_SCORES, "Great Expectations suite on the day's scores.user_scores."),
    )
}


def scores_in_range(scores: pl.DataFrame) -> AssetCheckResult:
    bad = scores.filter(
        (pl.col("score") < 0)
        | (pl.col("score") > 100)
        | pl.col("score").is_null()
        | ((pl.col("raw_score") > 0) & (pl.col("score") < 1))
        | ((pl.col("raw_score") == 0) & (pl.col("score") != 0))
    )
    problems = [f"{bad.height} users have a score outside the rules"] if bad.height else []
    dupes = scores.height - scores["user_id"].n_unique()
    if dupes:
        problems.append(f"{dupes} users have more than one row")
    return result(CHECKS["scores_in_range"], problems, bad.select("user_id", "raw_score", "score"), users=scores.height)


def user_scores_suite() -> gx.ExpectationSuite:
    import great_expectations as gx

    e = gx.expectations
    return gx.ExpectationSuite(
        name="user_scores",
        expectations=[
            e.ExpectColumnValuesToNotBeNull(column="user_id"),
            e.ExpectColumnValuesToBeUnique(column="user_id"),
            e.ExpectColumnValuesToBeBetween(column="score", min_value=0, max_value=100),
            e.ExpectColumnValuesToBeBetween(column="raw_score", min_value=0),
            e.ExpectColumnValuesToNotBeNull(column="as_of_date"),
        ],
    )
