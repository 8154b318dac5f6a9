"""exports: the dated folder of CSVs for marketing, sales and customer success."""


from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, PartitionsDefinition, asset
from dagster_duckdb import DuckDBResource

from checks import rules, specs
from engagement_pipeline.exports import step as exports_step
from engagement_pipeline.core.config import Config
from engagement_pipeline.ops.partitions import WAREHOUSE_POOL, freshness, partition_day
from engagement_pipeline.ops.resources import EngagementConfig, open_warehouse


def build(partitions: PartitionsDefinition, config: Config) -> list:
    @asset(
        key=specs.EXPORTS, group_name="exports", partitions_def=partitions, pool=WAREHOUSE_POOL,
        freshness_policy=freshness(config), kinds={"csv", "python"},
        deps=[specs.ACCOUNT_SCORES, specs.USER_SCORES, specs.PRODUCT_DAILY, ["accounts", "account_feature_usage"]],
        description="`<exports>/<day>/`: look-alike audiences (Google, Meta, LinkedIn), ICP profile, PQL, "
                    "at-risk, expansion, case-study and adoption-gap lists, manifest.json; `latest/` "
                    "points at the newest complete day.",
        check_specs=[specs.spec("files_valid", specs.EXPORTS),
                     specs.spec("audience_sizes", specs.EXPORTS, blocking=False)],
        owners=["team:marketing"],
    )
    def daily_exports(context: AssetExecutionContext, engagement: EngagementConfig, duckdb: DuckDBResource):
        config = engagement.load()
        with open_warehouse(duckdb) as con:
            done = exports_step.run(con, partition_day(context), config)
        rows = {name: frame.height for name, frame in done.bundle.files.items()}
        return MaterializeResult(
            metadata={
                "folder": MetadataValue.path(str(done.folder)),
                "report": MetadataValue.path(str(done.folder / "report.html")),
                "model_version": MetadataValue.text(config.model_version),
                "rows_per_file": MetadataValue.json(rows),
                "audiences": MetadataValue.json(done.bundle.audience_stats),
                "warnings": MetadataValue.json(done.bundle.warnings),
            },
            check_results=[rules.files_valid(done.problems, len(rows)),
                           rules.audience_sizes(done.bundle.warnings, done.bundle.audience_stats)],
        )

    return [daily_exports]
