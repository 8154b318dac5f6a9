"""Reliability of the CLI (issue 15, part 1): no command destroys data, every failure is one sentence.

Each test reproduces a failure of the adversarial probe on one small generated day (8 accounts) and
judges it the probe's way: the whole data folder (every warehouse table, every export file) compared
with a clean run's, or with itself before the command (tests/reliability.py).

A full run through Dagster costs tens of seconds on a shared machine, so the tests share one landed
day and one clean run (module fixtures) and run a day only where the case needs one.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlalchemy.exc
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

from engagement_pipeline.core.config import load_config
from engagement_pipeline.core.errors import ConfigError
from engagement_pipeline.ops.cli import main
from tests.conftest import base_config, write_config
from tests.reliability import Fingerprint, assert_same, differences, fingerprint

# Most of these run the CLI (Dagster) in a subprocess or in process on generated days.
pytestmark = pytest.mark.slow

START = dt.date(2026, 1, 1)
ACCOUNTS = 8
RUN_TIMEOUT = 600.0  # seconds; a day takes 10-60 s depending on the machine's load


def _config_data(landed: Path, **paths: str) -> dict[str, Any]:
    """The repository config, reading the shared landed day, writing beside the config file."""
    data = base_config(START.isoformat())
    data["paths"] = {
        "landing": str(landed / "landing"),
        "billing": str(landed / "billing"),
        "warehouse": "data/warehouse.duckdb",
        "exports": "data/exports",
        **paths,
    }
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
    return subprocess.Popen(
        [sys.executable, "-m", "engagement_pipeline.ops.cli", *args],
        cwd=str(cwd),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


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
    assert (
        main(
            [
                "generate",
                "--landing",
                str(folder / "landing"),
                "--start",
                START.isoformat(),
                "--days",
                "1",
                "--accounts",
                str(ACCOUNTS),
            ]
        )
        == 0
    )
    return folder


@pytest.fixture(scope="module")
def clean(landed: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Fingerprint]:
    """A clean `run` of the landed day: its config file and the picture of its warehouse and exports."""
    config = write_config(tmp_path_factory.mktemp("clean"), _config_data(landed))
    assert main(["run", "--config", str(config)]) == 0
    return config, _picture(config)


# --- A. `run --config FILE` reads FILE only ---------------------------------------------------


def test_run_with_config_ignores_a_broken_engagement_yaml_in_the_working_folder(
    landed: Path, clean: tuple[Path, Fingerprint], tmp_path: Path
) -> None:
    (tmp_path / "engagement.yaml").write_text("start_date: [broken\n", encoding="utf-8")
    (tmp_path / "good").mkdir()
    config = write_config(tmp_path / "good", _config_data(landed))
    proc = _cli(["run", "--config", str(config)], cwd=tmp_path)
    out, err = _finish(proc)
    assert proc.returncode == 0, err[-3000:]
    assert_same(_picture(config), clean[1], "run --config good.yaml beside a broken ./engagement.yaml")


def test_importing_the_definitions_module_reads_no_config(tmp_path: Path) -> None:
    """`dagster` / `dg` still get `defs` (built on first access), but an import alone reads nothing."""
    env = {k: v for k, v in os.environ.items() if k not in ("ENGAGEMENT_CONFIG", "DAGSTER_HOME")}
    # A script file, not `python -c`: pyspark (imported by Great Expectations when installed) exits a
    # process whose main module has no file, taking it for a doctest run.
    script = tmp_path / "probe.py"
    script.write_text("import engagement_pipeline.definitions as d\nprint('defs' in dir(d))\n")
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=str(tmp_path),
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "True"


# --- K. The demo removes only what it wrote ---------------------------------------------------


def _real_data_folder(landed: Path, clean: tuple[Path, Fingerprint], folder: Path) -> dict[str, Path]:
    """A copy of a real pipeline's data folder: landed days, billing (plus a file of the user's), a
    warehouse, exports and a Dagster instance from a run."""
    source = load_config(clean[0]).paths
    paths = {
        "landing": folder / "landing",
        "billing": folder / "billing",
        "warehouse": folder / "warehouse.duckdb",
        "exports": folder / "exports",
        "dagster_home": folder / "dagster_home",
    }
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
    landed: Path, clean: tuple[Path, Fingerprint], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    real = _real_data_folder(landed, clean, tmp_path / "real")
    before = _everything(real)
    data = _config_data(
        landed,
        landing=str(tmp_path / "new" / "landing"),
        billing=str(real["billing"]),
        warehouse=str(real["warehouse"]),
        exports=str(real["exports"]),
    )
    config = write_config(tmp_path, data)
    assert main(["demo", "--config", str(config), "--days", "1", "--accounts", str(ACCOUNTS)]) == 2
    line = _error_line(capsys.readouterr().err)
    assert line.startswith("error: ") and "did not write" in line
    assert any(str(real[k]) in line for k in ("billing", "warehouse", "exports")), line
    assert_same(_everything(real), before, "a refused demo")
    assert not (tmp_path / "new" / "landing").exists() or not any((tmp_path / "new" / "landing").iterdir())


def test_demo_again_replaces_only_its_own_outputs_and_refuses_a_file_it_did_not_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = base_config(START.isoformat())  # the repository layout: everything under data/
    config = write_config(tmp_path, data)
    args = ["demo", "--config", str(config), "--days", "1", "--accounts", str(ACCOUNTS)]
    assert main(args) == 0
    paths = load_config(config).paths
    assert paths.billing is not None
    outputs = {
        "landing": paths.landing,
        "billing": paths.billing,
        "exports": paths.exports,
        "ground_truth": paths.landing.parent / "ground_truth",
        "warehouse": paths.warehouse,
    }
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


# --- E. Signals -------------------------------------------------------------------------------


def _wait_until_working(proc: subprocess.Popen[str], warehouse: Path, timeout: float = 300.0) -> None:
    """Until the run holds the warehouse lock and a step has opened the warehouse (Dagster is running)."""
    lock = Path(str(warehouse) + ".lock")
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            if f"pid {proc.pid} " in lock.read_text(encoding="utf-8") and warehouse.exists():
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"the run never started working (exit {proc.poll()})")


@pytest.mark.parametrize(
    ("signum", "code", "first_word"), [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")]
)
def test_a_signal_stops_the_run_with_one_sentence_and_a_rerun_gives_the_clean_result(
    signum: int, code: int, first_word: str, landed: Path, clean: tuple[Path, Fingerprint], tmp_path: Path
) -> None:
    config = write_config(tmp_path, _config_data(landed))
    proc = _cli(["run", "--config", str(config)], cwd=tmp_path)
    _wait_until_working(proc, load_config(config).paths.warehouse)
    time.sleep(1.0)
    if signum == signal.SIGINT:
        os.killpg(proc.pid, signum)  # Ctrl-C: the terminal signals the whole foreground group
    else:
        os.kill(proc.pid, signum)  # `kill PID`, a service manager: the process alone
    out, err = _finish(proc, timeout=180)
    assert proc.returncode == code, f"exit {proc.returncode}, stderr:\n{err[-3000:]}"
    line = _error_line(err)
    assert line.startswith(first_word) and "run the same command again" in line, line
    # The day being written was rolled back: running it again gives what a clean run gives.
    assert main(["run", "--config", str(config)]) == 0
    assert_same(_picture(config), clean[1], f"a run after {signal.Signals(signum).name}")


# --- F. A full disk, a damaged warehouse ---------------------------------------------------------


def _instance_full(*args: object, **kwargs: object) -> None:
    """What SQLite says when the Dagster instance's disk is full (raised outside any step)."""
    raise sqlalchemy.exc.OperationalError(
        "INSERT INTO event_logs", {}, sqlite3.OperationalError("database or disk is full")
    )


