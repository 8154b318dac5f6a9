"""The one entry point: assets, checks, resources, jobs, schedule and sensors, from the config.

`dagster dev -w workspace.yaml` and `dg` load `defs` from here; the CLI and the runner call
`build_definitions` with the config they were given. Policies that hold for every asset
(owners, kinds, freshness) are mapped over all specs once, here.

Importing this module never reads a config: `defs` is built on first access (PEP 562
module `__getattr__`) from $ENGAGEMENT_CONFIG or ./engagement.yaml. Built at import, it
made `run --config good.yaml` fail on whatever ./engagement.yaml held (or its absence),
since the runner imports this module before it can pass the config it was given.
"""

from __future__ import annotations

from dagster import AssetSpec, Definitions

from assets import accounts, destinations, exports, raw, scores, snapshots, staging
from engagement_pipeline.core.config import Config, load_config
from engagement_pipeline.ops.automation import DAILY_JOB, build_automation, jobs
from engagement_pipeline.ops.partitions import daily_partitions
from engagement_pipeline.ops.policies import with_policies
from engagement_pipeline.ops.resources import EngagementConfig, SparkResource, warehouse_resource

__all__ = ["DAILY_JOB", "LAYERS", "build_definitions"]  # and `defs`, built on first access (below)

# The layers in the order the data flows; each module's `build` returns its assets.
LAYERS = (raw, staging, scores, accounts, snapshots, exports, destinations)


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
            "spark": SparkResource(),
        },
    )

    def policies(spec: AssetSpec) -> AssetSpec:
        return with_policies(spec, config)

    return definitions.map_asset_specs(func=policies)


# The lazily built `defs`, reset when the module is (re)loaded so a reload re-reads the config. Kept in a
# dict, not a global Definitions: Dagster's autodiscovery refuses a module with two Definitions in scope.
_built: dict[str, Definitions] = {}


def __getattr__(name: str) -> Definitions:
    """`defs` for `dagster` / `dg`, built from the default config on first access."""
    if name != "defs":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if name not in _built:
        _built[name] = build_definitions(load_config())
    return _built[name]


def __dir__() -> list[str]:
    # Dagster's module autodiscovery (`dg`, `dagster -m`) lists members with dir(): name `defs` there.
    return sorted({*globals(), "defs"})
