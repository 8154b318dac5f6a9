"""Hostile files for the raw reader, built without ever holding their inflated size in memory,
and a measurement of one day's raw step in a child process (its peak RSS).

Used by tests/raw/test_bombs.py (which prints the figures the README quotes).
"""

from __future__ import annotations

import json
import subprocess
import sys
import zlib
from pathlib import Path

CHUNK = 16 << 20


def gzip_of(path: Path, byte: bytes, size: int) -> Path:
    """A gzip file inflating to `size` copies of `byte`, compressed chunk by chunk."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = byte * CHUNK
    with path.open("wb") as out:
        left = size
        while left > 0:
            out.write(compressor.compress(block[: min(left, CHUNK)]))
            left -= CHUNK
        out.write(compressor.flush())
    return path


def one_long_line(path: Path, size: int, then: str = "") -> Path:
    """A plain file whose first line is `size` bytes long (no newline until its end)."""
    with path.open("wb") as out:
        left = size
        while left > 0:
            out.write(b"a" * min(left, CHUNK))
            left -= CHUNK
        out.write(b"\n" + then.encode())
    return path


BOMBS = {
    "newlines_4mb.jsonl.gz": lambda p: gzip_of(p, b"\n", 4 << 20),
    "newlines_64mb.jsonl.gz": lambda p: gzip_of(p, b"\n", 64 << 20),
    "zeros_1gb.jsonl.gz": lambda p: gzip_of(p, b"\x00", 1 << 30),
    "one_line_256mb.jsonl": lambda p: one_long_line(p, 256 << 20),
    "csv_zeros_1gb.csv.gz": lambda p: gzip_of(p, b"0", 1 << 30),
}

_CHILD = """
import resource, sys
size = int(sys.argv[3]) << 20  # the limit first, before anything of size is allocated
resource.setrlimit(resource.RLIMIT_DATA, (size, size))
import datetime as dt, json, time
from engagement_pipeline.core.config import load_config
from engagement_pipeline.core.warehouse import connect
from engagement_pipeline.raw import step
config = load_config(sys.argv[1])
day = dt.date.fromisoformat(sys.argv[2])
con = connect(config.paths.warehouse)
start = time.perf_counter()
lines = step.run(con, day, config)
errors = {str(k): int(v) for k, v in lines["read_error"].value_counts().iter_rows() if k is not None}
# VmHWM, not ru_maxrss: the latter keeps the forked parent's peak across exec (a big pytest's).
status = open("/proc/self/status").read().split("VmHWM:")[1]
peak = int(status.split()[0]) // 1024
print(json.dumps({"lines": lines.height, "read_errors": errors, "peak_mb": peak,
                  "seconds": round(time.perf_counter() - start, 2)}))
"""


def measure_raw_day(config_file: Path, day: str, memory_limit_mb: int = 1536) -> dict[str, object]:
    """Run raw's step for one day in a child process under a data-segment limit; its report.

    The child sets the limit itself as it starts (a regression fails, not swaps): no `preexec_fn`,
    which would make Python fork the whole pytest worker (ENOMEM on a loaded machine) instead of
    spawning the child."""
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(config_file), day, str(memory_limit_mb)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"raw step failed under {memory_limit_mb} MB: {done.stderr[-2000:]}")
    report: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return report