def _warehouse_full(*args: object, **kwargs: object) -> None:
    """A write inside a step hitting a full disk."""
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "/data/warehouse.duckdb.wal")


def _duckdb_full(*args: object, **kwargs: object) -> None:
    raise duckdb.IOException('IO Error: Could not write file "/data/warehouse.duckdb.wal": No space left on device')


@pytest.mark.parametrize("where", ["dagster instance", "step (OSError)", "step (DuckDB)"])
def test_a_full_disk_is_one_sentence_naming_the_folder_and_exit_2(
    where: str, landed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, _config_data(landed))
    if where == "dagster instance":
        monkeypatch.setattr(SqliteEventLogStorage, "store_event", _instance_full)
        folder = str(load_config(config).paths.dagster_home)
    else:
        monkeypatch.setattr(
            "engagement_pipeline.ops.resources.ensure_schema", _warehouse_full if "OSError" in where else _duckdb_full
        )
        folder = "/data"
    assert main(["run", "--config", str(config)]) == 2
    line = _error_line(capsys.readouterr().err)
    assert line.startswith("error: ") and "full" in line and folder in line and "free" in line, line


def test_a_damaged_warehouse_is_named_with_what_to_do(
    landed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, _config_data(landed))
    warehouse = load_config(config).paths.warehouse
    warehouse.parent.mkdir(parents=True)
    warehouse.write_bytes(os.urandom(8192))
    started = time.monotonic()
    assert main(["run", "--config", str(config)]) == 2
    line = _error_line(capsys.readouterr().err)
    assert str(warehouse) in line and "restore" in line and "move it away" in line, line
    assert time.monotonic() - started < 60, "the damaged file was retried instead of reported"
    assert main(["suggest-weights", "--config", str(config)]) == 2  # a read-only command: the same sentence
    line = _error_line(capsys.readouterr().err)
    assert str(warehouse) in line and "damaged" in line and "restore" in line, line


