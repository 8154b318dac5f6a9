"""What every layer's assets share: a spec per warehouse table and the day's multi-asset."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from dagster import AssetCheckSpec, AssetKey, AssetSpec, PartitionsDefinition, multi_asset

from engagement_pipeline.core.keys import table_key
from engagement_pipeline.core.warehouse import Table
from engagement_pipeline.ops.partitions import WAREHOUSE_POOL


def table_spec(table: Table, deps: Sequence[AssetKey], description: str | None = None) -> AssetSpec:
    """The asset of a warehouse table: key = [schema, table], group = schema (= layer)."""
    return AssetSpec(
        table_key(table.schema, table.name),
        deps=list(deps),
        group_name=table.schema,
        description=description or table.description,
        metadata={"dagster/column_schema": table.column_schema()},  # shown before the first run too
    )


def day_asset(
    name: str, specs: Sequence[AssetSpec], partitions: PartitionsDefinition, checks: Sequence[AssetCheckSpec]
) -> Callable[[Callable[..., Any]], Any]:
    """A layer's daily step as one multi-asset: every table it writes, its checks, one warehouse slot."""
    return multi_asset(
        name=name,
        specs=list(specs),
        partitions_def=partitions,
        pool=WAREHOUSE_POOL,
        check_specs=list(checks),
        can_subset=False,
    )
