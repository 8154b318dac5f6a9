"""Running by itself: the daily schedule, the landing sensor and late-data restatement.

- `daily_schedule`: every day at `automation.schedule_hour` (in `automation.timezone`)
  requests the partition of the previous UTC day, the last complete one.
- `landing_sensor`: starts a day's run as soon as its landing folder is complete: it
  holds the `_SUCCESS` marker, or nothing in it changed for `quiet_minutes`. The run key
  is the day plus a fingerprint of its files, so a day runs once, and again only if
  files are added or replaced. With several sources, a day is complete when its folder is
  complete in every source that has one; in a bucket, the marker is an object and the quiet
  period runs from the newest object's LastModified (only the last `REMOTE_WATCH_DAYS` days
  are watched there).
- `restatement_sensor`: when staging a day finds events dated earlier (late data, or
  anonymous activity stitched retroactively), the scores, accounts and snapshots of the
  as-of days those events belong to are stale. It requests the restatement job (no
  raw, staging or exports: exports stay those of the day they were made, and only the
  newest day is exported again by its own run) for every stale as-of day that was
  already materialized. The CLI restates inline, so runs it started are skipped here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from pathlib import Path
from typing import Any

from dagster import (
    AssetKey,
    AssetSelection,
    DagsterInstance,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    EventLogEntry,
    PartitionsDefinition,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
    SensorDefinition,
    SensorEvaluationContext,
    SkipReason,
    asset_sensor,
    define_asset_job,
    in_process_executor,
    schedule,
    sensor,
)
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from engagement_pipeline.core.config import Config
from engagement_pipeline.core.config_sources import Source
from engagement_pipeline.core.errors import PipelineError
from engagement_pipeline.core.keys import LAYERS
from engagement_pipeline.raw import storage
from engagement_pipeline.raw.files import SKIPPED_NAMES, day_folder, landed_days
from engagement_pipeline.raw.storage import StoredObject

DAILY_JOB = "daily_engagement"
STAGE_JOB = "daily_staging"
MODEL_JOB = "daily_model"
RESTATE_JOB = "restate_model"
SOURCE_TAG = "engagement/source"
MODEL_GROUPS = ("scores", "accounts", "snapshots")


def jobs(partitions: PartitionsDefinition) -> list[UnresolvedAssetJobDefinition]:
    """The asset jobs: all layers, staging only, model + exports, restatement, and one job per layer."""
    common: dict[str, Any] = dict(partitions_def=partitions, executor_def=in_process_executor)
    return [
        define_asset_job(
            DAILY_JOB,
            selection=AssetSelection.all(),
            **common,
            description="Every layer for one day: raw -> staging -> scores -> accounts -> snapshots -> exports "
            "-> destinations.",
        ),
        define_asset_job(
            STAGE_JOB,
            selection=AssetSelection.groups("raw", "staging"),
            **common,
            description="Land and stage one received day (first pass of a multi-day `run`).",
        ),
        define_asset_job(
            MODEL_JOB,
            selection=AssetSelection.groups(*MODEL_GROUPS, "exports", "destinations"),
            **common,
            description="Scores, accounts, snapshots, exports and destinations of one as-of day.",
        ),
        define_asset_job(
            RESTATE_JOB,
            selection=AssetSelection.groups(*MODEL_GROUPS),
            **common,
            description="Recompute the scores, accounts and snapshots of an as-of day that late "
            "data made stale (exports are not rewritten).",
        ),
        *(
            define_asset_job(
                layer_job(layer),
                selection=AssetSelection.groups(layer),
                **common,
                description=f"Only the {layer} layer of the chosen days (its inputs must already be there): "
                "re-run one layer after changing its settings.",
            )
            for layer in LAYERS
        ),
    ]


def layer_job(layer: str) -> str:
    """The job that materializes one layer (asset group), e.g. `layer_scores`."""
    return f"layer_{layer}"


def folder_fingerprint(folder: Path) -> str:
    """Names, sizes and modification times of a landing folder's files, hashed."""
    entries = sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir() if p.is_file())
    return hashlib.sha256(json.dumps(entries).encode()).hexdigest()[:16]


