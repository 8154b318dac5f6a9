"""staging: parsed, de-duplicated, identity-resolved messages, quarantine and the daily aggregate."""

import datetime as dt


from dagster import (
    AssetExecutionContext, AssetSpec, MaterializeResult, MetadataValue, PartitionsDefinition, multi_asset,
)
from dagster_duckdb import DuckDBResource

from checks import gx_suites, rules, specs
from engagement_pipeline.staging import step as staging_step
from engagement_pipeline.core.metadata import counts_markdown, table_metadata
from engagement_pipeline.staging.parse import REASONS
from engagement_pipeline.core.config import Config
from engagement_pipeline.ops.partitions import WAREHOUSE_POOL, partition_day
from engagement_pipeline.ops.resources import EngagementConfig, open_warehouse
from engagement_pipeline.core.warehouse import (
    ACCOUNT_TRAITS_HISTORY, ACCOUNTS, BILLING, DAILY_EVENT_COUNTS, DUPLICATES, EVENTS, MEMBERSHIPS, QUARANTINE,
    USER_TRAITS_HISTORY, USERS, Table,
)

TABLES: tuple[Table, ...] = (EVENTS, QUARANTINE, DUPLICATES, DAILY_EVENT_COUNTS, USERS, ACCOUNTS, MEMBERSHIPS,
                             USER_TRAITS_HISTORY, ACCOUNT_TRAITS_HISTORY, BILLING)


def build(partitions: PartitionsDefinition, config: Config) -> list:
    @multi_asset(
        name="staging_day",
        specs=[
            AssetSpec(["staging", t.name], deps=[specs.RAW_LINES], group_name="staging", description=t.description,
                      kinds={"duckdb", "polars"}, owners=["team:data"])
            for t in TABLES
        ],
        partitions_def=partitions, pool=WAREHOUSE_POOL,
        check_specs=[
            specs.spec("lines_reconcile", specs.EVENTS),
            specs.spec("gx_staging_events", specs.EVENTS),
            specs.spec("gx_staging_quarantine", specs.QUARANTINE),
            specs.spec("gx_daily_event_counts", specs.DAILY_COUNTS),
            specs.spec("quarantine_share", specs.EVENTS, blocking=False),
            specs.spec("unresolved_account_share", specs.EVENTS, blocking=False),
        ],
    )
    def staging_day(context: AssetExecutionContext, engagement: EngagementConfig, duckdb: DuckDBResource):
        config = engagement.load()
        day = partition_day(context)
        with open_warehouse(duckdb) as con:
            staged = staging_step.run(con, day, config)
        r = staged.result
        late = r.late_event_dates
        context.log.info(
            f"{r.lines} lines: {r.accepted} accepted, {r.duplicates.height} duplicates, "
            f"{r.quarantine.height} quarantined; {r.stitched} stitched; {r.unresolved} without account"
        )
        for warning in staged.billing_warnings:
            context.log.warning(warning)
        sources = dict(r.events["account_source"].value_counts(sort=True).iter_rows())
        yield MaterializeResult(asset_key=specs.EVENTS, metadata={
            **table_metadata(EVENTS, r.events, r.events.select(
                "message_id", "type", "event", "user_id", "account_id", "account_source", "event_date")),
            "lines_landed": MetadataValue.int(r.lines),
            "accepted": MetadataValue.int(r.accepted),
            "duplicates": MetadataValue.int(r.duplicates.height),
            "quarantined": MetadataValue.int(r.quarantine.height),
            "stitched_events": MetadataValue.int(r.stitched),
            "stitched_users": MetadataValue.int(r.events.filter("stitched")["user_id"].n_unique()),
            "unresolved_account_events": MetadataValue.int(r.unresolved),
            "account_sources": MetadataValue.json(sources),
            "late_event_dates": MetadataValue.json([d.isoformat() for d in late]),
            "stale_as_of_days": MetadataValue.text(
                f"{late[0].isoformat()} .. {(day - dt.timedelta(days=1)).isoformat()}" if late else "none"),
            "restated_received_days": MetadataValue.json([d.isoformat() for d in r.restated_days]),
            "restated_events": MetadataValue.int(r.restated.height),
            "later_copies_now_duplicates": MetadataValue.int(r.later_duplicates.height),
        })
        yield MaterializeResult(asset_key=specs.QUARANTINE, metadata={
            **table_metadata(QUARANTINE, r.quarantine, r.quarantine.select(
                "source_file", "line_number", "reason", "detail")),
            "reasons": counts_markdown(r.reasons),
        })
        yield MaterializeResult(asset_key=["staging", "duplicates"], metadata=table_metadata(
            DUPLICATES, r.duplicates, r.duplicates.select("source_file", "line_number", "first_received_date")))
        yield MaterializeResult(asset_key=specs.DAILY_COUNTS, metadata={
            **table_metadata(DAILY_EVENT_COUNTS, r.counts, r.counts),
            "events_counted": MetadataValue.int(int(r.counts["event_count"].sum())),
        })
        for table, rows in ((USERS, staged.users), (ACCOUNTS, staged.accounts),
                            (MEMBERSHIPS, staged.memberships), (USER_TRAITS_HISTORY, staged.user_history),
                            (ACCOUNT_TRAITS_HISTORY, staged.account_history), (BILLING, staged.billing_rows)):
            meta = {"dagster/row_count": MetadataValue.int(rows),
                    "dagster/table_name": MetadataValue.text(f"warehouse.{table.qualified}")}
            if table is BILLING:
                meta["warnings"] = MetadataValue.json(staged.billing_warnings)
            yield MaterializeResult(asset_key=["staging", table.name], metadata=meta)
        yield rules.lines_reconcile(r)
        yield gx_suites.validate(r.events, gx_suites.events_suite(day, config.staging.dedupe_lookback_days),
                                 specs.EVENTS, "gx_staging_events")
        yield gx_suites.validate(r.quarantine, gx_suites.quarantine_suite(day, list(REASONS)), specs.QUARANTINE,
                                 "gx_staging_quarantine")
        yield gx_suites.validate(r.counts, gx_suites.daily_counts_suite(day), specs.DAILY_COUNTS,
                                 "gx_daily_event_counts")
        yield rules.quarantine_share(r, config.staging.quarantine_warn_share)
        yield rules.unresolved_account_share(r, config.staging.unresolved_account_warn_share)

    return [staging_day]
