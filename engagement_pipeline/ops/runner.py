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
import errno
import fcntl
import json
import os
import re
import signal
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import duckdb
import sqlalchemy.exc
from dagster import AssetKey, DagsterEventType, DagsterInstance, DagsterRunStatus, ExecuteInProcessResult, RunsFilter
from dagster._core.execution.compute_logs import redirect_to_file
from dagster._core.storage.compute_log_manager import CapturedLogContext, ComputeIOType
from dagster._core.storage.local_compute_log_manager import IO_TYPE_EXTENSION, LocalComputeLogManager
from dagster._serdes import ConfigurableClassData
from dagster._utils import ensure_file, touch_file

from engagement_pipeline.core.config import CONFIG_ENV_VAR, Config
from engagement_pipeline.core.errors import (
    CheckFailedError,
    DataFolderError,
    PipelineError,
    Stopped,
    raise_if_stopped,
)
from engagement_pipeline.raw.files import day_folder

INSTANCE_YAML = """\
# Written by engagement-pipeline: the instance shared by the CLI and `make ui`.
telemetry:
  enabled: false
# DuckDB allows one writer: one run at a time, and one step in the warehouse pool.
concurrency:
  runs:
    max_concurrent_runs: 1
  pools:
    default_limit: 1
# Steps' stdout and stderr kept for the UI, without mirroring them to the terminal.
compute_logs:
  module: engagement_pipeline.ops.runner
  class: CapturedComputeLogManager
  config:
    base_dir: {storage}
"""
# The CLI explains a failure in one sentence itself; the full logs stay in the instance for the UI.
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def instance_home(config: Config) -> Path:
    """The configured instance folder, created with its dagster.yaml if new."""
    home = config.paths.dagster_home
    assert home is not None
    home.mkdir(parents=True, exist_ok=True)
    settings = home / "dagster.yaml"
    ours = not settings.exists() or settings.read_text(encoding="utf-8").startswith("# Written by engagement-pipeline")
    wanted = INSTANCE_YAML.format(storage=json.dumps(str(home.resolve() / "storage")))
    if ours and (not settings.exists() or settings.read_text(encoding="utf-8") != wanted):
        settings.write_text(wanted, encoding="utf-8")
    return home


class CapturedComputeLogManager(LocalComputeLogManager):
    """Dagster's local compute logs (each step's stdout and stderr in the instance, for the UI), not
    mirrored to the terminal.

    The stock manager mirrors each stream of each step with a `tail -F` and a Python watcher
    process. Ctrl-C reaches the terminal's whole foreground group, so every watcher printed a
    KeyboardInterrupt traceback under the CLI's one sentence; and spawning four processes per
    step costs time. The CLI reports progress and failures itself; the UI reads the same files.
    """

    @contextlib.contextmanager
    def capture_logs(self, log_key: Sequence[str]) -> Iterator[CapturedLogContext]:
        out = ensure_file(self.get_captured_local_path(log_key, IO_TYPE_EXTENSION[ComputeIOType.STDOUT]))
        err = ensure_file(self.get_captured_local_path(log_key, IO_TYPE_EXTENSION[ComputeIOType.STDERR]))
        with redirect_to_file(sys.stdout, out), redirect_to_file(sys.stderr, err):
            yield CapturedLogContext(log_key)
        touch_file(self.complete_artifact_path(log_key))  # the UI's sign that the capture is complete

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData | None,
                          config_value: Mapping[str, Any]) -> CapturedComputeLogManager:
        return cls(inst_data=inst_data, **config_value)


def ui_environment(config: Config) -> dict[str, str]:
    """Environment for `dagster dev`: the same instance and the same config as the CLI."""
    env = dict(os.environ, DAGSTER_HOME=str(instance_home(config)))
    if config.source is not None:
        env[CONFIG_ENV_VAR] = str(config.source.resolve())
    return env


def open_instance(config: Config) -> DagsterInstance:
    """The persistent instance under the data folder (no process-wide DAGSTER_HOME needed)."""
    return DagsterInstance.from_config(str(instance_home(config)))


def landed_days(landing: Path) -> list[dt.date]:
    days = []
    if landing.is_dir():
        for path in landing.iterdir():
            try:
                days.append(dt.date.fromisoformat(path.name))
            except ValueError:
                continue
    return sorted(days)


def resolve_days(config: Config, date: dt.date | None, start: dt.date | None, end: dt.date | None) -> list[dt.date]:
    """The days to run: one date, a range, or (neither) start_date through the newest landed day."""
    landing = config.paths.landing
    if not landing.is_dir():
        raise PipelineError(
            f"landing folder {landing} does not exist: generate demo data with `engagement-pipeline generate` "
            f"or set paths.landing in {config.source or 'the config'}."
        )
    if date is not None:
        start = end = date
    if start is None and end is None:
        landed = landed_days(landing)
        if not landed:
            raise PipelineError(f"landing folder {landing} has no day folders (YYYY-MM-DD): land some data first.")
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
    missing = [d for d in days if not day_folder(landing, d).is_dir()]
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise PipelineError(
            f"no landing folder for {missing[0]}{more} in {landing}: land those days' files or run a range that has data."
        )
    return days