def folder_is_complete(folder: Path, marker: str, quiet_minutes: int, now: float | None = None) -> bool:
    """A landing folder is complete when it holds the marker, or nothing changed for a while."""
    files = [p for p in folder.iterdir() if p.is_file()]
    if any(p.name == marker for p in files):
        return True
    data = [p for p in files if p.name not in SKIPPED_NAMES and not p.name.startswith(".")]
    if not data or quiet_minutes <= 0:
        return False
    newest = max(p.stat().st_mtime for p in data)
    return (now if now is not None else time.time()) - newest >= quiet_minutes * 60


# A bucket's day folders are listed object by object at every tick: only the recent days are
# watched there (a late file for an older day is run by hand: `engagement-pipeline run --date D`).
REMOTE_WATCH_DAYS = 7


def objects_are_complete(objects: list[StoredObject], marker: str, quiet_minutes: int, now: float) -> bool:
    """`folder_is_complete` for a day's objects in a bucket (times are the objects' LastModified)."""
    if any(o.name == marker for o in objects):
        return True
    data = [o for o in objects if o.name not in SKIPPED_NAMES and not o.name.startswith(".") and o.modified]
    if not data or quiet_minutes <= 0:
        return False
    newest = max(o.modified.replace(tzinfo=dt.UTC).timestamp() for o in data if o.modified is not None)
    return now - newest >= quiet_minutes * 60


def objects_fingerprint(objects: list[StoredObject]) -> str:
    """Names, sizes and versions (ETags) of a day's objects, hashed."""
    entries = sorted((o.key, o.size, o.version) for o in objects)
    return hashlib.sha256(json.dumps(entries).encode()).hexdigest()[:16]


def _source_days(source: Source, config: Config, now: float) -> dict[dt.date, str | None]:
    """Day -> fingerprint of a source's day folders (None while one is not complete yet)."""
    auto = config.automation
    out: dict[dt.date, str | None] = {}
    if source.remote:
        today = dt.datetime.fromtimestamp(now, dt.UTC).date()
        for day in landed_days([source]):
            if day < max(config.start_date, today - dt.timedelta(days=REMOTE_WATCH_DAYS)):
                continue
            listed = storage.list_day(source, day)
            if listed is not None:
                objects = listed[1]
                complete = objects_are_complete(objects, auto.success_marker, auto.quiet_minutes, now)
                out[day] = objects_fingerprint(objects) if complete else None
        return out
    if not source.local.is_dir():
        return out
    for folder in sorted(source.local.iterdir()):
        folder_day = storage.day_of_folder(source.layout, folder.name)
        if folder_day is None or folder_day < config.start_date or not folder.is_dir():
            continue
        complete = folder_is_complete(folder, auto.success_marker, auto.quiet_minutes, now)
        out[folder_day] = folder_fingerprint(folder) if complete else None
    return out


def complete_landing_days(config: Config, now: float | None = None) -> dict[str, str]:
    """Day -> fingerprint of every complete landed day within the partitions: complete in every
    source that holds a folder for it (a source's folder that appears later changes the fingerprint)."""
    now = time.time() if now is None else now
    per_day: dict[dt.date, list[str | None]] = {}
    for source in config.landing_sources:
        for day, fingerprint in _source_days(source, config, now).items():
            per_day.setdefault(day, []).append(fingerprint)
    out: dict[str, str] = {}
    for day in sorted(per_day):
        prints = per_day[day]
        if all(p is not None for p in prints):
            joined = prints[0] if len(prints) == 1 else hashlib.sha256("|".join(map(str, prints)).encode()).hexdigest()
            out[day.isoformat()] = str(joined)[:16]
    return out


def day_landed(config: Config, day: dt.date) -> bool:
    """Whether any source holds a folder for the day (a local landing folder may not exist yet)."""
    return any(
        storage.list_day(s, day) is not None if s.remote else day_folder(s.local, day, s.layout).is_dir()
        for s in config.landing_sources
    )


