"""`make bench ENGINE=spark`: the staging step on Spark beside the DuckDB engine and the floor.

For each size (`--sizes smoke,1m`, the same presets as `python -m bench`): generate the days, stage
the history days with DuckDB, then the measured (last) day, each case in a fresh process on a copy
of that warehouse:

- floor: one DuckDB pass over the day's files (bench/worker.py's `floor`, as `make bench`);
- raw: the raw layer (DuckDB, the same for both engines);
- staging on DuckDB (`engine: duckdb`);
- staging on Spark `local[2]`;
- staging on a standalone cluster on 127.0.0.1 with one worker, then two (one core, 1 GB each;
  `bench/spark_cluster.py`), to show the scaling.

Per case: session start (Spark), staging wall time, and the driver's peak RSS (this Python
process plus, on Spark, the driver JVM it started; executors are not counted). The staging tables
of every case are compared with DuckDB's (row count and hash). Results: a table and a JSON file.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.run import parse_size

START = dt.date(2026, 3, 2)
REPO = Path(__file__).resolve().parents[1]


def _hwm_mb(pid: int | str = "self") -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def child(args: argparse.Namespace) -> int:
    """One measured case in this process: raw + staging of the day; prints a JSON line."""
    from engagement_pipeline.core.config import load_config
    from engagement_pipeline.core.warehouse import connect
    from engagement_pipeline.raw import step as raw_step
    from engagement_pipeline.staging import step as staging_step

    config = load_config(args.config)
    day = dt.date.fromisoformat(args.day)
    out: dict[str, Any] = {}
    con = connect(config.paths.warehouse)
    t = time.perf_counter()
    lines = raw_step.run(con, day, config).height
    out["raw_seconds"] = time.perf_counter() - t
    out["lines"] = lines
    session = None
    if config.engine == "spark":
        from engagement_pipeline.staging.spark_session import spark_session

        t = time.perf_counter()
        session = spark_session(config.spark, config.spark.work_root(config.paths.data_dir))
        out["session_seconds"] = time.perf_counter() - t
    t = time.perf_counter()
    staged = staging_step.run(con, day, config, session)
    out["staging_seconds"] = time.perf_counter() - t
    out["accepted"] = staged.result.accepted
    con.close()
    out["python_peak_rss_mb"] = _hwm_mb()
    if session is not None:
        gateway = getattr(session.sparkContext, "_gateway", None)
        proc = getattr(gateway, "proc", None)
        out["jvm_peak_rss_mb"] = _hwm_mb(proc.pid) if proc is not None else None
        session.stop()
    print("RESULT " + json.dumps(out))
    return 0


def _run_case(config: Path, day: dt.date) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "bench.spark_bench", "--child", str(config), day.isoformat()],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(REPO),
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"case {config.parent.name} failed:\n{(proc.stdout + proc.stderr)[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1][len("RESULT ") :])
    result["process_seconds"] = time.perf_counter() - started
    result["driver_peak_rss_mb"] = (result.get("python_peak_rss_mb") or 0) + (result.get("jvm_peak_rss_mb") or 0)
    return result


def _config(
    folder: Path, landing: Path, engine: str, master: str = "local[2]", conf: dict[str, str] | None = None
) -> Path:
    import yaml

    data = yaml.safe_load((REPO / "engagement.yaml").read_text())
    data["start_date"] = START
    data["paths"] = {"landing": str(landing), "warehouse": "warehouse.duckdb", "exports": "exports"}
    data["engine"] = engine
    data["spark"] = {"master": master, "conf": conf or {}}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "engagement.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def run_size(text: str, root: Path) -> dict[str, Any]:
    from bench.spark_cluster import standalone_cluster
    from bench.worker import task_floor
    from engagement_pipeline.core.config import load_config
    from engagement_pipeline.core.warehouse import connect
    from engagement_pipeline.demo.generator import generate_demo
    from engagement_pipeline.raw import step as raw_step
    from engagement_pipeline.staging import step as staging_step
    from tests.reliability import table_fingerprints

    size = parse_size(text)
    work = root / size.name
    shutil.rmtree(work, ignore_errors=True)
    landing = work / "landing"
    accounts = max(5, round(size.lines / (45.0 * size.days)))
    generate_demo(landing, START, size.days, accounts=accounts, seed=42)
    days = [START + dt.timedelta(days=i) for i in range(size.days)]
    day = days[-1]
    history = work / "history"
    config = load_config(_config(history, landing, "duckdb"))
    con = connect(config.paths.warehouse)
    for d in days[:-1]:
        raw_step.run(con, d, config)
        staging_step.run(con, d, config)
    con.close()
    floor = task_floor({"folder": str(landing / day.isoformat()), "mode": "lines", "repeat": 3})

    def case(name: str, engine: str, master: str = "local[2]", conf: dict[str, str] | None = None) -> dict[str, Any]:
        folder = work / name
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(history, folder)
        result = _run_case(_config(folder, landing, engine, master, conf), day)
        tables = table_fingerprints(folder / "warehouse.duckdb")
        result["staging_tables"] = {k: v for k, v in tables.items() if k.startswith("staging.")}
        return result

    cases = {"duckdb": case("duckdb", "duckdb"), "spark_local_2": case("spark_local_2", "spark")}
    for workers in (1, 2):
        with standalone_cluster(work / f"cluster-{workers}", workers=workers) as cluster:
            cases[f"spark_standalone_{workers}w"] = case(
                f"spark_standalone_{workers}w", "spark", cluster.master, cluster.conf()
            )
    want = cases["duckdb"]["staging_tables"]
    for result in cases.values():
        result["same_rows_as_duckdb"] = result.pop("staging_tables") == want
    return {"size": size.name, "lines": cases["duckdb"]["lines"], "floor_seconds": floor["seconds"], "cases": cases}


def print_size(result: dict[str, Any]) -> None:
    print(f"\nsize {result['size']}: measured day {result['lines']} lines; floor {result['floor_seconds']:.2f} s")
    print(f"{'case':<22}{'session s':>10}{'staging s':>10}{'x floor':>9}{'driver RSS MB':>15}{'same rows':>11}")
    for name, c in result["cases"].items():
        session = f"{c['session_seconds']:.1f}" if "session_seconds" in c else "-"
        ratio = c["staging_seconds"] / result["floor_seconds"] if result["floor_seconds"] else float("nan")
        print(
            f"{name:<22}{session:>10}{c['staging_seconds']:>10.1f}{ratio:>9.0f}"
            f"{c['driver_peak_rss_mb']:>15.0f}{'yes' if c['same_rows_as_duckdb'] else 'NO':>11}"
        )
    one, two = result["cases"]["spark_standalone_1w"], result["cases"]["spark_standalone_2w"]
    print(f"scaling, standalone 1 -> 2 workers: {one['staging_seconds'] / two['staging_seconds']:.2f}x faster")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.spark_bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="smoke", help="comma-separated sizes as for `python -m bench` (default smoke)")
    p.add_argument("--work-dir", type=Path, default=Path(os.environ.get("BENCH_WORK_DIR", "/tmp/engagement-bench")))
    p.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "spark.json")
    p.add_argument("--child", nargs=2, metavar=("CONFIG", "DAY"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        return child(argparse.Namespace(config=args.child[0], day=args.child[1]))
    root = args.work_dir / "spark"
    results = []
    for text in args.sizes.split(","):
        results.append(run_size(text, root))
        print_size(results[-1])
    machine = {"cpus": os.cpu_count(), "platform": platform.platform(), "loadavg_1m_end": os.getloadavg()[0]}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": machine, "sizes": results}, indent=2, default=str))
    print(f"\nmachine: {machine}; results in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
