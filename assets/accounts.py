"""accounts: account scores, activation, trend, health, PQLs, per-event usage and explanations."""

import datetime as dt

import polars as pl
from dagster import (
    AssetExecutionContext, AssetSpec, MaterializeResult, MetadataValue, PartitionsDefinition, multi_asset,
)
from dagster_duckdb import DuckDBResource

from checks import gx_suites, rules, specs
from engagement_pipeline.accounts import step as accounts_step
from engagement_pipeline.core.metadata import ACCOUNT_SCORES_LINEAGE, counts_markdown, table_metadata
from engagement_pipeline.core.config import Config
from engagement_pipeline.ops.partitions import WAREHOUSE_POOL, freshness, partition_day
from engagement_pipeline.ops.resources import EngagementConfig, open_warehouse
from engagement_pipeline.core.warehouse import ACCOUNT_CONTRIBUTIONS, ACCOUNT_FEATURE_USAGE, ACCOUNT_SCORES, ACTIVATION_STEPS

SIDE_TABLES = (ACCOUNT_FEATURE_USAGE, ACCOUNT_CONTRIBUTIONS, ACTIVATION_STEPS)


def build(partitions: PartitionsDefinition, config: Config) -> list:
    deps = [specs.USER_SCORES, specs.DAILY_COUNTS, ["staging", "accounts"], ["staging", "billing"],
            ["staging", "account_traits_history"]]

    @multi_asset(
        name="accounts_day",
        specs=[
            AssetSpec(specs.ACCOUNT_SCORES, deps=deps, group_name="accounts", description=ACCOUNT_SCORES.description,
                      kinds={"duckdb", "polars"}, owners=["team:customer-success"], freshness_policy=freshness(config)),
            *[AssetSpec(["accounts", t.name], deps=deps, group_name="accounts", description=t.description,
                        kinds={"duckdb", "polars"}, owners=["team:customer-success"]) for t in SIDE_TABLES],
        ],
        partitions_def=partitions, pool=WAREHOUSE_POOL,
        check_specs=[specs.spec("one_row_per_account", specs.ACCOUNT_SCORES),
                     specs.spec("consistent_with_users", specs.ACCOUNT_SCORES),
                     specs.spec("gx_account_scores", specs.ACCOUNT_SCORES),
                     specs.spec("score_distribution_shift", specs.ACCOUNT_SCORES, blocking=False)],
    )
    def accounts_day(context: AssetExecutionContext, engagement: EngagementConfig, duckdb: DuckDBResource):
        config = engagement.load()
        day = partition_day(context)
        with open_warehouse(duckdb) as con:
            result = accounts_step.run(con, day, config)
            user_scores = con.execute("SELECT * FROM scores.user_scores WHERE as_of_date = ?", [day]).pl()
            previous = con.execute("SELECT score, active_users FROM accounts.account_scores WHERE as_of_date = ?",
                                   [day - dt.timedelta(days=1)]).pl()
            steps = con.execute("SELECT * FROM accounts.activation_steps WHERE as_of_date = ?", [day]).pl()
        scores = result.scores
        health = dict(scores["health"].value_counts(sort=True).iter_rows())
        trend = dict(scores["trend"].value_counts(sort=True).iter_rows())
        yield MaterializeResult(asset_key=specs.ACCOUNT_SCORES, metadata={
            **ACCOUNT_SCORES_LINEAGE,
            **table_metadata(ACCOUNT_SCORES, scores, scores.sort("score", descending=True).select(
                "account_id", "name", "score", "active_users", "trend", "health", "is_pql", "churn_risk",
                "change_drivers")),
            "health": counts_markdown(health, "health", "accounts"),
            "trend": counts_markdown(trend, "trend", "accounts"),
            "pql_accounts": MetadataValue.int(int(scores["is_pql"].sum())),
            "activated_accounts": MetadataValue.int(scores.filter(pl.col("activated_at").is_not_null()).height),
            "median_account_score": MetadataValue.float(float(scores.filter(pl.col("active_users") > 0)["score"]
                                                              .median() or 0.0)),
        })
        for table, frame in ((ACCOUNT_FEATURE_USAGE, result.usage), (ACCOUNT_CONTRIBUTIONS, result.contributions),
                             (ACTIVATION_STEPS, steps)):
            yield MaterializeResult(asset_key=["accounts", table.name], metadata=table_metadata(table, frame, frame))
        yield rules.one_row_per_account(scores)
        yield rules.consistent_with_users(scores, user_scores)
        yield gx_suites.validate(scores, gx_suites.account_scores_suite(), specs.ACCOUNT_SCORES, "gx_account_scores")
        yield rules.score_distribution_shift(scores, previous)

    return [accounts_day]
