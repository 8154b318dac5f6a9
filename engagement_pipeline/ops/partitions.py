"""The daily partitions: one per UTC day, from the configured start date."""

from __future__ import annotations

import datetime as dt

from dagster import AssetExecutionContext, DailyPartitionsDefinition

from engagement_pipeline.core.config import Config


def daily_partitions(config: Config) -> DailyPartitionsDefinition:
    return DailyPartitionsDefinition(start_date=config.start_date.isoformat(), timezone="UTC")


# Every asset writes the single-writer DuckDB file: one pool, limited to one at a time in
# the instance (instance.INSTANCE_YAML), serializes UI-launched runs, backfills and schedules.
WAREHOUSE_POOL = "duckdb_warehouse"


def partition_day(context: AssetExecutionContext) -> dt.date:
    return dt.date.fromisoformat(context.partition_key)
