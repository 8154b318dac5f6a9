"""Reliability of the CLI (issue 15, part 1): no command destroys data, every failure is one sentence.

Each test reproduces a failure of the adversarial probe on one small generated day (8 accounts) and
judges it the probe's way: the whole data folder (every warehouse table, every export file) compared
with a clean run's, or with itself before the command (tests/reliability.py).

A full run through Dagster costs tens of seconds on a shared machine, so the tests share one landed
day and one clean run (module fixtures) and run a day only where the case needs one.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

from engagement_pipeline.core.config import load_config
from engagement_pipeline.ops.cli import main
from tests.conftest import base_config, write_config
from tests.reliability import Fingerprint, assert_same, differences, fingerprint

START = dt.date(2026, 1, 1)
ACCOUNTS = 8
RUN_TIMEOUT = 600.0  # seconds; a day takes 10-60 s depending on the machine's load


def _config_data(landed: Path, **paths: str) -> dict[str, Any]:
    """The repository config, reading the shared landed day, writing beside the config file."""
    data = base_config(START.isoformat())
    data["paths"] = {"landing": str(landed / "landing"), "billing": str(landed / "billing"),
                     "warehouse": "data/warehouse.duckdb", "exports": "data/exports", **paths}
    return data


def _picture(config_file: Path, **extra: Path) -> Fingerprint:
    config = load_config(config_file)
    return fingerprint(config.paths.warehouse, {"exports": config.paths.exports, **extra})


def _error_line(err: str) -> str:
    """The CLI's one sentence: stderr must hold exactly one non-empty line, starting `error: `."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{err[-3000:]}"
    return lines[0]


