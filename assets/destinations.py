"""destinations: the day's scores sent where people work (Segment, the customer-success digest).

One step after the exports, never before them: a destination that is down fails its own
asset after its retries, with one sentence; the exports of the day are already published.
CRM files are written by the exports (`destinations.crm_files`), inside the day's folder.
"""

from collections.abc import Iterator
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetObservation,
    AssetSpec,
    MaterializeResult,
    MetadataValue,
    PartitionsDefinition,
)
from dagster_duckdb import DuckDBResource

from assets.common import day_asset
from engagement_pipeline.core import keys
from engagement_pipeline.core.errors import PipelineError
from engagement_pipeline.destinations import step
from engagement_pipeline.ops.partitions import partition_day
from engagement_pipeline.ops.resources import EngagementConfig, open_warehouse

SPECS = {
    step.SEGMENT: AssetSpec(
        keys.SEGMENT_TRAITS,
        group_name="destinations",
        deps=[keys.EXPORTS],
        description="Group calls with each account's engagement traits (and identify calls with user scores) "
        "sent to a Segment-compatible endpoint, only what changed since the last acknowledged sync "
        "(`destinations.segment_sync_state`). Off unless `destinations.segment` is configured.",
    ),
    step.DIGEST: AssetSpec(
        keys.CS_DIGEST,
        group_name="destinations",
        deps=[keys.EXPORTS],
        description="The daily customer-success digest (new PQLs, accounts turned at risk with the MRR at stake, "
        "heating and cooling accounts) posted to a Slack-compatible webhook. Off unless `destinations.digest` "
        "is configured.",
    ),
}


def _metadata(outcome: step.Outcome) -> dict[str, MetadataValue[Any]]:
    meta: dict[str, MetadataValue[Any]] = {
        "status": MetadataValue.text(outcome.status),
        "sent": MetadataValue.int(outcome.sent),
        "skipped": MetadataValue.int(outcome.skipped),
        "failed": MetadataValue.int(outcome.failed),
    }
    if outcome.details:
        meta["details"] = MetadataValue.json(outcome.details)
    return meta


def build(partitions: PartitionsDefinition) -> list[Any]:
    @day_asset(keys.DESTINATIONS_STEP, list(SPECS.values()), partitions, [])
    def daily_destinations(
        context: AssetExecutionContext, engagement: EngagementConfig, duckdb: DuckDBResource
    ) -> Iterator[Any]:
        config = engagement.load()
        if not config.destinations.sending:  # every destination off: no warehouse connection needed
            outcomes = [step.Outcome(step.SEGMENT, "off"), step.Outcome(step.DIGEST, "off")]
        else:
            with open_warehouse(duckdb) as con:
                outcomes = step.run(con, partition_day(context), config)
        failed = [o for o in outcomes if o.error]
        for outcome in outcomes:
            if outcome.error is None:
                yield MaterializeResult(asset_key=SPECS[outcome.destination].key, metadata=_metadata(outcome))
            else:  # the counts of a failed destination still show on its asset, as an observation
                yield AssetObservation(asset_key=SPECS[outcome.destination].key, metadata=_metadata(outcome))
                counts = ", ".join(f"{k} {getattr(outcome, k)}" for k in ("sent", "skipped", "failed"))
                context.log.error(f"{outcome.error} [{counts}]")
        if failed:
            raise PipelineError("; ".join(str(o.error) for o in failed) + ".")

    return [daily_destinations]
