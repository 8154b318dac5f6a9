"""Progress that works in logs, and an install that prints no licence warning."""

from __future__ import annotations

import datetime as dt
import tomllib

from engagement_pipeline.ops.commands import plain_progress
from engagement_pipeline.ops.runner import DayRun
from tests.conftest import REPO


def test_a_finished_day_is_one_plain_line_with_lines_rate_and_elapsed() -> None:
    run = DayRun(dt.date(2026, 3, 4), "staging", "r1", 2.0, 10_000)
    assert plain_progress(run, 65.0) == "2026-03-04 staging, 10,000 lines, 5,000 lines/s, 2.0 s (elapsed 00:01:05)"
    model = DayRun(dt.date(2026, 3, 4), "model", "r2", 1.25, 0)
    assert plain_progress(model, 3.0) == "2026-03-04 scoring + exports, 1.2 s (elapsed 00:00:03)"


def test_the_licence_is_an_spdx_string_so_setuptools_prints_no_deprecation_warning() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert project["project"]["license"] == "Apache-2.0"
    assert "setuptools>=77" in project["build-system"]["requires"]  # the first to read an SPDX string
