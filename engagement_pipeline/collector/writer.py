"""Durable appends to `<landing>/<received UTC day>/collector-<id>.jsonl`, group-committed.

The one rule: a request is answered 200 only after its lines are written and fsynced. A
single writer thread takes every request queued since its last commit, appends each day's
lines to that day's open file in one write, fsyncs each touched file once, and only then
completes the requests (group commit: while one fsync runs, the next group gathers).

- Files: a new process, a size over `rotate_bytes`, or a failed write starts a new file,
  opened with O_EXCL (nothing is ever appended to a file another process or an earlier
  run left behind, so a line torn by a crash stays a line of its own, which staging
  quarantines, and never swallows the next message). A new file's folder entry is fsynced.
- Days: the received day is read from the clock under the same lock that the day-closing
  check holds (`reserve`), so once the writer has seen midnight pass with nothing of the
  old day reserved or queued, nothing more can be written to that day: its file is closed
  and the completeness marker (`automation.success_marker`) written into its folder, which
  starts the day's run through the landing sensor. A collector that died before closing a
  day closes it when it starts again (only day folders holding collector files).
- Backlog: `reserve` refuses (`Backlogged`, answered 429 with Retry-After) once the bytes
  waiting for their fsync or the requests between reserve and fsync pass their bounds.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("engagement_pipeline.collector")

FILE_PREFIX = "collector-"
FILE_SUFFIX = ".jsonl"
TICK_SECONDS = 1.0  # how often an idle writer looks at the clock to close a finished day

Clock = Callable[[], dt.datetime]
Done = Callable[[BaseException | None], None]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Backlogged(Exception):
    """Too much accepted data waits for its fsync: the client should retry later."""


@dataclass(frozen=True)
class Ticket:
    """A request's place in a received day, taken before its lines are encoded."""

    received: dt.datetime

    @property
    def day(self) -> dt.date:
        return self.received.date()


@dataclass
class _Pending:
    day: dt.date
    data: bytes
    done: Done


@dataclass
class _OpenFile:
    path: Path
    fd: int
    size: int = 0


@dataclass
class WriterStats:
    commits: int = 0
    requests: int = 0
    bytes: int = 0
    files: list[str] = field(default_factory=list)


