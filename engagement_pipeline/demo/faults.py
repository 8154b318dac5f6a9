"""What lands each day, dirt included: late events, duplicates and garbage lines.

`FaultRates` says how dirty the data is. `finish_day` takes one day's rendered messages, holds
back those received on a later day (late track events, and any whose delivery crosses midnight),
re-sends some messages with the same messageId in the same or the next day's folder, mixes in
malformed lines of nine kinds and counts everything in a `Tally`. Each day draws from its own
random stream (seed, 2, day).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from engagement_pipeline.core.vocab import MessageType
from engagement_pipeline.demo.arrays import DAY_MS, iso_matrix, uuid4_matrix
from engagement_pipeline.demo.catalogue import EVENT_NAMES, MALFORMED, MESSAGE_TYPES, TRACK

if TYPE_CHECKING:  # the world is built with FaultRates: a run-time import would be circular
    from engagement_pipeline.demo.world import World


@dataclass(frozen=True)
class FaultRates:
    """How dirty the landed data is."""

    duplicate_share: float = (
        0.01  # share of messages re-sent with the same messageId (same payload), in the same or next day's folder
    )
    late_share: float = (
        0.02  # share of track events received 1-3 days after they happened (written to a later received-date folder)
    )
    malformed_share: float = 0.002  # share of extra garbage lines
    anonymous_share: float = (
        0.3  # share of NEW users whose first events are anonymous (anonymousId only) before identify links them
    )


_MALFORMED_KINDS: tuple[str, ...] = (
    "truncated_json",
    "plain_text",
    "json_array",
    "json_number",
    "track_without_user",
    "track_without_event",
    "group_without_group_id",
    "bogus_type",
    "invalid_timestamp",
)
_GARBAGE_TEXT = (
    "<html><head><title>502 Bad Gateway</title></head><body>502 Bad Gateway</body></html>",
    "ERROR: upstream connect error or disconnect/reset before headers",
    "undefined",
    "user_id,event,timestamp",
    "lorem ipsum dolor sit amet",
)


def _malformed_lines(
    world: World, rng: np.random.Generator, d: int, valid: pl.Series, count: int
) -> tuple[list[str], list[int], dict[str, int]]:
    """Garbage lines of every kind the pipeline must quarantine, with their sort keys."""
    kinds = rng.integers(0, len(_MALFORMED_KINDS), size=count)
    ids = [bytes(row).decode() for row in uuid4_matrix(rng, count)]
    recv = world.start_ms + d * DAY_MS + rng.integers(0, DAY_MS, size=count)
    stamps = [bytes(row).decode() for row in iso_matrix(recv)]
    picks = rng.integers(0, 1 << 30, size=count).tolist()
    lines: list[str] = []
    tally = dict.fromkeys(_MALFORMED_KINDS, 0)
    for k, mid, stamp, pick in zip(kinds.tolist(), ids, stamps, picks):
        name = _MALFORMED_KINDS[k]
        user = world.users.truth["email"][pick % world.users.n]
        user_id = f"usr_{pick % world.users.n + 1:06d}"
        base: dict[str, Any] = {
            "type": MessageType.TRACK,
            "messageId": mid,
            "userId": user_id,
            "event": EVENT_NAMES[pick % len(EVENT_NAMES)],
            "properties": {},
            "originalTimestamp": stamp,
            "sentAt": stamp,
            "receivedAt": stamp,
        }
        if name == "truncated_json" and len(valid):
            text = valid[pick % len(valid)]
            line = text[: len(text) // 2]
        elif name in ("truncated_json", "plain_text"):
            line = _GARBAGE_TEXT[pick % len(_GARBAGE_TEXT)]
        elif name == "json_array":
            line = json.dumps([base], separators=(",", ":"))
        elif name == "json_number":
            line = str(pick % 1000)
        elif name == "track_without_user":
            del base["userId"]
            line = json.dumps(base, separators=(",", ":"))
        elif name == "track_without_event":
            del base["event"]
            line = json.dumps(base, separators=(",", ":"))
        elif name == "group_without_group_id":
            line = json.dumps(
                {
                    "type": MessageType.GROUP,
                    "messageId": mid,
                    "userId": user_id,
                    "traits": {"email": user},
                    "originalTimestamp": stamp,
                    "sentAt": stamp,
                    "receivedAt": stamp,
                },
                separators=(",", ":"),
            )
        elif name == "bogus_type":
            base["type"] = "bogus"
            line = json.dumps(base, separators=(",", ":"))
        else:
            base["originalTimestamp"] = base["timestamp"] = "not-a-date"
            line = json.dumps(base, separators=(",", ":"))
        lines.append(line.rstrip("\n") + "\n")
        tally[name] += 1
    return lines, recv.tolist(), tally


@dataclass
class Tally:
    """Running counts of what has been landed, reported by the summary and summary.json."""

    messages: int = 0
    track_events: int = 0
    duplicates: int = 0
    late: int = 0
    malformed: int = 0
    lines: int = 0
    files: int = 0
    by_type: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MESSAGE_TYPES, 0))
    malformed_by_kind: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_MALFORMED_KINDS, 0))


def _detached(frame: pl.DataFrame) -> pl.DataFrame:
    """Copy the lines out: a filtered frame's string views keep the whole day's text buffers alive."""
    line = pl.from_arrow(frame["line"].to_arrow())
    assert isinstance(line, pl.Series)
    return frame.with_columns(line.alias("line"))


def finish_day(
    world: World, d: int, frames: list[pl.DataFrame], pending: dict[int, list[pl.DataFrame]], tally: Tally
) -> pl.Series:
    """Route today's messages by received day, add duplicates and garbage; return the sorted lines of day d."""
    rng = np.random.default_rng([world.seed, 2, d])
    last = world.days - 1
    fresh = pl.concat(frames, how="vertical")
    later = fresh.filter((pl.col("rd") > d) & (pl.col("rd") <= last))
    for rd, part in later.partition_by("rd", as_dict=True, maintain_order=True).items():
        pending.setdefault(int(rd[0]), []).append(_detached(part))
    today = pl.concat([*pending.pop(d, []), fresh.filter(pl.col("rd") == d)], how="vertical")

    originals = today.filter(~pl.col("dup"))
    n_dup = int(rng.binomial(len(originals), world.faults.duplicate_share)) if len(originals) else 0
    chosen = np.sort(rng.choice(len(originals), size=n_dup, replace=False)) if n_dup else np.zeros(0, dtype=np.int64)
    to_next = (rng.random(n_dup) < 0.5) & (d < last)
    copies = originals.select(pl.all().gather(chosen)).with_columns(pl.lit(True).alias("dup"))
    if to_next.any():
        pending.setdefault(d + 1, []).append(_detached(copies.filter(pl.Series(to_next))))
    today = pl.concat([today, copies.filter(pl.Series(~to_next))], how="vertical")

    valid = len(today)
    n_bad = int(rng.binomial(valid, world.faults.malformed_share)) if valid else 0
    bad_lines, bad_recv, bad_tally = _malformed_lines(world, rng, d, today["line"], n_bad)
    bad = pl.DataFrame(
        {
            "rd": pl.Series([d] * n_bad, dtype=pl.Int32),
            "recv_ms": pl.Series(bad_recv, dtype=pl.Int64),
            "line": pl.Series(bad_lines, dtype=pl.String),
            "kind": pl.Series([MALFORMED] * n_bad, dtype=pl.UInt8),
            "late": pl.Series([False] * n_bad, dtype=pl.Boolean),
            "dup": pl.Series([False] * n_bad, dtype=pl.Boolean),
        }
    )
    today = pl.concat([today, bad], how="vertical").sort("recv_ms", maintain_order=True)

    counts = today.group_by("kind", "dup").agg(pl.len(), pl.col("late").sum()).rows()
    for kind, dup, count, late in counts:
        if kind == MALFORMED:
            continue
        tally.messages += count
        if dup:
            tally.duplicates += count
        else:
            tally.by_type[MESSAGE_TYPES[kind]] += count
            if kind == TRACK:
                tally.track_events += count
                tally.late += late
    tally.malformed += n_bad
    for name, count in bad_tally.items():
        tally.malformed_by_kind[name] += count
    tally.lines += len(today)
    return today["line"]
