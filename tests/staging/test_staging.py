from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path

import duckdb
import polars as pl
import pytest

from engagement_pipeline.core.config import load_config
from engagement_pipeline.core.warehouse import connect
from engagement_pipeline.raw import step as raw_step
from engagement_pipeline.staging import step as staging_step
from tests.conftest import group, identify, track, write_config, write_day
from tests.raw.readers import read_landed_day

D1, D2 = dt.date(2026, 1, 5), dt.date(2026, 1, 6)
TS = "2026-01-05T10:00:00Z"


@pytest.fixture
def env(tmp_path: Path):  # type: ignore[no-untyped-def]
    config = load_config(write_config(tmp_path))
    con = connect(config.paths.warehouse)
    yield config, con
    con.close()


def _stage(con, config, day):  # type: ignore[no-untyped-def]
    raw_step.run(con, day, config)
    return staging_step.run(con, day, config).result


GOOD = track("ok", "u1", "Logged In", TS, "acc")


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("this is not json", "not_json"),
        ("[1, 2, 3]", "not_an_object"),
        ("42", "not_an_object"),
        ("   ", "empty_line"),
        ('{"messageId": "x", "userId": "u"}', "missing_type"),
        ('{"type": "bogus", "userId": "u", "timestamp": "2026-01-05T00:00:00Z"}', "unknown_type"),
        ('{"type": "track", "event": "E", "timestamp": "2026-01-05T00:00:00Z"}', "missing_identity"),
        ('{"type": "track", "userId": "u", "timestamp": "2026-01-05T00:00:00Z"}', "missing_event"),
        ('{"type": "group", "userId": "u", "timestamp": "2026-01-05T00:00:00Z"}', "missing_group_id"),
        ('{"type": "alias", "userId": "u", "timestamp": "2026-01-05T00:00:00Z"}', "missing_previous_id"),
        ('{"type": "track", "userId": "u", "event": "E", "timestamp": "not-a-date"}', "bad_timestamp"),
        (
            '{"type": "track", "userId": "u", "event": "E", "timestamp": "1999-12-31T00:00:00Z"}',
            "timestamp_out_of_range",
        ),
        (
            '{"type": "track", "userId": "u", "event": "E", "timestamp": "2026-01-08T00:00:00Z"}',
            "timestamp_out_of_range",
        ),
        ('{"type": "track", "userId": "u", "event": "E"}', "missing_timestamp"),
        ('{"type": "track", "userId": ["u"], "event": "E", "timestamp": "2026-01-05T00:00:00Z"}', "wrong_field_type"),
        ('{"type": "track", "userId": "u", "event": 7, "timestamp": "2026-01-05T00:00:00Z"}', "wrong_field_type"),
        (
            '{"type": "track", "userId": "u", "event": "E", "properties": [], "timestamp": "2026-01-05T00:00:00Z"}',
            "wrong_field_type",
        ),
        (
            '{"type": "track", "userId": "' + "u" * 500 + '", "event": "E", "timestamp": "2026-01-05T00:00:00Z"}',
            "id_too_long",
        ),
    ],
)
def test_each_quarantine_reason_and_the_good_line_beside_it(env, line: str, reason: str) -> None:  # type: ignore[no-untyped-def]
    config, con = env
    write_day(config.paths.landing, D1, [GOOD, line])
    r = _stage(con, config, D1)
    assert r.quarantine["reason"].to_list() == [reason]
    assert r.quarantine["payload"][0] == line
    assert r.events["message_id"].to_list() == ["ok"]
    assert r.reconciles


def traits_as_of(con: duckdb.DuckDBPyConnection, table: str, as_of: dt.datetime) -> pl.DataFrame:
    """Every user's or account's traits as known at `as_of`, read from a trait history table."""
    return con.execute(
        f"SELECT * FROM staging.{table} WHERE valid_from <= ? AND (valid_to IS NULL OR valid_to > ?)",
        [as_of, as_of],
    ).pl()


def test_invalid_utf8_and_truncated_gzip_keep_the_good_lines(env) -> None:  # type: ignore[no-untyped-def]
    config, con = env
    folder = config.paths.landing / D1.isoformat()
    folder.mkdir(parents=True)
    import json

    good = [json.dumps(track(f"m{i}", "u1", "Logged In", TS, "acc")) for i in range(50)]
    (folder / "a.jsonl").write_bytes(
        ("\ufeff" + good[0] + "\n").encode() + b'{"bad": "\xff\xfe"}\n' + (good[1] + "\n").encode()
    )
    blob = gzip.compress(("\n".join(good[2:]) + "\n").encode(), mtime=0)
    (folder / "b.jsonl.gz").write_bytes(blob[: len(blob) - 30])
    r = _stage(con, config, D1)
    reasons = r.quarantine["reason"].to_list()
    assert reasons.count("invalid_utf8") == 1 and reasons.count("truncated_file") == 1
    assert r.accepted >= 3  # BOM line, the line after the bad bytes, and the readable part of the gzip
    assert "m0" in r.events["message_id"].to_list() and "m1" in r.events["message_id"].to_list()
    assert r.reconciles


