"""The one entry point: assets, checks, resources and the daily job, from the config.

`dagster dev -w workspace.yaml` loads `defs` from here; the CLI calls
`build_definitions` with the config it was given.
"""

from __future__ import annotations

from dagster import AssetSelection, Definitions, define_asset_job, in_process_executor

from assets import accounts, exports, raw, scores, snapshots, staging
from engagement_pipeline.config import Config, load_config
from engagement_pipeline.partitions import daily_partitions
from engagement_pipeline.resources import EngagementConfig, warehouse_resource

DAILY_JOB = "daily_engagement"


def build_definitions(config: Config) -> Definitions:
    partitions = daily_partitions(config)
    layer_assets = [a for module in (raw, staging, scores, accounts, snapshots, exports) for a in module.build(partitions)]
    daily_job = define_asset_job(
        DAILY_JOB,
        selection=AssetSelection.all(),
        partitions_def=partitions,
        # DuckDB allows one writer: every step of a run goes in one process, in order.
        executor_def=in_process_executor,
        description="Every layer for one day: raw -> staging -> scores -> accounts -> snapshots -> exports.",
    )
    assert config.source is not None, "build_definitions needs a config loaded from a file"
    return Definitions(
        assets=layer_assets,
        jobs=[daily_job],
        resources={
            "engagement": EngagementConfig(path=str(config.source.resolve())),
            "duckdb": warehouse_resource(config),
        },
    )


def _load() -> Definitions:
    return build_definitions(load_config())


defs = _load()
