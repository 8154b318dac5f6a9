"""accounts: account scores, activation, trend, health, PQLs, per-event usage and explanations."""

from collections.abc import Iterator
from typing import Any

import polars as pl
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, PartitionsDefinition
from dagster_duckdb import DuckDBResource

from assets.common import day_asset, table_spec
from checks import accounts as checks
from checks.common import specs, validate
from engagement_pipeline.accounts import step
from engagement_pipeline.core.metadata import ACCOUNT_SCORES_LINEAGE, counts_markdown, table_metadata
from engagement_pipeline.core.warehouse import (
    ACCOUNT_CONTRIBUTIONS,
    ACCOUNT_FEATURE_USAGE,
    ACCOUNT_SCORES,
    ACCOUNT_TRAITS_HISTORY,
    ACCOUNTS,
    ACTIVATION_STEPS,
    BILLING,
    DAILY_EVENT_COUNTS,
    LIFECYCLE_FACTS,
    USER_SCORES,
)
from engagement_pipeline.ops.partitions import partition_day
from engagement_pipeline.ops.resources import EngagementConfig, open_warehouse

DEPS = [
    USER_SCORES.key,
    DAILY_EVENT_COUNTS.key,
    ACCOUNTS.key,
    BILLING.key,
    ACCOUNT_TRAITS_HISTORY.key,
    LIFECYCLE_FACTS.key,
]
TABLES = (ACCOUNT_SCORES, ACCOUNT_FEATURE_USAGE, ACCOUNT_CONTRIBUTIONS, ACTIVATION_STEPS)


def build(partitions: PartitionsDefinition) -> list[Any]:
    @day_asset("accounts_day", [table_spec(t, DEPS) for t in TABLES], partitions, specs(checks.CHECKS))
    def accounts_day(
        context: AssetExecutionContext, engagement: EngagementConfig, duckdb: DuckDBResource
    ) -> Iterator[Any]:
        day = partition_day(context)
        with open_warehouse(duckdb) as con:
            result = step.run(con, day, engagement.load())
            inputs = step.check_inputs(con, day)
        scores = result.scores
        health = dict(scores["health"].value_counts(sort=True).iter_rows())
        trend = dict(scores["trend"].value_counts(sort=True).iter_rows())
        active_scores = scores.filter(pl.col("active_users") > 0)["score"]
        yield MaterializeResult(
            asset_key=ACCOUNT_SCORES.key,
            metadata={
                **ACCOUNT_SCORES_LINEAGE,
                **table_metadata(
                    ACCOUNT_SCORES,
                    scores,
                    scores.sort("score", descending=True).select(
                        "account_id",
                        "name",
                        "score",
                        "active_users",
                        "trend",
                        "health",
                        "is_pql",
                        "churn_risk",
                        "change_drivers",
                    ),
                ),
                "health": counts_markdown(health, "health", "accounts"),
                "trend": counts_markdown(trend, "trend", "accounts"),
                "pql_accounts": MetadataValue.int(int(scores["is_pql"].sum())),
                "activated_accounts": MetadataValue.int(scores.filter(pl.col("activated_at").is_not_null()).height),
                "median_account_score": MetadataValue.float(float(active_scores.median() or 0.0)),  # type: ignore[arg-type]
            },
        )
        for table, frame in (
            (ACCOUNT_FEATURE_USAGE, result.usage),
            (ACCOUNT_CONTRIBUTIONS, result.contributions),
            (ACTIVATION_STEPS, inputs.activation_steps),
        ):
            yield MaterializeResult(asset_key=table.key, metadata=table_metadata(table, frame, frame))
        yield checks.one_row_per_account(scores)
        yield checks.consistent_with_users(scores, inputs.user_scores)
        yield validate(scores, checks.account_scores_suite(), checks.CHECKS["gx_account_scores"])
        yield checks.score_distribution_shift(scores, inputs.previous_day)

    return [accounts_day]
