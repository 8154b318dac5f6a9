"""The tracking API in process (Starlette's test client in front of a real DayWriter on a temporary
landing folder): authentication, gzip, Segment's limits, what the server stamps, back-pressure."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from engagement_pipeline.collector.app import Limits, build_app
from engagement_pipeline.collector.writer import DayWriter
from engagement_pipeline.core.config_collector import SEGMENT_BATCH_BYTES, SEGMENT_MESSAGE_BYTES

KEYS = ["key-one", "key-two"]
AUTH = {"Authorization": "Basic " + base64.b64encode(b"key-one:").decode()}


class Client:
    """Requests through httpx's ASGI transport, each in its own event loop (the app keeps no loop state)."""

    def __init__(self, app: Starlette) -> None:
        self.app = app

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://collector") as client:
                return await client.request(method, path, **kwargs)

        return asyncio.run(go())

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)


class Fixture:
    def __init__(self, landing: Path, client: Client, writer: DayWriter) -> None:
        self.landing, self.client, self.writer = landing, client, writer

    def lines(self) -> list[Any]:
        out = []
        for path in sorted(self.landing.glob("*/collector-*.jsonl")):
            out += [json.loads(line) for line in path.read_text().splitlines()]
        return out


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Fixture]:
    writer = DayWriter(tmp_path / "landing", max_backlog_requests=4)
    writer.start()
    app = build_app(writer, KEYS, Limits(SEGMENT_MESSAGE_BYTES, SEGMENT_BATCH_BYTES, retry_after_seconds=2))
    try:
        yield Fixture(tmp_path / "landing", Client(app), writer)
    finally:
        writer.stop()


