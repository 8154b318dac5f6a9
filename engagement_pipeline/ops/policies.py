"""Policies that hold for every asset, set once over all specs: owners, kinds, freshness.

Assets declare only what is theirs (key, deps, description, checks); `definitions.py`
maps `with_policies` over every spec, so a new asset gets the same owners, kinds and
freshness as the rest of its layer without repeating them.
"""

from __future__ import annotations

import datetime as dt

from dagster import AssetKey, AssetSpec, FreshnessPolicy

from engagement_pipeline.core import keys
from engagement_pipeline.core.config import Config

# Who answers for a layer's tables (shown and filterable in the UI).
OWNERS: dict[str, str] = {
    "raw": "team:data",
    "staging": "team:data",
    "scores": "team:data",
    "accounts": "team:customer-success",
    "snapshots": "team:data",
    "exports": "team:marketing",
    "destinations": "team:customer-success",
}
# What a layer's assets are made with (the UI's kind badges).
KINDS: dict[str, set[str]] = {
    "raw": {"duckdb", "python"},
    "staging": {"duckdb", "polars"},
    "scores": {"duckdb", "polars"},
    "accounts": {"duckdb", "polars"},
    "snapshots": {"duckdb", "polars"},
    "exports": {"csv", "python"},
    "destinations": {"segment", "slack"},
}
# The assets people read every morning: they must be fresh by `automation.freshness_hour`.
FRESH: frozenset[AssetKey] = frozenset({keys.ACCOUNT_SCORES, keys.EXPORTS})


def freshness(config: Config) -> FreshnessPolicy:
    """The newest day must be materialized by `automation.freshness_hour` every day."""
    auto = config.automation
    return FreshnessPolicy.cron(
        deadline_cron=f"0 {auto.freshness_hour} * * *", lower_bound_delta=dt.timedelta(hours=24), timezone=auto.timezone
    )


def with_policies(spec: AssetSpec, config: Config) -> AssetSpec:
    """The spec with its layer's owners and kinds, and the freshness policy where it applies."""
    layer = spec.key.path[0]
    return spec.replace_attributes(
        owners=[OWNERS[layer]],
        kinds=KINDS[layer],
        freshness_policy=freshness(config) if spec.key in FRESH else spec.freshness_policy,
    )
