"""Crash safety and idempotency of `engagement-pipeline run`, on generated demo data.

The CLI runs in a subprocess and is SIGKILLed at seeded random moments (and once exactly while
the day's export folder is being written); after every kill the warehouse and the exports folder
must be consistent as they are, without any repair:

- per received day, the lines staged (accepted + duplicates + quarantined) are 0 (not staged yet)
  or exactly the lines landed; after a complete run, exactly the lines landed;
- no table holds a duplicate key (events per message, scores per as-of day and user, ...), the
  daily aggregate counts exactly the staged events (nothing counted twice);
- `<exports>/<day>` is absent or complete (its manifest verifies); `latest` points at a complete day.

A SIGKILLed run also leaves its claimed slot of the Dagster pool (limit 1) in the instance;
`instance.release_dead_runs` frees it when the next `run` starts
(`test_a_run_after_a_sigkill_is_not_blocked_by_the_dead_runs_pool_slot`).

After the kills, a complete run gives the rows a clean run gives (computed with the step functions on a copy
of the warehouse taken before the first kill), and a second complete run of the same day leaves
every table of the warehouse and every export file byte for byte as they were (idempotency;
tests/e2e/test_cli_e2e.py checks three tables on the demo, this checks all of them).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance

from engagement_pipeline.core.config import Config, load_config
from engagement_pipeline.demo.generator import generate_demo
from engagement_pipeline.exports.files import EXACT_HEADERS, EXPORT_FILES, LATEST, MANIFEST, TEXT_FILES, ExportBundle
from engagement_pipeline.exports.publish import clean_stale_temporaries, verify_export_folder, write_export_folder
from tests.conftest import base_config, run_days, write_config

SEED = 20260105
START = dt.date(2026, 1, 1)
DAYS = [START + dt.timedelta(days=i) for i in range(3)]
VICTIM = DAYS[-1]
RANDOM_KILLS = 2
MAX_KILL_SECONDS = 8.0  # after the run has started working (imports done, warehouse lock taken)

# Unique keys per table (those a re-run or a crash could double).
KEYS = {
    "raw.landed_lines": "received_date, source_file, line_number",
    "staging.events": "message_id",
    "staging.quarantine": "received_date, source_file, line_number",
    "staging.duplicates": "received_date, source_file, line_number",
    "staging.daily_event_counts": "received_date, event_date, user_id, account_id, type, event",
    "staging.users": "user_id",
    "staging.accounts": "account_id",
    "staging.memberships": "user_id, account_id",
    "scores.user_scores": "as_of_date, user_id",
    "scores.benchmarks": "as_of_date",
    "accounts.account_scores": "as_of_date, account_id",
    "accounts.account_feature_usage": "as_of_date, account_id, event",
    "snapshots.account_history": "date, account_id",
    "snapshots.product_daily": "date",
    "exports.export_runs": "as_of_date",
}
# What a clean run of VICTIM must reproduce exactly (as-of VICTIM rows of the model tables).
AS_OF = {
    "scores.user_scores": "as_of_date",
    "accounts.account_scores": "as_of_date",
    "accounts.account_feature_usage": "as_of_date",
    "snapshots.account_history": "date",
    "snapshots.product_daily": "date",
}
STAGING = (
    "raw.landed_lines",
    "staging.events",
    "staging.quarantine",
    "staging.duplicates",
    "staging.daily_event_counts",
    "staging.users",
    "staging.accounts",
    "staging.memberships",
)
VOLATILE = {  # wall-clock times: of the export, and of the landing's listing
    "exports.export_runs": ("written_at",),
    "raw.landed_files": ("listed_at", "first_listed_at"),
}


def _with_paths(config: Config, **paths: Path) -> Config:
    return config.model_copy(update={"paths": config.paths.model_copy(update=paths)})


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Two days run with the step functions; a clean run of the third on a copy (the reference)."""
    folder = tmp_path_factory.mktemp("crash")
    config_path = write_config(folder, base_config(START.isoformat()))
    config = load_config(config_path)
    generate_demo(config.paths.landing, START, len(DAYS), accounts=30, seed=7, billing_dir=config.paths.billing)
    run_days(config.paths.warehouse, DAYS[:-1], config)
    reference = _with_paths(
        config, warehouse=folder / "reference" / "warehouse.duckdb", exports=folder / "reference" / "exports"
    )
    reference.paths.warehouse.parent.mkdir()
    shutil.copy(config.paths.warehouse, reference.paths.warehouse)
    shutil.copytree(config.paths.exports, reference.paths.exports, symlinks=True)
    run_days(reference.paths.warehouse, [VICTIM], reference)
    return {"folder": folder, "config_path": config_path, "config": config, "reference": reference}


