"""On the demo's own data (default size and seed), the ICP finds the segment the generator made best."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest
import yaml

from engagement_pipeline.core.config import load_config
from engagement_pipeline.demo.generator import generate_demo
from tests.conftest import REPO, day_range, run_days, write_config


@pytest.mark.slow
def test_icp_puts_the_generated_best_fit_segment_on_top(tmp_path: Path) -> None:
    data = yaml.safe_load((REPO / "engagement.yaml").read_text())
    demo = data["demo"]
    start = data["start_date"] = dt.date(2026, 1, 1)  # the date the floors were measured on (seed and weekdays)
    generate_demo(
        tmp_path / "data" / "landing",
        start,
        demo["days"],
        accounts=demo["accounts"],
        seed=demo["seed"],
        billing_dir=tmp_path / "data" / "billing",
    )
    config = load_config(write_config(tmp_path, data))
    days = day_range(start, demo["days"])
    run_days(config.paths.warehouse, days, config, through="staging")
    done = run_days(config.paths.warehouse, days[-1:], config, start="scores")["exports"][-1]
    truth = json.loads((tmp_path / "data" / "ground_truth" / "summary.json").read_text())["best_fit_segment"]
    expected = f"{truth['industry']} | {truth['employee_band']}"
    profile = done.bundle.files["icp_profile.csv"]
    top = profile.filter((pl.col("attribute") == "segment") & ~pl.col("low_sample")).row(0, named=True)
    summary = (done.folder / "icp_summary.md").read_text()
    print(f"best-fit segment {expected}: lift {top['lift']}, {top['top_accounts']} of the top accounts")
    assert top["value"] == expected and top["lift"] > 2
    best_fit_section = summary.split("## Best-fit segment", 1)[1].split("##", 1)[0]
    assert truth["industry"] in best_fit_section and truth["employee_band"] in best_fit_section
