"""Segment warehouse-style CSV and Parquet input, and what is kept of unreadable lines."""

from __future__ import annotations

import base64
import datetime as dt
import gzip
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engagement_pipeline.core.config import load_config
from engagement_pipeline.core.warehouse import connect
from engagement_pipeline.raw import files as ingest
from engagement_pipeline.raw import jsonl, streams
from engagement_pipeline.raw import step as raw_step
from engagement_pipeline.staging import step as staging_step
from tests.conftest import write_config
from tests.raw.readers import read_landed_day

DAY = dt.date(2026, 1, 5)


@pytest.fixture
def env(tmp_path: Path):  # type: ignore[no-untyped-def]
    config = load_config(write_config(tmp_path))
    folder = config.paths.landing / DAY.isoformat()
    folder.mkdir(parents=True)
    con = connect(config.paths.warehouse)
    yield config, con, folder
    con.close()


def test_warehouse_csv_tables_become_segment_messages(env) -> None:  # type: ignore[no-untyped-def]
    config, con, folder = env
    (folder / "tracks.csv").write_text(
        "id,user_id,anonymous_id,event,event_text,timestamp,received_at,context_group_id,context_library_name,plan_seen\n"
        "t1,u1,,Document Created,Document Created,2026-01-05T10:00:00Z,2026-01-05T10:00:01Z,acc_1,analytics.js,pro\n"
        "t2,u1,,Logged In,Logged In,2026-01-05T11:00:00Z,2026-01-05T11:00:01Z,,analytics.js,\n"
        "t3,u1,,too,many,fields,here,x,y,z,extra\n"
    )
    (folder / "identifies.csv").write_text(
        "id,user_id,anonymous_id,timestamp,email,first_name\ni1,u1,a1,2026-01-05T09:00:00Z,U1@Example.com,Ann\n"
    )
    (folder / "groups.csv").write_text(
        "id,user_id,group_id,timestamp,name,plan,employees\ng1,u1,acc_1,2026-01-05T09:30:00Z,Acme,pro,120\n"
    )
    raw_step.run(con, DAY, config)
    result = staging_step.run(con, DAY, config).result
    assert result.reconciles and result.lines == 5
    assert result.quarantine["reason"].to_list() == ["csv_wrong_field_count"]
    assert result.quarantine["line_number"].to_list() == [4]
    rows = {r["message_id"]: r for r in result.events.to_dicts()}
    assert rows["t1"]["type"] == "track" and rows["t1"]["account_id"] == "acc_1"
    assert rows["t1"]["account_source"] == "context"
    assert rows["t2"]["account_id"] == "acc_1" and rows["t2"]["account_source"] == "membership"
    assert rows["i1"]["type"] == "identify" and rows["g1"]["type"] == "group"
    users = con.execute("SELECT email, first_name FROM staging.users").fetchall()
    accounts = con.execute("SELECT name, plan, employees FROM staging.accounts").fetchall()
    assert users == [("u1@example.com", "Ann")]
    assert accounts == [("Acme", "pro", 120)]


def test_parquet_rows_with_typed_columns(env) -> None:  # type: ignore[no-untyped-def]
    config, con, folder = env
    pl.DataFrame(
        {
            "id": ["p1", "p2"],
            "type": ["track", "track"],
            "user_id": ["u9", None],
            "event": ["Logged In", "Logged In"],
            "timestamp": [dt.datetime(2026, 1, 5, 8), dt.datetime(2026, 1, 5, 9)],
            "context_group_id": ["acc_9", "acc_9"],
            "seats": [3, 4],
        }
    ).write_parquet(folder / "events.parquet")
    (folder / "broken.parquet").write_bytes(b"PAR1 this is not parquet")
    raw_step.run(con, DAY, config)
    result = staging_step.run(con, DAY, config).result
    assert result.events["message_id"].to_list() == ["p1"]
    assert sorted(result.quarantine["reason"].to_list()) == ["missing_identity", "unreadable_file"]
    assert result.reconciles