@pytest.mark.parametrize(
    "message",
    [
        "IO Error: Corrupt database file: computed checksum 1 does not match stored checksum 2 in block at location 44687",
        'IO Error: Could not read enough bytes from file "/data/warehouse.duckdb": attempted to read 262144 bytes',
    ],
)
def test_damage_found_inside_a_step_is_explained_the_same_way(message: str) -> None:
    from engagement_pipeline.ops.failures import warehouse_problem

    problem = warehouse_problem(message, Path("/data/warehouse.duckdb"))
    assert problem is not None and "/data/warehouse.duckdb" in str(problem) and "restore" in str(problem)


# --- Messages that name what is wrong -------------------------------------------------------------


@pytest.mark.parametrize("offset", [dt.timedelta(days=1), "future"])
def test_a_start_date_after_the_landed_days_says_so(
    offset: Any, landed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _config_data(landed)
    start = dt.date.today() + dt.timedelta(days=30) if offset == "future" else START + offset
    data["start_date"] = start
    config = write_config(tmp_path, data)
    assert main(["run", "--config", str(config)]) == 2
    line = _error_line(capsys.readouterr().err)
    assert "--start" not in line and "--end" not in line, line
    assert f"start_date {start}" in line and START.isoformat() in line, line
    if offset == "future":
        assert "today" in line, line


@pytest.mark.parametrize("curve", [1e-300, 0.0001, 50.0])
def test_a_curve_out_of_range_is_refused_at_load(
    curve: float, landed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _config_data(landed)
    data["model"]["normalization"] = {"method": "exponential", "curve": curve}
    config = write_config(tmp_path, data)
    with pytest.raises(ConfigError, match=r"model\.normalization\.curve"):
        load_config(config)
    assert main(["run", "--config", str(config)]) == 2
    line = _error_line(capsys.readouterr().err)
    assert "model.normalization.curve" in line, line
    assert ("method: linear" in line) == (curve < 0.1), line


def test_reliability_helper_sees_a_changed_row_and_a_changed_file(
    clean: tuple[Path, Fingerprint], tmp_path: Path
) -> None:
    """The helper itself: a copy is identical; one changed row or one changed byte is reported."""
    paths = load_config(clean[0]).paths
    warehouse, exports = tmp_path / "w.duckdb", tmp_path / "exports"
    shutil.copy(paths.warehouse, warehouse)
    shutil.copytree(paths.exports, exports, symlinks=True)
    assert differences(fingerprint(warehouse, {"exports": exports}), clean[1]) == []
    con = duckdb.connect(str(warehouse))
    con.execute(
        "UPDATE scores.user_scores SET score = score + 1 WHERE rowid = (SELECT min(rowid) FROM scores.user_scores)"
    )
    con.close()
    manifest = next(exports.glob("*/manifest.json"))
    manifest.write_bytes(manifest.read_bytes() + b" ")
    diff = differences(fingerprint(warehouse, {"exports": exports}), clean[1])
    assert len(diff) == 2 and diff[0].startswith("table scores.user_scores") and "manifest.json" in diff[1], diff
