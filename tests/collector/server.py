"""The collector as a real process on 127.0.0.1: `engagement-pipeline collect --port 0` started
by a test, its port read from its log, stopped (SIGTERM, then SIGKILL after a bound) by the test.

Also `send_batch`, a minimal client that posts one batch with Basic auth (the tests' own
stand-in for an app; the real client libraries are exercised in test_clients.py).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WRITE_KEY = "test-write-key"
START_SECONDS = 30.0
STOP_SECONDS = 30.0
_LISTENING = re.compile(r"collector on http://([0-9.]+):(\d+) ")


@dataclass
class Collector:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> int:
        """SIGTERM, wait (bounded), SIGKILL if it did not stop; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_SECONDS)
        return self.process.returncode

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(STOP_SECONDS)


def start_collector(config_path: Path, log: Path, keys: str = WRITE_KEY, port: int = 0) -> Collector:
    """Start `engagement-pipeline collect` on 127.0.0.1 and wait (bounded) until it answers;
    `log` (a new file per start) receives its output."""
    env = {**os.environ, "ENGAGEMENT_WRITE_KEYS": keys}
    handle = log.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "engagement_pipeline.ops.cli", "collect", "--config", str(config_path)]
        + ["--host", "127.0.0.1", "--port", str(port)],
        stdout=handle,
        stderr=subprocess.STDOUT,
        env=env,
    )
    handle.close()
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        text = log.read_text(encoding="utf-8", errors="replace")
        found = _LISTENING.search(text)
        if process.poll() is not None:
            raise AssertionError(f"the collector exited with {process.returncode}:\n{text[-2000:]}")
        if found and "Started server process" in text:
            collector = Collector(process, f"http://{found.group(1)}:{found.group(2)}", log)
            if _healthy(collector.url):
                return collector
        time.sleep(0.05)
    process.kill()
    process.wait()
    raise AssertionError(f"the collector did not start within {START_SECONDS} s:\n{log.read_text()[-2000:]}")


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


@contextlib.contextmanager
def running_collector(config_path: Path, log: Path, **kwargs: Any) -> Iterator[Collector]:
    collector = start_collector(config_path, log, **kwargs)
    try:
        yield collector
    finally:
        collector.stop()


def auth_header(key: str = WRITE_KEY) -> str:
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


def send_batch(url: str, messages: list[dict[str, Any]], key: str = WRITE_KEY, timeout: float = 10.0) -> int:
    """POST one batch; the HTTP status (a refused connection or a reset raises OSError)."""
    body = json.dumps({"batch": messages, "sentAt": now_text()}).encode()
    request = urllib.request.Request(
        f"{url}/v1/batch",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": auth_header(key)},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def now_text() -> str:
    return dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")


def landed_days(landing: Path) -> list[dt.date]:
    return sorted(dt.date.fromisoformat(p.name) for p in landing.iterdir() if p.is_dir())
