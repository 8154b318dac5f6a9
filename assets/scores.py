"""scores: each user's weighted event count over the window, normalized to 1..100."""


import polars as pl
from dagster import (
    AssetExecutionContext, AssetSpec, MaterializeResult, MetadataValue, PartitionsDefinition, multi_asset,
)
from dagster_duckdb import DuckDBResource

from checks import gx_suites, rules, specs
from engagement_pipeline.scores import step as scores_step
from engagement_pipeline.core.metadata import USER_SCORES_LINEAGE, counts_markdown, table_metadata
from engagement_pipeline.core.config import Config
from engagement_pipeline.ops.partitions import WAREHOUSE_POOL, partition_day
from engagement_pipeline.ops.resources import EngagementConfig, open_warehouse
from engagement_pipeline.scores.scoring import histogram
from engagement_pipeline.core.warehouse import BENCHMARKS, USER_SCORES, USER_WINDOW_SCORES


def build(partitions: PartitionsDefinition, config: Config) -> list:
    @multi_asset(
        name="scores_day",
        specs=[
            AssetSpec(specs.USER_SCORES, deps=[specs.DAILY_COUNTS], group_name="scores",
                      description=USER_SCORES.description, kinds={"duckdb", "polars"}, owners=["team:data"]),
            AssetSpec(["scores", "benchmarks"], deps=[specs.DAILY_COUNTS], group_name="scores",
                      description=BENCHMARKS.description, kinds={"duckdb"}, owners=["team:data"]),
            AssetSpec(["scores", "user_window_scores"], deps=[specs.DAILY_COUNTS], group_name="scores",
                      description=USER_WINDOW_SCORES.description, kinds={"duckdb", "polars"}, owners=["team:data"]),
        ],
        partitions_def=partitions, pool=WAREHOUSE_POOL,
        check_specs=[specs.spec("scores_in_range", specs.USER_SCORES),
                     specs.spec("gx_user_scores", specs.USER_SCORES)],
    )
    def scores_day(context: AssetExecutionContext, engagement: EngagementConfig, duckdb: DuckDBResource):
        config = engagement.load()
        with open_warehouse(duckdb) as con:
            result = scores_step.run(con, partition_day(context), config)
        s = result.scores
        active = s.filter(pl.col("score") > 0)
        yield MaterializeResult(asset_key=specs.USER_SCORES, metadata={
            **USER_SCORES_LINEAGE,
            **table_metadata(USER_SCORES, s, s.sort("score", descending=True).select(
                "user_id", "account_id", "raw_score", "score", "active_days")),
            "benchmark_raw_p90": MetadataValue.float(result.benchmark),
            "active_users": MetadataValue.int(active.height),
            "median_active_score": MetadataValue.float(float(active["score"].median() or 0.0)),
            "score_histogram": counts_markdown(histogram(s["score"]), "score band", "users"),
        })
        yield MaterializeResult(asset_key=["scores", "benchmarks"], metadata={
            "benchmark_raw": MetadataValue.float(result.benchmark),
            "method": MetadataValue.text(config.model.normalization.method),
        })
        yield MaterializeResult(asset_key=["scores", "user_window_scores"], metadata={
            "windows": MetadataValue.json(sorted(set(config.model.extra_windows))),
        })
        yield rules.scores_in_range(s)
        yield gx_suites.validate(s.select("as_of_date", "user_id", "raw_score", "score"),
                                 gx_suites.user_scores_suite(), specs.USER_SCORES, "gx_user_scores")

    return [scores_day]
