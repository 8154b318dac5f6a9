"""One measured step, run in a fresh process: `python -m bench.worker TASK.json RESULT.json`.

The parent (bench.run) starts one of these per measured step and reads the child's own
peak RSS from `os.wait4` (ru_maxrss of exactly that process), so every figure is the
peak of one step, never a leftover of an earlier one. Wall times are taken in here,
around the step only (imports and interpreter start are not counted, but reported).
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import sys
import time
from pathlib import Path
from typing import Any

STAGES = ("land_raw", "stage", "score", "account_layer", "snapshot_layer", "export_layer")
JSON_SUFFIXES = (".jsonl", ".json", ".ndjson", ".jsonl.gz", ".json.gz", ".ndjson.gz")


def _status_mb(field: str) -> float | None:
    """VmRSS / VmHWM of this process in MB (Linux), as a cross-check of the parent's wait4 figure."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _rows(value: Any) -> int | None:
    """Row count of whatever a layer returned, when it says (a frame, or an object with `.result.lines`)."""
    height = getattr(value, "height", None)
    if isinstance(height, int):
        return height
    result = getattr(value, "result", None)
    lines = getattr(result, "lines", None)
    return lines if isinstance(lines, int) else None


def _stage_details(value: Any) -> dict[str, int]:
    result = getattr(value, "result", None)
    out: dict[str, int] = {}
    for name in ("lines", "accepted"):
        v = getattr(result, name, None)
        if isinstance(v, int):
            out[name] = v
    for name in ("duplicates", "quarantine"):
        frame = getattr(result, name, None)
        if hasattr(frame, "height"):
            out[name] = frame.height
    return out


