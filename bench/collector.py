"""`python -m bench.collector`: the collector's events/s and latency, batches of 100, on 127.0.0.1.

Starts `engagement-pipeline collect` (the real CLI, uvicorn, one process) on a temporary
landing folder and drives it from this process with a minimal keep-alive HTTP/1.1 client
(asyncio streams, pre-built request bytes: the load generator shares the machine's cores
with the server, so it spends as little as it can). Every request is a `POST /v1/batch` of
`--batch` Segment track messages (about 330 bytes each) with Basic auth, answered 200 only
after its lines are fsynced.

Phases, after a warm-up:
1. closed loop: `--connections` senders, each sending its next batch as soon as the last
   was answered: the most the collector acknowledges (events/s) and the latency then;
2. fixed rate: batches sent on a schedule at `--rate` events/s over `--rate-connections`;
   latency is measured from the scheduled send time, so a request that waited for a free
   connection counts its wait (no coordinated omission). The target is 20,000 events/s
   with p99 under 50 ms.

Bounded: each phase lasts `--seconds`; the collector is stopped (SIGTERM) at the end and
the work folder removed. Results: printed, and bench/results/collector-latest.json.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import platform
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from tests.collector.server import Collector, start_collector

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
KEY = "bench-write-key"
TARGET_EVENTS_PER_SECOND = 20_000
TARGET_P99_MS = 50.0


def batch_body(worker: int, seq: int, size: int) -> bytes:
    ts = "2026-03-03T12:00:00.000Z"
    messages = [
        {
            "type": "track",
            "messageId": f"bench-{worker}-{seq}-{j}",
            "userId": f"user-{(seq * size + j) % 5000}",
            "event": "Document Edited",
            "properties": {"document_id": f"doc-{j}", "words": 250 + j, "template": "weekly-report"},
            "context": {"groupId": f"acct-{j % 400}", "library": {"name": "analytics-python", "version": "2.4.0"}},
            "timestamp": ts,
        }
        for j in range(size)
    ]
    return json.dumps({"batch": messages, "sentAt": ts}).encode()


def request_bytes(host: str, body: bytes) -> bytes:
    auth = base64.b64encode(f"{KEY}:".encode()).decode()
    head = (
        f"POST /v1/batch HTTP/1.1\r\nHost: {host}\r\nAuthorization: Basic {auth}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        return cls(*await asyncio.open_connection(host, port))

    async def post(self, request: bytes) -> int:
        self.writer.write(request)
        await self.writer.drain()
        status = int((await self.reader.readline()).split(b" ", 2)[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        self.writer.close()


@dataclass
class Phase:
    name: str
    seconds: float
    requests: int
    events: int
    errors: dict[str, int]
    events_per_second: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    server_cpu_seconds: float
    client_cpu_seconds: float


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def summarize(
    name: str, seconds: float, latencies: list[float], statuses: list[int], batch: int, cpu: tuple[float, float]
) -> Phase:
    ok = sum(1 for s in statuses if s == 200)
    errors: dict[str, int] = {}
    for s in statuses:
        if s != 200:
            errors[str(s)] = errors.get(str(s), 0) + 1
    ms = np.array(latencies) * 1000 if latencies else np.array([0.0])
    p50, p90, p99 = (float(np.percentile(ms, q)) for q in (50, 90, 99))
    return Phase(
        name, round(seconds, 2), len(statuses), ok * batch, errors, round(ok * batch / seconds), round(p50, 2),
        round(p90, 2), round(p99, 2), round(float(ms.max()), 2), round(cpu[0], 2), round(cpu[1], 2),
    )  # fmt: skip


async def closed_loop(host: str, port: int, bodies: list[bytes], connections: int, seconds: float) -> tuple:
    latencies: list[float] = []
    statuses: list[int] = []
    stop = time.perf_counter() + seconds

    async def sender(k: int) -> None:
        conn = await Connection.open(host, port)
        i = k
        try:
            while time.perf_counter() < stop:
                started = time.perf_counter()
                statuses.append(await conn.post(bodies[i % len(bodies)]))
                latencies.append(time.perf_counter() - started)
                i += connections
        finally:
            conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(sender(k) for k in range(connections)))
    return time.perf_counter() - started, latencies, statuses


async def fixed_rate(
    host: str, port: int, bodies: list[bytes], connections: int, seconds: float, per_second: float
) -> tuple:
    latencies: list[float] = []
    statuses: list[int] = []
    due: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
    total = int(seconds * per_second)

    async def sender() -> None:
        conn = await Connection.open(host, port)
        try:
            while (item := await due.get()) is not None:
                scheduled, request = item
                statuses.append(await conn.post(request))
                latencies.append(time.perf_counter() - scheduled)
        finally:
            conn.close()

    workers = [asyncio.create_task(sender()) for _ in range(connections)]
    start = time.perf_counter()
    for i in range(total):
        scheduled = start + i / per_second
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        due.put_nowait((scheduled, bodies[i % len(bodies)]))
    for _ in workers:
        due.put_nowait(None)
    await asyncio.gather(*workers)
    return time.perf_counter() - start, latencies, statuses


def disk_floor(folder: Path, size: int, count: int = 300) -> dict[str, float]:
    """Latency of the disk alone: append `size` bytes and fdatasync, `count` times (what one group
    commit costs at least; on a shared virtual disk its tail bounds the collector's p99)."""
    path = folder / "fsync-probe"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    times = []
    try:
        for _ in range(count):
            started = time.perf_counter()
            os.write(fd, b"x" * size)
            os.fdatasync(fd)
            times.append((time.perf_counter() - started) * 1000)
    finally:
        os.close(fd)
        path.unlink()
    return {q: round(float(np.percentile(times, v)), 2) for q, v in (("p50_ms", 50), ("p99_ms", 99))} | {
        "max_ms": round(max(times), 2)
    }


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "kernel": platform.release()}


