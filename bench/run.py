"""`make bench`: generate demo events at several sizes, run every layer, compare with the engines' floor.

For each size (`--sizes 1m,10m,30m`, or `SIZES=...` for make):

1. generate the landed days with the project's generator (accounts calibrated on a small
   pilot so the size comes out near its target; the real line counts are reported);
2. floor: one DuckDB pass over the measured day's landed files (read_csv of the gz lines,
   json_valid + json_extract, de-duplicate on messageId, group by user x event), and the
   same with read_json for reference (the README's "Performance");
3. backfill the history days (every layer, direct, one process);
4. the measured (last) day: each layer of `engagement_pipeline.<layer>.step` in its own fresh
   process on its own connection, timed around the call (and the close that checkpoints);
5. the same day through Dagster (`runner.run_days`) on a copy of the warehouse as it was
   before step 4, to show Dagster's own cost.

Then incrementality: one byte-identical measured day run on a warehouse holding 0, 1, 30
and 90 earlier days. Peak RSS of every step is the ru_maxrss of the process that ran it,
read by this parent with os.wait4. Results: a rich table and bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table

from bench.worker import STAGES

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
CODE_DIRS = ("engagement_pipeline", "assets", "checks", "bench")
# Where the step processes import the project from: a copy of the code taken when the benchmark starts
# (other people edit the repo while a long benchmark runs; every step must measure the same code).
CODE = REPO
MARKER = ".engagement-bench"
MEASURED_DAY = dt.date(2026, 3, 3)  # a Tuesday: the generator's weekday factor is ~1 on the measured day
RSS_METHODS = {
    "process": (
        "peak RSS = ru_maxrss of the one process that ran the step (each step in a fresh `python -m bench.worker` "
        "process, read by the parent with os.wait4); it includes the interpreter and imports "
        "(`rss_at_start_mb` in the JSON, about 100-250 MB)"
    ),
    "hwm": (
        "peak RSS of a layer = VmHWM of the one process that runs the day's six layers in order, reset before each "
        "layer by writing 5 to /proc/self/clear_refs; it includes memory the process kept from earlier layers "
        "(`rss_before_mb` in the JSON); generation, floor, history and Dagster steps: ru_maxrss of their own process"
    ),
}
FLOOR_METHOD = (
    "floor = one DuckDB pass over the measured day's landed .jsonl.gz files: read_csv one VARCHAR column per line "
    "(delim chr(1), no quotes, store_rejects) -> json_valid -> one json_extract_string of messageId/userId/"
    "anonymousId/event/type -> GROUP BY messageId -> GROUP BY user x event (see the README, Performance); "
    "`read_json` (ignore_errors, drops bad lines silently) is shown as the engine's absolute minimum"
)
MB = 1024 * 1024
# Disk per landed line: ~100 B gzip in landing, ~330 B in the warehouse (raw lines verbatim + staging), and the
# warehouse is copied once for the Dagster run (measured: 310 MB of warehouse for a 980k-line day).
DISK_BYTES_PER_LINE = 100 + 2 * 340
DISK_RESERVE = 5 * 1024**3

console = Console(highlight=False, width=None if sys.stdout.isatty() else 170)


# --------------------------------------------------------------------------------------
# Sizes
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Size:
    name: str
    lines: int  # target lines landed over all days
    days: int

    @property
    def per_day(self) -> int:
        return self.lines // self.days


PRESETS = {
    "smoke": Size("smoke", 3_000, 2),
    "1m": Size("1m", 1_000_000, 1),
    "10m": Size("10m", 10_000_000, 30),
    "30m": Size("30m", 30_000_000, 30),
}
INCR_PRESETS = {"default": (100_000, [1, 30, 90]), "smoke": (1_500, [1])}


def _count(text: str) -> int:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([km]?)", text.strip().lower())
    if not m:
        raise argparse.ArgumentTypeError(f"{text!r} is not a count like 500k or 2m")
    return int(float(m.group(1)) * {"": 1, "k": 1_000, "m": 1_000_000}[m.group(2)])


def parse_size(text: str) -> Size:
    """`smoke`, `1m`, `10m`, `30m` (presets), or `<lines>[@<days>]`, e.g. `2m@5` = 2M lines over 5 days."""
    text = text.strip().lower()
    if text in PRESETS:
        return PRESETS[text]
    lines, _, days = text.partition("@")
    n_days = int(days.rstrip("d")) if days else 1
    if n_days < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: days must be at least 1")
    return Size(text.replace("@", "_at_"), _count(lines), n_days)


# --------------------------------------------------------------------------------------
# Child processes
# --------------------------------------------------------------------------------------


class StepFailed(RuntimeError):
    pass


def run_child(
    work: Path, name: str, task: dict[str, Any], env: dict[str, str] | None = None, prefix: list[str] | None = None
) -> dict[str, Any]:
    """Run one step in a fresh process; return its result plus wall, CPU and peak RSS of that process."""
    tasks = work / "tasks"
    tasks.mkdir(parents=True, exist_ok=True)
    task_file, result_file, log_file = tasks / f"{name}.task.json", tasks / f"{name}.result.json", tasks / f"{name}.log"
    task_file.write_text(json.dumps(task, default=str))
    result_file.unlink(missing_ok=True)
    child_env = {**os.environ, "PYTHONPATH": str(CODE), **(env or {})}
    cmd = [*(prefix or []), sys.executable, "-m", "bench.worker", str(task_file), str(result_file)]
    started = time.perf_counter()
    with log_file.open("wb") as log:
        proc = subprocess.Popen(cmd, cwd=str(CODE), env=child_env, stdout=log, stderr=subprocess.STDOUT)
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:  # interrupted (Ctrl-C, SIGTERM): stop the step we started, then clean up
            proc.kill()
            proc.wait()
            raise
        proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if proc.returncode != 0 or not result_file.exists():
        tail = log_file.read_text(errors="replace").strip().splitlines()[-15:]
        raise StepFailed(f"{name} exited with {proc.returncode}:\n" + "\n".join(tail))
    result = json.loads(result_file.read_text())
    result["peak_rss_mb"] = usage.ru_maxrss / 1024  # Linux: kilobytes
    result["process_seconds"] = wall
    result["process_cpu_seconds"] = usage.ru_utime + usage.ru_stime
    result["loadavg_1m_end"] = round(os.getloadavg()[0], 2)  # other work on the machine while the step ran
    return result


# --------------------------------------------------------------------------------------
# Work folders, config, data
# --------------------------------------------------------------------------------------


def prepare_root(root: Path) -> None:
    """Create the work root; clear it only if it is one of ours (it holds the marker)."""
    if root.exists() and any(root.iterdir()):
        if not (root / MARKER).exists():
            raise SystemExit(
                f"error: {root} exists, is not empty and is not a bench work folder: choose another --work-dir."
            )
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / MARKER).write_text("created by `python -m bench`; removed when the benchmark ends\n")


def code_fingerprint(base: Path) -> str:
    """SHA-256 over the project's source files (engagement_pipeline, assets, checks) and engagement.yaml."""
    import hashlib

    digest = hashlib.sha256()
    files = [base / "engagement.yaml"] + sorted(
        p for d in CODE_DIRS[:3] for p in (base / d).rglob("*.py") if "__pycache__" not in p.parts
    )
    for path in files:
        if path.exists():
            digest.update(str(path.relative_to(base)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def snapshot_code(root: Path) -> Path:
    """Copy the code the steps will import (and engagement.yaml) into the work folder; point CODE at it."""
    global CODE
    target = root / "code"
    for d in CODE_DIRS:
        shutil.copytree(REPO / d, target / d, ignore=shutil.ignore_patterns("__pycache__", "results", "*.pyc"))
    shutil.copy2(REPO / "engagement.yaml", target / "engagement.yaml")
    CODE = target
    return target


def write_config(folder: Path, start: dt.date, landing: Path, billing: Path, warehouse: Path) -> Path:
    """The repo's engagement.yaml with every path pointed into the bench work folder."""
    data = yaml.safe_load((CODE / "engagement.yaml").read_text())
    data["start_date"] = start
    data["paths"] = {
        "landing": str(landing),
        "warehouse": str(warehouse),
        "exports": str(folder / "exports"),
        "billing": str(billing),
        "dagster_home": str(folder / "dagster_home"),
    }
    path = folder / "engagement.yaml"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def generate(
    work: Path,
    name: str,
    data: Path,
    start: dt.date,
    days: int,
    accounts: int,
    seed: int,
    epud: float,
    count_days: list[str] | None = None,
) -> dict[str, Any]:
    for sub in ("landing", "billing", "ground_truth"):
        shutil.rmtree(data / sub, ignore_errors=True)
    return run_child(
        work,
        name,
        {
            "kind": "generate",
            "landing": str(data / "landing"),
            "billing": str(data / "billing"),
            "truth": str(data / "ground_truth"),
            "start": start.isoformat(),
            "days": days,
            "accounts": accounts,
            "seed": seed,
            "events_per_user_day": epud,
            "count_days": count_days or [],
        },
    )


def calibrate(
    work: Path, target: int, days: int, start: dt.date, seed: int, epud: float, last_day_only: bool = False
) -> tuple[int, dict[str, Any] | None]:
    """Accounts that give about `target` lines (over all days, or on the last day): scale a small pilot."""
    per_account_day = 70.0 if days == 1 or last_day_only else 45.0  # rough lines per account and day at epud 6
    guess = max(5, round(target / (per_account_day * (1 if last_day_only else days)) * 6.0 / epud))
    if target < 100_000:
        return guess, None
    pilot_accounts = max(50, min(2_000, guess // 10))
    last = (start + dt.timedelta(days=days - 1)).isoformat()
    pilot = generate(
        work,
        "pilot",
        work / "pilot",
        start,
        days,
        pilot_accounts,
        seed,
        epud,
        count_days=[last] if last_day_only else None,
    )
    got = pilot["day_lines"][last] if last_day_only else pilot["lines"]
    shutil.rmtree(work / "pilot", ignore_errors=True)
    accounts = max(5, round(pilot_accounts * target / max(got, 1)))
    return accounts, {"accounts": pilot_accounts, "lines": got, "seconds": pilot["seconds"]}


def copy_warehouse(src_dir: Path, dst_dir: Path, warehouse_name: str = "warehouse.duckdb") -> None:
    dst_dir.mkdir(parents=True, exist_ok=True)
    for name in (warehouse_name, warehouse_name + ".wal"):
        if (src_dir / name).exists():
            shutil.copy2(src_dir / name, dst_dir / name)
    if (src_dir / "exports").exists():
        shutil.copytree(src_dir / "exports", dst_dir / "exports", symlinks=True)


def dir_bytes(path: Path) -> int:
    total = 0
    for p in path.rglob("*"):
        try:
            if p.is_file() and not p.is_symlink():
                total += p.stat().st_size
        except OSError:
            pass
    return total


def step_error(exc: Exception) -> dict[str, Any]:
    return {"error": str(exc)}


# --------------------------------------------------------------------------------------
# One size
# --------------------------------------------------------------------------------------


def measure_day_stages(
    work: Path, config: Path, day: dt.date, lines_hint: int | None, tag: str, method: str = "process"
) -> dict[str, Any]:
    """Each layer of one day in its own fresh process (or, `hwm`, all in one), in pipeline order."""
    stages: dict[str, Any] = {}
    if method == "hwm":
        try:
            stages = run_child(
                work,
                f"{tag}-stages",
                {"kind": "stages_hwm", "config": str(config), "day": day.isoformat()},
                env={"ENGAGEMENT_CONFIG": str(config)},
            )["stages"]
        except StepFailed as exc:
            stages = {"land_raw": step_error(exc)}
            console.print(f"  [red]{tag} failed[/red]: {exc}")
        for name, entry in stages.items():
            if "seconds" in entry:
                console.print(f"  {tag} {name:<15} {entry['seconds']:8.2f} s  {entry['peak_rss_mb']:8.0f} MB")
    for name in STAGES if method == "process" else ():
        try:
            stages[name] = run_child(
                work,
                f"{tag}-{name}",
                {
                    "kind": "layer",
                    "config": str(config),
                    "day": day.isoformat(),
                    "layer": name,
                },
                env={"ENGAGEMENT_CONFIG": str(config)},
            )
        except StepFailed as exc:
            stages[name] = step_error(exc)
            console.print(f"  [red]{name} failed[/red]: {exc}")
            break
        console.print(f"  {tag} {name:<15} {stages[name]['seconds']:8.2f} s  {stages[name]['peak_rss_mb']:8.0f} MB")
    lines = stages.get("land_raw", {}).get("rows") or lines_hint
    for entry in stages.values():
        if "seconds" in entry and lines:
            entry["lines_per_s"] = lines / entry["seconds"] if entry["seconds"] > 0 else None
    return stages


def summarize_stages(stages: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any] | None:
    if not all("seconds" in stages.get(n, {}) for n in names):
        return None
    return {
        "seconds": sum(stages[n]["seconds"] for n in names),
        "peak_rss_mb": max(stages[n]["peak_rss_mb"] for n in names),
        "cpu_seconds": sum(stages[n]["cpu_seconds"] for n in names),
    }


def run_size(size: Size, root: Path, args: argparse.Namespace) -> dict[str, Any]:
    work = root / size.name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    out: dict[str, Any] = {"size": asdict(size)}
    free = shutil.disk_usage(root).free
    need = size.lines * DISK_BYTES_PER_LINE
    out["disk"] = {"free_bytes_before": free, "estimated_bytes": need}
    if need + DISK_RESERVE > free:
        out["skipped"] = (
            f"needs about {need / 1024**3:.1f} GB of disk for landing + warehouse + copy, "
            f"{free / 1024**3:.1f} GB free under {root} (keeping {DISK_RESERVE / 1024**3:.0f} GB)"
        )
        console.print(f"[yellow]{size.name}: skipped: {out['skipped']}[/yellow]")
        return out

    day = MEASURED_DAY
    start = day - dt.timedelta(days=size.days - 1)
    history = [start + dt.timedelta(days=i) for i in range(size.days - 1)]
    console.rule(f"[bold]{size.name}[/bold]: ~{size.lines:,} lines over {size.days} day(s), measured day {day}")

    # 1. data
    accounts, pilot = calibrate(work, size.lines, size.days, start, args.seed, args.events_per_user_day)
    gen = generate(work, "generate", work, start, size.days, accounts, args.seed, args.events_per_user_day)
    out["generation"] = {
        **gen,
        "pilot": pilot,
        "start": start.isoformat(),
        "events_per_user_day": args.events_per_user_day,
    }
    console.print(
        f"  generated {gen['lines']:,} lines ({accounts:,} accounts, {gen['users']:,} users) in {gen['seconds']:.1f} s"
    )
    config = write_config(work, start, work / "landing", work / "billing", work / "warehouse.duckdb")
    out["measured_day"] = day.isoformat()

    # 2. floor, on the measured day's files
    folder = work / "landing" / day.isoformat()
    out["floor"] = {}
    for mode in ("lines", "json"):
        try:
            out["floor"][mode] = run_child(
                work,
                f"floor-{mode}",
                {"kind": "floor", "folder": str(folder), "mode": mode, "repeat": args.floor_repeat},
            )
            console.print(
                f"  floor ({mode}) {out['floor'][mode]['seconds']:8.2f} s  {out['floor'][mode]['peak_rss_mb']:8.0f} MB"
            )
        except StepFailed as exc:
            out["floor"][mode] = step_error(exc)
            console.print(f"  [red]floor {mode} failed[/red]: {exc}")

    # 3. history
    if history:
        try:
            backfill = run_child(
                work,
                "history",
                {
                    "kind": "days_direct",
                    "config": str(config),
                    "days": [d.isoformat() for d in history],
                },
                env={"ENGAGEMENT_CONFIG": str(config)},
            )
            lines = sum(d["lines"] or 0 for d in backfill["days"])
            backfill["lines"] = lines
            backfill["lines_per_s"] = lines / backfill["seconds"] if backfill["seconds"] else None
            out["history"] = backfill
            console.print(
                f"  history: {len(history)} days, {lines:,} lines in {backfill['seconds']:.1f} s, "
                f"peak {backfill['peak_rss_mb']:.0f} MB"
            )
        except StepFailed as exc:
            out["history"] = step_error(exc)
            console.print(f"  [red]history backfill failed[/red]: {exc}")
            return out

    # 4. the measured day, layer by layer; keep the warehouse as it was before for Dagster (and the profile)
    dagster_dir = work / "dagster_copy"
    copy_warehouse(work, dagster_dir)
    profile_dir = None
    if args.profile and size.name == args.profile_size:
        profile_dir = work / "profile_copy"
        copy_warehouse(work, profile_dir)
    stages = measure_day_stages(work, config, day, gen.get("lines") if size.days == 1 else None, "day", args.rss_method)
    out["stages"] = stages
    out["measured_day_lines"] = stages.get("land_raw", {}).get("rows")
    out["disk"]["work_bytes_peak"] = dir_bytes(work)
    out["raw_to_staging"] = summarize_stages(stages, ("land_raw", "stage"))
    out["day_direct"] = summarize_stages(stages, STAGES)
    for name in ("warehouse.duckdb", "warehouse.duckdb.wal"):
        (work / name).unlink(missing_ok=True)  # free the disk before the Dagster copy runs
    shutil.rmtree(work / "exports", ignore_errors=True)

    # 5. the same day through Dagster, on the copy
    dconfig = write_config(dagster_dir, start, work / "landing", work / "billing", dagster_dir / "warehouse.duckdb")
    try:
        dag = run_child(
            work,
            "dagster-day",
            {"kind": "dagster", "config": str(dconfig), "days": [day.isoformat()]},
            env={"ENGAGEMENT_CONFIG": str(dconfig), "DAGSTER_HOME": str(dagster_dir / "dagster_home")},
        )
        direct = out["day_direct"]["seconds"] if out["day_direct"] else None
        dag["overhead_seconds"] = dag["run_seconds"] - direct if direct else None
        dag["overhead_ratio"] = dag["run_seconds"] / direct if direct else None
        out["dagster_day"] = dag
        console.print(
            f"  dagster day {dag['run_seconds']:8.2f} s  {dag['peak_rss_mb']:8.0f} MB "
            f"(+{dag['setup_seconds']:.1f} s definitions/instance)"
        )
    except StepFailed as exc:
        out["dagster_day"] = step_error(exc)
        console.print(f"  [red]Dagster run failed[/red]: {exc}")
    shutil.rmtree(dagster_dir, ignore_errors=True)

    # ratios against the floor
    out["ratios"] = ratios(out)

    # backfill of every day of this size: the history process, each measured-day step and the Dagster run
    peaks = [out.get("history", {}).get("peak_rss_mb")] + [s.get("peak_rss_mb") for s in stages.values()]
    peaks.append(out.get("dagster_day", {}).get("peak_rss_mb"))
    peaks = [p for p in peaks if p is not None]
    secs = [out.get("history", {}).get("seconds") or 0.0, (out["day_direct"] or {}).get("seconds") or 0.0]
    total_lines = (out.get("history", {}).get("lines") or 0) + (out["measured_day_lines"] or 0)
    out["backfill"] = {
        "days": size.days,
        "lines": total_lines,
        "seconds_direct": sum(secs),
        "lines_per_s": total_lines / sum(secs) if sum(secs) else None,
        "peak_rss_mb": max(peaks) if peaks else None,
    }

    if profile_dir is not None:
        from bench.profile import profile_day

        out["profile"] = profile_day(work, profile_dir, start, day, args)
    shutil.rmtree(profile_dir, ignore_errors=True) if profile_dir else None
    return out


def ratios(out: dict[str, Any]) -> dict[str, float | None]:
    def r(num: float | None, den: float | None) -> float | None:
        return num / den if num is not None and den else None

    def cpu(entry: dict[str, Any] | None) -> float | None:
        entry = entry or {}
        return entry.get("cpu_seconds", entry.get("process_cpu_seconds"))

    floor = out.get("floor", {}).get("lines", {}).get("seconds")
    json_floor = out.get("floor", {}).get("json", {}).get("seconds")
    r2s = (out.get("raw_to_staging") or {}).get("seconds")
    direct = (out.get("day_direct") or {}).get("seconds")
    dag = (out.get("dagster_day") or {}).get("run_seconds")
    return {
        "raw_to_staging_vs_floor": r(r2s, floor),
        "day_direct_vs_floor": r(direct, floor),
        "day_dagster_vs_floor": r(dag, floor),
        "raw_to_staging_vs_json_floor": r(r2s, json_floor),
        "day_direct_vs_json_floor": r(direct, json_floor),
        "day_dagster_vs_json_floor": r(dag, json_floor),
        # the same in CPU seconds (user+sys): the work done, less sensitive to other load on the machine
        "raw_to_staging_vs_floor_cpu": r(cpu(out.get("raw_to_staging")), cpu(out.get("floor", {}).get("lines"))),
        "day_direct_vs_floor_cpu": r(cpu(out.get("day_direct")), cpu(out.get("floor", {}).get("lines"))),
    }


# --------------------------------------------------------------------------------------
# Incrementality
# --------------------------------------------------------------------------------------


def run_incremental(root: Path, lines: int, history_cases: list[int], args: argparse.Namespace) -> dict[str, Any]:
    """The same measured day (byte-identical files) on a warehouse holding H earlier days, H in 0 + cases."""
    work = root / "incremental"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    cases = sorted({0, *history_cases})
    days = max(cases) + 1
    day = MEASURED_DAY
    start = day - dt.timedelta(days=days - 1)
    console.rule(f"[bold]incrementality[/bold]: measured day {day} (~{lines:,} lines) after {cases} days of history")
    accounts, pilot = calibrate(work, lines, days, start, args.seed, args.events_per_user_day, last_day_only=True)
    gen = generate(work, "generate", work, start, days, accounts, args.seed, args.events_per_user_day)
    console.print(f"  generated {days} days, {gen['lines']:,} lines ({accounts:,} accounts) in {gen['seconds']:.1f} s")
    out: dict[str, Any] = {
        "measured_day": day.isoformat(),
        "lines_target": lines,
        "days_generated": days,
        "generation": {**gen, "pilot": pilot, "start": start.isoformat()},
        "cases": {},
    }
    for h in cases:
        case = work / f"h{h}"
        config = write_config(case, start, work / "landing", work / "billing", case / "warehouse.duckdb")
        entry: dict[str, Any] = {"history_days": h}
        if h:
            hist = [day - dt.timedelta(days=h - i) for i in range(h)]
            try:
                built = run_child(
                    work,
                    f"h{h}-history",
                    {
                        "kind": "days_direct",
                        "config": str(config),
                        "days": [d.isoformat() for d in hist],
                    },
                    env={"ENGAGEMENT_CONFIG": str(config)},
                )
            except StepFailed as exc:
                entry["history"] = step_error(exc)
                out["cases"][str(h)] = entry
                console.print(f"  [red]history of {h} days failed[/red]: {exc}")
                continue
            entry["history"] = {
                "seconds": built["seconds"],
                "peak_rss_mb": built["peak_rss_mb"],
                "lines": sum(d["lines"] or 0 for d in built["days"]),
                "per_day": [
                    {"day": d["day"], "lines": d["lines"], "seconds": round(d["seconds"], 3)} for d in built["days"]
                ],
            }
            console.print(f"  H={h}: history {entry['history']['lines']:,} lines in {built['seconds']:.1f} s")
        stages = measure_day_stages(work, config, day, None, f"H={h}", args.rss_method)
        entry["stages"] = stages
        entry["measured_day_lines"] = stages.get("land_raw", {}).get("rows")
        entry["day_direct"] = summarize_stages(stages, STAGES)
        entry["raw_to_staging"] = summarize_stages(stages, ("land_raw", "stage"))
        out["cases"][str(h)] = entry
        shutil.rmtree(case, ignore_errors=True)
    base = (out["cases"].get("0", {}).get("day_direct") or {}).get("seconds")
    for entry in out["cases"].values():
        secs = (entry.get("day_direct") or {}).get("seconds")
        entry["ratio_to_day1"] = secs / base if secs and base else None
        entry["stage_ratios_to_day1"] = {
            n: entry["stages"][n]["seconds"] / out["cases"]["0"]["stages"][n]["seconds"]
            for n in STAGES
            if "seconds" in entry.get("stages", {}).get(n, {}) and "seconds" in out["cases"]["0"]["stages"].get(n, {})
        }
    shutil.rmtree(work, ignore_errors=True)
    return out


# --------------------------------------------------------------------------------------
# Targets and printing
# --------------------------------------------------------------------------------------


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []

    def add(name: str, size: str, value: float | None, limit: float, unit: str, note: str = "") -> None:
        status = "N/A" if value is None else ("PASS" if value <= limit else "MISS")
        rows.append(
            {"target": name, "size": size, "value": value, "limit": limit, "unit": unit, "status": status, "note": note}
        )

    sizes = results["sizes"]
    for name, s in sizes.items():
        if s.get("skipped") or s["size"]["lines"] < 100_000:
            continue
        add(
            "raw->staging within 2x of floor",
            name,
            (s.get("ratios") or {}).get("raw_to_staging_vs_floor"),
            2.0,
            "x",
            "land_raw+stage / read_csv-lines floor",
        )
    one = sizes.get("1m")
    if one and not one.get("skipped"):
        dag = one.get("dagster_day") or {}
        add(
            "daily run (1M events, 30-day window) < 60 s",
            "1m",
            dag.get("run_seconds"),
            60.0,
            "s",
            "Dagster run_days, one day",
        )
        add(
            "daily run peak RSS < 2 GB",
            "1m",
            dag.get("peak_rss_mb"),
            2048.0,
            "MB",
            "Dagster run process; direct layers max "
            + _fmt((one.get("day_direct") or {}).get("peak_rss_mb"), 0)
            + " MB",
        )
    else:
        add("daily run (1M events, 30-day window) < 60 s", "1m", None, 60.0, "s", "size 1m not run")
        add("daily run peak RSS < 2 GB", "1m", None, 2048.0, "MB", "size 1m not run")
    incr = results.get("incremental")
    h90 = (incr or {}).get("cases", {}).get("90")
    add(
        "day N / day 1 <= 1.3 with 90 days of history",
        "incr",
        (h90 or {}).get("ratio_to_day1"),
        1.3,
        "x",
        "six layers direct" if h90 else "90-day case not run",
    )
    big = sizes.get("30m")
    if big and not big.get("skipped"):
        add(
            "30M events over 30 days backfilled within 6 GB RSS",
            "30m",
            (big.get("backfill") or {}).get("peak_rss_mb"),
            6144.0,
            "MB",
            "max over history process, each day-30 step and the Dagster day-30 run",
        )
    else:
        add("30M events over 30 days backfilled within 6 GB RSS", "30m", None, 6144.0, "MB", "size 30m not run")
    return rows


def _fmt(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def print_size(name: str, s: dict[str, Any]) -> None:
    if s.get("skipped"):
        console.print(f"[yellow]{name}: skipped ({s['skipped']})[/yellow]")
        return
    lines = s.get("measured_day_lines")
    gen = s.get("generation", {})
    title = (
        f"{name}: {gen.get('lines', 0):,} lines over {s['size']['days']} day(s); measured day {s['measured_day']} "
        f"= {lines or 0:,} lines"
    )
    table = Table(title=title, title_justify="left")
    for col in ("step", "wall s", "lines/s", "peak RSS MB", "CPU s", "load", "note"):
        table.add_column(col, justify="left" if col in ("step", "note") else "right")

    def row(
        step: str,
        entry: dict[str, Any] | None,
        note: str = "",
        secs_key: str = "seconds",
        n_lines: int | None = lines,
        style: str | None = None,
    ) -> None:
        if entry is None:
            table.add_row(step, "-", "-", "-", "-", "", note)
            return
        if "error" in entry:
            table.add_row(step, "[red]ERROR[/red]", "", "", "", "", entry["error"].splitlines()[-1][:80])
            return
        secs = entry.get(secs_key)
        rate = n_lines / secs if n_lines and secs else None
        cpu = entry.get("cpu_seconds", entry.get("process_cpu_seconds"))
        table.add_row(
            step,
            _fmt(secs),
            _fmt(rate, 0),
            _fmt(entry.get("peak_rss_mb"), 0),
            _fmt(cpu, 1),
            _fmt(entry.get("loadavg_1m_end"), 1),
            note,
            style=style,
        )

    stages = s.get("stages", {})
    for stage in STAGES:
        entry = stages.get(stage)
        note = ""
        if entry and stage == "stage" and "accepted" in entry:
            note = f"{entry['accepted']:,} accepted, {entry.get('duplicates', 0):,} dup, {entry.get('quarantine', 0):,} quar."
        if entry and "close_seconds" in entry and entry["close_seconds"] > 0.5:
            note = (note + "; " if note else "") + f"close/checkpoint {entry['close_seconds']:.1f} s"
        row(stage, entry, note)
    table.add_section()
    ratio = s.get("ratios", {})
    row(
        "raw->staging (land_raw+stage)",
        s.get("raw_to_staging"),
        f"{_fmt(ratio.get('raw_to_staging_vs_floor'))}x floor, {_fmt(ratio.get('raw_to_staging_vs_json_floor'))}x read_json",
        style="bold",
    )
    row(
        "whole day, six layers direct",
        s.get("day_direct"),
        f"{_fmt(ratio.get('day_direct_vs_floor'))}x floor",
        style="bold",
    )
    dag = s.get("dagster_day")
    note = ""
    if dag and "error" not in dag:
        note = (
            f"{_fmt(ratio.get('day_dagster_vs_floor'))}x floor; Dagster overhead {_fmt(dag.get('overhead_seconds'))} s "
            f"({_fmt(dag.get('overhead_ratio'))}x direct; incl. GX checks, metadata); "
            f"+{_fmt(dag.get('setup_seconds'), 1)} s definitions/instance"
        )
    row("whole day through Dagster (run_days)", dag, note, secs_key="run_seconds", style="bold")
    table.add_section()
    floor = s.get("floor", {})
    fl = floor.get("lines")
    row(
        "floor: DuckDB read_csv lines+json, dedupe, group",
        fl,
        f"{fl['groups']:,} user x event groups" if fl and "groups" in fl else "",
    )
    fj = floor.get("json")
    row("floor: DuckDB read_json (drops bad lines)", fj, "engine minimum, not lossless")
    table.add_section()
    hist = s.get("history")
    if hist:
        row(
            f"history backfill ({s['size']['days'] - 1} days, direct, 1 process)",
            hist,
            f"{hist.get('lines', 0):,} lines",
            n_lines=hist.get("lines"),
        )
    bf = s.get("backfill")
    if bf and s["size"]["days"] > 1:
        table.add_row(
            f"backfill all {bf['days']} days (direct)",
            _fmt(bf.get("seconds_direct")),
            _fmt(bf.get("lines_per_s"), 0),
            _fmt(bf.get("peak_rss_mb"), 0),
            "",
            "",
            "peak = max over every process of the backfill",
        )
    row("generation (not a pipeline step)", gen, f"{gen.get('accounts', 0):,} accounts", n_lines=gen.get("lines"))
    console.print(table)


def print_incremental(incr: dict[str, Any]) -> None:
    table = Table(
        title=f"incrementality: day {incr['measured_day']} (same files every time) vs history already loaded",
        title_justify="left",
    )
    for col in ("history days", "history lines", "lines", *STAGES, "day s", "ratio to day 1", "peak RSS MB"):
        table.add_column(col, justify="right")
    for key, entry in sorted(incr["cases"].items(), key=lambda kv: int(kv[0])):
        stages = entry.get("stages", {})
        table.add_row(
            key,
            f"{(entry.get('history') or {}).get('lines', 0):,}",
            f"{entry.get('measured_day_lines') or 0:,}",
            *[_fmt(stages.get(n, {}).get("seconds")) for n in STAGES],
            _fmt((entry.get("day_direct") or {}).get("seconds")),
            _fmt(entry.get("ratio_to_day1")),
            _fmt((entry.get("day_direct") or {}).get("peak_rss_mb"), 0),
        )
    console.print(table)


def print_targets(rows: list[dict[str, Any]]) -> None:
    table = Table(title="targets", title_justify="left")
    for col in ("target", "size", "value", "limit", "status", "note"):
        table.add_column(col)
    colours = {"PASS": "green", "MISS": "red", "N/A": "yellow"}
    for r in rows:
        digits = 0 if r["unit"] == "MB" else 2
        table.add_row(
            r["target"],
            r["size"],
            _fmt(r["value"], digits) + (f" {r['unit']}" if r["value"] is not None else ""),
            f"{_fmt(r['limit'], digits)} {r['unit']}",
            f"[{colours[r['status']]}]{r['status']}[/]",
            r["note"],
        )
    console.print(table)


def print_all(results: dict[str, Any]) -> None:
    for name, s in results["sizes"].items():
        print_size(name, s)
    if results["sizes"]:
        print_ratio_summary(results)
    if results.get("incremental"):
        print_incremental(results["incremental"])
    print_targets(results["targets"])
    for name, s in results["sizes"].items():
        if s.get("profile"):
            from bench.profile import print_profile

            print_profile(console, name, s["profile"])
    print_footer(results)


def print_ratio_summary(results: dict[str, Any]) -> None:
    summary = Table(title="pipeline / floor", title_justify="left")
    for col in (
        "size",
        "measured-day lines",
        "raw->staging / floor",
        "day direct / floor",
        "day Dagster / floor",
        "raw->staging / read_json",
        "raw->staging / floor, CPU s",
        "Dagster overhead",
    ):
        summary.add_column(col, justify="right")
    for name, s in results["sizes"].items():
        if s.get("skipped"):
            continue
        r = s.get("ratios", {})
        dag = s.get("dagster_day") or {}
        summary.add_row(
            name,
            f"{s.get('measured_day_lines') or 0:,}",
            _fmt(r.get("raw_to_staging_vs_floor")),
            _fmt(r.get("day_direct_vs_floor")),
            _fmt(r.get("day_dagster_vs_floor")),
            _fmt(r.get("raw_to_staging_vs_json_floor")),
            _fmt(r.get("raw_to_staging_vs_floor_cpu")),
            f"{_fmt(dag.get('overhead_seconds'))} s ({_fmt(dag.get('overhead_ratio'))}x)",
        )
    console.print(summary)


def print_footer(results: dict[str, Any]) -> None:
    meta = results["meta"]
    console.print(
        f"[dim]{results['methods']['rss']}.\n{FLOOR_METHOD}.\nwall s = time around the step inside its "
        f"process (layers: connect + call + close, which may checkpoint); lines/s = the measured day's landed "
        f"lines / wall s; CPU s = user+sys of the step (all threads; whole process for generation, floor, "
        f"history and Dagster); load = 1-minute load average when the step ended. Load average at start "
        f"{meta['loadavg_start']}, end {meta.get('loadavg_end')} on {meta['cpus']} CPUs.[/dim]"
    )
    if meta.get("code_sha256"):
        changed = (
            " The repository's code changed while the benchmark ran; these figures are for the copy taken at the start."
            if meta.get("repo_changed_during_run")
            else ""
        )
        console.print(
            f"[dim]Every step imported one copy of the code taken at the start "
            f"(sha256 {meta['code_sha256']}).{changed}[/dim]"
        )


# --------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------


def merge_results(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Several results files as one: sizes and incrementality from each, meta of the first."""
    merged: dict[str, Any] = {
        "meta": dict(parts[0]["meta"]),
        "sizes": {},
        "incremental": None,
        "methods": parts[0].get("methods", {}),
    }
    for part in parts:
        merged["sizes"].update({k: v for k, v in part["sizes"].items() if "stages" in v or v.get("skipped")})
        if part.get("incremental"):
            merged["incremental"] = part["incremental"]
    if len(parts) > 1:
        merged["meta"]["loadavg_start"] = [p["meta"]["loadavg_start"] for p in parts]
        merged["meta"]["loadavg_end"] = [p["meta"].get("loadavg_end") for p in parts]
        shas = {p["meta"].get("code_sha256") for p in parts}
        merged["meta"]["code_sha256"] = ", ".join(sorted(s for s in shas if s))
    return merged


def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--sizes",
        default=os.environ.get("BENCH_SIZES", "1m,10m,30m"),
        help="comma-separated: smoke, 1m, 10m (30 days), 30m (30 days) or <lines>[@<days>], e.g. 2m@5 "
        "(default: $BENCH_SIZES or 1m,10m,30m)",
    )
    p.add_argument(
        "--incr",
        default=os.environ.get("BENCH_INCR", "default"),
        choices=[*INCR_PRESETS, "off"],
        help="incrementality run: default (~100k-line day after 0/1/30/90 days), smoke, or off",
    )
    p.add_argument("--incr-lines", type=_count, help="lines of the incrementality measured day (default 100k)")
    p.add_argument("--incr-history", help="history cases, comma-separated days (default 1,30,90; 0 is always run)")
    p.add_argument(
        "--work-dir",
        type=Path,
        default=Path(os.environ.get("BENCH_WORK_DIR") or Path(tempfile.gettempdir()) / "engagement-bench"),
        help="scratch folder, one sub-folder per size, removed after each size (default: $BENCH_WORK_DIR "
        "or <tmp>/engagement-bench)",
    )
    p.add_argument(
        "--out", type=Path, default=RESULTS / "latest.json", help="JSON results (default bench/results/latest.json)"
    )
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--events-per-user-day", type=float, default=6.0)
    p.add_argument(
        "--profile",
        action="store_true",
        default=os.environ.get("BENCH_PROFILE", "") not in ("", "0"),
        help="also profile the measured day of --profile-size with py-spy (if installed): direct and Dagster",
    )
    p.add_argument("--profile-size", default=None, help="size to profile (default: 1m if run, else the first size)")
    p.add_argument(
        "--rss-method",
        choices=sorted(RSS_METHODS),
        default=os.environ.get("BENCH_RSS_METHOD", "process"),
        help="process (default): each layer in a fresh process, peak = its ru_maxrss; hwm: the six layers "
        "in one process, peak = VmHWM reset before each (faster; for smoke runs)",
    )
    p.add_argument("--floor-repeat", type=int, default=3, help="floor passes per size; the median is used (default 3)")
    p.add_argument(
        "--show",
        type=Path,
        nargs="+",
        metavar="JSON",
        help="only print the tables of earlier results files (several are merged, later ones win)",
    )
    p.add_argument("--keep-work", action="store_true", help="keep the work folder at the end")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.show:
        shown = merge_results([json.loads(p.read_text()) for p in args.show])
        for entry in shown["sizes"].values():
            if not entry.get("skipped"):
                entry["ratios"] = ratios(entry)
        shown["targets"] = targets(shown)
        print_all(shown)
        return 0
    try:
        sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    except argparse.ArgumentTypeError as exc:
        console.print(f"error: {exc}")
        return 2
    if args.profile and args.profile_size is None:
        names = [s.name for s in sizes]
        args.profile_size = "1m" if "1m" in names else (names[0] if names else None)
    incr_lines, incr_hist = INCR_PRESETS.get(args.incr, (0, []))
    if args.incr_lines:
        incr_lines = args.incr_lines
    if args.incr_history:
        incr_hist = [int(x) for x in args.incr_history.split(",") if x.strip()]
    import signal

    signal.signal(signal.SIGTERM, _terminate)  # so a kill still removes the work folder and stops the step
    root = args.work_dir.resolve()
    prepare_root(root)
    snapshot_code(root)
    results: dict[str, Any] = {
        "meta": meta_info(args, root),
        "sizes": {},
        "incremental": None,
        "targets": [],
        "methods": {"rss": RSS_METHODS[args.rss_method], "floor": FLOOR_METHOD, "rss_method": args.rss_method},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)

    results["meta"]["code_sha256"] = code_fingerprint(CODE)

    def save() -> None:
        results["targets"] = targets(results)
        repo_now = code_fingerprint(REPO)
        results["meta"]["repo_code_sha256_now"] = repo_now
        results["meta"]["repo_changed_during_run"] = repo_now != results["meta"]["code_sha256"]
        results["meta"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
        args.out.write_text(json.dumps(results, indent=2, default=str))

    try:
        for size in sizes:
            started = time.perf_counter()
            results["sizes"][size.name] = run_size(size, root, args)
            results["sizes"][size.name]["bench_seconds"] = time.perf_counter() - started
            if not args.keep_work:
                shutil.rmtree(root / size.name, ignore_errors=True)
            save()
        if args.incr != "off" and incr_hist is not None:
            results["incremental"] = run_incremental(root, incr_lines, incr_hist, args)
            save()
    finally:
        if not args.keep_work:
            shutil.rmtree(root, ignore_errors=True)
    results["meta"]["finished"] = dt.datetime.now().isoformat(timespec="seconds")
    save()
    stamped = args.out.with_name(f"bench-{dt.datetime.now():%Y%m%d-%H%M%S}.json")
    if args.out.resolve().parent == RESULTS.resolve():
        shutil.copy2(args.out, stamped)
    print_all(results)
    console.print(f"results: {args.out}")
    return 0


def meta_info(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    import dagster
    import duckdb
    import polars

    mem = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) // 1024
    except OSError:
        pass
    return {
        "started": dt.datetime.now().isoformat(timespec="seconds"),
        "argv": sys.argv[1:],
        "sizes": args.sizes,
        "incr": args.incr,
        "seed": args.seed,
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "polars": polars.__version__,
        "dagster": dagster.__version__,
        "cpus": os.cpu_count(),
        "mem_total_mb": mem,
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        "work_dir": str(root),
        "measured_day": MEASURED_DAY.isoformat(),
    }