@dataclass(frozen=True)
class DayRun:
    day: dt.date
    stage: str          # "all" (one run per day), "staging", "model" or "restate"
    run_id: str
    seconds: float
    lines: int


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

# DuckDB's words for a file it cannot read as a database (a lock held by another process is not one).
_DAMAGED = ("not a valid DuckDB database file", "Corrupt database file", "Could not read enough bytes",
            "does not match stored checksum", "database file is corrupt")
_FULL = ("No space left on device", "Disk quota exceeded", "database or disk is full", "File too large")
_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_QUOTED_PATH = re.compile(r"""["'](/[^"']+)["']""")


def warehouse_problem(message: str, warehouse: Path) -> DataFolderError | None:
    """One sentence for a warehouse file DuckDB cannot read, or None if `message` is about something else."""
    if not any(sign in message for sign in _DAMAGED):
        return None
    return DataFolderError(
        f"the warehouse {warehouse} is damaged (DuckDB cannot read it as a database): restore it from a backup, or "
        f"move it away and run every day again (`engagement-pipeline run`) to rebuild it from the landing folder."
    )


def disk_full_problem(folder: Path) -> DataFolderError:
    return DataFolderError(
        f"the disk holding {folder} is full: free some space there (or move the data folder to a larger disk) "
        f"and run the same command again; the day being written was rolled back."
    )


def _folder_in(message: str, default: Path) -> Path:
    """The folder of the first absolute path quoted in an error message, else `default`."""
    match = _QUOTED_PATH.search(message)
    return Path(match.group(1)).parent if match else default


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)  # SQLAlchemy keeps the driver's error there
        current = orig if isinstance(orig, BaseException) else (current.__cause__ or current.__context__)


def check_warehouse(warehouse: Path, read_only: bool = False) -> None:
    """Open the warehouse once before using it, so a damaged file is one sentence at once rather than
    a step failure after dagster-duckdb has retried the connection for two minutes (or, for the read-only
    commands, `core.warehouse.connect`'s sentence about a lock)."""
    if not warehouse.exists():
        return
    try:
        duckdb.connect(str(warehouse), read_only=read_only).close()
    except duckdb.Error as exc:
        problem = warehouse_problem(str(exc), warehouse)
        if problem is not None:
            raise problem from None
        # Anything else (another process holds the file): the run's own connection waits for it, as before.


def explain_exception(exc: BaseException, config: Config) -> PipelineError | None:
    """One sentence for a failure of the data folder's disk or files raised outside any step (Dagster's
    instance storage, the CLI's own reads), or None for an unexpected error (left as a traceback)."""
    home = config.paths.dagster_home or config.paths.data_dir
    for error in _chain(exc):
        message = str(error)
        if isinstance(error, OSError) and error.errno in _FULL_ERRNOS:
            return disk_full_problem(Path(error.filename).parent if error.filename else config.paths.data_dir)
        in_instance = isinstance(error, sqlite3.Error | sqlalchemy.exc.DBAPIError)
        if any(sign in message for sign in _FULL):
            return disk_full_problem(home if in_instance else _folder_in(message, config.paths.data_dir))
        if isinstance(error, duckdb.Error):
            problem = warehouse_problem(message, config.paths.warehouse)
            if problem is not None:
                return problem
        if isinstance(error, sqlite3.DatabaseError):  # the driver's error under SQLAlchemy's: not a full disk
            return DataFolderError(
                f"the Dagster instance in {home} cannot be written ({message.splitlines()[0]}): check that its disk "
                f"has free space and the folder is writable, then run the same command again."
            )
    return None


def _user_message(error: object) -> str | None:
    """The message of the first PipelineError in a serialized error's cause chain."""
    while error is not None:
        cls_name = getattr(error, "cls_name", "") or ""
        if cls_name.endswith(("PipelineError", "InputError", "ConfigError", "CheckFailedError")):
            return str(getattr(error, "message", "")).split(": ", 1)[-1].strip()
        error = getattr(error, "cause", None) or getattr(error, "context", None)
    return None


def _error_texts(error: object) -> Iterator[tuple[str, str]]:
    """(class name, message) of a serialized error and its causes."""
    seen = 0
    while error is not None and seen < 20:
        yield getattr(error, "cls_name", "") or "", str(getattr(error, "message", "") or "")
        error = getattr(error, "cause", None) or getattr(error, "context", None)
        seen += 1


def _interrupted(result: ExecuteInProcessResult) -> bool:
    """Whether the run failed because Dagster turned a signal into an interruption of its step."""
    for event in result.all_events:
        if event.event_type == DagsterEventType.STEP_FAILURE and event.step_failure_data is not None:
            if any(name in ("DagsterExecutionInterruptedError", "KeyboardInterrupt")
                   for name, _ in _error_texts(event.step_failure_data.error)):
                return True
    return False