def test_duplicates_within_and_across_days_first_received_wins(env) -> None:  # type: ignore[no-untyped-def]
    config, con = env
    write_day(config.paths.landing, D1, [GOOD, GOOD, track("other", "u1", "Logged In", TS, "acc")])
    r1 = _stage(con, config, D1)
    assert r1.accepted == 2 and r1.duplicates.height == 1
    write_day(config.paths.landing, D2, [GOOD, track("new", "u1", "Logged In", "2026-01-06T10:00:00Z", "acc")])
    r2 = _stage(con, config, D2)
    assert r2.events["message_id"].to_list() == ["new"]
    assert r2.duplicates["first_received_date"].to_list() == [D1]
    # Re-running the first day gives the same rows (idempotent).
    again = _stage(con, config, D1)
    assert again.events.equals(r1.events)
    assert con.execute("SELECT count(*) FROM staging.events").fetchone()[0] == 3


def test_a_message_reused_across_files_keeps_the_copy_received_first(env) -> None:  # type: ignore[no-untyped-def]
    """Segment keeps the first received copy: the file name must not decide (issue 15). Here the
    copy in `a-` was received at 10:05, the one in `b-` at 10:01; a copy with no receivedAt loses."""
    config, con = env
    first = {**track("m1", "u1", "Report Created", TS, "acc"), "receivedAt": "2026-01-05T10:01:00Z"}
    later = {**track("m1", "u1", "Logged In", TS, "acc"), "receivedAt": "2026-01-05T10:05:00Z"}
    unstamped = track("m2", "u1", "Logged In", TS, "acc")
    stamped = {**track("m2", "u1", "Report Created", TS, "acc"), "receivedAt": "2026-01-05T10:09:00Z"}
    write_day(config.paths.landing, D1, [later, unstamped], name="a-events.jsonl")
    write_day(config.paths.landing, D1, [first, stamped], name="b-events.jsonl")
    r = _stage(con, config, D1)
    kept = {row["message_id"]: (row["event"], row["source_file"]) for row in r.events.iter_rows(named=True)}
    assert kept == {
        "m1": ("Report Created", f"{D1}/b-events.jsonl"),
        "m2": ("Report Created", f"{D1}/b-events.jsonl"),
    }
    assert sorted(r.duplicates["source_file"].to_list()) == [f"{D1}/a-events.jsonl"] * 2


def test_identify_traits_sent_only_in_context_traits_are_read(env) -> None:  # type: ignore[no-untyped-def]
    """RudderStack's library sends an identify call's traits in `context.traits` only: they are the
    call's traits (a `traits` object that holds something still wins)."""
    config, con = env
    only_context = {
        "type": "identify",
        "messageId": "rs-1",
        "userId": "u-rudder",
        "timestamp": TS,
        "context": {"traits": {"email": "Ada@Example.com", "firstName": "Ada"}, "library": {"name": "rudder"}},
    }
    both = {**identify("seg-1", "u-segment", TS, email="grace@example.com"), "context": {"traits": {"email": "x@y.z"}}}
    write_day(config.paths.landing, D1, [only_context, both])
    _stage(con, config, D1)
    users = dict(con.execute("SELECT user_id, email FROM staging.users ORDER BY 1").fetchall())
    assert users == {"u-rudder": "ada@example.com", "u-segment": "grace@example.com"}


def test_clock_skew_corrected_and_client_timestamp_kept(env) -> None:  # type: ignore[no-untyped-def]
    config, con = env
    skewed = {
        "type": "track",
        "messageId": "s",
        "userId": "u",
        "event": "E",
        "originalTimestamp": "2026-01-05T08:00:00.000Z",
        "sentAt": "2026-01-05T08:00:10.000Z",
        "receivedAt": "2026-01-05T11:00:10.000Z",
    }  # device clock 3 hours slow
    kept = {
        "type": "track",
        "messageId": "k",
        "userId": "u",
        "event": "E",
        "timestamp": "2026-01-04T23:30:00-02:00",
        "originalTimestamp": "2026-01-05T08:00:00.000Z",
        "receivedAt": "2026-01-05T11:00:10.000Z",
    }
    write_day(config.paths.landing, D1, [skewed, kept])
    r = _stage(con, config, D1)
    ts = dict(r.events.select("message_id", "timestamp").iter_rows())
    assert ts["s"] == dt.datetime(2026, 1, 5, 11, 0)
    assert ts["k"] == dt.datetime(2026, 1, 5, 1, 30)
    assert r.events.filter(pl.col("message_id") == "k")["event_date"][0] == D1