def _start_run(world: dict[str, object]) -> subprocess.Popen:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("DAGSTER_HOME", None)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "engagement_pipeline.ops.cli",
            "run",
            "--config",
            str(world["config_path"]),
            "--date",
            VICTIM.isoformat(),
        ],
        cwd=str(world["folder"]),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _kill(proc: subprocess.Popen) -> None:
    """SIGKILL the run (its whole process group: it is the session this test started)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)


def _complete_run(world: dict[str, object], timeout: float = 180.0) -> float:
    started = time.perf_counter()
    proc = _start_run(world)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(proc)
        raise AssertionError(f"`run --date {VICTIM}` did not finish in {timeout:.0f} s") from None
    assert proc.returncode == 0, out.decode(errors="replace")[-3000:]
    return time.perf_counter() - started


def _wait_until_working(proc: subprocess.Popen, config: Config, timeout: float = 60.0) -> None:
    """Wait until the run has imported everything and taken the warehouse lock (it writes its pid
    into `<warehouse>.lock`), so the random kill lands in the work, not in Python's imports. Without
    that marker (another locking scheme), fall back to the start of the process."""
    lock = Path(str(config.paths.warehouse) + ".lock")
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            if f"pid {proc.pid} " in lock.read_text(encoding="utf-8"):
                return
        except OSError:
            pass
        time.sleep(0.02)


def _instance(config: Config) -> DagsterInstance:
    assert config.paths.dagster_home is not None
    return DagsterInstance.from_config(str(config.paths.dagster_home))


def held_slots(instance: DagsterInstance) -> dict[str, tuple[set[str], set[str]]]:
    """Per Dagster pool: the runs holding a slot and the runs waiting for one."""
    storage = instance.event_log_storage
    out = {}
    for key in storage.get_concurrency_keys():
        info = storage.get_concurrency_info(key)
        waiting = {p.run_id for p in info.pending_steps if p.assigned_timestamp is None}
        out[key] = ({c.run_id for c in info.claimed_slots}, waiting)
    return out


def free_slots_of_dead_runs(config: Config) -> list[str]:
    """Free the pool slots still held by killed runs (what `run` itself does first: instance.release_dead_runs);
    used to start and end the slot test clean."""
    if config.paths.dagster_home is None or not (config.paths.dagster_home / "dagster.yaml").exists():
        return []
    instance = _instance(config)
    try:
        freed = sorted(instance.event_log_storage.get_concurrency_run_ids())
        for run_id in freed:
            instance.event_log_storage.free_concurrency_slots_for_run(run_id)
        return freed
    finally:
        instance.dispose()


def _open(config: Config) -> duckdb.DuckDBPyConnection:
    # Read-write: after a kill the WAL is replayed, as the next run would do; nothing else is changed.
    return duckdb.connect(str(config.paths.warehouse))


def assert_consistent(config: Config, *, complete: bool) -> None:
    con = _open(config)
    try:
        for table, key in KEYS.items():
            dupes = con.execute(
                f"SELECT count(*) FROM (SELECT {key} FROM {table} GROUP BY ALL HAVING count(*) > 1)"
            ).fetchone()[0]
            assert dupes == 0, f"{table} has {dupes} duplicate keys ({key})"
        per_day = con.execute(
            """WITH landed AS (SELECT received_date d, count(*) n FROM raw.landed_lines GROUP BY 1),
               placed AS (SELECT received_date d, count(*) n FROM (
                   SELECT received_date FROM staging.events UNION ALL SELECT received_date FROM staging.duplicates
                   UNION ALL SELECT received_date FROM staging.quarantine) GROUP BY 1)
               SELECT landed.d, landed.n, coalesce(placed.n, 0) FROM landed LEFT JOIN placed USING (d) ORDER BY 1"""
        ).fetchall()
        for day, landed, placed in per_day:
            allowed = (landed,) if complete or day < VICTIM else (0, landed)
            assert placed in allowed, f"{day}: {landed} lines landed, {placed} staged"
        counted = con.execute(
            """SELECT e.d, e.n, coalesce(c.n, 0) FROM
                 (SELECT received_date d, count(*) n FROM staging.events WHERE user_id IS NOT NULL GROUP BY 1) e
               LEFT JOIN (SELECT received_date d, sum(event_count) n FROM staging.daily_event_counts GROUP BY 1) c
               USING (d)"""
        ).fetchall()
        for day, events, in_aggregate in counted:
            assert events == in_aggregate, f"{day}: {events} events but {in_aggregate} in the daily aggregate"
        if complete:
            assert {d for d, _, _ in per_day} == set(DAYS)
    finally:
        con.close()
    assert_exports_consistent(config.paths.exports)


def assert_exports_consistent(root: Path) -> None:
    for path in root.iterdir():
        if path.name == LATEST or path.name.startswith("."):
            continue
        dt.date.fromisoformat(path.name)  # only day folders are visible
        assert verify_export_folder(path) == [], f"{path.name} is visible but not complete"
    latest = root / LATEST
    assert latest.is_symlink(), "latest is missing"
    target = root / os.readlink(latest)
    assert target.is_dir(), f"latest points at {os.readlink(latest)}, which does not exist"
    assert verify_export_folder(target) == []


def snapshot(config: Config) -> dict[str, list[tuple]]:
    con = _open(config)
    try:
        tables = [
            f"{s}.{t}"
            for s, t in con.execute(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_catalog = current_database() AND table_type = 'BASE TABLE'"
            ).fetchall()
        ]
        out = {}
        for table in sorted(tables):
            drop = VOLATILE.get(table, ())
            columns = ", ".join(
                f'"{c}"'
                for (c,) in con.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema || '.' || table_name = ? "
                    "ORDER BY ordinal_position",
                    [table],
                ).fetchall()
                if c not in drop
            )
            out[table] = con.execute(f"SELECT {columns} FROM {table} ORDER BY ALL").fetchall()
        return out
    finally:
        con.close()


def export_bytes(root: Path, day: dt.date) -> dict[str, bytes]:
    folder = root / day.isoformat()
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def assert_matches_reference(world: dict[str, object]) -> None:
    config, reference = world["config"], world["reference"]
    got, want = snapshot(config), snapshot(reference)  # type: ignore[arg-type]
    for table in STAGING:
        assert got[table] == want[table], f"{table} differs from a clean run"
    for table, column in AS_OF.items():
        index = _column_index(reference, table, column)  # type: ignore[arg-type]
        got_day = [r for r in got[table] if r[index] == VICTIM]
        want_day = [r for r in want[table] if r[index] == VICTIM]
        assert got_day == want_day, f"{table} for {VICTIM} differs from a clean run"
    assert export_bytes(config.paths.exports, VICTIM) == export_bytes(reference.paths.exports, VICTIM)  # type: ignore[union-attr]


def _column_index(config: Config, table: str, column: str) -> int:
    con = _open(config)
    try:
        names = [
            c
            for (c,) in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema || '.' || table_name = ? "
                "ORDER BY ordinal_position",
                [table],
            ).fetchall()
        ]
    finally:
        con.close()
    return names.index(column)


@pytest.mark.slow
def test_sigkill_at_random_points_then_rerun_is_consistent_and_idempotent(world: dict[str, object]) -> None:
    config = world["config"]
    assert isinstance(config, Config)
    rng = random.Random(SEED)
    assert_consistent(config, complete=False)
    timeline = []
    # 1. Kills during the first materialization of the day, at seeded random moments.
    for trial in range(RANDOM_KILLS):
        # Stratified: trial i falls in the i-th slice of the window, so the kills spread over the work.
        delay = 0.5 + rng.uniform(trial, trial + 1) * (MAX_KILL_SECONDS - 0.5) / RANDOM_KILLS
        proc = _start_run(world)
        try:
            _wait_until_working(proc, config)
            proc.wait(timeout=delay)
            out = proc.communicate()[0]
            assert proc.returncode == 0, out.decode(errors="replace")[-3000:]
            timeline.append(f"trial {trial}: finished before the kill at {delay:.1f} s")
        except subprocess.TimeoutExpired:
            _kill(proc)
            timeline.append(f"trial {trial}: killed {delay:.1f} s into the work")
        assert_consistent(config, complete=False)
    # 2. A complete run (it releases the killed runs' pool slots itself): the rows of a clean run,
    #    nothing counted twice.
    seconds = _complete_run(world)
    timeline.append(f"complete run: {seconds:.1f} s")
    assert_consistent(config, complete=True)
    assert_matches_reference(world)
    before, files = snapshot(config), export_bytes(config.paths.exports, VICTIM)
    # 3. A re-run killed while it writes the day's export folder (the hidden temporary folder
    #    exists), when the timing allows; the old folder must stay whole, or `latest` whole.
    proc = _start_run(world)
    hit = False
    deadline = time.monotonic() + 180
    while proc.poll() is None and time.monotonic() < deadline:
        if any(p.name.startswith(f".{VICTIM.isoformat()}.tmp-") for p in config.paths.exports.iterdir()):
            _kill(proc)
            hit = True
            break
        time.sleep(0.001)
    if not hit:
        if proc.poll() is None:
            _kill(proc)
            raise AssertionError("the re-run did not finish in 180 s")
        out = proc.communicate()[0]
        assert proc.returncode == 0, out.decode(errors="replace")[-3000:]
    timeline.append("re-run killed while writing the export folder" if hit else "re-run finished before the kill")
    assert_consistent(config, complete=True)
    # 4. A second complete run of the same day: every table and every export file unchanged.
    _complete_run(world)
    assert_consistent(config, complete=True)
    after = snapshot(config)
    changed = [t for t in before if before[t] != after.get(t)]
    assert not changed, f"re-running {VICTIM} changed {changed}"
    assert export_bytes(config.paths.exports, VICTIM) == files
    leftovers = [p.name for p in config.paths.exports.iterdir() if ".tmp-" in p.name or ".old-" in p.name]
    assert not leftovers, f"temporary export folders left behind: {leftovers}"
    instance = _instance(config)
    try:
        assert not instance.event_log_storage.get_concurrency_run_ids(), "pool slots still held after a complete run"
    finally:
        instance.dispose()
    print("; ".join(timeline))


@pytest.mark.slow
def test_a_run_after_a_sigkill_is_not_blocked_by_the_dead_runs_pool_slot(world: dict[str, object]) -> None:
    config = world["config"]
    assert isinstance(config, Config)
    free_slots_of_dead_runs(config)  # start clean, whatever ran before
    proc = _start_run(world)
    dead: set[str] = set()
    try:
        deadline = time.monotonic() + 120
        while not dead and proc.poll() is None and time.monotonic() < deadline:
            if config.paths.dagster_home is not None and (config.paths.dagster_home / "dagster.yaml").exists():
                instance = _instance(config)
                try:
                    dead = set().union(*(holders for holders, _ in held_slots(instance).values()))
                finally:
                    instance.dispose()
            time.sleep(0.05)
    finally:
        _kill(proc)
    assert dead, "the run never claimed a pool slot (nothing to test)"
    proc = _start_run(world)
    blocked_since = None
    try:
        deadline = time.monotonic() + 180
        while proc.poll() is None and time.monotonic() < deadline:
            instance = _instance(config)
            try:
                slots = held_slots(instance)
            finally:
                instance.dispose()
            blocked = any(holders and holders <= dead and waiting - dead for holders, waiting in slots.values())
            blocked_since = (blocked_since or time.monotonic()) if blocked else None
            assert not (blocked_since and time.monotonic() - blocked_since > 5), (
                f"the new run waits for a pool slot held by the killed run {sorted(dead)}: {slots}"
            )
            time.sleep(0.5)
        assert proc.poll() == 0
    finally:
        _kill(proc)
        free_slots_of_dead_runs(config)


# Every file-system step of an export a SIGKILL could fall between: (object, attribute).
EXPORT_STEPS = {
    "write": (Path, "write_bytes"),
    "fsync": (os, "fsync"),
    "rename": (Path, "rename"),
    "symlink": (Path, "symlink_to"),
    "replace": (os, "replace"),
    "rmtree": (shutil, "rmtree"),
}


@pytest.mark.parametrize("step", sorted(EXPORT_STEPS))
def test_a_crash_at_any_step_of_a_re_export_keeps_the_day_and_latest_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    """Re-export a day (new content) and "crash" at the n-th call of one file-system step, for
    every n: the day and `latest` stay whole (old or new content), and the next export completes."""
    day = dt.date(2026, 1, 5)
    bundle = ExportBundle(day=day, files={name: _empty_file(name) for name in EXPORT_FILES})
    owner, attribute = EXPORT_STEPS[step]
    real = getattr(owner, attribute)
    calls = 0

    def counting(*args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        return real(*args, **kwargs)

    write_export_folder(tmp_path / "probe", bundle, "v1")
    monkeypatch.setattr(owner, attribute, counting)
    write_export_folder(tmp_path / "probe", bundle, "v2")
    monkeypatch.undo()
    total = calls
    assert total > 0, f"an export no longer calls {step}: update EXPORT_STEPS"
    for n in range(1, total + 1):
        root = tmp_path / f"crash-{n}"
        write_export_folder(root, bundle, "v1")
        monkeypatch.setattr(owner, attribute, _crashing_at(real, n, step))
        try:
            write_export_folder(root, bundle, "v2")
        except KeyboardInterrupt:
            pass
        finally:
            monkeypatch.undo()
        assert_exports_consistent(root)
        version = json.loads((root / day.isoformat() / MANIFEST).read_text())["model_version"]
        assert version in ("v1", "v2")
        clean_stale_temporaries(root)
        write_export_folder(root, bundle, "v2")
        assert_exports_consistent(root)
        assert json.loads((root / day.isoformat() / MANIFEST).read_text())["model_version"] == "v2"


def _crashing_at(real: Callable[..., object], n: int, step: str) -> Callable[..., object]:
    """`real`, except that its n-th call raises (as a SIGKILL would stop the process there)."""
    seen = 0

    def crashing(*args: object, **kwargs: object) -> object:
        nonlocal seen
        seen += 1
        if seen == n:
            raise KeyboardInterrupt(f"simulated SIGKILL at {step} call {n}")
        return real(*args, **kwargs)

    return crashing


def _empty_file(name: str):  # type: ignore[no-untyped-def]
    import polars as pl

    if name in TEXT_FILES:
        return pl.DataFrame({"line": ["# empty"]})
    header = EXACT_HEADERS[name]
    return pl.DataFrame(schema={c: pl.String for c in header})
