"""DayWriter on a temporary landing with a clock the test moves: day files, midnight, markers,
rotation, restarts and group commits."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from engagement_pipeline.collector.writer import DayWriter
from engagement_pipeline.ops.automation import folder_is_complete

DAY = dt.date(2026, 3, 9)
BEFORE_MIDNIGHT = dt.datetime(2026, 3, 9, 23, 59, 59, 900_000, tzinfo=dt.UTC)
AFTER_MIDNIGHT = dt.datetime(2026, 3, 10, 0, 0, 1, tzinfo=dt.UTC)
TICK_SECONDS = 0.05  # the writer's idle look at the clock, shortened for the tests
WAIT = 10.0


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def eventually(predicate: Callable[[], bool], seconds: float = WAIT) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def write(writer: DayWriter, data: bytes) -> BaseException | None:
    """Reserve, submit and wait (bounded) for the fsync; the error, if any."""
    finished = threading.Event()
    outcome: list[BaseException | None] = []

    def done(error: BaseException | None) -> None:
        outcome.append(error)
        finished.set()

    writer.submit(writer.reserve(), data, done)
    assert finished.wait(WAIT), "the writer did not complete the request"
    return outcome[0]


@pytest.fixture
def clock() -> Clock:
    return Clock(dt.datetime(2026, 3, 9, 12, 0, tzinfo=dt.UTC))


@pytest.fixture
def writer(tmp_path: Path, clock: Clock) -> Iterator[DayWriter]:
    w = DayWriter(tmp_path / "landing", clock=clock, tick_seconds=TICK_SECONDS)
    w.start()
    yield w
    w.stop()


def files(landing: Path, day: dt.date | None = None) -> list[Path]:
    return sorted(landing.glob(f"{day.isoformat() if day else '*'}/collector-*.jsonl"))


def test_lines_land_in_the_received_day_folder_and_are_on_disk_when_done(writer: DayWriter) -> None:
    assert write(writer, b'{"a":1}\n') is None
    assert write(writer, b'{"a":2}\n') is None
    (only,) = files(writer.landing)
    assert only.parent.name == DAY.isoformat()
    assert only.read_bytes() == b'{"a":1}\n{"a":2}\n'  # read back right after `done`: nothing buffered
    assert not (only.parent / "_SUCCESS").exists()  # the day is not over


def test_at_midnight_the_day_is_closed_and_marked_and_the_next_day_gets_its_own_file(
    writer: DayWriter, clock: Clock
) -> None:
    clock.now = BEFORE_MIDNIGHT
    write(writer, b'{"late":1}\n')
    folder = writer.landing / DAY.isoformat()
    assert not folder_is_complete(folder, "_SUCCESS", quiet_minutes=0)
    clock.now = AFTER_MIDNIGHT
    marker = folder / "_SUCCESS"
    assert eventually(marker.exists), "no marker after midnight"
    assert folder_is_complete(folder, "_SUCCESS", quiet_minutes=0)  # what the landing sensor asks
    write(writer, b'{"next":1}\n')
    assert [p.parent.name for p in files(writer.landing)] == ["2026-03-09", "2026-03-10"]
    assert not (writer.landing / "2026-03-10" / "_SUCCESS").exists()


def test_a_request_received_before_midnight_holds_the_marker_until_it_is_written(
    writer: DayWriter, clock: Clock
) -> None:
    clock.now = BEFORE_MIDNIGHT
    ticket = writer.reserve()  # received at 23:59:59.9, still being decoded when midnight passes
    clock.now = AFTER_MIDNIGHT
    time.sleep(10 * TICK_SECONDS)
    marker = writer.landing / DAY.isoformat() / "_SUCCESS"
    assert not marker.exists(), "the day was marked complete while one of its requests was not written"
    finished = threading.Event()
    writer.submit(ticket, b'{"last":1}\n', lambda error: finished.set())
    assert finished.wait(WAIT)
    assert eventually(marker.exists)
    assert files(writer.landing, DAY)[0].read_bytes() == b'{"last":1}\n'


def test_a_file_past_the_rotation_size_is_closed_and_the_next_lines_open_a_new_one(
    tmp_path: Path, clock: Clock
) -> None:
    w = DayWriter(tmp_path / "landing", rotate_bytes=100, clock=clock, tick_seconds=TICK_SECONDS)
    w.start()
    try:
        for i in range(5):
            write(w, b'{"n":%d,"pad":"%s"}\n' % (i, b"x" * 120))  # each line over the rotation size
    finally:
        w.stop()
    rotated = files(w.landing, DAY)
    assert len(rotated) == 5
    assert b"".join(p.read_bytes() for p in rotated).count(b"\n") == 5


def test_a_restart_never_appends_to_an_earlier_file_and_closes_the_days_it_left_open(
    tmp_path: Path, clock: Clock
) -> None:
    landing = tmp_path / "landing"
    first = DayWriter(landing, clock=Clock(clock.now), tick_seconds=TICK_SECONDS)  # its clock stops at noon
    first.start()
    write(first, b'{"a":1}\n')
    first.stop()
    (old,) = files(landing)
    # It died mid-write on the same day: its file ends in a torn line, and it never closed its day.
    with old.open("ab") as handle:
        handle.write(b'{"torn":tr')
    other = landing / "2026-03-08"
    other.mkdir()
    (other / "events.jsonl").write_text("{}\n")  # another copy job's day: not the collector's to mark
    clock.now = AFTER_MIDNIGHT
    second = DayWriter(landing, clock=clock, tick_seconds=TICK_SECONDS)
    second.start()
    try:
        assert (landing / DAY.isoformat() / "_SUCCESS").exists()
        assert not (other / "_SUCCESS").exists()
        write(second, b'{"b":1}\n')
    finally:
        second.stop()
    assert old.read_bytes() == b'{"a":1}\n{"torn":tr'  # the torn line stays a line of its own
    assert files(landing, AFTER_MIDNIGHT.date())[0].read_bytes() == b'{"b":1}\n'


def test_requests_waiting_together_share_one_commit(tmp_path: Path, clock: Clock) -> None:
    w = DayWriter(tmp_path / "landing", clock=clock, tick_seconds=TICK_SECONDS)
    done = threading.Semaphore(0)
    for i in range(50):  # queued before the writer thread runs: they form one group
        w.submit(w.reserve(), b'{"i":%d}\n' % i, lambda error: done.release())
    w.start()
    try:
        for _ in range(50):
            assert done.acquire(timeout=WAIT)
    finally:
        w.stop()
    assert (w.stats.commits, w.stats.requests) == (1, 50)


def test_without_a_marker_setting_no_day_is_marked(tmp_path: Path, clock: Clock) -> None:
    w = DayWriter(tmp_path / "landing", marker=None, clock=clock, tick_seconds=TICK_SECONDS)
    w.start()
    write(w, b"{}\n")
    clock.now = AFTER_MIDNIGHT
    time.sleep(10 * TICK_SECONDS)
    w.stop()
    assert not list(w.landing.glob("*/_SUCCESS"))


def test_a_failed_write_is_reported_and_the_next_one_goes_to_a_new_file(writer: DayWriter) -> None:
    write(writer, b'{"a":1}\n')
    (first,) = files(writer.landing)
    handle = writer._files[DAY]
    real_fd = handle.fd
    handle.fd = 987_654  # a closed descriptor: the write fails with EBADF, as a dead disk would fail it
    try:
        error = write(writer, b'{"lost":1}\n')
    finally:
        import os

        os.close(real_fd)
    assert isinstance(error, OSError)
    assert write(writer, b'{"b":1}\n') is None
    assert len(files(writer.landing)) == 2
    assert first.read_bytes() == b'{"a":1}\n'