def track(mid: str | None = "m1", **extra: Any) -> dict[str, Any]:
    msg = {"type": "track", "userId": "u1", "event": "Logged In", **extra}
    if mid is not None:
        msg["messageId"] = mid
    return msg


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic " + base64.b64encode(b"wrong-key:").decode()},
        {"Authorization": "Bearer key-one"},
        {"Authorization": "Basic not-base64!"},
    ],
    ids=["no key", "unknown key", "not basic", "malformed"],
)
def test_a_request_without_a_known_write_key_is_401_and_lands_nothing(api: Fixture, headers: dict[str, str]) -> None:
    response = api.client.post("/v1/batch", json={"batch": [track()]}, headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert api.lines() == []


def test_every_configured_key_and_a_body_write_key_are_accepted(api: Fixture) -> None:
    second = {"Authorization": "Basic " + base64.b64encode(b"key-two:").decode()}
    assert api.client.post("/v1/batch", json={"batch": [track("a")]}, headers=second).status_code == 200
    # Browser libraries send the key in the body (no Authorization header); it is not landed.
    assert api.client.post("/v1/batch", json={"batch": [track("b")], "writeKey": "key-one"}).status_code == 200
    assert api.client.post("/v1/batch", json={"batch": [track("c")], "writeKey": "nope"}).status_code == 401
    lines = api.lines()
    assert [m["messageId"] for m in lines] == ["a", "b"]
    assert not any("writeKey" in m for m in lines)


def test_the_server_stamps_received_at_keeps_or_makes_message_ids_and_applies_batch_defaults(api: Fixture) -> None:
    before = dt.datetime.now(dt.UTC)
    body = {
        "batch": [track("kept", receivedAt="1999-01-01T00:00:00Z"), track(None), track(""), "not an object"],
        "sentAt": "2026-01-01T00:00:05Z",
        "context": {"library": {"name": "test"}},
    }
    assert api.client.post("/v1/batch", json=body, headers=AUTH).json() == {"success": True}
    lines = api.lines()
    assert len(lines) == 4  # the string is landed too: staging quarantines it (not_an_object)
    assert lines[3] == "not an object"
    ids = [m["messageId"] for m in lines[:3]]
    assert ids[0] == "kept" and ids[1] != ids[2] and all(i.startswith("collector-") for i in ids[1:])
    for message in lines[:3]:
        received = dt.datetime.fromisoformat(message["receivedAt"].replace("Z", "+00:00"))
        assert before - dt.timedelta(seconds=1) <= received <= dt.datetime.now(dt.UTC)
        assert message["sentAt"] == "2026-01-01T00:00:05Z"
        assert message["context"] == {"library": {"name": "test"}}
    day = dt.datetime.fromisoformat(lines[0]["receivedAt"].replace("Z", "+00:00")).date()
    assert [p.parent.name for p in api.landing.glob("*/collector-*.jsonl")] == [day.isoformat()]


@pytest.mark.parametrize(
    "path", ["track", "t", "identify", "i", "group", "g", "page", "p", "screen", "s", "alias", "a"]
)
def test_single_call_endpoints_set_the_type_from_the_path(api: Fixture, path: str) -> None:
    response = api.client.post(f"/v1/{path}", json={"type": "page", "userId": "u1", "messageId": "x"}, headers=AUTH)
    assert response.status_code == 200
    expected = {"t": "track", "i": "identify", "g": "group", "p": "page", "s": "screen", "a": "alias"}
    assert api.lines()[0]["type"] == expected.get(path, path)


def test_a_gzip_body_is_read(api: Fixture) -> None:
    body = gzip.compress(json.dumps({"batch": [track("z1"), track("z2")]}).encode())
    response = api.client.post("/v1/b", content=body, headers={**AUTH, "Content-Encoding": "gzip"})
    assert response.status_code == 200
    assert [m["messageId"] for m in api.lines()] == ["z1", "z2"]


@pytest.mark.parametrize(
    ("body", "headers", "status", "code"),
    [
        (b"{not json", {}, 400, "invalid_json"),
        (b'{"batch": [{"v": NaN}]}', {}, 400, "invalid_json"),
        (b"[1, 2]", {}, 400, "invalid_body"),
        (b'{"batch": {"a": 1}}', {}, 400, "invalid_batch"),
        (b"\x1f\x8b\x08\x00garbage", {"Content-Encoding": "gzip"}, 400, "invalid_gzip"),
        (gzip.compress(b'{"batch": []}')[:-6], {"Content-Encoding": "gzip"}, 400, "invalid_gzip"),
        (b"{}", {"Content-Encoding": "br"}, 415, "unsupported_encoding"),
    ],
    ids=["not json", "NaN", "array", "batch not a list", "not gzip", "truncated gzip", "brotli"],
)
def test_a_bad_body_is_refused_with_a_json_reason(
    api: Fixture, body: bytes, headers: dict[str, str], status: int, code: str
) -> None:
    response = api.client.post("/v1/batch", content=body, headers={**AUTH, **headers})
    assert response.status_code == status
    assert response.json()["code"] == code
    assert response.json()["message"]
    assert api.lines() == []


def test_segment_size_limits_message_32_kb_and_batch_500_kb(api: Fixture) -> None:
    big = track("big", properties={"text": "x" * SEGMENT_MESSAGE_BYTES})
    response = api.client.post("/v1/batch", json={"batch": [track("ok"), big]}, headers=AUTH)
    assert (response.status_code, response.json()["code"]) == (400, "message_too_large")
    assert "message 2 of the batch" in response.json()["message"]
    # A message just under the limit is fine.
    fits = track("fits", properties={"text": "x" * (SEGMENT_MESSAGE_BYTES - 200)})
    assert api.client.post("/v1/track", json=fits, headers=AUTH).status_code == 200
    # 20 messages of 30 KB: each fits, the batch (600 KB) does not.
    many = [track(f"m{i}", properties={"text": "y" * 30_000}) for i in range(20)]
    response = api.client.post("/v1/batch", json={"batch": many}, headers=AUTH)
    assert (response.status_code, response.json()["code"]) == (413, "batch_too_large")
    # Nor does a small gzip body that inflates past 500 KB.
    bomb = gzip.compress(json.dumps({"batch": [track("b", properties={"t": "z" * 2_000_000})]}).encode())
    assert len(bomb) < 10_000
    response = api.client.post("/v1/batch", content=bomb, headers={**AUTH, "Content-Encoding": "gzip"})
    assert (response.status_code, response.json()["code"]) == (413, "batch_too_large")
    assert [m["messageId"] for m in api.lines()] == ["fits"]


def test_over_the_backlog_it_answers_429_with_retry_after(api: Fixture) -> None:
    held = [api.writer.reserve() for _ in range(4)]  # four requests between receipt and fsync: the bound
    response = api.client.post("/v1/batch", json={"batch": [track()]}, headers=AUTH)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "2"
    assert response.json()["code"] == "backlogged"
    for ticket in held:
        api.writer.release(ticket)
    assert api.client.post("/v1/batch", json={"batch": [track()]}, headers=AUTH).status_code == 200


def test_a_write_that_fails_is_503_and_not_acknowledged(api: Fixture) -> None:
    today = dt.datetime.now(dt.UTC).date()
    api.landing.joinpath(today.isoformat()).write_text("a file where the day folder should be")
    response = api.client.post("/v1/batch", json={"batch": [track()]}, headers=AUTH)
    assert response.status_code == 503
    assert response.json()["code"] == "write_failed"
    assert "Retry-After" in response.headers


def test_unknown_paths_and_methods_answer_json(api: Fixture) -> None:
    assert api.client.post("/v1/nope", json={}, headers=AUTH).status_code == 404
    response = api.client.get("/v1/batch")
    assert response.status_code == 405 and response.json()["code"] == "method_not_allowed"
    assert api.client.get("/health").json()["ok"] is True


def test_text_that_json_allows_is_landed_as_sent(api: Fixture) -> None:
    body = (
        b'{"batch": [{"type": "track", "userId": "\\u00e9l\\u00e8ve \\ud83d\\ude00", '
        b'"event": "x\\ud800y", "messageId": "s", "properties": {"n": 123456789012345678}}]}'
    )
    assert api.client.post("/v1/batch", content=body, headers=AUTH).status_code == 200
    (line,) = api.lines()
    assert line["userId"] == "\u00e9l\u00e8ve \U0001f600"
    assert line["event"] == "x\ud800y"  # a lone surrogate escape is JSON: landed, staging decides
    assert line["properties"]["n"] == 123456789012345678


def test_a_writer_that_stopped_on_a_bug_fails_requests_instead_of_leaving_them_hanging(api: Fixture) -> None:
    def broken(group: list) -> None:
        raise RuntimeError("a bug in the writer")

    api.writer._commit = broken  # type: ignore[method-assign]
    response = api.client.post("/v1/batch", json={"batch": [track("x")]}, headers=AUTH)
    assert (response.status_code, response.json()["code"]) == (503, "write_failed")
    response = api.client.post("/v1/batch", json={"batch": [track("y")]}, headers=AUTH)
    assert (response.status_code, response.json()["code"]) == (503, "write_failed")  # refused at once
