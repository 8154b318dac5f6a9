"""The one entry point: assets, checks, resources, jobs, schedule and sensors, from the config.

`dagster dev -w workspace.yaml` loads `defs` from here; the CLI calls
`build_definitions` with the config it was given.
"""

from __future__ import annotations

from dagster import Definitions

from assets import accounts, exports, raw, scores, snapshots, staging
from engagement_pipeline.ops.automation import DAILY_JOB, build_automation, jobs
from engagement_pipeline.core.config import Config, load_config
from engagement_pipeline.ops.partitions import daily_partitions
from engagement_pipeline.ops.resources import EngagementConfig, warehouse_resource

__all__ = ["DAILY_JOB", "build_definitions", "defs"]


def build_definitions(config: Config) -> Definitions:
    partitions = daily_partitions(config)
    layer_assets = [
        a for module in (raw, staging, scores, accounts, snapshots, exports) for a in module.build(partitions, config)
    ]
    job_defs = jobs(partitions)
    schedules, sensors = build_automation(config, partitions, job_defs)
    assert config.source is not None, "build_definitions needs a config loaded from a file"
    return Definitions(
        assets=layer_assets,
        jobs=job_defs,
        schedules=schedules,
        sensors=sensors,
        resources={
            "engagement": EngagementConfig(path=str(config.source.resolve())),
            "duckdb": warehouse_resource(config),
        },
    )


def _load() -> Definitions:
    return build_definitions(load_config())


defs = _load()