def test_stitching_membership_as_of_event_time_and_context_precedence(env) -> None:  # type: ignore[no-untyped-def]
    config, con = env
    write_day(
        config.paths.landing,
        D1,
        [
            track("anon1", None, "Document Created", "2026-01-05T09:00:00Z", anonymous="a-1"),
            identify("id1", "u1", "2026-01-05T09:05:00Z", anonymous="a-1", email="u1@x.com"),
            group("g1", "u1", "acc_a", "2026-01-05T09:10:00Z"),
            track("t1", "u1", "Logged In", "2026-01-05T10:00:00Z"),
            group("g2", "u1", "acc_b", "2026-01-05T12:00:00Z"),
            track("t2", "u1", "Logged In", "2026-01-05T13:00:00Z"),
            track("t3", "u1", "Logged In", "2026-01-05T14:00:00Z", account="acc_a"),
            track("t4", "nobody", "Logged In", "2026-01-05T14:00:00Z"),
        ],
    )
    r = _stage(con, config, D1)
    rows = {
        m: (u, a, s)
        for m, u, a, s in r.events.select("message_id", "user_id", "account_id", "account_source").iter_rows()
    }
    assert rows["anon1"] == ("u1", "acc_a", "membership_next")  # stitched, attributed to the account joined next
    assert r.events.filter(pl.col("message_id") == "anon1")["stitched"][0] is True
    assert rows["t1"] == ("u1", "acc_a", "membership")
    assert rows["t2"] == ("u1", "acc_b", "membership")  # latest group call before the event
    assert rows["t3"] == ("u1", "acc_a", "context")  # context.groupId wins
    assert rows["t4"] == ("nobody", None, "unresolved")  # kept, counted, not lost
    assert r.unresolved == 1
    members = con.execute("SELECT user_id, account_id FROM staging.memberships ORDER BY 1, 2").fetchall()
    assert members == [("u1", "acc_a"), ("u1", "acc_b")]


def test_raw_keeps_every_line_verbatim_with_position(env) -> None:  # type: ignore[no-untyped-def]
    config, con = env
    write_day(config.paths.landing, D1, [GOOD, "garbage"])
    lines = read_landed_day(config.paths.landing, D1)
    assert lines["line_number"].to_list() == [1, 2]
    assert lines["line"][1] == "garbage"
    assert lines["source_file"][0] == f"{D1.isoformat()}/events-000.jsonl.gz"


def test_account_traits_are_point_in_time(env) -> None:  # type: ignore[no-untyped-def]
    from engagement_pipeline.staging.traits import account_attributes

    config, con = env
    write_day(
        config.paths.landing,
        D1,
        [
            group("g1", "u1", "acc", "2026-01-05T09:00:00Z", plan="trial", status="trial", industry="Retail"),
            track("t1", "u1", "Logged In", "2026-01-05T10:00:00Z", "acc"),
        ],
    )
    write_day(
        config.paths.landing,
        D2,
        [
            group("g2", "u1", "acc", "2026-01-06T09:00:00Z", plan="pro", status="active"),  # industry not repeated
        ],
    )
    _stage(con, config, D1)
    _stage(con, config, D2)
    day1 = account_attributes(con, D1).row(0, named=True)
    day2 = account_attributes(con, D2).row(0, named=True)
    assert (day1["plan"], day1["status"]) == ("trial", "trial")
    assert (day2["plan"], day2["status"]) == ("pro", "active")
    latest = con.execute("SELECT plan, industry FROM staging.accounts").fetchall()
    assert latest == [("pro", "Retail")]  # a call that omits a trait does not erase it
    early = traits_as_of(con, "account_traits_history", dt.datetime(2026, 1, 5, 12))
    assert early["plan"].to_list() == ["trial"]


def test_blocking_check_failure_stops_downstream_with_one_sentence(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    import duckdb
    from dagster import AssetCheckResult

    from checks import staging as rules
    from engagement_pipeline.core import keys
    from engagement_pipeline.ops.cli import main

    config = load_config(write_config(tmp_path))
    write_day(config.paths.landing, D1, [GOOD])

    def failing(staged):  # type: ignore[no-untyped-def]
        return AssetCheckResult(
            asset_key=keys.EVENTS,
            check_name="lines_reconcile",
            passed=False,
            description="lines do not add up (simulated)",
        )

    monkeypatch.setattr(rules, "lines_reconcile", failing)
    monkeypatch.chdir(tmp_path)
    code = main(["run", "--date", D1.isoformat()])
    err = capsys.readouterr().err
    assert code == 1
    assert "blocking check 'lines_reconcile' on staging/events failed for 2026-01-05" in err
    assert "Traceback" not in err
    con = duckdb.connect(str(config.paths.warehouse), read_only=True)
    assert con.execute("SELECT count(*) FROM scores.user_scores").fetchone()[0] == 0
    con.close()
