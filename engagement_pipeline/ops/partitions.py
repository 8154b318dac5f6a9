"""The daily partitions: one per UTC day, from the configured start date."""

from __future__ import annotations

import datetime as dt

from dagster import AssetExecutionContext, DailyPartitionsDefinition

from engagement_pipeline.core.config import Config


def daily_partitions(config: Config) -> DailyPartitionsDefinition:
    return DailyPartitionsDefinition(start_date=config.start_date.isoformat(), timezone="UTC")


# Every asset writes the single-writer DuckDB file: one pool, limited to one at a time in
# the instance (runner.INSTANCE_YAML), serializes UI-launched runs, backfills and schedules.
WAREHOUSE_POOL = "duckdb_warehouse"


def freshness(config: Config):  # type: ignore[no-untyped-def]
    """The newest day must be materialized by `automation.freshness_hour` every day."""
    from dagster import FreshnessPolicy

    auto = config.automation
    return FreshnessPolicy.cron(deadline_cron=f"0 {auto.freshness_hour} * * *",
                                lower_bound_delta=dt.timedelta(hours=24), timezone=auto.timezone)


def partition_day(context: AssetExecutionContext) -> dt.date:
    return dt.date.fromisoformat(context.partition_key)