def test_unreadable_lines_keep_their_original_bytes_for_replay(env) -> None:  # type: ignore[no-untyped-def]
    config, con, folder = env
    bad = b'{"type": "track", "userId": "u\xff", "event": "E"}'
    nul = b'{"type": "track", "userId": "u\x00", "event": "E"}'
    (folder / "a.jsonl").write_bytes(bad + b"\n" + nul + b"\n")
    (folder / "notes.txt").write_text("hello")
    raw_step.run(con, DAY, config)
    result = staging_step.run(con, DAY, config).result
    q = {r["reason"]: r for r in result.quarantine.to_dicts()}
    assert set(q) == {"invalid_utf8", "nul_byte", "unsupported_file_type"}
    assert base64.b64decode(q["invalid_utf8"]["payload"]) == bad and q["invalid_utf8"]["encoding"] == "base64"
    assert base64.b64decode(q["nul_byte"]["payload"]) == nul


def test_empty_files_and_bom_and_crlf(env) -> None:  # type: ignore[no-untyped-def]
    config, _, folder = env
    (folder / "empty.jsonl").write_bytes(b"")
    (folder / "bom.jsonl").write_bytes(b'\xef\xbb\xbf{"a": 1}\r\n{"b": 2}\r\n')
    lines = read_landed_day(config.paths.landing, DAY)
    assert lines["line"].to_list() == ['{"a": 1}', '{"b": 2}']
    assert lines["line_number"].to_list() == [1, 2]


# Pieces a landed JSON-lines file is made of: lines, CRLF ends, a BOM, bytes that are not
# UTF-8, NUL bytes, empty lines.
_PIECES = [b'{"a":1}', b"\n", b"\r\n", b"\xef\xbb\xbf", b"\xff\xfe", b"\x00", b"", b"text \xc3\xa9", b"\n\n", b"\r"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    parts=st.lists(st.sampled_from(_PIECES), max_size=40),
    gz=st.booleans(),
    cut=st.one_of(st.none(), st.floats(0.0, 1.0)),
    block=st.integers(1, 64),
)
def test_reading_in_blocks_gives_the_same_lines_as_reading_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parts: list[bytes], gz: bool, cut: float | None, block: int
) -> None:
    """Files are read `BLOCK_BYTES` at a time (from pieces of `PIECE_BYTES`) to bound memory: any sizes give the same
    lines, line numbers, encodings and read errors, also for truncated gzip."""
    data = b"".join(parts)
    if gz:
        data = gzip.compress(data, mtime=0)
        if cut is not None:
            data = data[: int(len(data) * cut)]
    path = tmp_path / ("f.jsonl.gz" if gz else "f.jsonl")
    path.write_bytes(data)
    file = ingest.LandedFile(path, "d/" + path.name)
    whole = ingest.read_landed_file(file)
    monkeypatch.setattr(jsonl, "BLOCK_BYTES", block)
    monkeypatch.setattr(streams, "PIECE_BYTES", max(1, block // 2))  # compressed reads and inflated pieces
    blocks = ingest.read_landed_file(file)
    assert blocks.to_dicts() == whole.to_dicts()


def test_symlinks_and_fifos_in_a_day_folder_are_quarantined_unread(tmp_path: Path) -> None:
    """A symlink (here to a file outside the landing root) and a FIFO are each one
    `not_a_regular_file` line; nothing behind them reaches raw or staging, and the good file
    beside them is staged."""
    import json
    import os

    from tests.conftest import track, write_day

    config = load_config(write_config(tmp_path))
    write_day(config.paths.landing, DAY, [track("m1", "u1", "Logged In", f"{DAY}T10:00:00Z", "acc")])
    secret = tmp_path / "outside.jsonl"
    secret.write_text(
        json.dumps(
            {"type": "track", "messageId": "secret", "userId": "root", "event": "X", "timestamp": f"{DAY}T10:00:00Z"}
        )
        + "\n"
    )
    folder = config.paths.landing / DAY.isoformat()
    (folder / "passwd.jsonl").symlink_to(secret)
    os.mkfifo(folder / "pipe.jsonl")
    con = connect(config.paths.warehouse)
    raw_step.run(con, DAY, config)
    staged = staging_step.run(con, DAY, config).result
    landed = con.execute("SELECT string_agg(line, '') FROM raw.landed_lines").fetchone()[0] or ""
    quarantined = con.execute("SELECT source_file, reason, payload FROM staging.quarantine ORDER BY 1").fetchall()
    con.close()
    assert "secret" not in landed
    assert quarantined == [
        (f"{DAY}/passwd.jsonl", "not_a_regular_file", ""),
        (f"{DAY}/pipe.jsonl", "not_a_regular_file", ""),
    ]
    assert staged.events["message_id"].to_list() == ["m1"]
    assert staged.reconciles
