"""SIGKILL the collector during a stream of batches, restart it, and lose nothing acknowledged.

Four sender threads post batches of 100 messages to `engagement-pipeline collect` on
127.0.0.1; the collector is SIGKILLed once 30 batches are acknowledged, while others are in
flight, then started again on the same port. A sender retries every batch it has no 200 for
(refused, reset, timed out) with the same messageIds, as Segment's libraries do. Then the
day runs through raw and staging:

- every acknowledged message is in `staging.events` exactly once (a batch written but not
  acknowledged before the kill comes twice, and staging's de-duplication keeps one);
- every landed line is accounted for: lines in raw = staged + duplicates + quarantined;
- a torn line (a SIGKILL during a write of several system calls can leave one, a power loss too;
  the test appends half a line to the killed process's file to be sure of one) is quarantined,
  and it is the only line that is.

Bounded: 120 batches, a 60 s deadline for the stream, everything on 127.0.0.1.
"""

from __future__ import annotations

import datetime as dt
import queue
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from engagement_pipeline.core.config import load_config
from tests.collector.server import landed_days, now_text, send_batch, start_collector
from tests.conftest import base_config, read_warehouse, run_days, write_config

pytestmark = pytest.mark.slow  # two collector processes, a stream of batches, raw + staging: ~20 s

BATCHES, BATCH_SIZE, SENDERS = 120, 100, 4
KILL_AFTER = 30  # acknowledged batches
DEADLINE_SECONDS = 60.0


def batch(i: int) -> list[dict[str, Any]]:
    ts = now_text()
    return [
        {
            "type": "track",
            "messageId": f"kill-{i:04d}-{j:03d}",
            "userId": f"user-{j % 7}",
            "event": "Logged In",
            "timestamp": ts,
            "context": {"groupId": f"acct-{j % 3}"},
        }
        for j in range(BATCH_SIZE)
    ]


class Stream:
    """Senders that retry each batch until it is acknowledged; the target URL can change under them."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.todo: queue.Queue[int] = queue.Queue()
        for i in range(BATCHES):
            self.todo.put(i)
        self.acked: set[int] = set()
        self.failures = 0
        self.lock = threading.Lock()
        self.deadline = time.monotonic() + DEADLINE_SECONDS

    def send(self) -> None:
        while time.monotonic() < self.deadline:
            try:
                i = self.todo.get(timeout=0.1)
            except queue.Empty:
                if len(self.acked) == BATCHES:
                    return
                continue
            try:
                status = send_batch(self.url, batch(i), timeout=5.0)
            except OSError:  # refused while down, reset by the kill, or timed out
                status = 0
            with self.lock:
                if status == 200:
                    self.acked.add(i)
                else:
                    self.failures += 1
            if status != 200:
                self.todo.put(i)  # the same messageIds again
                time.sleep(0.05)


def test_a_sigkilled_collector_loses_no_acknowledged_message_and_staging_has_each_once(tmp_path: Path) -> None:
    today = dt.datetime.now(dt.UTC).date()
    config_path = write_config(tmp_path, base_config((today - dt.timedelta(days=3)).isoformat()))
    config = load_config(config_path)
    first = start_collector(config_path, tmp_path / "collector-1.log")
    stream = Stream(first.url)
    senders = [threading.Thread(target=stream.send, daemon=True) for _ in range(SENDERS)]
    for t in senders:
        t.start()
    second = None
    try:
        while len(stream.acked) < KILL_AFTER and time.monotonic() < stream.deadline:
            time.sleep(0.005)
        assert len(stream.acked) >= KILL_AFTER, "the stream did not get going"
        first.kill()
        acked_before_kill = len(stream.acked)
        killed_files = sorted(config.paths.landing.glob("*/collector-*.jsonl"))
        # What a power loss (or a kill mid-write) leaves: half a line at the end of a file.
        with killed_files[-1].open("ab") as handle:
            handle.write(b'{"type":"track","messageId":"torn-1","userId":"u","ev')
        port = first.url.rsplit(":", 1)[1]
        second = start_collector(config_path, tmp_path / "collector-2.log", port=int(port))
        for t in senders:
            t.join(timeout=max(0.0, stream.deadline - time.monotonic()) + 5)
    finally:
        code = second.stop() if second is not None else None
        first.stop()
    assert len(stream.acked) == BATCHES, f"only {len(stream.acked)} of {BATCHES} batches acknowledged in time"
    assert code == 0
    assert acked_before_kill < BATCHES  # the kill happened mid-stream

    days = landed_days(config.paths.landing)
    run_days(config.paths.warehouse, days, config, through="staging")
    staged = read_warehouse(config, "SELECT message_id, count(*) FROM staging.events GROUP BY ALL")
    counts = dict(staged)
    expected = {m["messageId"] for i in range(BATCHES) for m in batch(i)}
    assert set(counts) == expected  # every acknowledged message, and nothing else
    assert max(counts.values()) == 1  # each exactly once
    ((raw,),) = read_warehouse(config, "SELECT count(*) FROM raw.landed_lines")
    ((duplicates,),) = read_warehouse(config, "SELECT count(*) FROM staging.duplicates")
    quarantined = read_warehouse(config, "SELECT source_file, reason, payload FROM staging.quarantine")
    assert raw == len(counts) + duplicates + len(quarantined)
    assert [(q[0], q[1]) for q in quarantined] == [
        (f"{killed_files[-1].parent.name}/{killed_files[-1].name}", "not_json")
    ]
    # The killed process may itself have left half of an unacknowledged batch's last line (a batch is
    # written in several system calls): the torn tail then continues that line, still one line quarantined.
    assert quarantined[0][2].endswith('{"type":"track","messageId":"torn-1","userId":"u","ev')
    print(
        f"SIGKILL after {acked_before_kill} of {BATCHES} batches acknowledged; {stream.failures} sends failed "
        f"and were retried; {duplicates} duplicate lines absorbed by staging; 1 torn line quarantined; "
        f"{len(counts)} messages staged exactly once"
    )
