"""Great Expectations suites as partitioned Dagster asset checks on staging and scores."""


import datetime as dt

from dagster import AssetCheckExecutionContext, AssetCheckResult, PartitionsDefinition, asset_check
from dagster_duckdb import DuckDBResource

from checks import gx_suites, specs
from engagement_pipeline.parsing import REASONS
from engagement_pipeline.resources import EngagementConfig, open_warehouse


def build(partitions: PartitionsDefinition) -> list:
    @asset_check(asset=specs.EVENTS, name="gx_staging_events", blocking=True, partitions_def=partitions,
                 description=specs.CHECK_DESCRIPTIONS["gx_staging_events"])
    def gx_staging_events(context: AssetCheckExecutionContext, engagement: EngagementConfig,
                          duckdb: DuckDBResource) -> AssetCheckResult:
        config = engagement.load()
        day = dt.date.fromisoformat(context.partition_key)
        with open_warehouse(duckdb) as con:
            frame = con.execute(
                "SELECT message_id, type, timestamp, event_date, received_date, account_source "
                "FROM staging.events WHERE received_date = ?", [day]).pl()
        return gx_suites.validate(frame, gx_suites.events_suite(day, config.staging.dedupe_lookback_days),
                                  specs.EVENTS, "gx_staging_events")

    @asset_check(asset=specs.QUARANTINE, name="gx_staging_quarantine", blocking=True, partitions_def=partitions,
                 description=specs.CHECK_DESCRIPTIONS["gx_staging_quarantine"])
    def gx_staging_quarantine(context: AssetCheckExecutionContext, duckdb: DuckDBResource) -> AssetCheckResult:
        day = dt.date.fromisoformat(context.partition_key)
        with open_warehouse(duckdb) as con:
            frame = con.execute(
                "SELECT received_date, source_file, line_number, reason, payload, encoding "
                "FROM staging.quarantine WHERE received_date = ?", [day]).pl()
        return gx_suites.validate(frame, gx_suites.quarantine_suite(day, list(REASONS)), specs.QUARANTINE,
                                  "gx_staging_quarantine")

    @asset_check(asset=specs.DAILY_COUNTS, name="gx_daily_event_counts", blocking=True, partitions_def=partitions,
                 description=specs.CHECK_DESCRIPTIONS["gx_daily_event_counts"])
    def gx_daily_event_counts(context: AssetCheckExecutionContext, duckdb: DuckDBResource) -> AssetCheckResult:
        day = dt.date.fromisoformat(context.partition_key)
        with open_warehouse(duckdb) as con:
            frame = con.execute(
                "SELECT event_date, user_id, account_id, type, event, event_count "
                "FROM staging.daily_event_counts WHERE received_date = ?", [day]).pl()
        return gx_suites.validate(frame, gx_suites.daily_counts_suite(day), specs.DAILY_COUNTS,
                                  "gx_daily_event_counts")

    @asset_check(asset=specs.USER_SCORES, name="gx_user_scores", blocking=True, partitions_def=partitions,
                 description=specs.CHECK_DESCRIPTIONS["gx_user_scores"])
    def gx_user_scores(context: AssetCheckExecutionContext, duckdb: DuckDBResource) -> AssetCheckResult:
        day = dt.date.fromisoformat(context.partition_key)
        with open_warehouse(duckdb) as con:
            frame = con.execute(
                "SELECT as_of_date, user_id, raw_score, score FROM scores.user_scores WHERE as_of_date = ?",
                [day]).pl()
        return gx_suites.validate(frame, gx_suites.user_scores_suite(), specs.USER_SCORES, "gx_user_scores")

    return [gx_staging_events, gx_staging_quarantine, gx_daily_event_counts, gx_user_scores]
