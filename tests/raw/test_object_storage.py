"""Buckets as landing, against a real S3 API on 127.0.0.1 (moto's server mode, see s3_server.py).

Both layouts (`days`, `segment_s3`), gzip, plain and CSV files, a 1,500-object day (S3 lists
1,000 keys a page), folder markers, the listing read once and recorded, late files, and the
sentences for a missing bucket, missing credentials and an endpoint that does not answer.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from engagement_pipeline.core.config import Config, parse_config
from engagement_pipeline.core.errors import InputError
from engagement_pipeline.core.warehouse import connect
from engagement_pipeline.demo.generator import generate_demo
from engagement_pipeline.ops.cli import main
from engagement_pipeline.raw import files as raw_files
from engagement_pipeline.raw import step as raw_step
from engagement_pipeline.raw import storage
from tests.conftest import base_config, run_days, track, write_config
from tests.raw.s3_server import S3, gz
from tests.reliability import table_fingerprints

START = dt.date(2026, 1, 1)
DAYS = [START, START + dt.timedelta(days=1)]
EPOCH_MS = {d.isoformat(): str((d - dt.date(1970, 1, 1)).days * 86_400_000) for d in DAYS}


def _config(folder: Path, **top: Any) -> Config:
    data = base_config(START.isoformat())
    data["paths"] = {"landing": "landing", "warehouse": "warehouse.duckdb", "exports": "exports"}
    data.update(top)
    folder.mkdir(parents=True, exist_ok=True)
    return parse_config(data, write_config(folder, data))


def _contract_tables(warehouse: Path) -> dict[str, tuple[int, int]]:
    """Every table's fingerprint but the listing's own (object versions and listing times differ)."""
    prints = table_fingerprints(warehouse)
    prints.pop("raw.landed_files")
    return prints


def _land_local(landing: Path) -> None:
    """Two generated days (gzip files), plus a plain JSON-lines file with a broken line and a CSV."""
    generate_demo(landing, START, len(DAYS), accounts=12, seed=3, files_per_day=2)
    (landing / START.isoformat() / "extra.jsonl").write_text(
        '{"type":"track","messageId":"x1","userId":"ux","event":"Logged In","timestamp":"2026-01-01T10:00:00Z"}\n'
        "{not json\n"
    )
    (landing / START.isoformat() / "tracks.csv").write_text(
        "id,user_id,event,timestamp\nc1,ux,Document Created,2026-01-01T11:00:00Z\n"
    )


def test_a_bucket_day_gives_the_same_tables_as_the_local_day(s3: S3, tmp_path: Path) -> None:
    local = _config(tmp_path / "local")
    _land_local(local.paths.landing)
    bucket = s3.bucket("acme-days")
    uploaded = s3.mirror(local.paths.landing, bucket, "events/prod")
    remote = _config(tmp_path / "remote", paths={"landing": f"s3://{bucket}/events/prod", "warehouse": "w.duckdb"})
    assert remote.paths.landing == f"s3://{bucket}/events/prod"  # kept as a URL, not folded into a path
    run_days(local.paths.warehouse, DAYS, local, through="snapshots")
    run_days(remote.paths.warehouse, DAYS, remote, through="snapshots")
    mine, theirs = _contract_tables(local.paths.warehouse), _contract_tables(remote.paths.warehouse)
    assert uploaded >= 6 and mine["staging.events"][0] > 100 and mine["staging.quarantine"][0] >= 1
    assert theirs == mine
    print(
        f"{len(mine)} tables identical; staging.events {mine['staging.events'][0]} rows, quarantine {mine['staging.quarantine'][0]}"
    )


def test_segment_s3_layout_in_a_bucket_and_in_a_folder_agree(s3: S3, tmp_path: Path) -> None:
    source = tmp_path / "generated"
    _land_local(source)
    bucket = s3.bucket("acme-segment")
    s3.mirror(source, bucket, "segment-logs/AbC123", rename=EPOCH_MS)
    s3.put(bucket, "segment-logs/AbC123/1767225600001/ignored.gz", gz("{}\n"))  # not a day's midnight
    folder = tmp_path / "local" / "segment"
    for day, ms in EPOCH_MS.items():
        (folder / ms).mkdir(parents=True)
        for file in (source / day).iterdir():
            (folder / ms / file.name).write_bytes(file.read_bytes())
    web = {"name": "web", "layout": "segment_s3"}
    local = _config(tmp_path / "local", sources=[{**web, "landing": str(folder)}])
    remote = _config(tmp_path / "remote", sources=[{**web, "landing": f"s3://{bucket}/segment-logs/AbC123"}])
    assert raw_files.landed_days(remote.landing_sources) == DAYS
    run_days(local.paths.warehouse, DAYS, local, through="snapshots")
    run_days(remote.paths.warehouse, DAYS, remote, through="snapshots")
    assert _contract_tables(remote.paths.warehouse) == _contract_tables(local.paths.warehouse)
    con = connect(remote.paths.warehouse)
    try:
        sources = con.execute("SELECT DISTINCT source FROM staging.events").fetchall()
        files = con.execute("SELECT min(source_file) FROM raw.landed_files WHERE received_date = ?", [START])
        assert sources == [("web",)] and files.fetchone()[0].startswith(EPOCH_MS[START.isoformat()] + "/")
    finally:
        con.close()


@pytest.mark.slow  # about a minute: moto's server answers a GET in about 20 ms here
def test_a_day_of_1500_objects_is_listed_across_pages(s3: S3, tmp_path: Path) -> None:
    bucket = s3.bucket("acme-many")
    folder = EPOCH_MS[START.isoformat()]

    def put(i: int) -> None:
        line = json.dumps(track(f"m{i}", f"u{i % 40}", "Logged In", "2026-01-01T10:00:00Z", "acc")) + "\n"
        body = gz(line) if i % 2 else line.encode()
        s3.put(bucket, f"logs/{folder}/part-{i:05d}.{'jsonl.gz' if i % 2 else 'jsonl'}", body)

    started = time.perf_counter()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(put, range(1500)))
    print(f"uploaded 1500 objects in {time.perf_counter() - started:.1f} s")
    config = _config(tmp_path, sources=[{"name": "app", "landing": f"s3://{bucket}/logs", "layout": "segment_s3"}])
    con = connect(config.paths.warehouse)
    try:
        started = time.perf_counter()
        landed = raw_step.run_day(con, START, config)
        print(f"raw read 1500 objects in {time.perf_counter() - started:.1f} s")
        assert landed.listing.height == 1500 and landed.lines.height == 1500
        assert landed.lines["read_error"].null_count() == 1500
        staged = run_days(con, [START], config, through="staging", start="staging")["staging"][0].result
        assert staged.events.height == 1500 and set(staged.events["source"]) == {"app"}
    finally:
        con.close()


def test_folder_markers_are_quarantined_and_sub_folders_skipped(s3: S3, tmp_path: Path) -> None:
    bucket = s3.bucket("acme-markers")
    day = START.isoformat()
    s3.put(bucket, f"in/{day}/", b"")  # the console's "folder" for the day itself
    s3.put(
        bucket,
        f"in/{day}/events.jsonl",
        b'{"type":"track","messageId":"a","userId":"u","event":"E","timestamp":"2026-01-01T10:00:00Z"}\n',
    )
    s3.put(bucket, f"in/{day}/nested/", b"")
    s3.put(bucket, f"in/{day}/nested/more.jsonl", b"{}\n")
    config = _config(tmp_path, paths={"landing": f"s3://{bucket}/in", "warehouse": "w.duckdb"})
    con = connect(config.paths.warehouse)
    try:
        run_days(con, [START], config, through="staging")
        reasons = con.execute("SELECT source_file, reason FROM staging.quarantine").fetchall()
        assert reasons == [(f"{day}/{day}", "not_a_regular_file")]
        assert con.execute("SELECT count(*) FROM staging.events").fetchone() == (1,)
    finally:
        con.close()


def test_the_listing_is_read_once_and_late_files_come_with_the_next_run(
    s3: S3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = s3.bucket("acme-late")
    day = START.isoformat()
    line = '{"type":"track","messageId":"%s","userId":"u1","event":"Logged In","timestamp":"2026-01-01T10:00:00Z"}\n'
    s3.put(bucket, f"l/{day}/a.jsonl", (line % "a").encode())
    config = _config(tmp_path, paths={"landing": f"s3://{bucket}/l", "warehouse": "w.duckdb"})
    reading = raw_step.iter_landed_file

    def lands_while_reading(file: raw_files.LandedFile, limits=None):  # type: ignore[no-untyped-def]
        s3.put(bucket, f"l/{day}/b.jsonl.gz", gz(line % "b"))  # lands after the listing was taken
        yield from reading(file, limits)

    con = connect(config.paths.warehouse)
    try:
        with monkeypatch.context() as mp:
            mp.setattr(raw_step, "iter_landed_file", lands_while_reading)
            first = raw_step.run_day(con, START, config)
        assert first.listing["source_file"].to_list() == [f"{day}/a.jsonl"] and first.lines.height == 1
        again = raw_step.run_day(con, START, config)
        assert again.late_files == 1 and again.lines.height == 2
        rows = con.execute(
            "SELECT source_file, first_listed_at < listed_at FROM raw.landed_files ORDER BY 1"
        ).fetchall()
        assert rows == [(f"{day}/a.jsonl", True), (f"{day}/b.jsonl.gz", False)]
        assert raw_step.run_day(con, START, config).late_files == 0  # the same set: nothing late
        s3.client.delete_object(Bucket=bucket, Key=f"l/{day}/a.jsonl")  # expired by a lifecycle rule, say
        expired = raw_step.run_day(con, START, config)
        assert expired.kept_files == 1 and expired.lines.height == 2  # its landed lines are not lost
        assert con.execute("SELECT count(*) FROM raw.landed_lines").fetchone() == (2,)
        assert con.execute("SELECT count(*) FROM raw.landed_files").fetchone() == (2,)
    finally:
        con.close()


def _run_cli(folder: Path, landing: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    data = base_config(START.isoformat())
    data["paths"] = {"landing": landing, "warehouse": "w.duckdb", "exports": "exports"}
    folder.mkdir(parents=True, exist_ok=True)
    path = write_config(folder, data)
    code = main(["run", "--config", str(path), "--date", START.isoformat()])
    return code, capsys.readouterr().err


def test_a_missing_bucket_is_one_sentence(s3: S3, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run_cli(tmp_path, "s3://no-such-bucket/events", capsys)
    assert code == 2 and "Traceback" not in err and err.count("error:") == 1
    assert "bucket 'no-such-bucket' of s3://no-such-bucket/events does not exist" in err


def test_missing_credentials_name_the_variables(
    s3: S3, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    s3.bucket("acme-creds")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    code, err = _run_cli(tmp_path, "s3://acme-creds/events", capsys)
    assert code == 2 and "Traceback" not in err and err.count("error:") == 1
    assert "no AWS credentials" in err and "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" in err


def test_an_endpoint_that_does_not_answer_is_one_sentence(
    s3: S3, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    code, err = _run_cli(tmp_path, "s3://acme-any/events", capsys)
    assert code == 2 and "Traceback" not in err and err.count("error:") == 1
    assert "cannot reach the object storage" in err and "AWS_ENDPOINT_URL" in err


def test_missing_google_credentials_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent/key.json")
    monkeypatch.setenv("NO_GCE_CHECK", "true")
    with pytest.raises(InputError, match="set GOOGLE_APPLICATION_CREDENTIALS"):
        storage.filesystem("gs://acme/events")


@pytest.mark.parametrize(
    ("name", "day"),
    [
        ("1767225600000", START),
        ("1767225600001", None),
        ("2026-01-01", None),
        ("abc", None),
        ("0", dt.date(1970, 1, 1)),
    ],
)
def test_segment_folders_are_the_epoch_milliseconds_of_utc_days(name: str, day: dt.date | None) -> None:
    assert storage.day_of_folder("segment_s3", name) == day
    if day is not None:
        assert storage.folder_name("segment_s3", day) == name


def test_the_landing_sensor_sees_a_bucket_day_complete_by_marker_or_quiet_period(s3: S3, tmp_path: Path) -> None:
    from engagement_pipeline.ops.automation import complete_landing_days

    bucket = s3.bucket("acme-sensor")
    today = dt.datetime.now(dt.UTC).date()
    folder = str((today - dt.date(1970, 1, 1)).days * 86_400_000)
    s3.put(bucket, f"seg/{folder}/a.gz", gz("{}\n"))
    config = _config(
        tmp_path,
        start_date=today - dt.timedelta(days=3),
        sources=[{"name": "web", "landing": f"s3://{bucket}/seg", "layout": "segment_s3"}],
    )
    assert complete_landing_days(config) == {}  # no marker, and the object is new
    later = time.time() + 31 * 60
    quiet = complete_landing_days(config, now=later)
    assert list(quiet) == [today.isoformat()]
    s3.put(bucket, f"seg/{folder}/_SUCCESS", b"")
    marked = complete_landing_days(config)
    assert list(marked) == [today.isoformat()] and marked != quiet  # the marker is a new object
    s3.put(bucket, f"seg/{folder}/b.gz", gz("{}\n"))
    assert complete_landing_days(config) != marked  # a late file: the day runs again


@pytest.mark.slow  # the CLI through Dagster
def test_the_cli_runs_a_bucket_day_through_dagster(s3: S3, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    local = tmp_path / "generated"
    _land_local(local)
    bucket = s3.bucket("acme-cli")
    s3.mirror(local, bucket, "events")
    code, err = _run_cli(tmp_path / "run", f"s3://{bucket}/events", capsys)
    assert code == 0, err
    con = connect(tmp_path / "run" / "w.duckdb")
    try:
        files = con.execute("SELECT count(*) FROM raw.landed_files WHERE received_date = ?", [START]).fetchone()
        events = con.execute("SELECT count(*) FROM staging.events WHERE source = 'default'").fetchone()
        assert files == (4,) and events is not None and events[0] > 50
    finally:
        con.close()
