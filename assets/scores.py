"""scores: each user's weighted event count over the window, normalized to 1..100."""

from collections.abc import Iterator
from typing import Any

import polars as pl
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, PartitionsDefinition
from dagster_duckdb import DuckDBResource

from assets.common import day_asset, table_spec
from checks import scores as checks
from checks.common import specs, validate
from engagement_pipeline.core.metadata import USER_SCORES_LINEAGE, counts_markdown, table_metadata
from engagement_pipeline.core.warehouse import BENCHMARKS, DAILY_EVENT_COUNTS, USER_SCORES, USER_WINDOW_SCORES
from engagement_pipeline.ops.partitions import partition_day
from engagement_pipeline.ops.resources import EngagementConfig, open_warehouse
from engagement_pipeline.scores import step
from engagement_pipeline.scores.scoring import histogram


def build(partitions: PartitionsDefinition) -> list[Any]:
    tables = [table_spec(t, [DAILY_EVENT_COUNTS.key]) for t in (USER_SCORES, BENCHMARKS, USER_WINDOW_SCORES)]

    @day_asset("scores_day", tables, partitions, specs(checks.CHECKS))
    def scores_day(
        context: AssetExecutionContext, engagement: EngagementConfig, duckdb: DuckDBResource
    ) -> Iterator[Any]:
        config = engagement.load()
        with open_warehouse(duckdb) as con:
            result = step.run(con, partition_day(context), config)
        s = result.scores
        active = s.filter(pl.col("score") > 0)
        yield MaterializeResult(
            asset_key=USER_SCORES.key,
            metadata={
                **USER_SCORES_LINEAGE,
                **table_metadata(
                    USER_SCORES,
                    s,
                    s.sort("score", descending=True).select(
                        "user_id", "account_id", "raw_score", "score", "active_days"
                    ),
                ),
                "benchmark_raw_p90": MetadataValue.float(result.benchmark),
                "active_users": MetadataValue.int(active.height),
                "median_active_score": MetadataValue.float(float(active["score"].median() or 0.0)),  # type: ignore[arg-type]
                "score_histogram": counts_markdown(histogram(s["score"]), "score band", "users"),
            },
        )
        yield MaterializeResult(
            asset_key=BENCHMARKS.key,
            metadata={
                "benchmark_raw": MetadataValue.float(result.benchmark),
                "method": MetadataValue.text(config.model.normalization.method),
            },
        )
        yield MaterializeResult(
            asset_key=USER_WINDOW_SCORES.key,
            metadata={
                "windows": MetadataValue.json(sorted(set(config.model.extra_windows))),
            },
        )
        yield checks.scores_in_range(s)
        yield validate(
            s.select("as_of_date", "user_id", "raw_score", "score"),
            checks.user_scores_suite(),
            checks.CHECKS["gx_user_scores"],
        )

    return [scores_day]
