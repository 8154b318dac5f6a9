"""A tracking-API request body -> the JSON lines the collector lands.

What the server adds or changes, as Segment's own API does:
- `receivedAt`: the server's clock when the request was accepted (any client value is replaced);
- `messageId`: kept when the client sent one (a retried batch keeps its ids, so staging's
  de-duplication absorbs the retry), generated (a UUID) when missing or empty;
- `type`: set from the path for `/v1/track` and the others (`/v1/batch` keeps each message's);
- a batch's top-level `context`, `integrations` and `sentAt` apply to every message that has
  none of its own (Segment's Python library sends `sentAt` only there; staging needs it for
  the clock-skew correction);
- `writeKey` is removed: a credential has no place in the landed files.

Anything else is kept as sent. A message that is not usable (no userId, not an object, ...)
is still landed: staging quarantines it with a reason, so nothing accepted disappears.

JSON goes through orjson (about six times faster than the standard library here, which is
most of the collector's CPU per event); what orjson refuses and JSON allows (a lone UTF-16
surrogate escape, an integer over 64 bits when writing) falls back to the standard library.
orjson reads an integer over 64 bits as a float: such an id is not kept digit for digit.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

import orjson

from engagement_pipeline.collector.limits import ApiError, kb
from engagement_pipeline.core.vocab import MessageType

# Path -> message type; None is the batch endpoint. Short forms as Segment's API has them.
ENDPOINTS: dict[str, MessageType | None] = {"batch": None, "b": None}
for _type in MessageType:
    ENDPOINTS[_type.value] = _type
    ENDPOINTS[_type.value[0]] = _type

BATCH_DEFAULTS = ("context", "integrations", "sentAt")


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(data: bytes) -> Any:
    """The body as JSON; 400 when it is not (NaN and Infinity are not JSON either)."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(data, parse_constant=_no_constants)
    except (ValueError, RecursionError):
        raise ApiError(400, "invalid_json", "the body is not valid JSON") from None


def dumps(value: Any) -> bytes:
    """Compact JSON as UTF-8 bytes."""
    try:
        return orjson.dumps(value)
    except (orjson.JSONEncodeError, TypeError):
        return json.dumps(value, separators=(",", ":")).encode("utf-8")


@dataclass(frozen=True)
class Incoming:
    """One request's messages, the batch-level fields that apply to each, and a body `writeKey`."""

    messages: list[Any]
    defaults: dict[str, Any]
    write_key: str | None


def request_messages(body: Any, kind: MessageType | None) -> Incoming:
    """The messages of one request."""
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", "the body must be a JSON object")
    write_key = body.get("writeKey") if isinstance(body.get("writeKey"), str) else None
    if kind is not None:
        body["type"] = kind.value
        return Incoming([body], {}, write_key)
    batch = body.get("batch")
    if not isinstance(batch, list):
        raise ApiError(400, "invalid_batch", "a batch body needs a `batch` array of messages")
    return Incoming(batch, {k: body[k] for k in BATCH_DEFAULTS if k in body}, write_key)


def received_text(when: dt.datetime) -> str:
    """ISO 8601 in UTC with milliseconds, as Segment writes `receivedAt`."""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def encode_lines(
    messages: list[Any], received: dt.datetime, max_message_bytes: int, defaults: dict[str, Any] | None = None
) -> bytes:
    """The messages as JSON lines, stamped; 400 naming the first one over the size limit.

    The limit applies to the message as the client sent it: the server's own `receivedAt`
    (and a generated `messageId`) do not count against it."""
    stamp = received_text(received)
    lines: list[bytes] = []
    for i, message in enumerate(messages):
        added = 0
        if isinstance(message, dict):
            for key, value in (defaults or {}).items():
                message.setdefault(key, value)
            message.pop("writeKey", None)
            mid = message.get("messageId")
            if mid is None or mid == "":
                message["messageId"] = f"collector-{uuid.uuid4()}"
                added += len(message["messageId"]) + 16
            message["receivedAt"] = stamp
            added += len(stamp) + 16
        line = dumps(message)
        if len(line) - added > max_message_bytes:
            where = f"message {i + 1} of the batch" if len(messages) > 1 else "the message"
            raise ApiError(
                400, "message_too_large", f"{where} is over {kb(max_message_bytes)}, Segment's limit for one message"
            )
        lines.append(line)
    return b"\n".join(lines) + b"\n" if lines else b""
