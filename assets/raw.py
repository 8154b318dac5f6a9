"""raw: landed lines kept verbatim with their file and line number."""

from collections.abc import Iterator
from typing import Any

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, PartitionsDefinition
from dagster_duckdb import DuckDBResource

from assets.common import day_asset, table_spec
from checks import raw as checks
from checks.common import specs
from engagement_pipeline.core.metadata import table_metadata
from engagement_pipeline.core.warehouse import LANDED_FILES, LANDED_LINES
from engagement_pipeline.ops.partitions import partition_day
from engagement_pipeline.ops.resources import EngagementConfig, open_warehouse
from engagement_pipeline.raw import step


def build(partitions: PartitionsDefinition) -> list[Any]:
    @day_asset(
        "landed_lines",
        [
            table_spec(LANDED_LINES, [], LANDED_LINES.description + " Source: `<landing>/<received date>/`."),
            table_spec(LANDED_FILES, []),
        ],
        partitions,
        specs(checks.CHECKS),
    )
    def landed_lines(
        context: AssetExecutionContext, engagement: EngagementConfig, duckdb: DuckDBResource
    ) -> Iterator[Any]:
        with open_warehouse(duckdb) as con:
            landed = step.run_day(con, partition_day(context), engagement.load())
        lines = landed.lines
        files = lines.select("source", "source_file").n_unique()
        read_errors = lines["read_error"].drop_nulls().value_counts(sort=True).iter_rows()
        context.log.info(f"landed {lines.height} lines from {files} files")
        yield MaterializeResult(
            asset_key=LANDED_LINES.key,
            metadata={
                **table_metadata(LANDED_LINES, lines),
                "files": MetadataValue.int(files),
                "read_errors": MetadataValue.json(dict(read_errors)),
                "lines_by_source": MetadataValue.json(dict(lines["source"].value_counts(sort=True).iter_rows())),
            },
        )
        yield MaterializeResult(
            asset_key=LANDED_FILES.key,
            metadata={
                **table_metadata(LANDED_FILES, landed.listing),
                "late_files": MetadataValue.int(landed.late_files),
                "kept_files": MetadataValue.int(landed.kept_files),
            },
        )
        yield checks.lines_have_position(lines)

    return [landed_lines]
