"""The one entry point: assets, checks, resources, jobs, schedule and sensors, from the config.

`dagster dev -w workspace.yaml` and `dg` load `defs` from here; the CLI calls
`build_definitions` with the config it was given. Policies that hold for every asset
(owners, kinds, freshness) are mapped over all specs once, here.
"""

from __future__ import annotations

from dagster import AssetSpec, Definitions

from assets import accounts, exports, raw, scores, snapshots, staging
from engagement_pipeline.core.config import Config, load_config
from engagement_pipeline.ops.automation import DAILY_JOB, build_automation, jobs
from engagement_pipeline.ops.partitions import daily_partitions
from engagement_pipeline.ops.policies import with_policies
from engagement_pipeline.ops.resources import EngagementConfig, warehouse_resource

__all__ = ["DAILY_JOB", "LAYERS", "build_definitions", "defs"]

# The layers in the order the data flows; each module's `build` returns its assets.
LAYERS = (raw, staging, scores, accounts, snapshots, exports)


def build_definitions(config: Config) -> Definitions:
    if config.source is None:
        raise ValueError("build_definitions needs a config loaded from a file (the resources re-read it)")
    partitions = daily_partitions(config)
    job_defs = jobs(partitions)
    schedules, sensors = build_automation(config, partitions, job_defs)
    definitions = Definitions(
        assets=[a for layer in LAYERS for a in layer.build(partitions)],
        jobs=job_defs,
        schedules=schedules,
        sensors=sensors,
        resources={
            "engagement": EngagementConfig(path=str(config.source.resolve())),
            "duckdb": warehouse_resource(config),
        },
    )

    def policies(spec: AssetSpec) -> AssetSpec:
        return with_policies(spec, config)

    return definitions.map_asset_specs(func=policies)


def _load() -> Definitions:
    return build_definitions(load_config())


defs = _load()