def _cli(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    """`python -m engagement_pipeline.ops.cli ARGS` in its own session (so a signal to its group is ours)."""
    env = {k: v for k, v in os.environ.items() if k not in ("ENGAGEMENT_CONFIG", "DAGSTER_HOME")}
    env["PYTHONUNBUFFERED"] = "1"
    return subprocess.Popen([sys.executable, "-m", "engagement_pipeline.ops.cli", *args], cwd=str(cwd), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def _finish(proc: subprocess.Popen[str], timeout: float = RUN_TIMEOUT) -> tuple[str, str]:
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise AssertionError(f"the command did not finish in {timeout:.0f} s") from None


@pytest.fixture(scope="module")
def landed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One generated day: <folder>/landing, <folder>/billing, <folder>/ground_truth."""
    folder = tmp_path_factory.mktemp("landed")
    assert main(["generate", "--landing", str(folder / "landing"), "--start", START.isoformat(),
                 "--days", "1", "--accounts", str(ACCOUNTS)]) == 0
    return folder


@pytest.fixture(scope="module")
def clean(landed: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Fingerprint]:
    """A clean `run` of the landed day: its config file and the picture of its warehouse and exports."""
    config = write_config(tmp_path_factory.mktemp("clean"), _config_data(landed))
    assert main(["run", "--config", str(config)]) == 0
    return config, _picture(config)


# --- K. The demo removes only what it wrote ---------------------------------------------------


def _real_data_folder(landed: Path, clean: tuple[Path, Fingerprint], folder: Path) -> dict[str, Path]:
    """A copy of a real pipeline's data folder: landed days, billing (plus a file of the user's), a
    warehouse, exports and a Dagster instance from a run."""
    source = load_config(clean[0]).paths
    paths = {"landing": folder / "landing", "billing": folder / "billing", "warehouse": folder / "warehouse.duckdb",
             "exports": folder / "exports", "dagster_home": folder / "dagster_home"}
    shutil.copytree(landed / "landing", paths["landing"])
    shutil.copytree(landed / "billing", paths["billing"])
    (paths["billing"] / "contracts.csv").write_text("account_id,signed\nacc_1,2025-12-01\n", encoding="utf-8")
    shutil.copy(source.warehouse, paths["warehouse"])
    shutil.copytree(source.exports, paths["exports"], symlinks=True)
    assert source.dagster_home is not None
    shutil.copytree(source.dagster_home, paths["dagster_home"])
    return paths


def _everything(paths: dict[str, Path]) -> Fingerprint:
    return fingerprint(paths["warehouse"], {k: p for k, p in paths.items() if k != "warehouse"})


def test_demo_on_a_new_landing_folder_refuses_existing_data_and_changes_nothing(
        landed: Path, clean: tuple[Path, Fingerprint], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    real = _real_data_folder(landed, clean, tmp_path / "real")
    before = _everything(real)
    data = _config_data(landed, landing=str(tmp_path / "new" / "landing"), billing=str(real["billing"]),
                        warehouse=str(real["warehouse"]), exports=str(real["exports"]))
    config = write_config(tmp_path, data)
    assert main(["demo", "--config", str(config), "--days", "1", "--accounts", str(ACCOUNTS)]) == 2
    line = _error_line(capsys.readouterr().err)
    assert line.startswith("error: ") and "did not write" in line
    assert any(str(real[k]) in line for k in ("billing", "warehouse", "exports")), line
    assert_same(_everything(real), before, "a refused demo")
    assert not (tmp_path / "new" / "landing").exists() or not any((tmp_path / "new" / "landing").iterdir())


def test_demo_again_replaces_only_its_own_outputs_and_refuses_a_file_it_did_not_write(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = base_config(START.isoformat())  # the repository layout: everything under data/
    config = write_config(tmp_path, data)
    args = ["demo", "--config", str(config), "--days", "1", "--accounts", str(ACCOUNTS)]
    assert main(args) == 0
    paths = load_config(config).paths
    assert paths.billing is not None
    outputs = {"landing": paths.landing, "billing": paths.billing, "exports": paths.exports,
               "ground_truth": paths.landing.parent / "ground_truth", "warehouse": paths.warehouse}
    first = _everything(outputs)
    capsys.readouterr()
    # A file the user put into the demo's billing folder: the next demo refuses and changes nothing.
    mine = paths.billing / "contracts.csv"
    mine.write_text("account_id,signed\n", encoding="utf-8")
    sibling = paths.data_dir / "notes.txt"  # the data folder itself is not the demo's
    sibling.write_text("mine\n", encoding="utf-8")
    with_mine = _everything(outputs)
    assert main(args) == 2
    line = _error_line(capsys.readouterr().err)
    assert str(mine) in line and "did not write" in line
    assert_same(_everything(outputs), with_mine, "a refused second demo")
    # Without it, a second demo replaces its own outputs (byte for byte the same) and nothing else.
    mine.unlink()
    assert main(args) == 0
    assert_same(_everything(outputs), first, "a second demo")
    assert sibling.read_text(encoding="utf-8") == "mine\n"


def test_reliability_helper_sees_a_changed_row_and_a_changed_file(
        clean: tuple[Path, Fingerprint], tmp_path: Path) -> None:
    """The helper itself: a copy is identical; one changed row or one changed byte is reported."""
    paths = load_config(clean[0]).paths
    warehouse, exports = tmp_path / "w.duckdb", tmp_path / "exports"
    shutil.copy(paths.warehouse, warehouse)
    shutil.copytree(paths.exports, exports, symlinks=True)
    assert differences(fingerprint(warehouse, {"exports": exports}), clean[1]) == []
    con = duckdb.connect(str(warehouse))
    con.execute("UPDATE scores.user_scores SET score = score + 1 WHERE rowid = (SELECT min(rowid) FROM scores.user_scores)")
    con.close()
    manifest = next(exports.glob("*/manifest.json"))
    manifest.write_bytes(manifest.read_bytes() + b" ")
    diff = differences(fingerprint(warehouse, {"exports": exports}), clean[1])
    assert len(diff) == 2 and diff[0].startswith("table scores.user_scores") and "manifest.json" in diff[1], diff