def fsync_dir(folder: Path) -> None:
    """Make a new entry in `folder` (a file, a sub-folder) survive a power loss."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


_sync = getattr(os, "fdatasync", os.fsync)  # the size change is data for fdatasync; macOS has only fsync


class DayWriter:
    """Appends encoded lines to day files; see the module docstring for the guarantees."""

    def __init__(
        self,
        landing: Path,
        *,
        rotate_bytes: int = 128 << 20,
        max_backlog_bytes: int = 64 << 20,
        max_backlog_requests: int = 2000,
        marker: str | None = "_SUCCESS",
        clock: Clock = utc_now,
        tick_seconds: float = TICK_SECONDS,
    ) -> None:
        self.landing = landing
        self.rotate_bytes = rotate_bytes
        self.max_backlog_bytes = max_backlog_bytes
        self.max_backlog_requests = max_backlog_requests
        self.marker = marker
        self.clock = clock
        self.tick_seconds = tick_seconds
        self.instance = f"{clock():%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
        self.stats = WriterStats()
        self._cond = threading.Condition()
        self._queue: list[_Pending] = []
        self._queued_bytes = 0
        self._reserved: dict[dt.date, int] = {}
        self._stopping = False
        self._files: dict[dt.date, _OpenFile] = {}
        self._written: set[dt.date] = set()  # days this process wrote to and has not closed yet
        self._sequence = 0
        self._thread: threading.Thread | None = None
        self.broken: BaseException | None = None
        self._committing: list[_Pending] = []

    # --- the request side (the event loop's thread) -------------------------------------------

    def overloaded(self) -> bool:
        return (
            self._queued_bytes >= self.max_backlog_bytes
            or sum(self._reserved.values()) + len(self._queue) >= self.max_backlog_requests
        )

    def reserve(self) -> Ticket:
        """Stamp a request's receipt (its day); `Backlogged` when the backlog is full, OSError when
        the writer thread has stopped."""
        with self._cond:
            if self.broken is not None:
                raise OSError(f"the writer stopped: {self.broken!r}")
            if self._stopping:
                raise Backlogged("the collector is stopping")
            if self.overloaded():
                raise Backlogged("too many accepted bytes wait for the disk")
            ticket = Ticket(self.clock())
            self._reserved[ticket.day] = self._reserved.get(ticket.day, 0) + 1
            return ticket

    def release(self, ticket: Ticket) -> None:
        """A reserved request that will not be written (it was refused after reserve)."""
        with self._cond:
            self._unreserve(ticket.day)
            self._cond.notify()

    def submit(self, ticket: Ticket, data: bytes, done: Done) -> None:
        """Queue a reserved request's lines; `done(None)` is called after their fsync, `done(error)`
        if they could not be written (from the writer thread)."""
        with self._cond:
            self._unreserve(ticket.day)
            self._queue.append(_Pending(ticket.day, data, done))
            self._queued_bytes += len(data)
            self._cond.notify()

    def _unreserve(self, day: dt.date) -> None:
        left = self._reserved[day] - 1
        if left:
            self._reserved[day] = left
        else:
            del self._reserved[day]

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Check the landing folder can be written, close the days an earlier run left open, start."""
        self.landing.mkdir(parents=True, exist_ok=True)
        probe = self.landing / f".{FILE_PREFIX}probe-{self.instance}"
        probe.write_bytes(b"")
        probe.unlink()
        self._close_days_left_open()
        self._thread = threading.Thread(target=self._run, name="collector-writer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Write what is queued, close the files (a finished day gets its marker), stop the thread."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join()
        for day in list(self._files):
            self._close_file(day)

    # --- the writer thread -------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._loop()
        except Exception as exc:  # a bug: fail what waits (never leave a request hanging) and refuse the rest
            log.critical(
                "the collector's writer stopped: %r; it refuses every request (503) until restarted", exc, exc_info=True
            )
            with self._cond:
                self.broken, waiting, self._queue = exc, self._committing + self._queue, []
            for pending in waiting:
                pending.done(OSError(f"the writer stopped: {exc!r}"))

    def _loop(self) -> None:
        while True:
            with self._cond:
                if not self._queue and (not self._stopping or self._reserved):
                    self._cond.wait(self.tick_seconds)
                group, self._queue = self._queue, []
                finished = self._stopping and not group and not self._reserved
            if group:
                self._committing = group
                self._commit(group)
                self._committing = []
            self._close_finished_days()
            if finished:
                return

    def _commit(self, group: list[_Pending]) -> None:
        by_day: dict[dt.date, list[_Pending]] = {}
        for pending in group:
            by_day.setdefault(pending.day, []).append(pending)
        for day, items in by_day.items():
            data = b"".join(p.data for p in items)
            error: OSError | None = None
            handle: _OpenFile | None = None
            try:
                handle = self._file(day)
                write_all(handle.fd, data)
                _sync(handle.fd)
                handle.size += len(data)
            except OSError as exc:
                error, handle = exc, None
                log.error("writing %d requests for %s failed: %s", len(items), day, exc)
                self._abandon_file(day)
            with self._cond:
                self._queued_bytes -= len(data)
            self.stats.commits += 1
            self.stats.requests += len(items)
            self.stats.bytes += len(data) if error is None else 0
            for pending in items:
                pending.done(error)
            if handle is not None and handle.size >= self.rotate_bytes:
                self._close_file(day)

    def _file(self, day: dt.date) -> _OpenFile:
        handle = self._files.get(day)
        if handle is not None:
            return handle
        folder = self.landing / day.isoformat()
        if not folder.is_dir():
            folder.mkdir(parents=True, exist_ok=True)
            fsync_dir(self.landing)
        while True:
            self._sequence += 1
            path = folder / f"{FILE_PREFIX}{self.instance}-{self._sequence:04d}{FILE_SUFFIX}"
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
                break
            except FileExistsError:
                continue
        fsync_dir(folder)
        handle = self._files[day] = _OpenFile(path, fd)
        self._written.add(day)
        self.stats.files.append(str(path))
        log.info("opened %s", path.relative_to(self.landing))
        return handle

    def _abandon_file(self, day: dt.date) -> None:
        """After a failed write or fsync the file may end in a torn line: never append to it again."""
        handle = self._files.pop(day, None)
        if handle is not None:
            with contextlib.suppress(OSError):
                os.close(handle.fd)

    def _close_file(self, day: dt.date) -> None:
        handle = self._files.pop(day, None)
        if handle is None:
            return
        try:
            _sync(handle.fd)
        finally:
            os.close(handle.fd)
        log.info("closed %s (%d bytes)", handle.path.relative_to(self.landing), handle.size)

    def _close_finished_days(self) -> None:
        """Close the files of the days that are over, and mark those days complete.

        The clock and what is still reserved or queued are read under the lock `reserve` takes,
        so a day found over and idle here can never receive another request."""
        with self._cond:
            today = self.clock().date()
            busy = set(self._reserved) | {p.day for p in self._queue}
        for day in sorted(d for d in self._written if d < today and d not in busy):
            try:
                self._close_file(day)
                self._mark(self.landing / day.isoformat())
            except OSError as exc:  # tried again at the next tick
                log.error("closing day %s failed: %s", day, exc)
                continue
            self._written.discard(day)

    def _close_days_left_open(self) -> None:
        """Mark the finished days an earlier collector wrote to and did not close (it was killed)."""
        today = self.clock().date()
        for folder in sorted(self.landing.iterdir()):
            try:
                day = dt.date.fromisoformat(folder.name)
            except ValueError:
                continue
            if day < today and folder.is_dir() and any(folder.glob(f"{FILE_PREFIX}*{FILE_SUFFIX}")):
                self._mark(folder)

    def _mark(self, folder: Path) -> None:
        if self.marker is None:
            return
        marker = folder / self.marker
        if marker.exists():
            return
        fd = os.open(marker, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        fsync_dir(folder)
        log.info("day %s is complete: wrote %s", folder.name, self.marker)
