"""Schedule, landing sensor, late-data restatement and the single-writer lock."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey, DagsterInstance, build_schedule_context, build_sensor_context

from engagement_pipeline.core.config import load_config
from engagement_pipeline.core.errors import PipelineError
from engagement_pipeline.definitions import build_definitions
from engagement_pipeline.ops.automation import complete_landing_days, restatement_requests, stale_as_of_days
from engagement_pipeline.ops.cli import main
from engagement_pipeline.ops.runner import warehouse_lock
from tests.conftest import base_config, group, identify, track, write_config, write_day

START = dt.date(2026, 1, 1)


def _config(tmp_path: Path, **automation):  # type: ignore[no-untyped-def]
    data = base_config()
    data["automation"] = automation
    return load_config(write_config(tmp_path, data))


def test_landing_sensor_requests_each_completed_day_exactly_once(tmp_path: Path) -> None:
    config = _config(tmp_path, quiet_minutes=0)
    defs = build_definitions(config)
    sensor = defs.resolve_sensor_def("landing_sensor")
    day = START + dt.timedelta(days=2)
    write_day(config.paths.landing, day, [track("m1", "u1", "Logged In", f"{day}T10:00:00Z", "acc")])
    with DagsterInstance.ephemeral() as instance:
        first = sensor.evaluate_tick(build_sensor_context(instance=instance, definitions=defs))
        assert first.run_requests == []  # no _SUCCESS marker and no quiet period: not complete yet
        (config.paths.landing / day.isoformat() / "_SUCCESS").touch()
        ticked = sensor.evaluate_tick(build_sensor_context(instance=instance, definitions=defs, cursor=first.cursor))
        assert [r.partition_key for r in ticked.run_requests] == [day.isoformat()]
        assert ticked.run_requests[0].run_key.startswith(f"landing-{day.isoformat()}-")
        again = sensor.evaluate_tick(build_sensor_context(instance=instance, definitions=defs, cursor=ticked.cursor))
        assert again.run_requests == []
        write_day(config.paths.landing, day, [track("m2", "u1", "Logged In", f"{day}T11:00:00Z", "acc")], "more.jsonl")
        relanded = sensor.evaluate_tick(build_sensor_context(instance=instance, definitions=defs, cursor=again.cursor))
        assert [r.partition_key for r in relanded.run_requests] == [day.isoformat()]  # new files: once more


def test_quiet_period_completes_a_folder_without_marker(tmp_path: Path) -> None:
    config = _config(tmp_path, quiet_minutes=30)
    write_day(config.paths.landing, START, [track("m1", "u1", "Logged In", f"{START}T10:00:00Z", "acc")])
    assert complete_landing_days(config) == {}
    later = time.time() + 31 * 60
    assert list(complete_landing_days(config, now=later)) == [START.isoformat()]


def test_schedule_requests_the_previous_utc_day(tmp_path: Path) -> None:
    config = _config(tmp_path, schedule_hour=6, timezone="Europe/Paris")
    defs = build_definitions(config)
    schedule = defs.resolve_schedule_def("daily_schedule")
    assert schedule.cron_schedule == "0 6 * * *" and schedule.execution_timezone == "Europe/Paris"
    when = dt.datetime(2026, 1, 4, 6, 0, tzinfo=dt.UTC)
    with DagsterInstance.ephemeral() as instance:
        repo = defs.get_repository_def()
        skipped = schedule.evaluate_tick(
            build_schedule_context(instance=instance, scheduled_execution_time=when, repository_def=repo)
        )
        assert skipped.run_requests == [] and "no landing folder for 2026-01-03" in skipped.skip_message
        write_day(config.paths.landing, dt.date(2026, 1, 3), [track("m", "u", "Logged In", "2026-01-03T10:00:00Z")])
        ran = schedule.evaluate_tick(
            build_schedule_context(instance=instance, scheduled_execution_time=when, repository_def=repo)
        )
        assert [r.partition_key for r in ran.run_requests] == ["2026-01-03"]


def test_stale_as_of_days_cover_the_window_up_to_the_day_before() -> None:
    assert stale_as_of_days(["2026-01-02"], "2026-01-05", 30) == ["2026-01-02", "2026-01-03", "2026-01-04"]
    assert stale_as_of_days(["2026-01-02"], "2026-03-01", 7) == [f"2026-01-0{i}" for i in range(2, 9)]
    assert stale_as_of_days([], "2026-01-05", 30) == []


@pytest.mark.slow  # runs the CLI (Dagster) on several days
def test_late_events_restate_earlier_as_of_days(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    config = _config(tmp_path)
    days = [START + dt.timedelta(days=i) for i in range(4)]
    for day in days[:3]:
        write_day(
            config.paths.landing,
            day,
            [
                group(f"g{day}", "u1", "acc", f"{day}T08:00:00Z", plan="pro", status="active"),
                track(f"t{day}", "u1", "Logged In", f"{day}T10:00:00Z", "acc"),
            ],
        )
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--start", days[0].isoformat(), "--end", days[2].isoformat()]) == 0
    db = config.paths.warehouse

    def raw_score(day: dt.date) -> float:
        con = duckdb.connect(str(db), read_only=True)
        try:
            return con.execute("SELECT raw_score FROM accounts.account_scores WHERE as_of_date = ?", [day]).fetchone()[
                0
            ]
        finally:
            con.close()

    before = [raw_score(d) for d in days[:3]]
    # Day 4's folder brings an integration connected on day 2 (a mobile client that was offline).
    write_day(
        config.paths.landing,
        days[3],
        [
            track("late", "u1", "Integration Connected", f"{days[1]}T12:00:00Z", "acc")
            | {"receivedAt": f"{days[3]}T09:00:00Z"},
            track("t4", "u1", "Logged In", f"{days[3]}T10:00:00Z", "acc"),
        ],
    )
    assert main(["run", "--date", days[3].isoformat()]) == 0
    after = [raw_score(d) for d in days[:3]]
    assert after[0] == before[0]  # as-of day 1 does not contain day 2
    assert after[1] == before[1] + 9 and after[2] == before[2] + 9  # restated with the late event
    instance = DagsterInstance.from_config(str(config.paths.dagster_home))
    try:
        restates = [r for r in instance.get_runs() if r.job_name == "restate_model"]
        assert sorted(r.tags["dagster/partition"] for r in restates) == [days[1].isoformat(), days[2].isoformat()]
        # Under the daemon (a run the CLI did not start), the restatement sensor asks for the same days.
        defs = build_definitions(config)
        defs.resolve_job_def("daily_engagement").execute_in_process(
            partition_key=days[3].isoformat(), instance=instance, tags={"engagement/source": "landing_sensor"}
        )
        record = instance.fetch_materializations(AssetKey(["staging", "events"]), limit=1).records[0]
        requests = restatement_requests(instance, record.event_log_entry, config.model.window_days)
        assert sorted(r.partition_key for r in requests) == [days[1].isoformat(), days[2].isoformat()]
    finally:
        instance.dispose()


def test_a_second_writer_gets_one_clear_sentence(tmp_path: Path) -> None:
    config = _config(tmp_path)
    with warehouse_lock(config):
        with pytest.raises(PipelineError, match="is being written by pid"):
            with warehouse_lock(config):
                pass
    with warehouse_lock(config):  # released: the next run goes ahead
        pass


@pytest.mark.slow  # runs the CLI (Dagster) on several days
def test_two_concurrent_runs_one_waits_and_the_warehouse_stays_consistent(tmp_path: Path) -> None:
    config = _config(tmp_path, lock_wait_seconds=300)
    for i in range(3):
        day = START + dt.timedelta(days=i)
        write_day(
            config.paths.landing,
            day,
            [
                identify(f"i{i}", "u1", f"{day}T07:00:00Z", email="u1@example.com"),
                track(f"t{i}", "u1", "Document Created", f"{day}T10:00:00Z", "acc"),
            ],
        )
    cmd = [sys.executable, "-m", "engagement_pipeline.ops.cli", "run", "--config", str(tmp_path / "engagement.yaml")]
    env = dict(os.environ)
    procs = [
        subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=240) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    con = duckdb.connect(str(config.paths.warehouse), read_only=True)
    try:
        assert con.execute("SELECT count(*), count(DISTINCT message_id) FROM staging.events").fetchone() == (6, 6)
        assert con.execute("SELECT count(*) FROM accounts.account_scores").fetchone()[0] == 3
    finally:
        con.close()
