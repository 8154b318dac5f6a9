"""A failed or interrupted run explained in one sentence: a damaged warehouse, a full
disk, a blocking check, a signal.
"""

from __future__ import annotations

import datetime as dt
import errno
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import sqlalchemy.exc
from dagster import DagsterEventType, ExecuteInProcessResult

from engagement_pipeline.core.config import Config
from engagement_pipeline.core.errors import (
    CheckFailedError,
    DataFolderError,
    PipelineError,
)

# DuckDB's words for a file it cannot read as a database (a lock held by another process is not one).
_DAMAGED = (
    "not a valid DuckDB database file",
    "Corrupt database file",
    "Could not read enough bytes",
    "does not match stored checksum",
    "database file is corrupt",
)


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
        if cls_name.endswith(("PipelineError", "InputError", "ConfigError", "CheckFailedError", "EngineError")):
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


def interrupted(result: ExecuteInProcessResult) -> bool:
    """Whether the run failed because Dagster turned a signal into an interruption of its step."""
    for event in result.all_events:
        if event.event_type == DagsterEventType.STEP_FAILURE and event.step_failure_data is not None:
            if any(
                name in ("DagsterExecutionInterruptedError", "KeyboardInterrupt")
                for name, _ in _error_texts(event.step_failure_data.error)
            ):
                return True
    return False


def failed_steps(result: ExecuteInProcessResult) -> set[str]:
    """The keys of the steps that failed in a run (a blocking check's failure fails its step too)."""
    return {
        str(event.step_key)
        for event in result.all_events
        if event.event_type == DagsterEventType.STEP_FAILURE and event.step_key is not None
    }


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
