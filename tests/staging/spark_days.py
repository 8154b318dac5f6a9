"""Landing for the engine tests: generated demo days, hand-made lines for each cross-line rule, and
the hostile corpus, so both engines meet every case that could make them differ.

Hand-made lines (messageIds `hm-*`), chosen for the places where Spark and polars/DuckDB differ
unless the order is spelled out:
- a messageId twice in one day, in two files with different payloads: the first file's copy wins;
- a messageId on day 2 and again on day 4 (a duplicate across days), and one on days 2 and 3 with
  day 3 staged first (the later copy becomes a duplicate when day 2 is staged);
- duplicate keys in one JSON object: the first wins (DuckDB's reader, used by both engines);
- an anonymous event on day 2 stitched by an identify on day 3 (the neighbour day is restated),
  and an alias on day 3;
- a user who moves from one account to another (membership as of event time), a user with two
  group calls at the same instant (the tie is broken by group id), and activity before the first
  group call (`membership_next`);
- a late event (timestamp two days before its received day).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from engagement_pipeline.demo.generator import generate_demo
from tests.conftest import day_range, group, identify, track, write_day
from tests.staging.hostile_corpus import DAY as HOSTILE_DAY
from tests.staging.hostile_corpus import build_corpus, write_case_files

START = dt.date(2026, 1, 1)
DEMO_DAYS = day_range(START, 4)  # 2026-01-01 .. 04; the hostile corpus lands on 2026-01-05
DAYS = [*DEMO_DAYS, HOSTILE_DAY]
# Day 3 before day 2, so day 2's staging turns day 3's copy of `hm-cross` into a duplicate.
STAGING_ORDER = [DAYS[0], DAYS[2], DAYS[1], DAYS[3], DAYS[4]]


def _at(day: dt.date, hour: int, minute: int = 0) -> str:
    return f"{day.isoformat()}T{hour:02d}:{minute:02d}:00Z"


def handmade(day_index: int) -> tuple[list[str | dict[str, Any]], list[str | dict[str, Any]]]:
    """The hand-made lines of demo day `day_index` (0-based) as (file aa-handmade, file zz-handmade)."""
    d = DEMO_DAYS[day_index]
    first: list[str | dict[str, Any]] = []
    last: list[str | dict[str, Any]] = []
    if day_index == 1:
        first.append(track("hm-twice", "hm_u1", "Copy In First File", _at(d, 9), "hm_A"))
        last += [
            track("hm-twice", "hm_u1", "Copy In Second File", _at(d, 9), "hm_A"),
            group("hm-g1", "hm_u1", "hm_A", _at(d, 9)),
            track("hm-t1", "hm_u1", "Document Created", _at(d, 10)),
            track("hm-anon1", None, "Document Created", _at(d, 11), anonymous="hm_anon1"),
            track("hm-dup1", "hm_u1", "Document Created", _at(d, 12), "hm_A"),
            track("hm-cross", "hm_u1", "Logged In", _at(d, 13), "hm_A"),
            json.dumps({"type": "track", "messageId": "hm-keys", "userId": "hm_u1", "event": "First"})[:-1]
            + f', "event": "Second", "timestamp": "{_at(d, 14)}"}}',
            group("hm-g2a", "hm_u2", "hm_C", _at(d, 8)),
            group("hm-g2b", "hm_u2", "hm_B", _at(d, 8)),
            track("hm-tie", "hm_u2", "Document Created", _at(d, 9)),
            track("hm-before", "hm_u3", "Document Created", _at(d, 7)),
            group("hm-g3", "hm_u3", "hm_D", _at(d, 8)),
        ]
    elif day_index == 2:
        late = DEMO_DAYS[0]
        last += [
            identify("hm-i1", "hm_u4", _at(d, 9), anonymous="hm_anon1", email="u4@hm.example.com"),
            group("hm-g4", "hm_u1", "hm_B", _at(d, 9)),
            track("hm-t2", "hm_u1", "Document Created", _at(d, 10)),
            track("hm-late", "hm_u1", "Teammate Invited", _at(late, 10)),
            track("hm-anon2", None, "Logged In", _at(d, 9), anonymous="hm_anon2"),
            {
                "type": "alias",
                "messageId": "hm-al",
                "previousId": "hm_anon2",
                "userId": "hm_u5",
                "timestamp": _at(d, 10),
            },
            track("hm-cross", "hm_u1", "Logged In", _at(DEMO_DAYS[1], 13), "hm_A"),
        ]
    elif day_index == 3:
        last.append(track("hm-dup1", "hm_u1", "Document Created", _at(DEMO_DAYS[1], 12), "hm_A"))
    return first, last


def land(landing: Path, billing: Path | None) -> None:
    """Generated demo days (with their duplicates, late events, stitching and garbage), the
    hand-made lines, and the hostile corpus on its own day."""
    generate_demo(landing, START, len(DEMO_DAYS), accounts=12, seed=11, billing_dir=billing)
    for i, day in enumerate(DEMO_DAYS):
        first, last = handmade(i)
        if first:
            write_day(landing, day, first, name="aa-handmade.jsonl")
        if last:
            write_day(landing, day, last, name="zz-handmade.jsonl")
    write_case_files(landing / HOSTILE_DAY.isoformat(), build_corpus())