def reset_hwm() -> bool:
    """Reset this process's VmHWM to its current RSS (Linux >= 4.0: write 5 to /proc/self/clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# The bench's names of the six steps (kept stable in its result files) -> the layer package.
STEP_LAYERS = {
    "land_raw": "raw",
    "stage": "staging",
    "score": "scores",
    "account_layer": "accounts",
    "snapshot_layer": "snapshots",
    "export_layer": "exports",
}


def _run_layers(config_path: str, day: dt.date, names: list[str], timings: dict[str, Any], hwm: bool = False) -> None:
    """Run the named layers for one day, each on its own connection (as the Dagster assets do).

    With `hwm`, VmHWM is reset before each layer and read after it: the layer's peak RSS in this process.
    """
    import importlib

    from engagement_pipeline.core.config import load_config
    from engagement_pipeline.core.warehouse import connect

    config = load_config(config_path)
    for name in names:
        fn = importlib.import_module(f"engagement_pipeline.{STEP_LAYERS[name]}.step").run
        entry: dict[str, Any] = {}
        if hwm:
            if not reset_hwm():
                raise RuntimeError(
                    "cannot reset VmHWM (/proc/self/clear_refs is not writable): use --rss-method process"
                )
            entry["rss_before_mb"] = _status_mb("VmRSS")
        cpu0 = _cpu()
        t0 = time.perf_counter()
        con = connect(config.paths.warehouse)
        t1 = time.perf_counter()
        value = fn(con, day, config)
        t2 = time.perf_counter()
        con.close()  # a checkpoint of the WAL can happen here: it is part of the step's cost
        t3 = time.perf_counter()
        entry.update(
            {
                "seconds": t3 - t0,
                "connect_seconds": t1 - t0,
                "call_seconds": t2 - t1,
                "close_seconds": t3 - t2,
                "cpu_seconds": _cpu() - cpu0,
            }
        )
        if hwm:
            entry["peak_rss_mb"] = _status_mb("VmHWM")
        rows = _rows(value)
        if rows is not None:
            entry["rows"] = rows
        if name == "stage":
            entry.update(_stage_details(value))
        timings[name] = entry
        del value


def task_layer(task: dict[str, Any]) -> dict[str, Any]:
    timings: dict[str, Any] = {}
    _run_layers(task["config"], dt.date.fromisoformat(task["day"]), [task["layer"]], timings)
    return timings[task["layer"]]


def task_stages_hwm(task: dict[str, Any]) -> dict[str, Any]:
    """Every layer of one day in this one process, each with its own VmHWM peak."""
    timings: dict[str, Any] = {}
    _run_layers(task["config"], dt.date.fromisoformat(task["day"]), list(task.get("layers", STAGES)), timings, hwm=True)
    return {"stages": timings}


def task_days_direct(task: dict[str, Any]) -> dict[str, Any]:
    """Every layer for each day in order, in this one process (a backfill without Dagster)."""
    days = []
    for text in task["days"]:
        timings: dict[str, Any] = {}
        started = time.perf_counter()
        _run_layers(task["config"], dt.date.fromisoformat(text), list(task.get("layers", STAGES)), timings)
        days.append(
            {
                "day": text,
                "seconds": time.perf_counter() - started,
                "lines": timings.get("land_raw", {}).get("rows"),
                "stages": {k: round(v["seconds"], 4) for k, v in timings.items()},
            }
        )
    return {"days": days, "seconds": sum(d["seconds"] for d in days)}


def task_dagster(task: dict[str, Any]) -> dict[str, Any]:
    """`runner.run_days`: what `engagement-pipeline run` does, through the persistent instance."""
    from engagement_pipeline.core.config import load_config
    from engagement_pipeline.ops.runner import run_days

    started = time.perf_counter()
    config = load_config(task["config"])
    runs = run_days(config, [dt.date.fromisoformat(d) for d in task["days"]])
    total = time.perf_counter() - started
    return {
        "seconds": total,
        "runs": [{"day": r.day.isoformat(), "seconds": r.seconds, "lines": r.lines} for r in runs],
        "run_seconds": sum(r.seconds for r in runs),
        "setup_seconds": total - sum(r.seconds for r in runs),
    }


FLOOR_LINES_SQL = """
WITH lines AS (
    SELECT line FROM read_csv(?, columns = {'line': 'VARCHAR'}, delim = chr(1), quote = '', escape = '',
        header = false, auto_detect = false, strict_mode = false, store_rejects = true)
),
parsed AS (
    SELECT json_extract_string(line, ['$.messageId', '$.userId', '$.anonymousId', '$.event', '$.type']) AS v
    FROM lines WHERE json_valid(line)
),
deduped AS (
    SELECT v[1] AS message_id, any_value(coalesce(v[2], v[3])) AS user_id, any_value(coalesce(v[4], v[5])) AS event
    FROM parsed WHERE v[1] IS NOT NULL GROUP BY v[1]
)
SELECT user_id, event, count(*) AS events FROM deduped GROUP BY ALL
"""

FLOOR_JSON_SQL = """
WITH messages AS (
    SELECT * FROM read_json(?, format = 'newline_delimited', ignore_errors = true,
        columns = {'messageId': 'VARCHAR', 'userId': 'VARCHAR', 'anonymousId': 'VARCHAR',
                   'event': 'VARCHAR', 'type': 'VARCHAR'})
),
deduped AS (
    SELECT messageId, any_value(coalesce(userId, anonymousId)) AS user_id, any_value(coalesce(event, type)) AS event
    FROM messages WHERE messageId IS NOT NULL GROUP BY messageId
)
SELECT user_id, event, count(*) AS events FROM deduped GROUP BY ALL
"""


def task_floor(task: dict[str, Any]) -> dict[str, Any]:
    """One DuckDB pass over the day's landed files: parse, de-duplicate on messageId, group by user x event.

    Run `repeat` times in this process (fresh connection each time); `seconds` is the median.
    """
    import statistics

    import duckdb

    folder = Path(task["folder"])
    files = [str(p) for p in sorted(folder.iterdir()) if p.is_file() and p.name.lower().endswith(JSON_SUFFIXES)]
    sql = FLOOR_LINES_SQL if task["mode"] == "lines" else FLOOR_JSON_SQL
    runs, cpus = [], []
    for _ in range(max(1, int(task.get("repeat", 1)))):
        con = duckdb.connect()
        cpu0, started = _cpu(), time.perf_counter()
        groups = con.execute(sql, [files]).pl()
        runs.append(time.perf_counter() - started)
        cpus.append(_cpu() - cpu0)
        rejected = con.execute("SELECT count(*) FROM reject_errors").fetchone()[0] if task["mode"] == "lines" else None
        con.close()
    out = {
        "seconds": statistics.median(runs),
        "runs_seconds": runs,
        "cpu_seconds": statistics.median(cpus),
        "files": len(files),
        "groups": groups.height,
        "events": int(groups["events"].sum()),
    }
    if rejected is not None:
        out["rejected_lines"] = rejected
    return out


def task_generate(task: dict[str, Any]) -> dict[str, Any]:
    from engagement_pipeline.demo.generator import generate_demo

    started = time.perf_counter()
    summary = generate_demo(
        Path(task["landing"]),
        dt.date.fromisoformat(task["start"]),
        task["days"],
        accounts=task["accounts"],
        seed=task["seed"],
        billing_dir=Path(task["billing"]),
        truth_dir=Path(task["truth"]),
        events_per_user_day=task["events_per_user_day"],
    )
    seconds = time.perf_counter() - started
    out: dict[str, Any] = {"seconds": seconds}
    for name in (
        "days",
        "accounts",
        "users",
        "messages",
        "track_events",
        "duplicates",
        "late",
        "malformed",
        "lines",
        "files",
    ):
        out[name] = getattr(summary, name, None)
    if task.get("count_days"):
        out["day_lines"] = {d: count_day_lines(Path(task["landing"]) / d) for d in task["count_days"]}
    return out


def count_day_lines(folder: Path) -> int:
    """Lines landed in one day folder (gzip or plain), counted the way the pipeline splits them."""
    import gzip

    total = 0
    for path in sorted(folder.iterdir()):
        if not path.is_file() or not path.name.lower().endswith(JSON_SUFFIXES):
            continue
        data = gzip.decompress(path.read_bytes()) if path.name.lower().endswith(".gz") else path.read_bytes()
        total += data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    return total


def _preload(kind: str) -> None:
    """Import what the step needs first, so `rss_at_start_mb` is the baseline the step starts from."""
    import duckdb  # noqa: F401
    import polars  # noqa: F401

    if kind in ("layer", "stages_hwm", "days_direct"):
        for layer in STEP_LAYERS.values():
            importlib.import_module(f"engagement_pipeline.{layer}.step")
    elif kind == "dagster":
        import engagement_pipeline.ops.runner
    elif kind == "generate":
        import engagement_pipeline.demo.generator  # noqa: F401


TASKS = {
    "layer": task_layer,
    "stages_hwm": task_stages_hwm,
    "days_direct": task_days_direct,
    "dagster": task_dagster,
    "floor": task_floor,
    "generate": task_generate,
}


def main(argv: list[str]) -> int:
    task_file, result_file = Path(argv[0]), Path(argv[1])
    task = json.loads(task_file.read_text())
    _preload(task["kind"])
    rss_start = _status_mb("VmRSS")
    started = time.perf_counter()
    result = TASKS[task["kind"]](task)
    result["task_seconds"] = time.perf_counter() - started
    result["rss_at_start_mb"] = rss_start  # after imports, before the step
    module = sys.modules.get("engagement_pipeline")
    result["code_path"] = str(Path(module.__file__).parent) if module and module.__file__ else None
    result["vmhwm_mb"] = _status_mb("VmHWM")
    result_file.write_text(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