def stale_as_of_days(late_dates: list[str], staged_day: str, window_days: int) -> list[str]:
    """As-of days whose window holds one of the late event dates, before the staged day."""
    if not late_dates:
        return []
    staged = dt.date.fromisoformat(staged_day)
    first = min(dt.date.fromisoformat(d) for d in late_dates)
    last = min(
        staged - dt.timedelta(days=1),
        max(dt.date.fromisoformat(d) for d in late_dates) + dt.timedelta(days=window_days - 1),
    )
    return [(first + dt.timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


def build_automation(
    config: Config, partitions: PartitionsDefinition, job_defs: list[UnresolvedAssetJobDefinition]
) -> tuple[list[ScheduleDefinition], list[SensorDefinition]]:
    """The schedule and sensors for these jobs, configured from `automation`."""
    auto = config.automation
    daily = next(j for j in job_defs if j.name == DAILY_JOB)
    restate = next(j for j in job_defs if j.name == RESTATE_JOB)
    default_status = DefaultScheduleStatus.RUNNING if auto.enabled else DefaultScheduleStatus.STOPPED
    sensor_status = DefaultSensorStatus.RUNNING if auto.enabled else DefaultSensorStatus.STOPPED

    @schedule(
        cron_schedule=f"{auto.schedule_minute} {auto.schedule_hour} * * *",
        job=daily,
        execution_timezone=auto.timezone,
        default_status=default_status,
        name="daily_schedule",
        description="Runs every layer for the previous (complete) UTC day.",
    )
    def daily_schedule(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
        when = context.scheduled_execution_time or dt.datetime.now(dt.UTC)
        day = when.astimezone(dt.UTC).date() - dt.timedelta(days=1)
        if day < config.start_date:
            return SkipReason(f"{day} is before start_date {config.start_date}")
        try:
            if not day_landed(config, day):
                return SkipReason(f"no landing folder for {day} yet")
        except PipelineError as exc:  # a bucket that cannot be reached: the sentence, not a traceback
            return SkipReason(str(exc))
        return RunRequest(
            run_key=f"schedule-{day.isoformat()}", partition_key=day.isoformat(), tags={SOURCE_TAG: "schedule"}
        )

    @sensor(
        job=daily,
        minimum_interval_seconds=auto.sensor_interval_seconds,
        default_status=sensor_status,
        name="landing_sensor",
        description="Starts a day's run when its landing folder is complete (_SUCCESS marker or quiet period).",
    )
    def landing_sensor(context: SensorEvaluationContext) -> list[RunRequest] | SkipReason:
        seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
        try:
            ready = complete_landing_days(config)
        except PipelineError as exc:
            return SkipReason(str(exc))
        known = set(partitions.get_partition_keys())
        requests = []
        for day, fingerprint in ready.items():
            if day in known and seen.get(day) != fingerprint:
                requests.append(
                    RunRequest(
                        run_key=f"landing-{day}-{fingerprint}", partition_key=day, tags={SOURCE_TAG: "landing_sensor"}
                    )
                )
                seen[day] = fingerprint
        context.update_cursor(json.dumps(seen, sort_keys=True))
        return requests or SkipReason("no newly completed landing folder")

    @asset_sensor(
        asset_key=AssetKey(["staging", "events"]),
        job=restate,
        name="restatement_sensor",
        default_status=sensor_status,
        description="Re-materializes scores, accounts and snapshots of as-of days made stale by late data.",
    )
    def restatement_sensor(
        context: SensorEvaluationContext, asset_event: EventLogEntry
    ) -> list[RunRequest] | SkipReason:
        return restatement_requests(context.instance, asset_event, config.model.window_days)

    return [daily_schedule], [landing_sensor, restatement_sensor]


def restatement_requests(
    instance: DagsterInstance, asset_event: EventLogEntry, window_days: int
) -> list[RunRequest] | SkipReason:
    """Run requests for the already-materialized as-of days a staging materialization made stale."""
    materialization = asset_event.asset_materialization
    if materialization is None or materialization.partition is None:
        return SkipReason("not a partitioned staging materialization")
    run = instance.get_run_by_id(asset_event.run_id) if asset_event.run_id else None
    if run is not None and run.tags.get(SOURCE_TAG) == "cli":
        return SkipReason("the CLI restates the days its runs make stale itself")
    late = materialization.metadata.get("late_event_dates")
    late_dates = [str(d) for d in late.value] if late is not None and isinstance(late.value, list) else []
    stale = stale_as_of_days(late_dates, materialization.partition, window_days)
    done = instance.get_materialized_partitions(AssetKey(["accounts", "account_scores"]))
    requests = [
        RunRequest(
            run_key=f"restate-{day}-{asset_event.run_id}",
            partition_key=day,
            tags={SOURCE_TAG: "restatement_sensor", "engagement/restated_by": materialization.partition},
        )
        for day in stale
        if day in done
    ]
    return requests or SkipReason("no materialized as-of day is stale")