def explain_failure(result: ExecuteInProcessResult, day: dt.date, config: Config | None = None) -> PipelineError:
    """One sentence for a failed run: the blocking check that failed, or the step's error (a full disk or
    a damaged warehouse said as such when `config` is given)."""
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed and evaluation.severity.value == "ERROR":
            key = evaluation.asset_check_key
            description = evaluation.description or "see the check's metadata in the UI"
            return CheckFailedError(
                f"blocking check '{key.name}' on {key.asset_key.to_user_string()} failed for {day}: {description}; "
                f"downstream assets were not materialized (open `make ui` for the failing sample)."
            )
    for event in result.all_events:
        if event.event_type == DagsterEventType.STEP_FAILURE and event.step_failure_data is not None:
            error = event.step_failure_data.error
            message = _user_message(error)
            if message:
                return PipelineError(message)
            if config is not None:
                texts = " | ".join(text for _, text in _error_texts(error))
                problem = warehouse_problem(texts, config.paths.warehouse)
                if problem is not None:
                    return problem
                if any(sign in texts for sign in _FULL):
                    return disk_full_problem(_folder_in(texts, config.paths.data_dir))
            root: Any = error
            while getattr(root, "cause", None) is not None:
                root = root.cause
            first = (getattr(root, "message", "") or "unknown error").strip().splitlines()[0]
            return PipelineError(
                f"step {event.step_key} failed for {day}: {first} (full error in run {result.run_id}, `make ui`)."
            )
    return PipelineError(f"the run for {day} failed (run {result.run_id}); open `make ui` to see why.")


def run_days(
    config: Config,
    days: list[dt.date],
    on_run: Callable[[DayRun], None] | None = None,
    restate: bool = True,
    stage_first: bool = True,
) -> list[DayRun]:
    """Materialize every asset for the days, in order; stop at the first failure.

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

        def execute(job_name: str, stage: str, day: dt.date) -> ExecuteInProcessResult:
            started = time.perf_counter()
            if job_name not in resolved:  # resolving a job builds it: once per command, not per day
                resolved[job_name] = defs.resolve_job_def(job_name)
            result = resolved[job_name].execute_in_process(  # type: ignore[attr-defined]
                partition_key=day.isoformat(), instance=instance, raise_on_error=False,
                run_config=QUIET_RUN_CONFIG, tags={"engagement/source": "cli"},
            )
            raise_if_stopped()  # a signal during the run interrupted its step (rolled back) and failed it
            if not result.success:
                if _interrupted(result):  # interrupted, but not through `stop_on_signals` (no record of which)
                    raise Stopped(signal.SIGINT)
                raise explain_failure(result, day, config)
            run = DayRun(day, stage, result.run_id, time.perf_counter() - started, _lines_landed(result))
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
            if not restate:
                for day in days:
                    execute(DAILY_JOB, "all", day)
            elif stage_first and len(days) > 1:
                # Stage the whole range, restate what it made stale before it, then score and
                # export every day: the exports see the restated history.
                stale: set[str] = set()
                for day in days:
                    stale.update(stale_as_of_days(_late_dates(execute(STAGE_JOB, "staging", day)),
                                                  day.isoformat(), window))
                restate_stale(stale, {d.isoformat() for d in days})
                for day in days:
                    execute(MODEL_JOB, "model", day)
            else:
                # Day by day: stage it, restate the earlier days it made stale, then score and export it.
                for day in days:
                    stale = set(stale_as_of_days(_late_dates(execute(STAGE_JOB, "staging", day)),
                                                 day.isoformat(), window))
                    restate_stale(stale, {day.isoformat()})
                    execute(MODEL_JOB, "model", day)
        finally:
            instance.dispose()
        return done


def release_dead_runs(instance: DagsterInstance) -> list[str]:
    """Mark CLI runs a crash left 'started' as failed and free their pool slots.

    Called while holding the warehouse lock, so no CLI run can still be alive: a run
    killed mid-step (SIGKILL, power loss) never released its slot of the warehouse
    pool, and the next run would wait for it forever.
    """
    released = []
    for run in instance.get_runs(filters=RunsFilter(statuses=[DagsterRunStatus.STARTED, DagsterRunStatus.STARTING],
                                                    tags={"engagement/source": "cli"})):
        instance.report_run_failed(run)
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        released.append(run.run_id)
    return released


def _late_dates(result: ExecuteInProcessResult) -> list[str]:
    for event in result.get_asset_materialization_events():
        mat = event.step_materialization_data.materialization
        if mat.asset_key.path == ["staging", "events"]:
            value = mat.metadata.get("late_event_dates")
            return [str(d) for d in cast(list[str], value.value)] if value is not None else []
    return []


def _lines_landed(result: ExecuteInProcessResult) -> int:
    for event in result.get_asset_materialization_events():
        mat = event.step_materialization_data.materialization
        if mat.asset_key.path == ["raw", "landed_lines"]:
            value = mat.metadata.get("dagster/row_count")
            return int(cast(int, value.value)) if value is not None else 0
    return 0
