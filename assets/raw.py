"""raw: landed lines kept verbatim with their file and line number."""


from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, PartitionsDefinition, asset
from dagster_duckdb import DuckDBResource

from checks import rules, specs
from engagement_pipeline.raw import step as raw_step
from engagement_pipeline.core.metadata import table_metadata
from engagement_pipeline.core.config import Config
from engagement_pipeline.ops.partitions import WAREHOUSE_POOL, partition_day
from engagement_pipeline.ops.resources import EngagementConfig, open_warehouse
from engagement_pipeline.core.warehouse import LANDED_LINES


def build(partitions: PartitionsDefinition, config: Config) -> list:
    @asset(
        key=specs.RAW_LINES, group_name="raw", partitions_def=partitions, pool=WAREHOUSE_POOL,
        kinds={"duckdb", "python"},
        description=LANDED_LINES.description + " Source: `<landing>/<received date>/`.",
        check_specs=[specs.spec("lines_have_position", specs.RAW_LINES)],
        owners=["team:data"],
    )
    def landed_lines(context: AssetExecutionContext, engagement: EngagementConfig, duckdb: DuckDBResource):
        config = engagement.load()
        with open_warehouse(duckdb) as con:
            lines = raw_step.run(con, partition_day(context), config)
        files = lines["source_file"].n_unique()
        read_errors = lines["read_error"].drop_nulls().value_counts(sort=True).iter_rows()
        context.log.info(f"landed {lines.height} lines from {files} files")
        return MaterializeResult(
            metadata={
                **table_metadata(LANDED_LINES, lines),
                "files": MetadataValue.int(files),
                "read_errors": MetadataValue.json(dict(read_errors)),
            },
            check_results=[rules.lines_have_position(lines)],
        )

    return [landed_lines]
