"""Materialize daily partitions through the persistent Dagster instance, day by day.

Runs are recorded in the same instance `make ui` opens (DAGSTER_HOME under the data
folder), so every materialization, check result and metadata value shows in the UI.

Failures that are not the pipeline's own end in one sentence too: a stop signal (`Stopped`,
see `errors.stop_on_signals`), a full disk and a damaged warehouse file (`DataFolderError`, see
`explain_exception`), whether they surface inside a step or in Dagster's own storage.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from dagster import AssetKey, ExecuteInProcessResult

from engagement_pipeline.core.config import Config
from engagement_pipeline.core.errors import (
    DestinationsDownError,
    PipelineError,
    Stopped,
    raise_if_stopped,
)
from engagement_pipeline.core.keys import DESTINATIONS_STEP
from engagement_pipeline.ops.failures import check_warehouse, explain_failure, failed_steps, interrupted
from engagement_pipeline.ops.instance import open_instance, release_dead_runs
from engagement_pipeline.raw.files import landed_days
from engagement_pipeline.staging.coverage import Coverage

# The CLI explains a failure in one sentence itself; the full logs stay in the instance for the UI.
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def resolve_days(config: Config, date: dt.date | None, start: dt.date | None, end: dt.date | None) -> list[dt.date]:
    """The days to run: one date, a range, or (neither) start_date through the newest landed day.

    The landed days are the day folders of every source (local folders listed, buckets listed
    through `raw.files.landed_days`; a missing folder or bucket is one sentence)."""
    sources = config.landing_sources
    for s in sources:
        if not s.remote and not s.local.is_dir():
            key = "paths.landing" if config.sources is None else f"sources[{s.name}].landing"
            raise PipelineError(
                f"landing folder {s.local} does not exist: generate demo data with `engagement-pipeline generate` "
                f"or set {key} in {config.source or 'the config'}."
            )
    where = ", ".join(str(s.landing) for s in sources)
    landed = landed_days(sources)
    if date is not None:
        start = end = date
    if start is None and end is None:
        if not landed:
            raise PipelineError(f"landing {where} has no day folders (YYYY-MM-DD): land some data first.")
        if config.start_date > landed[-1]:
            today = dt.datetime.now(dt.UTC).date()
            future = f" and after today ({today})" if config.start_date > today else ""
            raise PipelineError(
                f"start_date {config.start_date} in {config.source or 'the config'} is after the newest landed day "
                f"{landed[-1]}{future}: set start_date to the first day to score (the landed days run from "
                f"{landed[0]}), or land days from {config.start_date} on."
            )
        start, end = config.start_date, landed[-1]
    if start is None or end is None:
        raise PipelineError("give both --start and --end, or --date, or neither (to run every landed day).")
    if end < start:
        raise PipelineError(f"--end {end} is before --start {start}: swap them.")
    if start < config.start_date:
        raise PipelineError(
            f"{start} is before start_date {config.start_date}: choose a later day or move start_date in the config."
        )
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    present = set(landed)
    missing = [d for d in days if d not in present]
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise PipelineError(
            f"no landing folder for {missing[0]}{more} in {where}: land those days' files or run a range that has data."
        )
    return days


@dataclass(frozen=True)
class DayRun:
    day: dt.date
    stage: str  # "all" (one run per day), "staging", "model" or "restate"
    run_id: str
    seconds: float
    lines: int
    coverage: Coverage | None = None  # staged days: what the model will not see (`staging/coverage.py`)


@contextlib.contextmanager
def warehouse_lock(config: Config) -> Iterator[None]:
    """One CLI writer per warehouse: a second `run` waits `automation.lock_wait_seconds`, then
    stops with one sentence instead of a DuckDB lock traceback half-way through a day."""
    path = Path(str(config.paths.warehouse) + ".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the whole run
    deadline = time.monotonic() + config.automation.lock_wait_seconds
    try:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "another process"
                    raise PipelineError(
                        f"the warehouse {config.paths.warehouse} is being written by {holder}: wait for it to "
                        f"finish, or set automation.lock_wait_seconds to wait for it automatically."
                    ) from None
                time.sleep(0.5)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} (started {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%S} UTC)")
        handle.flush()
        yield
    finally:
        handle.close()


# --- A full disk, a damaged warehouse -------------------------------------------------------------


# Anything else (another process holds the file): the run's own connection waits for it, as before.


def run_days(
    config: Config,
    days: list[dt.date],
    on_run: Callable[[DayRun], None] | None = None,
    restate: bool = True,
    stage_first: bool = True,
    model_only: bool = False,
    source: str = "cli",
) -> list[DayRun]:
    """Materialize every asset for the days, in order; stop at the first failure.

    With `model_only` (a rescore), only the model job (scores through destinations) runs, a day at a
    time, over what is already staged. `source` tags the runs (`engagement/source`) in the instance.

    With `restate`, each day is staged, the earlier as-of days its late data made stale
    are restated (scores, accounts, snapshots), then the day is scored and exported, so
    its exports see the restated history; a range with `stage_first` stages every day
    first, so late events inside it count everywhere. Without `restate` (the demo), each
    day is one run of every layer, as the daily schedule runs it.
    """
    from engagement_pipeline.definitions import build_definitions
    from engagement_pipeline.ops.automation import DAILY_JOB, MODEL_JOB, RESTATE_JOB, STAGE_JOB, stale_as_of_days

    with warehouse_lock(config):
        check_warehouse(config.paths.warehouse)
        instance = open_instance(config)
        release_dead_runs(instance)
        defs = build_definitions(config)
        done: list[DayRun] = []

        resolved: dict[str, object] = {}
        destination_failures: list[PipelineError] = []

        def execute(job_name: str, stage: str, day: dt.date) -> ExecuteInProcessResult:
            started = time.perf_counter()
            if job_name not in resolved:  # resolving a job builds it: once per command, not per day
                resolved[job_name] = defs.resolve_job_def(job_name)
            result = resolved[job_name].execute_in_process(  # type: ignore[attr-defined]
                partition_key=day.isoformat(),
                instance=instance,
                raise_on_error=False,
                run_config=QUIET_RUN_CONFIG,
                tags={"engagement/source": source},
            )
            raise_if_stopped()  # a signal during the run interrupted its step (rolled back) and failed it
            if not result.success:
                if interrupted(result):  # interrupted, but not through `stop_on_signals` (no record of which)
                    raise Stopped(signal.SIGINT)
                if not failed_steps(result) <= {DESTINATIONS_STEP}:
                    raise explain_failure(result, day, config)
                # A destination that is down never blocks the exports: the day is done, the next days
                # run, and the command ends non-zero with the destination's sentence after them.
                destination_failures.append(PipelineError(f"{day}: {explain_failure(result, day, config)}"))
            run = DayRun(
                day, stage, result.run_id, time.perf_counter() - started, _lines_landed(result), _coverage(result, day)
            )
            done.append(run)
            if on_run:
                on_run(run)
            return result

        def restate_stale(stale: set[str], skip: set[str]) -> None:
            """Recompute the as-of days late data made stale that were already computed."""
            materialized = instance.get_materialized_partitions(AssetKey(["accounts", "account_scores"]))
            for key in sorted((stale & materialized) - skip):
                execute(RESTATE_JOB, "restate", dt.date.fromisoformat(key))

        window = config.model.window_days
        try:
            if model_only:
                for day in days:
                    execute(MODEL_JOB, "model", day)
            elif not restate:
                for day in days:
                    execute(DAILY_JOB, "all", day)
            elif stage_first and len(days) > 1:
                # Stage the whole range, restate what it made stale before it, then score and
                # export every day: the exports see the restated history.
                stale: set[str] = set()
                for day in days:
                    stale.update(
                        stale_as_of_days(_late_dates(execute(STAGE_JOB, "staging", day)), day.isoformat(), window)
                    )
                restate_stale(stale, {d.isoformat() for d in days})
                for day in days:
                    execute(MODEL_JOB, "model", day)
            else:
                # Day by day: stage it, restate the earlier days it made stale, then score and export it.
                for day in days:
                    stale = set(
                        stale_as_of_days(_late_dates(execute(STAGE_JOB, "staging", day)), day.isoformat(), window)
                    )
                    restate_stale(stale, {day.isoformat()})
                    execute(MODEL_JOB, "model", day)
            if destination_failures:
                more = len(destination_failures) - 1
                also = f" (and on {more} more day{'s' if more > 1 else ''})" if more else ""
                first = str(destination_failures[0]).rstrip(".")
                raise DestinationsDownError(f"{first}{also}", "the exports of every day were written.")
        finally:
            instance.dispose()
        return done


def _late_dates(result: ExecuteInProcessResult) -> list[str]:
    for event in result.get_asset_materialization_events():
        mat = event.step_materialization_data.materialization
        if mat.asset_key.path == ["staging", "events"]:
            value = mat.metadata.get("late_event_dates")
            return [str(d) for d in cast(list[str], value.value)] if value is not None else []
    return []


def _coverage(result: ExecuteInProcessResult, day: dt.date) -> Coverage | None:
    for event in result.get_asset_materialization_events():
        mat = event.step_materialization_data.materialization
        if mat.asset_key.path == ["staging", "events"]:
            value = mat.metadata.get("input_coverage")
            if value is not None and isinstance(value.value, dict):
                return Coverage.from_metadata(day, value.value)
    return None


def _lines_landed(result: ExecuteInProcessResult) -> int:
    for event in result.get_asset_materialization_events():
        mat = event.step_materialization_data.materialization
        if mat.asset_key.path == ["raw", "landed_lines"]:
            value = mat.metadata.get("dagster/row_count")
            return int(cast(int, value.value)) if value is not None else 0
    return 0
