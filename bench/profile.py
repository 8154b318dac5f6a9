"""Optional: profile one measured day with py-spy (sampling, 100 Hz) and say what dominates.

Only used with `--profile`; py-spy is not a project dependency (`.venv/bin/pip install py-spy`).
Two profiles of the same day on the same starting warehouse: the six layers called directly,
and the Dagster run. Each sample is attributed to the layer it is in (the frame in
`engagement_pipeline/<layer>/step.py`) and to its hotspot: the deepest frame of project code, so
time spent inside DuckDB or polars is charged to the line of ours that called it (a
`con.execute` line names the SQL).
"""

from __future__ import annotations

import argparse
import datetime as dt
import linecache
import re
import shutil
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench import run as bench_run
from bench.run import REPO, StepFailed, copy_warehouse, run_child, write_config

FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?):(?P<line>\d+)\)$")
PROJECT_DIRS = ("engagement_pipeline/", "assets/", "checks/")


def _py_spy() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


def _parse(frame: str) -> tuple[str, str, int]:
    m = FRAME.match(frame.strip())
    if not m:
        return frame.strip(), "", 0
    return m.group("func"), m.group("file"), int(m.group("line"))


def _rel(file: str) -> str | None:
    """The repo-relative path of a project file (py-spy prints paths relative to sys.path entries)."""
    for base in (bench_run.CODE, REPO):
        root = str(base) + "/"
        if file.startswith(root):
            file = file[len(root) :]
    return file if file.startswith(PROJECT_DIRS) else None


def _code(rel: str, line: int) -> str:
    text = linecache.getline(str(bench_run.CODE / rel), line).strip()
    return text[:110]


def _layer(frames: list[tuple[str, str, int]]) -> str:
    """Where a sample belongs: a layer, the GX checks, other asset/check code, imports, Dagster itself."""
    calls = [(func, _rel(file)) for func, file, _ in frames if func != "<module>"]
    for _func, rel in calls:
        if rel and rel.startswith("engagement_pipeline/") and rel.endswith("/step.py"):
            return rel.split("/")[1]
    if any(rel and rel.startswith("checks/gx") for _, rel in calls):
        return "GX checks"
    if any(rel and rel.startswith(("assets/", "checks/")) for _, rel in calls):
        return "asset/check code (metadata, rules)"
    if any(func == "_find_and_load" or "importlib" in file for func, file, _ in frames):
        return "imports"
    if any(file.startswith("dagster") for _, file, _ in frames):
        return "Dagster framework"
    return "other (startup, connect outside a layer)"


def summarize(raw: Path, top: int = 15) -> dict[str, Any]:
    total = 0
    layers: Counter[str] = Counter()
    hotspots: Counter[tuple[str, str]] = Counter()
    leaves: Counter[str] = Counter()
    for text in raw.read_text(errors="replace").splitlines():
        stack, _, count = text.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [_parse(f) for f in stack.split(";")]
        total += n
        layer = _layer(frames)
        layers[layer] += n
        hot = None
        for func, file, line in reversed(frames):
            rel = _rel(file)
            if rel:
                hot = f"{func} ({rel}:{line})"
                break
        hotspots[(layer, hot or "(no project frame)")] += n
        func, file, _ = frames[-1]
        leaves[f"{func} ({Path(file).name})" if file else func] += n
    pct = (lambda n: round(100.0 * n / total, 1)) if total else (lambda n: 0.0)
    out_hot = []
    for (layer, hot), n in hotspots.most_common(top):
        m = re.search(r"\((\S+):(\d+)\)$", hot)
        out_hot.append(
            {"layer": layer, "frame": hot, "pct": pct(n), "code": _code(m.group(1), int(m.group(2))) if m else ""}
        )
    return {
        "samples": total,
        "by_layer": {k: pct(v) for k, v in layers.most_common()},
        "hotspots": out_hot,
        "leaf_functions": [{"frame": k, "pct": pct(v)} for k, v in leaves.most_common(10)],
    }


def profile_day(work: Path, pre_state: Path, start: dt.date, day: dt.date, args: argparse.Namespace) -> dict[str, Any]:
    spy = _py_spy()
    if spy is None:
        return {
            "skipped": "py-spy is not installed: `.venv/bin/pip install py-spy` to profile (not a project dependency)"
        }
    out: dict[str, Any] = {
        "tool": "py-spy record --rate 100 --format raw (Python frames; native time is charged "
        "to the Python line that called it)"
    }
    second = pre_state.parent / (pre_state.name + "_dagster")
    copy_warehouse(pre_state, second)
    landing, billing = work / "landing", work / "billing"
    for kind, folder in (("direct", pre_state), ("dagster", second)):
        config = write_config(folder, start, landing, billing, folder / "warehouse.duckdb")
        raw = work / f"profile-{kind}.txt"
        task = (
            {"kind": "days_direct", "config": str(config), "days": [day.isoformat()]}
            if kind == "direct"
            else {"kind": "dagster", "config": str(config), "days": [day.isoformat()]}
        )
        prefix = [spy, "record", "--rate", "100", "--format", "raw", "--output", str(raw), "--"]
        try:
            result = run_child(
                work,
                f"profile-{kind}",
                task,
                prefix=prefix,
                env={"ENGAGEMENT_CONFIG": str(config), "DAGSTER_HOME": str(folder / "dagster_home")},
            )
        except StepFailed as exc:
            out[kind] = {"error": str(exc)}
            continue
        summary = summarize(raw)
        summary["seconds"] = result.get("seconds")
        out[kind] = summary
        keep = args.out.parent / f"profile-{kind}.txt"
        keep.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(raw, keep)
        summary["raw_file"] = str(keep)
    shutil.rmtree(second, ignore_errors=True)
    return out


def print_profile(console: Console, size: str, prof: dict[str, Any]) -> None:
    if prof.get("skipped"):
        console.print(f"[yellow]profile of {size}: {prof['skipped']}[/yellow]")
        return
    for kind in ("direct", "dagster"):
        p = prof.get(kind)
        if not p:
            continue
        if "error" in p:
            console.print(f"[red]profile {kind} failed[/red]: {p['error']}")
            continue
        layers = ", ".join(f"{k} {v}%" for k, v in p["by_layer"].items() if v >= 0.5)
        table = Table(title=f"profile of {size}, {kind} ({p['samples']:,} samples): {layers}", title_justify="left")
        for col in ("%", "layer", "hotspot (deepest project frame)", "code"):
            table.add_column(col, justify="right" if col == "%" else "left")
        for h in p["hotspots"]:
            table.add_row(f"{h['pct']:.1f}", h["layer"], h["frame"], h["code"])
        console.print(table)
