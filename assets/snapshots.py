"""snapshots: daily account history, the product as a whole, cohorts, and the score backtest."""

from collections.abc import Iterator
from typing import Any

import polars as pl
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, PartitionsDefinition
from dagster_duckdb import DuckDBResource

from assets.common import day_asset, table_spec
from checks import snapshots as checks
from checks.common import specs
from engagement_pipeline.core.metadata import markdown_table, table_metadata
from engagement_pipeline.core.warehouse import (
    ACCOUNT_HISTORY,
    ACCOUNT_SCORES,
    ACCOUNTS,
    BILLING,
    COHORT_DAILY,
    LIFECYCLE_FACTS,
    PRODUCT_DAILY,
    SCORE_BACKTEST,
    USER_SCORES,
)
from engagement_pipeline.ops.partitions import partition_day
from engagement_pipeline.ops.resources import EngagementConfig, open_warehouse
from engagement_pipeline.snapshots import step


def build(partitions: PartitionsDefinition) -> list[Any]:
    tables = [
        table_spec(ACCOUNT_HISTORY, [ACCOUNT_SCORES.key]),
        table_spec(PRODUCT_DAILY, [ACCOUNT_SCORES.key, USER_SCORES.key]),
        table_spec(COHORT_DAILY, [ACCOUNT_SCORES.key, ACCOUNTS.key]),
        table_spec(SCORE_BACKTEST, [ACCOUNT_HISTORY.key, BILLING.key, LIFECYCLE_FACTS.key]),
    ]

    @day_asset("snapshots_day", tables, partitions, specs(checks.CHECKS))
    def snapshots_day(
        context: AssetExecutionContext, engagement: EngagementConfig, duckdb: DuckDBResource
    ) -> Iterator[Any]:
        day = partition_day(context)
        with open_warehouse(duckdb) as con:
            snap = step.run(con, day, engagement.load())
            accounts = step.day_accounts(con, day)
            summary = step.backtest_summary(con, day)
        row = snap.product.row(0, named=True)
        yield MaterializeResult(
            asset_key=ACCOUNT_HISTORY.key,
            metadata=table_metadata(
                ACCOUNT_HISTORY,
                snap.history,
                snap.history.select("account_id", "name", "score", "score_band", "health"),
            ),
        )
        yield MaterializeResult(
            asset_key=PRODUCT_DAILY.key,
            metadata={
                **table_metadata(PRODUCT_DAILY, snap.product),
                "product_score": MetadataValue.float(float(row["product_score"])),
                "active_accounts": MetadataValue.int(row["active_accounts"]),
                "day": MetadataValue.md(
                    markdown_table(
                        snap.product.transpose(include_header=True, column_names=["value"]).cast(pl.String), 30
                    )
                ),
            },
        )
        yield MaterializeResult(
            asset_key=COHORT_DAILY.key,
            metadata=table_metadata(
                COHORT_DAILY, snap.cohorts, snap.cohorts.filter(snap.cohorts["dimension"] == "plan_type")
            ),
        )
        verdict = step.weights_verdict(summary)
        yield MaterializeResult(
            asset_key=SCORE_BACKTEST.key,
            metadata={
                **table_metadata(SCORE_BACKTEST, snap.backtest),
                "mean_auc_so_far": MetadataValue.json(verdict.auc),
                "weights_verdict": MetadataValue.text(verdict.text),
                "summary": MetadataValue.md(
                    markdown_table(summary, 30) if summary.height else "_no as-of day old enough yet_"
                ),
            },
        )
        yield checks.history_matches_accounts(snap.history, accounts)
        yield checks.one_product_row(snap.product)

    return [snapshots_day]
