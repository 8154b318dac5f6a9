"""The collector's ASGI app (Starlette): Segment's tracking API in front of `DayWriter`.

`POST /v1/batch` (`/v1/b`), `/v1/track`, `/v1/identify`, `/v1/group`, `/v1/page`, `/v1/screen`,
`/v1/alias` (and their one-letter forms). A request is authorized by HTTP Basic auth with a
write key as the user name (or, without an Authorization header, a `writeKey` in the body, as
browser libraries send it); no key or an unknown one is 401. It is answered 200 only once its
lines are on disk (`DayWriter`); 429 with Retry-After when the backlog is full, 503 when the
disk refused the write (nothing was acknowledged, the client retries).

Each request is logged on one line: path, status, messages, bytes as sent and decoded,
latency. Never a payload, a user id, a client address or a key (keys are shown as `#1`, their
position in the configured list).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import logging
import time
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from engagement_pipeline.collector.limits import ApiError, read_body
from engagement_pipeline.collector.messages import ENDPOINTS, encode_lines, parse_json, request_messages
from engagement_pipeline.collector.writer import Backlogged, DayWriter

log = logging.getLogger("engagement_pipeline.collector")

OK_BODY = {"success": True}


@dataclass(frozen=True)
class Limits:
    max_message_bytes: int
    max_batch_bytes: int
    retry_after_seconds: int


def key_label(keys: list[str], candidate: str | None) -> str | None:
    """`#n` for the configured key `candidate` is (compared in constant time), None if unknown."""
    if not candidate:
        return None
    found = None
    for i, key in enumerate(keys):
        if hmac.compare_digest(key.encode(), candidate.encode()):
            found = f"#{i + 1}"
    return found


def basic_user(header: str | None) -> str | None:
    """The user name of an HTTP Basic Authorization header ('' when it is malformed)."""
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic":
        return ""
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ""
    return decoded.partition(":")[0]


UNAUTHORIZED = ApiError(
    401,
    "unauthorized",
    "no valid write key: send one as the HTTP Basic auth user name (one of the keys in the collector's write-key variable)",
    {"WWW-Authenticate": 'Basic realm="collector"'},
)


def build_app(writer: DayWriter, keys: list[str], limits: Limits) -> Starlette:
    """The app; the caller starts and stops `writer` (its thread outlives no request)."""

    async def track_api(request: Request) -> Response:
        started = time.perf_counter()
        name = request.path_params["endpoint"]
        shown = name if name in ENDPOINTS else "?"
        outcome = {"messages": 0, "wire": 0, "decoded": 0, "key": "-", "gzip": False}
        try:
            status = await _handle(request, name, outcome)
            response: Response = JSONResponse(OK_BODY)
        except ApiError as exc:
            status = exc.status
            response = JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)
        except ClientDisconnect:  # gone before its body arrived: nothing was accepted, nobody to answer
            status = 499
            response = Response(status_code=400)
        log.info(
            "POST /v1/%s %d messages=%d bytes=%d decoded=%d%s key=%s ms=%.1f",
            shown,
            status,
            outcome["messages"],
            outcome["wire"],
            outcome["decoded"],
            " gzip" if outcome["gzip"] else "",
            outcome["key"],
            (time.perf_counter() - started) * 1000,
        )
        return response

    async def _handle(request: Request, name: str, outcome: dict) -> int:
        if name not in ENDPOINTS:
            raise ApiError(404, "not_found", f"/v1/{name} is not an endpoint of the tracking API")
        header_user = basic_user(request.headers.get("authorization"))
        label = key_label(keys, header_user) if header_user is not None else None
        if header_user is not None and label is None:
            raise UNAUTHORIZED
        if writer.overloaded():
            raise _busy(limits)
        body = await read_body(
            request.stream(),
            request.headers.get("content-encoding"),
            request.headers.get("content-length"),
            limits.max_batch_bytes,
        )
        outcome.update(wire=body.wire_bytes, decoded=len(body.data), gzip=body.gzip)
        incoming = request_messages(parse_json(body.data), ENDPOINTS[name])
        label = label or key_label(keys, incoming.write_key)
        if label is None:
            raise UNAUTHORIZED
        outcome.update(key=label, messages=len(incoming.messages))
        if not incoming.messages:
            return 200
        try:
            ticket = writer.reserve()
        except Backlogged:
            raise _busy(limits) from None
        except OSError:
            raise _unavailable(limits) from None
        try:
            data = encode_lines(incoming.messages, ticket.received, limits.max_message_bytes, incoming.defaults)
        except BaseException:
            writer.release(ticket)
            raise
        loop = asyncio.get_running_loop()
        written: asyncio.Future[None] = loop.create_future()

        def done(error: BaseException | None) -> None:
            loop.call_soon_threadsafe(_settle, written, error)

        writer.submit(ticket, data, done)
        try:
            await asyncio.shield(written)
        except OSError:
            raise _unavailable(limits) from None
        return 200

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True, "backlogged": writer.overloaded()})

    async def not_found(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        code = {404: "not_found", 405: "method_not_allowed"}.get(status, "error")
        return JSONResponse({"code": code, "message": f"{request.method} {request.url.path}: {code}"}, status)

    return Starlette(
        routes=[
            Route("/v1/{endpoint}", track_api, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
        ],
        exception_handlers={HTTPException: not_found},
    )


def _busy(limits: Limits) -> ApiError:
    return ApiError(
        429,
        "backlogged",
        "the collector is writing what it already accepted; retry after the delay in Retry-After",
        {"Retry-After": str(limits.retry_after_seconds)},
    )


def _unavailable(limits: Limits) -> ApiError:
    return ApiError(
        503,
        "write_failed",
        "the collector could not write to its landing folder; nothing was accepted, retry later",
        {"Retry-After": str(limits.retry_after_seconds)},
    )


def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
