"""Segment calls from the day's scores: group calls with the account's engagement traits,
identify calls with each user's score, what changed since the last sync, and batches.

Every message is a pure function of (kind, id, day, traits): the same day re-sent gives
the same messageId, so Segment drops a batch that was delivered but whose answer was lost.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from engagement_pipeline.core.config_destinations import ACCOUNT_TRAITS, SegmentDestination

GROUP, IDENTIFY = "group", "identify"
LIBRARY = {"name": "engagement-pipeline", "version": "1"}
# A group call needs a userId or an anonymousId: the pipeline speaks as one anonymous sender
# per account, so no real user is tied to an account they may not belong to.
ANONYMOUS_PREFIX = "engagement-pipeline:"
BATCH_ENVELOPE = len(b'{"batch":[]}')


@dataclass(frozen=True)
class Pending:
    """One call to send: what it is about, the hash of its traits, and the message itself."""

    kind: str
    key: str
    traits_sha256: str
    message: dict[str, Any]


def _value(value: Any) -> Any:
    """A warehouse value as JSON: NaN is null, numbers and booleans stay as they are."""
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def message_id(kind: str, key: str, day: dt.date, traits: Mapping[str, Any]) -> str:
    """Stable messageId (under Segment's 100 characters): a hash of the call, the id, the day and the traits."""
    digest = hashlib.sha256(canonical([kind, key, day.isoformat(), traits]).encode()).hexdigest()
    return f"engagement-{digest[:40]}"


def _message(kind: str, key: str, day: dt.date, traits: dict[str, Any]) -> Pending:
    traits_sha = hashlib.sha256(canonical(traits).encode()).hexdigest()
    message: dict[str, Any] = {
        "type": kind,
        "messageId": message_id(kind, key, day, traits),
        "timestamp": f"{day.isoformat()}T23:59:59Z",
        "traits": traits,
        "context": {"library": LIBRARY},
    }
    if kind == GROUP:
        message.update(groupId=key, anonymousId=ANONYMOUS_PREFIX + key)
    else:
        message["userId"] = key
    return Pending(kind, key, traits_sha, message)


def account_traits(row: Mapping[str, Any], segment: SegmentDestination) -> dict[str, Any]:
    """An account row's engagement traits under their configured names, values as in the warehouse."""
    return {segment.trait_name(name): _value(row.get(name)) for name in ACCOUNT_TRAITS}


def group_calls(scores: pl.DataFrame, day: dt.date, segment: SegmentDestination) -> list[Pending]:
    """One group call per account of `accounts.account_scores` for the day, in account order."""
    rows = scores.sort("account_id").iter_rows(named=True)
    return [_message(GROUP, row["account_id"], day, account_traits(row, segment)) for row in rows]


def identify_calls(user_scores: pl.DataFrame, day: dt.date, segment: SegmentDestination) -> list[Pending]:
    """One identify call per user of `scores.user_scores` for the day, with the user's 1..100 score."""
    rows = user_scores.sort("user_id").iter_rows(named=True)
    name = segment.trait_name("user_score")
    return [_message(IDENTIFY, row["user_id"], day, {name: _value(row["score"])}) for row in rows]


@dataclass(frozen=True)
class Selection:
    send: list[Pending]
    unchanged: int  # traits equal to what was last acknowledged
    newer_synced: int  # a later day was already acknowledged: sending this one would roll it back


def changed_since_sync(
    pending: Iterable[Pending], state: Mapping[tuple[str, str], tuple[str, dt.date]], day: dt.date
) -> Selection:
    """The calls whose traits differ from the last acknowledged ones (`state`: (kind, key) ->
    (traits hash, as-of day)); never a day older than the one already acknowledged."""
    send, unchanged, newer = [], 0, 0
    for call in pending:
        synced = state.get((call.kind, call.key))
        if synced is not None and synced[1] > day:
            newer += 1
        elif synced is not None and synced[0] == call.traits_sha256:
            unchanged += 1
        else:
            send.append(call)
    return Selection(send, unchanged, newer)


def batches(calls: list[Pending], max_bytes: int) -> list[list[Pending]]:
    """Consecutive calls in batches whose body `{"batch": [...]}` stays within `max_bytes`."""
    out: list[list[Pending]] = []
    current: list[Pending] = []
    size = BATCH_ENVELOPE
    for call in calls:
        length = len(canonical(call.message).encode()) + (1 if current else 0)
        if BATCH_ENVELOPE + length > max_bytes:
            raise ValueError(f"one {call.kind} call is {length} bytes, over the batch limit of {max_bytes}")
        if current and size + length > max_bytes:
            out.append(current)
            current, size, length = [], BATCH_ENVELOPE, length - 1
        current.append(call)
        size += length
    if current:
        out.append(current)
    return out


def batch_body(calls: list[Pending]) -> bytes:
    """The request body of a batch (compact, keys sorted: the same batch is the same bytes)."""
    return canonical({"batch": [call.message for call in calls]}).encode()
