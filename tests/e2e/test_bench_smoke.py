"""`make bench` end to end at the smoke size: every stage, the floor and its ratios land in the JSON.

A benchmark is not a timed test: nothing here asserts speed, only that every figure is there.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
STAGES = ("land_raw", "stage", "score", "account_layer", "snapshot_layer", "export_layer")
RATIOS = (
    "raw_to_staging_vs_floor",
    "day_direct_vs_floor",
    "day_dagster_vs_floor",
    "raw_to_staging_vs_json_floor",
    "day_direct_vs_json_floor",
    "day_dagster_vs_json_floor",
)


@pytest.mark.slow
def test_bench_smoke_writes_every_stage_and_the_floor_ratios(tmp_path: Path) -> None:
    work, out = tmp_path / "work", tmp_path / "results" / "smoke.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--sizes",
            "smoke",
            "--incr",
            "smoke",
            "--rss-method",
            "hwm",
            "--work-dir",
            str(work),
            "--out",
            str(out),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = json.loads(out.read_text())

    smoke = results["sizes"]["smoke"]
    assert "skipped" not in smoke
    for stage in STAGES:
        entry = smoke["stages"][stage]
        assert "error" not in entry, entry
        assert entry["seconds"] > 0 and entry["peak_rss_mb"] > 0 and entry["lines_per_s"] > 0
    assert smoke["measured_day_lines"] > 0
    assert smoke["raw_to_staging"]["seconds"] > 0 and smoke["day_direct"]["seconds"] > 0
    assert smoke["dagster_day"]["run_seconds"] > 0 and smoke["dagster_day"]["peak_rss_mb"] > 0
    # every step imports the copy of the code taken at the start, not the (concurrently edited) repo
    assert smoke["dagster_day"]["code_path"].startswith(str(work))
    for mode in ("lines", "json"):
        assert smoke["floor"][mode]["seconds"] > 0 and smoke["floor"][mode]["groups"] > 0
    for key in RATIOS:
        assert smoke["ratios"][key] is not None and smoke["ratios"][key] > 0, key

    incr = results["incremental"]
    assert set(incr["cases"]) >= {"0", "1"}
    assert incr["cases"]["1"]["measured_day_lines"] == incr["cases"]["0"]["measured_day_lines"]
    assert incr["cases"]["1"]["ratio_to_day1"] > 0

    statuses = {row["target"]: row["status"] for row in results["targets"]}
    assert len(statuses) >= 4 and set(statuses.values()) <= {"PASS", "MISS", "N/A"}
    assert results["methods"]["rss"] and results["methods"]["floor"]
    assert not work.exists(), "the work folder is removed at the end"
    assert "raw->staging" in proc.stdout and "targets" in proc.stdout
