"""Errors that end a command with one sentence instead of a traceback, and stop signals.

The signal handling lives here, with the exception it raises, because every command needs it
and this module imports nothing heavy (the CLI installs it before importing Dagster).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from types import FrameType


class PipelineError(Exception):
    """A problem the user can fix; the message names it and says how.

    The CLI prints the message alone (no traceback) and exits non-zero.
    """


class ConfigError(PipelineError):
    """The configuration file is missing, unreadable or invalid."""


class InputError(PipelineError):
    """A landing folder, billing file or other input is missing or unusable."""


class CheckFailedError(PipelineError):
    """A blocking data-quality check failed, so downstream assets did not run."""


class DataFolderError(PipelineError):
    """The disk under a data folder is full, or the warehouse file is damaged: the message names
    the file or folder and what to do."""


class EngineError(PipelineError):
    """The staging engine (Spark) is unreachable or a job failed: the message names the master and
    the cause; the day's staging was left untouched."""


class DestinationsDownError(PipelineError):
    """A destination (Segment, the digest webhook) failed on some days while every day's exports were
    written: the command finishes its days, then ends non-zero with this sentence. `problem` is the
    sentence without what the command did despite it, for a command that says that in its own words."""

    def __init__(self, problem: str, done: str) -> None:
        super().__init__(f"{problem}; {done}")
        self.problem = problem


class Stopped(BaseException):
    """SIGINT or SIGTERM asked the command to stop.

    A BaseException, like KeyboardInterrupt, so that no `except Exception` on the way up turns
    the request into a failure; the CLI ends with one sentence and exit code 128 + signal.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _SignalLog:
    """The first stop signal that arrived, even while Dagster's own handlers were installed.

    During `execute_in_process` Dagster replaces the SIGINT handler (and points SIGTERM at it):
    a signal interrupts the step, whose transaction rolls back, and the run fails, but nothing
    says which signal it was. Python writes the number of every signal it handles to the
    wakeup fd, whoever's handler runs, so a pipe there tells SIGINT from SIGTERM afterwards.
    """

    def __init__(self) -> None:
        self.read_fd: int | None = None
        self.seen: int | None = None

    def poll(self) -> int | None:
        if self.read_fd is not None and self.seen is None:
            with contextlib.suppress(BlockingIOError):
                received = [s for s in os.read(self.read_fd, 512) if s in STOP_SIGNALS]
                self.seen = received[0] if received else None
        return self.seen


_signals = _SignalLog()


def _stop(signum: int, frame: FrameType | None) -> None:
    raise Stopped(signum)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """SIGINT and SIGTERM stop the command with `Stopped(signum)`: raised at once outside a Dagster
    run, and after it (`raise_if_stopped`) when it arrived during one. The previous handlers are
    restored on exit, so calling the CLI's `main` in-process (tests) leaves the process as it was."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals are delivered to the main thread only; nothing to install here
        return
    read_fd, write_fd = os.pipe()
    os.set_blocking(read_fd, False)
    os.set_blocking(write_fd, False)
    previous_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    previous = {s: signal.signal(s, _stop) for s in STOP_SIGNALS}
    _signals.read_fd, _signals.seen = read_fd, None
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler if handler is not None else signal.SIG_DFL)
        signal.set_wakeup_fd(previous_fd)
        _signals.read_fd, _signals.seen = None, None
        os.close(read_fd)
        os.close(write_fd)


def raise_if_stopped() -> None:
    """Raise `Stopped` if a stop signal arrived (during a Dagster run, where it only failed the run)."""
    signum = _signals.poll()
    if signum is not None:
        raise Stopped(signum)
