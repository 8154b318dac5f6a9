"""accounts: account scores, activation, trend, health, PQLs and per-event usage."""


import polars as pl
from dagster import (
    AssetExecutionContext, AssetSpec, MaterializeResult, MetadataValue, PartitionsDefinition, multi_asset,
)
from dagster_duckdb import DuckDBResource

from checks import rules, specs
from engagement_pipeline import layers
from engagement_pipeline.metadata import counts_markdown, table_metadata
from engagement_pipeline.partitions import partition_day
from engagement_pipeline.resources import EngagementConfig, open_warehouse
from engagement_pipeline.warehouse import ACCOUNT_FEATURE_USAGE, ACCOUNT_SCORES


def build(partitions: PartitionsDefinition) -> list:
    deps = [specs.USER_SCORES, specs.DAILY_COUNTS, ["staging", "accounts"], ["staging", "billing"]]

    @multi_asset(
        name="accounts_day",
        specs=[
            AssetSpec(specs.ACCOUNT_SCORES, deps=deps, group_name="accounts", description=ACCOUNT_SCORES.description,
                      kinds={"duckdb", "polars"}, owners=["team:customer-success"]),
            AssetSpec(["accounts", "account_feature_usage"], deps=deps, group_name="accounts",
                      description=ACCOUNT_FEATURE_USAGE.description, kinds={"duckdb", "polars"},
                      owners=["team:customer-success"]),
        ],
        partitions_def=partitions,
        check_specs=[specs.spec("one_row_per_account", specs.ACCOUNT_SCORES),
                     specs.spec("consistent_with_users", specs.ACCOUNT_SCORES)],
    )
    def accounts_day(context: AssetExecutionContext, engagement: EngagementConfig, duckdb: DuckDBResource):
        config = engagement.load()
        day = partition_day(context)
        with open_warehouse(duckdb) as con:
            scores, usage = layers.account_layer(con, day, config)
            user_scores = con.execute("SELECT * FROM scores.user_scores WHERE as_of_date = ?", [day]).pl()
        health = dict(scores["health"].value_counts(sort=True).iter_rows())
        trend = dict(scores["trend"].value_counts(sort=True).iter_rows())
        yield MaterializeResult(asset_key=specs.ACCOUNT_SCORES, metadata={
            **table_metadata(ACCOUNT_SCORES, scores, scores.sort("score", descending=True).select(
                "account_id", "name", "score", "active_users", "trend", "health", "is_pql", "churn_risk")),
            "health": counts_markdown(health, "health", "accounts"),
            "trend": counts_markdown(trend, "trend", "accounts"),
            "pql_accounts": MetadataValue.int(int(scores["is_pql"].sum())),
            "activated_accounts": MetadataValue.int(scores.filter(pl.col("activated_at").is_not_null()).height),
        })
        yield MaterializeResult(asset_key=["accounts", "account_feature_usage"], metadata=table_metadata(
            ACCOUNT_FEATURE_USAGE, usage, usage))
        yield rules.one_row_per_account(scores)
        yield rules.consistent_with_users(scores, user_scores)

    return [accounts_day]
