"""staging: parsed, de-duplicated, identity-resolved messages, quarantine and the daily aggregate."""

import datetime as dt
from collections.abc import Iterator
from typing import Any

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, PartitionsDefinition
from dagster_duckdb import DuckDBResource

from assets.common import day_asset, table_spec
from checks import staging as checks
from checks.common import specs, validate
from engagement_pipeline.core.metadata import counts_markdown, table_metadata
from engagement_pipeline.core.warehouse import (
    ACCOUNT_TRAITS_HISTORY,
    ACCOUNTS,
    BILLING,
    DAILY_EVENT_COUNTS,
    DUPLICATES,
    EVENTS,
    LANDED_LINES,
    LIFECYCLE_FACTS,
    MEMBERSHIPS,
    QUARANTINE,
    USER_TRAITS_HISTORY,
    USERS,
    Table,
)
from engagement_pipeline.ops.partitions import partition_day
from engagement_pipeline.ops.resources import EngagementConfig, SparkResource, open_warehouse
from engagement_pipeline.staging import step
from engagement_pipeline.staging.coverage import Coverage
from engagement_pipeline.staging.parse import REASONS
from engagement_pipeline.staging.step import engine_label

TABLES: tuple[Table, ...] = (
    EVENTS,
    QUARANTINE,
    DUPLICATES,
    DAILY_EVENT_COUNTS,
    USERS,
    ACCOUNTS,
    MEMBERSHIPS,
    USER_TRAITS_HISTORY,
    ACCOUNT_TRAITS_HISTORY,
    LIFECYCLE_FACTS,
    BILLING,
)


def build(partitions: PartitionsDefinition) -> list[Any]:
    @day_asset("staging_day", [table_spec(t, [LANDED_LINES.key]) for t in TABLES], partitions, specs(checks.CHECKS))
    def staging_day(
        context: AssetExecutionContext, engagement: EngagementConfig, duckdb: DuckDBResource, spark: SparkResource
    ) -> Iterator[Any]:
        config = engagement.load()
        day = partition_day(context)
        session = spark.session(config) if config.engine == "spark" else None
        with open_warehouse(duckdb) as con:
            staged = step.run(con, day, config, session)
        r = staged.result
        coverage = staged.coverage or Coverage(day, r.lines)
        late = r.late_event_dates
        context.log.info(
            f"{engine_label(config)}: {r.lines} lines: {r.accepted} accepted, {r.duplicates.height} duplicates, "
            f"{r.quarantine.height} quarantined; {r.stitched} stitched; {r.unresolved} without account"
        )
        for found in checks.day_problems(coverage).values():
            for sentence in found:
                context.log.warning(sentence)
        for warning in staged.billing_warnings:
            context.log.warning(warning)
        sources = dict(r.events["account_source"].value_counts(sort=True).iter_rows())
        yield MaterializeResult(
            asset_key=EVENTS.key,
            metadata={
                **table_metadata(
                    EVENTS,
                    r.events,
                    r.events.select(
                        "message_id", "type", "event", "user_id", "account_id", "account_source", "event_date"
                    ),
                ),
                "engine": MetadataValue.text(engine_label(config)),
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
                    f"{late[0].isoformat()} .. {(day - dt.timedelta(days=1)).isoformat()}" if late else "none"
                ),
                "restated_received_days": MetadataValue.json([d.isoformat() for d in r.restated_days]),
                "restated_events": MetadataValue.int(r.restated.height),
                "later_copies_now_duplicates": MetadataValue.int(r.later_duplicates.height),
                "unscored_events": MetadataValue.int(coverage.unscored_events),
                "unscored_event_names": MetadataValue.json(coverage.unscored),
                "input_coverage": MetadataValue.json(coverage.as_metadata()),
            },
        )
        yield MaterializeResult(
            asset_key=QUARANTINE.key,
            metadata={
                **table_metadata(
                    QUARANTINE, r.quarantine, r.quarantine.select("source_file", "line_number", "reason", "detail")
                ),
                "reasons": counts_markdown(r.reasons),
            },
        )
        yield MaterializeResult(
            asset_key=DUPLICATES.key,
            metadata=table_metadata(
                DUPLICATES, r.duplicates, r.duplicates.select("source_file", "line_number", "first_received_date")
            ),
        )
        yield MaterializeResult(
            asset_key=DAILY_EVENT_COUNTS.key,
            metadata={
                **table_metadata(DAILY_EVENT_COUNTS, r.counts, r.counts),
                "events_counted": MetadataValue.int(int(r.counts["event_count"].sum())),
            },
        )
        for table, rows in (
            (USERS, staged.users),
            (ACCOUNTS, staged.accounts),
            (MEMBERSHIPS, staged.memberships),
            (USER_TRAITS_HISTORY, staged.user_history),
            (ACCOUNT_TRAITS_HISTORY, staged.account_history),
            (LIFECYCLE_FACTS, staged.lifecycle_facts),
            (BILLING, staged.billing_rows),
        ):
            meta: dict[str, Any] = {
                "dagster/row_count": MetadataValue.int(rows),
                "dagster/table_name": MetadataValue.text(f"warehouse.{table.qualified}"),
            }
            if table is BILLING:
                meta["warnings"] = MetadataValue.json(staged.billing_warnings)
            yield MaterializeResult(asset_key=table.key, metadata=meta)
        c = checks.CHECKS
        yield checks.lines_reconcile(r)
        yield validate(r.events, checks.events_suite(day), c["gx_staging_events"])
        yield validate(r.quarantine, checks.quarantine_suite(day, list(REASONS)), c["gx_staging_quarantine"])
        yield validate(r.counts, checks.daily_counts_suite(day), c["gx_daily_event_counts"])
        yield checks.quarantine_share(r, config.staging.quarantine_warn_share)
        yield checks.unresolved_account_share(r, config.staging.unresolved_account_warn_share)
        yield from checks.coverage_checks(coverage)

    return [staging_day]