def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="collector-bench-", dir=args.work_dir))
    data = yaml.safe_load((REPO / "engagement.yaml").read_text())
    data["paths"] = {"landing": "landing", "warehouse": "warehouse.duckdb", "exports": "exports"}
    config = work / "engagement.yaml"
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    collector: Collector | None = None
    try:
        collector = start_collector(config, work / "collector.log", keys=KEY)
        host, port = collector.url.removeprefix("http://").rsplit(":", 1)
        pid = collector.process.pid
        bodies = [request_bytes(host, batch_body(w, s, args.batch)) for w in range(4) for s in range(250)]
        floor = disk_floor(work, len(bodies[0]))
        load = os.getloadavg()
        asyncio.run(closed_loop(host, int(port), bodies, args.connections, args.warmup))
        phases = []
        for name in ("closed_loop", "fixed_rate"):
            server0, client0 = cpu_seconds(pid), time.process_time()
            if name == "closed_loop":
                result = asyncio.run(closed_loop(host, int(port), bodies, args.connections, args.seconds))
            else:
                per_second = args.rate / args.batch
                conns = args.rate_connections
                result = asyncio.run(fixed_rate(host, int(port), bodies, conns, args.seconds, per_second))
            cpu = (cpu_seconds(pid) - server0, time.process_time() - client0)
            phases.append(summarize(name, result[0], result[1], result[2], args.batch, cpu))
        landed = sum(p.stat().st_size for p in (work / "landing").glob("*/collector-*.jsonl"))
        code = collector.stop()
        return {
            "machine": machine(),
            "work_dir_filesystem": os.popen(f"df --output=fstype {work} | tail -1").read().strip(),
            "load_average_start": [round(x, 2) for x in load],
            "load_average_end": [round(x, 2) for x in os.getloadavg()],
            "batch": args.batch,
            "connections": args.connections,
            "rate_connections": args.rate_connections,
            "rate_events_per_second": args.rate,
            "disk_append_fdatasync": floor,
            "phases": [asdict(p) for p in phases],
            "landed_bytes": landed,
            "collector_exit_code": code,
            "targets": {"events_per_second": TARGET_EVENTS_PER_SECOND, "p99_ms": TARGET_P99_MS},
        }
    finally:
        if collector is not None:
            collector.stop()
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.collector", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each phase (default 15)")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--batch", type=int, default=100, help="messages per batch (default 100)")
    parser.add_argument("--connections", type=int, default=8, help="client connections (default 8)")
    parser.add_argument("--rate", type=float, default=TARGET_EVENTS_PER_SECOND, help="events/s of the fixed-rate phase")
    parser.add_argument(
        "--rate-connections", type=int, default=32, help="connections of the fixed-rate phase (default 32: many apps)"
    )
    parser.add_argument("--work-dir", help="where the temporary landing goes (default: the system's temp folder)")
    parser.add_argument("--out", type=Path, default=RESULTS / "collector-latest.json")
    args = parser.parse_args(argv)
    result = run(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"machine: {result['machine']}, landing on {result['work_dir_filesystem']}")
    print(f"load average start {result['load_average_start']} end {result['load_average_end']}")
    print(f"disk alone, append one batch + fdatasync: {result['disk_append_fdatasync']}")
    print(f"{'phase':<12} {'events/s':>9} {'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>7} {'max ms':>7} "
          f"{'requests':>8} {'errors':>8} {'server cpu s':>12} {'client cpu s':>12}")  # fmt: skip
    for p in result["phases"]:
        print(
            f"{p['name']:<12} {p['events_per_second']:>9} {p['p50_ms']:>7} {p['p90_ms']:>7} {p['p99_ms']:>7} "
            f"{p['max_ms']:>7} {p['requests']:>8} {sum(p['errors'].values()):>8} {p['server_cpu_seconds']:>12} "
            f"{p['client_cpu_seconds']:>12}"
        )
    fixed = next(p for p in result["phases"] if p["name"] == "fixed_rate")
    verdict = "PASS" if fixed["events_per_second"] >= 0.98 * args.rate and fixed["p99_ms"] < TARGET_P99_MS else "MISS"
    print(f"target {TARGET_EVENTS_PER_SECOND} events/s with p99 < {TARGET_P99_MS:g} ms at {args.rate:g}/s: {verdict}")
    print(f"results: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
