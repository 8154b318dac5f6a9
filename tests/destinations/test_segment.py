"""Segment: group calls with the warehouse's traits to a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import pytest

from engagement_pipeline.core.config_destinations import ACCOUNT_TRAITS, SegmentDestination
from engagement_pipeline.core.warehouse import connect
from engagement_pipeline.destinations import step
from tests.conftest import DemoWorld
from tests.destinations.conftest import world_copy
from tests.destinations.receiver import Receiver, closed_port_url


def segment(url: str, **more: Any) -> SegmentDestination:
    return SegmentDestination(endpoint=url, write_key_env="TEST_SEGMENT_WRITE_KEY", **more)


def _rows(con: Any, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


def test_one_demo_day_sends_the_warehouse_traits_and_a_rerun_sends_nothing(
    demo_world: DemoWorld, tmp_path: Path, receiver: Receiver, segment_key: str
) -> None:
    config = world_copy(demo_world, tmp_path, segment=segment(receiver.url))
    day = demo_world.days[-1]
    con = connect(config.paths.warehouse)
    try:
        first = step.sync_segment(con, day, config)
        accounts = _rows(con, "SELECT * FROM accounts.account_scores WHERE as_of_date = ?", [day])
        assert first.status == "sent" and first.failed == 0 and first.sent == len(accounts) > 0
        groups = {m["groupId"]: m for m in receiver.messages if m["type"] == "group"}
        assert set(groups) == {a["account_id"] for a in accounts}
        for account in accounts:
            traits = groups[account["account_id"]]["traits"]
            assert set(traits) == {f"engagement_{name}" for name in ACCOUNT_TRAITS}
            for name in ACCOUNT_TRAITS:
                assert _same(traits[f"engagement_{name}"], account[name]), (account["account_id"], name)
        # HTTP Basic auth with the write key as the user name, as Segment's API expects.
        expected = "Basic " + base64.b64encode(f"{segment_key}:".encode()).decode()
        assert {(path, auth) for path, auth, _ in receiver.requests} == {("/v1/batch", expected)}
        requests = len(receiver.requests)

        again = step.sync_segment(con, day, config)
        assert (again.status, again.sent, again.skipped) == ("nothing_new", 0, len(accounts))
        assert len(receiver.requests) == requests  # nothing went out
        state = con.execute("SELECT count(*), min(as_of_date) FROM destinations.segment_sync_state").fetchone()
        assert state == (len(accounts), day)
    finally:
        con.close()


def test_429_then_200_delivers_every_batch_exactly_once(
    demo_world: DemoWorld, tmp_path: Path, receiver: Receiver, segment_key: str
) -> None:
    config = world_copy(demo_world, tmp_path, segment=segment(receiver.url, max_batch_bytes=3_000))
    receiver.answer((429, {"Retry-After": "0"}), 503)
    waits: list[float] = []
    con = connect(config.paths.warehouse)
    try:
        outcome = step.sync_segment(con, demo_world.days[-1], config, sleep=waits.append)
    finally:
        con.close()
    ids = [m["messageId"] for m in receiver.messages]
    batches = len(receiver.acknowledged)
    assert outcome.status == "sent" and outcome.sent == len(ids) and outcome.failed == 0
    assert batches >= 3 and len(ids) == len(set(ids)) == outcome.sent  # each message acknowledged once
    assert [status for _, _, status in receiver.requests] == [429, 503] + [200] * batches
    assert waits == [0.0, 2.0]  # Retry-After honoured, then the backoff (1 s doubled)
    assert all(len(json.dumps(body).encode()) < 3_000 for body in receiver.acknowledged)


def test_a_receiver_that_stays_down_fails_with_one_sentence_and_records_nothing(
    demo_world: DemoWorld, tmp_path: Path, segment_key: str
) -> None:
    config = world_copy(demo_world, tmp_path, segment=segment(closed_port_url(), max_attempts=2))
    con = connect(config.paths.warehouse)
    try:
        outcome = step.sync_segment(con, demo_world.days[-1], config, sleep=lambda s: None)
        assert outcome.status == "failed" and outcome.sent == 0 and outcome.failed > 0
        assert outcome.error is not None and outcome.error.startswith("destinations.segment: the Segment endpoint")
        assert "could not be reached (ConnectError) after 2 attempts" in outcome.error
        assert "\n" not in outcome.error
        assert con.execute("SELECT count(*) FROM destinations.segment_sync_state").fetchone() == (0,)
        runs = con.execute("SELECT status, sent, failed FROM destinations.destination_runs").fetchall()
        assert runs == [("failed", 0, outcome.failed)]
    finally:
        con.close()


def test_only_acknowledged_batches_are_recorded_and_the_rest_goes_next_run(
    demo_world: DemoWorld, tmp_path: Path, receiver: Receiver, segment_key: str
) -> None:
    config = world_copy(demo_world, tmp_path, segment=segment(receiver.url, max_batch_bytes=3_000, max_attempts=2))
    receiver.answer(200, 500, 500)  # the first batch is acknowledged, the second never
    day = demo_world.days[-1]
    con = connect(config.paths.warehouse)
    try:
        failed = step.sync_segment(con, day, config, sleep=lambda s: None)
        first_batch = {m["groupId"] for m in receiver.messages}
        recorded = {k for (k,) in con.execute("SELECT key FROM destinations.segment_sync_state").fetchall()}
        assert failed.status == "failed" and failed.sent == len(first_batch) == len(recorded) > 0
        assert recorded == first_batch
        resumed = step.sync_segment(con, day, config, sleep=lambda s: None)
    finally:
        con.close()
    ids = [m["groupId"] for m in receiver.messages]
    assert resumed.status == "sent" and resumed.sent == failed.failed and resumed.skipped == failed.sent
    assert len(ids) == len(set(ids))  # nothing acknowledged twice


def test_an_older_day_never_overwrites_a_newer_sync(
    demo_world: DemoWorld, tmp_path: Path, receiver: Receiver, segment_key: str
) -> None:
    config = world_copy(demo_world, tmp_path, segment=segment(receiver.url))
    con = connect(config.paths.warehouse)
    try:
        newer = step.sync_segment(con, demo_world.days[-1], config)
        older = step.sync_segment(con, demo_world.days[0], config)
    finally:
        con.close()
    assert newer.sent > 0 and older.sent == 0
    assert older.details["newer_day_already_synced"] == older.skipped > 0


def test_dry_run_writes_the_payloads_beside_the_exports_and_sends_nothing(
    demo_world: DemoWorld, tmp_path: Path
) -> None:
    config = world_copy(demo_world, tmp_path, segment=segment("http://127.0.0.1:9", dry_run=True))
    day = demo_world.days[-1]
    con = connect(config.paths.warehouse)
    try:
        outcome = step.sync_segment(con, day, config)
        assert con.execute("SELECT count(*) FROM destinations.segment_sync_state").fetchone() == (0,)
    finally:
        con.close()
    path = config.paths.exports / "segment_dry_run" / f"{day.isoformat()}.jsonl"
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert outcome.status == "dry_run" and outcome.sent == 0 and len(lines) == outcome.details["group_calls"] > 0
    assert {m["type"] for m in lines} == {"group"} and all(m["messageId"].startswith("engagement-") for m in lines)


def test_identify_calls_carry_user_scores_and_trait_names_are_configurable(
    demo_world: DemoWorld, tmp_path: Path, receiver: Receiver, segment_key: str
) -> None:
    chosen = segment(receiver.url, identify_users=True, trait_prefix="eng_", traits={"score": "lead_score"})
    config = world_copy(demo_world, tmp_path, segment=chosen)
    day = demo_world.days[-1]
    con = connect(config.paths.warehouse)
    try:
        step.sync_segment(con, day, config)
        users = dict(
            con.execute("SELECT user_id, score FROM scores.user_scores WHERE as_of_date = ?", [day]).fetchall()
        )
    finally:
        con.close()
    identifies = {m["userId"]: m["traits"] for m in receiver.messages if m["type"] == "identify"}
    assert identifies == {user: {"eng_user_score": score} for user, score in users.items()}
    group = next(m for m in receiver.messages if m["type"] == "group")
    assert "eng_lead_score" in group["traits"] and "eng_trend" in group["traits"]


def test_a_missing_write_key_is_one_sentence_naming_the_variable(
    demo_world: DemoWorld, tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TEST_SEGMENT_WRITE_KEY", raising=False)
    config = world_copy(demo_world, tmp_path, segment=segment(receiver.url))
    con = connect(config.paths.warehouse)
    try:
        outcome = step.sync_segment(con, demo_world.days[-1], config)
    finally:
        con.close()
    assert outcome.error is not None and "TEST_SEGMENT_WRITE_KEY is not set" in outcome.error
    assert receiver.requests == []


def test_off_by_default(demo_world: DemoWorld, tmp_path: Path) -> None:
    config = world_copy(demo_world, tmp_path)
    con = connect(config.paths.warehouse)
    try:
        assert [(o.destination, o.status) for o in step.run(con, dt.date(2026, 1, 3), config)] == [
            ("segment", "off"),
            ("digest", "off"),
        ]
    finally:
        con.close()
