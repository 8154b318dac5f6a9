"""The daily partitions: one per UTC day, from the configured start date."""

from __future__ import annotations

import datetime as dt

from dagster import AssetExecutionContext, DailyPartitionsDefinition

from engagement_pipeline.config import Config


def daily_partitions(config: Config) -> DailyPartitionsDefinition:
    return DailyPartitionsDefinition(start_date=config.start_date.isoformat(), timezone="UTC")


def partition_day(context: AssetExecutionContext) -> dt.date:
    return dt.date.fromisoformat(context.partition_key)
