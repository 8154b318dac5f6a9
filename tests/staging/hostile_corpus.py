"""A generator of hostile and broken landing input, with what the pipeline must make of each line.

Nothing here is a pasted file: every case is built by code (seeded where random), so the
corpus is reproducible, reviewable and easy to extend. `build_corpus()` returns `Case`s; each
case is one or more files for ONE received day folder, and says for every line it lands what
must happen to it: quarantined with a given reason (or one of a few reasons, for random
garbage), or accepted with a given messageId (and, for the timestamp cases, the exact UTC
timestamp and event date). Every JSON case puts a good line before and after its hostile
lines, so "the good lines around them are staged" is checked everywhere.

Decisions taken for ambiguous input (asserted by tests/staging/test_hostile_input.py):

- Timestamps are UTC. A timestamp without a zone ("2026-01-05T10:00:00", "2026-01-05 10:00:00")
  is taken as UTC whatever the session time zone; a numeric offset (+05:45, -09:30, +14:00) is
  applied; RFC 3339's lowercase "t" / "z" are accepted; a space instead of "T" is accepted
  (RFC 3339 section 5.6 note); a date alone is midnight UTC; fractions finer than a microsecond
  are truncated. A value must start with a 4-digit-year date (YYYY-MM-DD): epoch numbers as
  strings ("1767607200", seconds or milliseconds - ambiguous), "epoch", "infinity", "now",
  RFC 2822 dates and basic-format ISO ("20260105T100000Z") are `bad_timestamp`; a JSON number
  is `wrong_field_type`. Impossible dates (2026-02-29, month 13, minute 61) are
  `bad_timestamp`; the leap day 2024-02-29 is a valid (late) date.
- Range: before 2000-01-01 UTC, more than a day after `receivedAt`, or on/after midnight two
  days after the received day (the folder) is `timestamp_out_of_range` - so a client cannot
  push an event into the future by also sending a future `receivedAt`.
- JSON leniency: DuckDB's reader (the one parser of the pipeline) tolerates a trailing comma and
  NaN / Infinity literals, as Python's json module does for the latter; such lines are accepted,
  and the stored objects are read back by the same parser, so nothing later chokes on them.
- Duplicate keys in one object: the FIRST occurrence wins (DuckDB's reader, used for every
  later read of the stored JSON too, so the choice is consistent inside the warehouse; note a
  replay tool using Python's json module would see the last one).
- A UTF-8 BOM is an encoding marker only at the start of a file; CRLF line ends are accepted; a
  line of only whitespace (spaces, tabs, CR) is `empty_line`; an empty file lands no lines.
- `type` is trimmed and lower-cased ("Track " is a track call); a `type` that is not a JSON
  string is `wrong_field_type`; ids may be JSON strings or integers of any size (kept as their
  exact digits); a float, boolean, object or array id is `wrong_field_type`.
- CSV: the header is the first non-blank record; column names are case-insensitive (a second
  "ID" after "id" is an extra column, not a crash); blank records are `empty_line`; a record with
  an unterminated quote is `bad_csv`; NUL bytes are `nul_byte` as in JSON files; payloads of
  rejected records are the record's original text (base64 of its bytes when not UTF-8).
- Parquet: timezone-aware timestamps are converted to UTC; binary columns are base64 text;
  column names are case-insensitive as in CSV.
- A `.gz` file of which nothing can be decompressed, and a `.parquet` file that is not Parquet,
  is one `unreadable_file` line; unsupported extensions are one `unsupported_file_type` line;
  hidden files, `_SUCCESS` and sub-folders are not landed.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import io
import json
import random
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

DAY = dt.date(2026, 1, 5)
TS = "2026-01-05T10:00:00Z"
GARBAGE_REASONS = frozenset({"invalid_utf8", "nul_byte", "not_json", "not_an_object", "empty_line"})
CSV_READER_REASONS = frozenset({"csv_wrong_field_count", "bad_csv", "invalid_utf8", "nul_byte", "empty_line"})
DIRECTORY = b"<directory>"  # a `files` value that means: create a folder of that name
SYMLINK = b"<symlink>"  # a `files` value that means: a symlink to a data file outside the day folder


@dataclass(frozen=True)
class Accept:
    """The line must be staged with this messageId (and these values, when given)."""

    message_id: str
    timestamp: dt.datetime | None = None  # naive UTC
    event_date: dt.date | None = None
    user_id: str | None = None
    type: str | None = None


Expect = str | frozenset | Accept


@dataclass
class Case:
    name: str
    files: dict[str, bytes] = field(default_factory=dict)  # on-disk name -> content (or DIRECTORY)
    lines: dict[tuple[str, int], Expect] = field(default_factory=dict)  # (source name, line number) -> outcome
    raw: dict[tuple[str, int], bytes] = field(default_factory=dict)  # original bytes of quarantined lines
    exact: bool = True  # the case's files land exactly the lines in `lines`, no others
    note: str = ""

    def source_names(self) -> set[str]:
        return {name for name, _ in self.lines}


def good(mid: str, ts: str = TS, **extra: object) -> dict[str, object]:
    msg: dict[str, object] = {
        "type": "track",
        "messageId": mid,
        "userId": "u-good",
        "event": "Logged In",
        "timestamp": ts,
        "context": {"groupId": "acc-good"},
    }
    msg.update(extra)
    return msg


def _dump(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


class _Builder:
    def __init__(self) -> None:
        self.cases: list[Case] = []

    def _file(self, stem: str, suffix: str = ".jsonl") -> str:
        return f"{len(self.cases):03d}-{stem}{suffix}"

    def json_lines(
        self,
        name: str,
        hostile: list[tuple[bytes | str | dict | list, Expect]],
        *,
        gz: bool = False,
        eol: bytes = b"\n",
        note: str = "",
    ) -> Case:
        """One file: a good line, the hostile lines, a good line."""
        fname = self._file(name, ".jsonl.gz" if gz else ".jsonl")
        case = Case(name, note=note)
        rows: list[tuple[bytes, Expect]] = [(_dump(good(f"{name}-before")), Accept(f"{name}-before"))]
        for line, expect in hostile:
            data = line if isinstance(line, bytes) else (line.encode() if isinstance(line, str) else _dump(line))
            rows.append((data, expect))
        rows.append((_dump(good(f"{name}-after")), Accept(f"{name}-after")))
        for number, (data, expect) in enumerate(rows, start=1):
            case.lines[(fname, number)] = expect
            case.raw[(fname, number)] = data
        body = eol.join(data for data, _ in rows) + eol
        case.files[fname] = gzip.compress(body, mtime=0) if gz else body
        self.cases.append(case)
        return case

    def single(self, name: str, line: bytes | str | dict | list, expect: Expect, note: str = "") -> Case:
        return self.json_lines(name, [(line, expect)], note=note)

    def raw_file(
        self,
        name: str,
        fname: str,
        data: bytes,
        lines: dict[int, Expect],
        *,
        exact: bool = True,
        raw: dict[int, bytes] | None = None,
        source: str | None = None,
        note: str = "",
    ) -> Case:
        if not fname.startswith((".", "_")):
            fname = self._file(name, "-") + fname
        src = source if source is not None else fname
        case = Case(
            name,
            {fname: data},
            {(src, n): e for n, e in lines.items()},
            exact=exact,
            note=note,
            raw={(src, n): b for n, b in (raw or {}).items()},
        )
        self.cases.append(case)
        return case


# --------------------------------------------------------------------------------------
# JSON lines
# --------------------------------------------------------------------------------------


def _structure(b: _Builder) -> None:
    b.single("not-json-text", "this is not json", "not_json")
    b.single("not-json-open-brace", "{", "not_json")
    b.single(
        "trailing-comma-is-tolerated",
        '{"type":"track","messageId":"trailing-comma","userId":"u","event":"E","timestamp":"%s",}' % TS,
        Accept("trailing-comma"),
        note="DuckDB's reader tolerates a trailing comma; the meaning is unambiguous, so the line is accepted",
    )
    b.single(
        "nan-in-properties-is-tolerated",
        '{"type":"track","messageId":"nan-props","userId":"u","event":"E",'
        '"timestamp":"%s","properties":{"x":NaN,"y":-Infinity}}' % TS,
        Accept("nan-props"),
    )
    b.single("not-json-single-quotes", "{'type':'track'}", "not_json")
    b.single("not-json-two-objects", _dump(good("two-a")) + b" " + _dump(good("two-b")), "not_json")
    b.single("not-json-lone-surrogate-escape", '{"type":"track","userId":"\\ud800","event":"E"}', "not_json")
    b.single(
        "not-json-bom-inside-file",
        "\ufeff" + json.dumps(good("bom-inside")),
        "not_json",
        note="a BOM is an encoding marker only at the very start of a file",
    )
    b.single("not-json-nan", "NaN", frozenset({"not_json", "not_an_object"}))
    b.single("array", [good("in-array")], "not_an_object")
    b.single("array-of-numbers", "[1, 2, 3]", "not_an_object")
    b.single("number", "42", "not_an_object")
    b.single("huge-number", "-1.5e308", "not_an_object")
    b.single("string", '"a string"', "not_an_object")
    b.single("bool", "true", "not_an_object")
    b.single("null", "null", "not_an_object")
    b.single("empty", "", "empty_line")
    b.single("spaces", "    ", "empty_line")
    b.single("tab", "\t", "empty_line")
    b.single("spaces-tabs-cr", " \t\r \t", "empty_line")


def _encoding(b: _Builder) -> None:
    b.single(
        "invalid-utf8",
        b'{"type":"track","userId":"u\xff","event":"E","timestamp":"' + TS.encode() + b'"}',
        "invalid_utf8",
    )
    b.single("overlong-utf8", b'{"type":"track","userId":"\xc0\xaf"}', "invalid_utf8")
    b.single("cesu-surrogate", b'{"userId":"\xed\xa0\x80"}', "invalid_utf8")
    b.single("cut-multibyte", b'{"event":"\xe2\x82', "invalid_utf8")
    b.single("nul-byte", b'{"type":"track","userId":"u\x00","event":"E"}', "nul_byte")
    b.single("nul-only", b"\x00", "nul_byte")
    b.single(
        "nul-escape-in-id",
        good("nul-escape", userId="a\u0000b"),
        Accept("nul-escape", user_id="a\u0000b"),
        note="an escaped \\u0000 is valid JSON: the id keeps the character",
    )
    b.single(
        "unicode-ids", good("unicode-ünïcødé-😀", userId="ユーザー"), Accept("unicode-ünïcødé-😀", user_id="ユーザー")
    )
    b.single("control-chars-in-event", good("ctrl", event="Logged\u0007In\u001b[31m"), Accept("ctrl"))
    b.json_lines("crlf", [(good("crlf-mid"), Accept("crlf-mid"))], eol=b"\r\n")
    b.json_lines(
        "cr-inside-object",
        [
            (
                b'{"type":"track",\r"messageId":"cr-mid","userId":"u","event":"E","timestamp":"' + TS.encode() + b'"}',
                Accept("cr-mid"),
            )
        ],
    )
    bom = b.json_lines("bom-file", [(good("bom-mid"), Accept("bom-mid"))])
    fname = next(iter(bom.files))
    bom.files[fname] = b"\xef\xbb\xbf" + bom.files[fname]
    bom_gz = b.json_lines("bom-gzip", [(good("bom-gz-mid"), Accept("bom-gz-mid"))], gz=True)
    fname = next(iter(bom_gz.files))
    bom_gz.files[fname] = gzip.compress(b"\xef\xbb\xbf" + gzip.decompress(bom_gz.files[fname]), mtime=0)
    utf16 = ("\n".join(json.dumps(good(f"utf16-{i}")) for i in range(3)) + "\n").encode("utf-16")
    pieces = len(utf16.split(b"\n")) - (1 if utf16.endswith(b"\n") else 0)  # "\n\x00": a NUL starts each next line
    b.raw_file(
        "utf16-file",
        "utf16.jsonl",
        utf16,
        {n: frozenset({"invalid_utf8", "nul_byte"}) for n in range(1, pieces + 1)},
        note="UTF-16 is not supported: every line is quarantined, none lost",
    )


def _size(b: _Builder) -> None:
    deep_arrays = (
        '{"type":"track","messageId":"deep-arrays","userId":"u","event":"E","timestamp":"%s","properties":{"x":%s}}'
        % (TS, "[" * 10_000 + "]" * 10_000)
    )
    b.single("nested-10k-arrays", deep_arrays, Accept("deep-arrays"))
    deep_objects = (
        '{"type":"identify","messageId":"deep-objects","userId":"u-deep","timestamp":"%s","traits":{"x":%s}}'
        % (TS, '{"a":' * 10_000 + "1" + "}" * 10_000)
    )
    b.single("nested-10k-objects-in-traits", deep_objects, Accept("deep-objects", type="identify"))
    b.single("nested-10k-not-an-object", "[" * 10_000 + "]" * 10_000, "not_an_object")
    b.single("nested-unbalanced", "[" * 10_000, "not_json")
    b.single("huge-properties", good("huge-props", properties={"blob": "x" * 1_000_000}), Accept("huge-props"))
    b.single(
        "many-properties", good("many-props", properties={f"k{i}": i for i in range(20_000)}), Accept("many-props")
    )
    b.single("1mb-garbage-line", "g" * (1 << 20), "not_json")
    b.single(
        "line-over-the-cap",
        "g" * (3 << 20),
        "line_too_long",
        note="over raw.max_line_bytes (1 MiB): skipped to its end, its first KiB kept",
    )
    long_id = "i" * 10_000
    b.single("long-user-id", good("long-uid", userId=long_id), "id_too_long")
    b.single("long-message-id", good(long_id), "id_too_long")
    b.single("long-anonymous-id", {"type": "page", "anonymousId": long_id, "timestamp": TS}, "id_too_long")
    b.single("long-context-group", good("long-ctx", context={"groupId": long_id}), "id_too_long")
    b.single(
        "long-group-id",
        {"type": "group", "messageId": "long-gid", "userId": "u", "groupId": long_id, "timestamp": TS},
        "id_too_long",
    )
    b.single(
        "long-previous-id",
        {"type": "alias", "messageId": "long-prev", "userId": "u", "previousId": long_id, "timestamp": TS},
        "id_too_long",
    )
    b.single(
        "long-event-name",
        good("long-event", event="E" * 10_000),
        Accept("long-event"),
        note="an event name is not an id: kept",
    )


def _types(b: _Builder) -> None:
    wrong = {
        "user-id-object": {"userId": {"id": "u"}},
        "user-id-array": {"userId": ["u"]},
        "user-id-bool": {"userId": True},
        "user-id-float": {"userId": 1.5},
        "message-id-object": {"messageId": {"a": 1}},
        "message-id-float": {"messageId": 3.25},
        "anonymous-id-bool": {"anonymousId": False},
        "event-number": {"event": 7},
        "event-object": {"event": {"name": "E"}},
        "event-bool": {"event": True},
        "name-number": {"name": 12},
        "timestamp-number": {"timestamp": 1767607200},
        "timestamp-object": {"timestamp": {"iso": TS}},
        "timestamp-bool": {"timestamp": True},
        "timestamp-array": {"timestamp": [TS]},
        "sent-at-number": {"sentAt": 1767607200000},
        "original-timestamp-array": {"originalTimestamp": [TS]},
        "received-at-bool": {"receivedAt": False},
        "traits-string": {"traits": "email=a@b.c"},
        "traits-array": {"traits": [1]},
        "properties-array": {"properties": []},
        "properties-string": {"properties": "x"},
        "context-array": {"context": ["acc"]},
        "context-string": {"context": "acc"},
        "context-group-object": {"context": {"groupId": {"id": "acc"}}},
        "type-number": {"type": 1},
        "type-array": {"type": ["track"]},
        "type-object": {"type": {"t": "track"}},
        "type-bool": {"type": True},
    }
    for name, fields in wrong.items():
        b.single(name, good(f"wrong-{name}", **fields), "wrong_field_type")
    b.single(
        "group-id-array",
        {"type": "group", "messageId": "gid-arr", "userId": "u", "groupId": ["a"], "timestamp": TS},
        "wrong_field_type",
    )
    b.single(
        "previous-id-object",
        {"type": "alias", "messageId": "prev-obj", "userId": "u", "previousId": {}, "timestamp": TS},
        "wrong_field_type",
    )
    # Accepted variants of types: integer ids, nulls as absent, type case and spaces.
    b.single("user-id-int", good("uid-int", userId=12345), Accept("uid-int", user_id="12345"))
    b.single("user-id-negative", good("uid-neg", userId=-5), Accept("uid-neg", user_id="-5"))
    b.single("user-id-uint64", good("uid-u64", userId=2**64 - 1), Accept("uid-u64", user_id=str(2**64 - 1)))
    b.single(
        "user-id-huge-int",
        good("uid-huge", userId=2**70),
        Accept("uid-huge", user_id=str(2**70)),
        note="an integer id of any size keeps its exact digits (never a rounded float)",
    )
    b.single("message-id-int", good(987654321), Accept("987654321"))
    b.single("type-case-and-spaces", good("type-case", type=" Track "), Accept("type-case", type="track"))
    b.single("null-traits", good("null-traits", traits=None), Accept("null-traits"))
    b.single("null-context", good("null-context", context=None), Accept("null-context"))
    # Missing things.
    b.single("missing-type", {"messageId": "no-type", "userId": "u", "event": "E", "timestamp": TS}, "missing_type")
    b.single("empty-type", good("empty-type", type="  "), "missing_type")
    b.single("unknown-type", good("bogus-type", type="bogus"), "unknown_type")
    b.single(
        "missing-identity", {"type": "track", "messageId": "no-id", "event": "E", "timestamp": TS}, "missing_identity"
    )
    b.single("blank-identity", good("blank-id", userId="   "), "missing_identity")
    b.single("missing-event", {"type": "track", "messageId": "no-ev", "userId": "u", "timestamp": TS}, "missing_event")
    b.single(
        "missing-group-id", {"type": "group", "messageId": "no-gid", "userId": "u", "timestamp": TS}, "missing_group_id"
    )
    b.single(
        "missing-previous-id",
        {"type": "alias", "messageId": "no-prev", "userId": "u", "timestamp": TS},
        "missing_previous_id",
    )
    b.single(
        "missing-timestamp", {"type": "track", "messageId": "no-ts", "userId": "u", "event": "E"}, "missing_timestamp"
    )
    b.single("null-timestamp", good("null-ts", timestamp=None), "missing_timestamp")
    # Duplicate keys: the first occurrence wins (DuckDB's reader; see the module docstring).
    b.single(
        "duplicate-keys",
        '{"type":"track","messageId":"dup-keys","userId":"dup-first","userId":"dup-second",'
        '"event":"E","timestamp":"%s"}' % TS,
        Accept("dup-keys", user_id="dup-first"),
    )
    b.single(
        "duplicate-type-key",
        '{"type":"bogus","type":"track","messageId":"dup-type","userId":"u","event":"E","timestamp":"%s"}' % TS,
        "unknown_type",
    )


def _timestamps(b: _Builder) -> None:
    def at(mid: str, text: str, ts: dt.datetime, **extra: object) -> tuple[dict, Accept]:
        return good(mid, ts=text, **extra), Accept(mid, timestamp=ts, event_date=ts.date())

    d = dt.datetime
    accepted = [
        at("ts-offset-0545", "2026-01-05T10:00:00+05:45", d(2026, 1, 5, 4, 15)),
        at("ts-offset-0545-compact", "2026-01-05T10:00:00+0545", d(2026, 1, 5, 4, 15)),
        at("ts-offset-minus-0930", "2026-01-05T10:00:00-09:30", d(2026, 1, 5, 19, 30)),
        at("ts-offset-plus-14", "2026-01-05T00:30:00+14:00", d(2026, 1, 4, 10, 30)),
        at("ts-offset-crosses-midnight", "2026-01-05T23:30:00-05:00", d(2026, 1, 6, 4, 30)),
        at("ts-space-no-zone", "2026-01-05 10:00:00", d(2026, 1, 5, 10)),
        at("ts-no-zone", "2026-01-05T10:00:00", d(2026, 1, 5, 10)),
        at("ts-lowercase-z", "2026-01-05T10:00:00z", d(2026, 1, 5, 10)),
        at("ts-lowercase-t-z", "2026-01-05t10:00:00z", d(2026, 1, 5, 10)),
        at("ts-fraction-us", "2026-01-05T10:00:00.123456Z", d(2026, 1, 5, 10, 0, 0, 123456)),
        at("ts-fraction-ns", "2026-01-05T10:00:00.123456789Z", d(2026, 1, 5, 10, 0, 0, 123456)),
        at("ts-date-only", "2026-01-05", d(2026, 1, 5)),
        at("ts-minus-zero", "2026-01-05T10:00:00-00:00", d(2026, 1, 5, 10)),
        at("ts-leap-day-2024", "2024-02-29T12:00:00Z", d(2024, 2, 29, 12)),
        at("ts-year-2000", "2000-01-01T00:00:00Z", d(2000, 1, 1)),
        at("ts-next-day-end", "2026-01-06T23:59:59Z", d(2026, 1, 6, 23, 59, 59)),
        at("ts-received-at-only", "x", d(2026, 1, 5, 9), timestamp=None, receivedAt="2026-01-05T09:00:00Z"),
        # Clock skew with odd formats: originalTimestamp without zone, sentAt with an offset.
        at(
            "ts-skew-mixed",
            "x",
            d(2026, 1, 5, 11),
            timestamp=None,
            originalTimestamp="2026-01-05 08:00:00",
            sentAt="2026-01-05T09:00:10+01:00",
            receivedAt="2026-01-05T11:00:10Z",
        ),
    ]
    for line, accept in accepted:
        if line.get("timestamp") is None:
            line.pop("timestamp", None)
        b.single(accept.message_id, line, accept)
    bad = {
        "ts-invalid-2026-02-29": "2026-02-29T12:00:00Z",
        "ts-month-13": "2026-13-01T00:00:00Z",
        "ts-hour-25": "2026-01-05T25:00:00Z",
        "ts-minute-61": "2026-01-05T10:61:00Z",
        "ts-epoch-seconds-string": "1767607200",
        "ts-epoch-ms-string": "1767607200000",
        "ts-word-epoch": "epoch",
        "ts-word-infinity": "infinity",
        "ts-word-minus-infinity": "-infinity",
        "ts-word-now": "now",
        "ts-rfc2822": "Mon, 05 Jan 2026 10:00:00 GMT",
        "ts-basic-iso": "20260105T100000Z",
        "ts-six-digit-year": "294277-01-01T00:00:00Z",
        "ts-bc": "-2026-01-05",
        "ts-empty-string": "",
        "ts-garbage": "yesterday-ish",
    }
    for mid, text in bad.items():
        b.single(mid, good(mid, ts=text), "bad_timestamp")
    b.single("ts-bad-sent-at", good("ts-bad-sent", sentAt="soon"), "bad_timestamp")
    out_of_range = {
        "ts-1970": good("ts-1970", ts="1970-01-01T00:00:00Z"),
        "ts-1999": good("ts-1999", ts="1999-12-31T23:59:59Z"),
        "ts-just-before-2000-by-offset": good("ts-2000-offset", ts="2000-01-01T00:00:00+05:45"),
        "ts-2999": good("ts-2999", ts="2999-01-01T00:00:00Z"),
        "ts-2999-with-received-2999": good("ts-2999-r", ts="2999-01-01T00:00:00Z", receivedAt="2999-01-01T00:00:00Z"),
        "ts-two-days-after-folder": good("ts-day-plus-2", ts="2026-01-07T00:00:00Z"),
        "ts-over-a-day-after-received-at": good(
            "ts-after-recv", ts="2026-01-06T10:00:01Z", receivedAt="2026-01-05T10:00:00Z"
        ),
        "ts-received-at-1970": good("ts-recv-1970", receivedAt="1970-01-01T00:00:00Z"),
    }
    for name, line in out_of_range.items():
        b.single(name, line, "timestamp_out_of_range")


# --------------------------------------------------------------------------------------
# Whole files: gzip, garbage, empty, names, extensions
# --------------------------------------------------------------------------------------


def _good_block(prefix: str, n: int) -> list[bytes]:
    return [_dump(good(f"{prefix}-{i:04d}")) for i in range(n)]


def _files(b: _Builder, rng: random.Random) -> None:
    # Truncated gzip: the decompressible prefix's complete lines are staged, the cut line is
    # `truncated_file`. The oracle decompresses the same bytes independently of the pipeline.
    lines = _good_block("trunc", 400)
    blob = gzip.compress(b"\n".join(lines) + b"\n", mtime=0)
    cut = blob[: len(blob) * 2 // 3]
    prefix = zlib.decompressobj(wbits=31).decompress(cut)
    complete = prefix.count(b"\n")
    expect: dict[int, Expect] = {i + 1: Accept(f"trunc-{i:04d}") for i in range(complete)}
    expect[complete + 1] = "truncated_file"
    b.raw_file("truncated-gzip", "events.jsonl.gz", cut, expect)

    # Multi-member gzip: all members are read.
    member = [_dump(good(f"multi-{i}")) for i in range(4)]
    data = gzip.compress(b"\n".join(member[:2]) + b"\n", mtime=0) + gzip.compress(
        b"\n".join(member[2:]) + b"\n", mtime=0
    )
    b.raw_file("multi-member-gzip", "events.jsonl.gz", data, {i + 1: Accept(f"multi-{i}") for i in range(4)})

    # Gzip with trailing garbage: the complete member is read, the garbage is one truncated line.
    tail = [_dump(good(f"tailgarbage-{i}")) for i in range(3)]
    data = gzip.compress(b"\n".join(tail) + b"\n", mtime=0) + b"GARBAGE-NOT-GZIP" * 4
    b.raw_file(
        "gzip-trailing-garbage",
        "events.jsonl.gz",
        data,
        {1: Accept("tailgarbage-0"), 2: Accept("tailgarbage-1"), 3: Accept("tailgarbage-2"), 4: "truncated_file"},
    )

    # Not gzip at all, or a gzip header only: nothing decompresses -> one unreadable_file line.
    b.raw_file("gz-that-is-plain-text", "events.jsonl.gz", _dump(good("plain-in-gz")) + b"\n", {1: "unreadable_file"})
    b.raw_file("gz-header-only", "events.jsonl.gz", gzip.compress(b"x" * 100, mtime=0)[:6], {1: "unreadable_file"})
    b.raw_file("gz-random-bytes", "events.jsonl.gz", rng.randbytes(2048), {1: "unreadable_file"})

    # Binary garbage between good lines: every garbage line is quarantined, the good ones staged.
    garbage = rng.randbytes(8192)
    chunks = garbage.split(b"\n")
    body = [_dump(good("garbage-before"))] + chunks + [_dump(good("garbage-after"))]
    data = b"\n".join(body) + b"\n"
    expect = {1: Accept("garbage-before"), len(body): Accept("garbage-after")}
    expect.update({i: GARBAGE_REASONS for i in range(2, len(body))})
    b.raw_file("binary-garbage", "garbage.jsonl", data, expect)

    # Empty things land no lines; a lone newline is one empty line.
    b.raw_file("empty-jsonl", "empty.jsonl", b"", {})
    b.raw_file("empty-gz", "empty.jsonl.gz", b"", {})
    b.raw_file("gzip-of-nothing", "nothing.jsonl.gz", gzip.compress(b"", mtime=0), {})
    b.raw_file("bom-only", "bom-only.jsonl", b"\xef\xbb\xbf", {})
    b.raw_file("lone-newline", "newline.jsonl", b"\n", {1: "empty_line"})
    b.raw_file("no-final-newline", "nofinal.jsonl", _dump(good("nofinal")), {1: Accept("nofinal")})

    # Names and extensions.
    for ext in ("txt", "jsonl.bz2", "parquet.gz", "xml", "JSONL.zip"):
        b.raw_file(
            f"unsupported-{ext}", f"data.{ext}", _dump(good(f"unsupported-{ext}")) + b"\n", {1: "unsupported_file_type"}
        )
    b.raw_file("unsupported-no-extension", "noext", b"whatever\n", {1: "unsupported_file_type"})
    b.raw_file("uppercase-extension", "EVENTS.JSONL", _dump(good("upper-ext")) + b"\n", {1: Accept("upper-ext")})
    b.raw_file("ndjson", "events.ndjson", _dump(good("ndjson")) + b"\n", {1: Accept("ndjson")})
    b.raw_file("json-extension", "events.json", _dump(good("json-ext")) + b"\n", {1: Accept("json-ext")})
    b.raw_file("hidden-file", ".hidden.jsonl", _dump(good("hidden")) + b"\n", {})
    b.raw_file("success-marker", "_SUCCESS", b"", {})
    b.raw_file(
        "directory-named-like-data",
        "subdir.jsonl",
        DIRECTORY,
        {},
        note="sub-folders are not recursed into (and `..` cannot be a file name)",
    )
    b.raw_file(
        "symlink-out-of-the-landing-root",
        "linked.jsonl",
        SYMLINK,
        {1: "not_a_regular_file"},
        note="a symlink is never followed (it could point at /etc/passwd): one line, nothing read behind it",
    )
    b.raw_file(
        "gzip-bomb",
        "bomb.jsonl.gz",
        gzip.compress(b"\n" * (4 << 20), 9, mtime=0),
        {1: "file_too_large"},
        note="4 MB of newlines in 4 KB: refused whole by raw.max_compression_ratio, never inflated",
    )
    # A file name that is not UTF-8 lands under a printable name (its bad bytes as \xNN).
    stem = f"{len(b.cases):03d}-name-"
    b.cases.append(
        Case(
            "non-utf8-file-name",
            {stem + "\udcff\udcfe.jsonl": _dump(good("bad-name")) + b"\n"},
            {(stem + "\\xff\\xfe.jsonl", 1): Accept("bad-name")},
        )
    )
    b.raw_file("newline-in-file-name", "new\nline.jsonl", _dump(good("nl-name")) + b"\n", {1: Accept("nl-name")})


# --------------------------------------------------------------------------------------
# CSV and Parquet
# --------------------------------------------------------------------------------------


def _csv(b: _Builder) -> None:
    header = "id,type,user_id,event,timestamp,context_group_id"

    def row(mid: str, *, user: str = "u-csv", ts: str = TS) -> str:
        return f"{mid},track,{user},Logged In,{ts},acc-csv"

    def csv_case(
        name: str,
        rows: list[tuple[str | bytes, Expect]],
        head: str = header,
        *,
        eol: str = "\n",
        fname: str = "tracks.csv",
        gz: bool = False,
    ) -> Case:
        body = [head.encode()] + [r if isinstance(r, bytes) else r.encode() for r, _ in rows]
        data = eol.encode().join(body) + eol.encode()
        expect = {i + 2: e for i, (_, e) in enumerate(rows)}
        # Records rejected by the CSV reader keep their original text; the others are converted to
        # Segment JSON first (that JSON is what the parser judged and what the payload holds).
        raw = {
            i + 2: (r if isinstance(r, bytes) else r.encode())
            for i, (r, e) in enumerate(rows)
            if isinstance(e, str) and e in CSV_READER_REASONS
        }
        return b.raw_file(
            name, fname + (".gz" if gz else ""), gzip.compress(data, mtime=0) if gz else data, expect, raw=raw
        )

    csv_case(
        "csv-good-and-ragged",
        [
            (row("csv-1"), Accept("csv-1")),
            (row("csv-too-many") + ",extra,fields", "csv_wrong_field_count"),
            ("csv-too-few,track", "csv_wrong_field_count"),
            (row("csv-2"), Accept("csv-2")),
        ],
    )
    csv_case(
        "csv-blank-lines",
        [
            (row("csv-blank-1"), Accept("csv-blank-1")),
            ("", "empty_line"),
            (row("csv-blank-2"), Accept("csv-blank-2")),
            ("", "empty_line"),
        ],
    )
    csv_case(
        "csv-crlf", [(row("csv-crlf-1"), Accept("csv-crlf-1")), (row("csv-crlf-2"), Accept("csv-crlf-2"))], eol="\r\n"
    )
    bom = csv_case("csv-bom", [(row("csv-bom-1"), Accept("csv-bom-1"))])
    (fname,) = bom.files
    bom.files[fname] = b"\xef\xbb\xbf" + bom.files[fname]
    csv_case(
        "csv-no-id-column",
        [
            ("track,u-noid,Logged In,2026-01-05T10:00:00Z", Accept("md5:*")),
            ("track,u-noid,Logged In,2026-01-05T10:00:01Z", Accept("md5:*")),
        ],
        head="type,user_id,event,timestamp",
    )
    csv_case(
        "csv-no-user-id",
        [
            ("csv-nouser-1,track,Logged In,2026-01-05T10:00:00Z", "missing_identity"),
        ],
        head="id,type,event,timestamp",
    )
    csv_case(
        "csv-anonymous-only",
        [
            ("csv-anon-1,page,a-1,2026-01-05T10:00:00Z", Accept("csv-anon-1", type="page")),
        ],
        head="id,type,anonymous_id,timestamp",
    )
    csv_case(
        "csv-extra-columns",
        [
            (row("csv-extra-1") + ",42,hello,=cmd()", Accept("csv-extra-1")),
        ],
        head=header + ",seats,whatever,formula",
    )
    csv_case(
        "csv-column-case-clash",
        [
            ("csv-case-1,CSV-CASE-2,track,u-csv,Logged In," + TS, Accept("csv-case-1")),
        ],
        head="id,ID,type,user_id,event,timestamp",
    )
    csv_case(
        "csv-id-and-message-id",
        [
            ("csv-both-1,csv-both-2,track,u-csv,Logged In," + TS, Accept("csv-both-1")),
        ],
        head="id,message_id,type,user_id,event,timestamp",
    )
    csv_case(
        "csv-context-name-clash",
        [
            ("csv-ctx-1,track,u-csv,Logged In," + TS + ",acc-csv,acc-b", Accept("csv-ctx-1")),
        ],
        head="id,type,user_id,event,timestamp,context_group_id,context_group__id",
    )
    csv_case(
        "csv-internal-name-column",
        [
            ("csv-under-1,track,u-csv,Logged In," + TS + ",zzz", Accept("csv-under-1")),
        ],
        head="id,type,user_id,event,timestamp,_type",
    )
    csv_case(
        "csv-header-invalid-utf8",
        [
            (row("csv-badhead-1") + ",x", Accept("csv-badhead-1")),
        ],
        head=header + ",colX",
    )
    case = b.cases[-1]  # the header gets a raw 0xFF byte in a column name
    (fname,) = case.files
    case.files[fname] = case.files[fname].replace(b"colX", b"col\xff")
    csv_case(
        "csv-row-invalid-utf8",
        [
            (row("csv-u8-1"), Accept("csv-u8-1")),
            (row("csv-u8-bad").encode().replace(b"Logged", b"Log\xffged"), "invalid_utf8"),
            (row("csv-u8-2"), Accept("csv-u8-2")),
        ],
    )
    csv_case(
        "csv-nul-byte",
        [
            (row("csv-nul-1"), Accept("csv-nul-1")),
            (row("csv-nul-bad").encode().replace(b"Logged", b"Lo\x00gged"), "nul_byte"),
        ],
    )
    csv_case("csv-huge-field", [(row("csv-huge-1") + "," + "x" * 300_000, Accept("csv-huge-1"))], head=header + ",blob")
    # A quoted field with a line break: the record's line number is its last physical line.
    data = (
        header + "\n" + 'csv-qnl-1,track,u-csv,"Logged\nIn",' + TS + ",acc-csv\n" + row("csv-qnl-2") + "\n"
    ).encode()
    b.raw_file("csv-quoted-newline", "tracks.csv", data, {3: Accept("csv-qnl-1"), 4: Accept("csv-qnl-2")})
    csv_case(
        "csv-odd-timestamps",
        [
            (
                row("csv-ts-space", ts="2026-01-05 10:00:00"),
                Accept("csv-ts-space", timestamp=dt.datetime(2026, 1, 5, 10)),
            ),
            (
                row("csv-ts-offset", ts="2026-01-05T10:00:00+05:45"),
                Accept("csv-ts-offset", timestamp=dt.datetime(2026, 1, 5, 4, 15)),
            ),
            (row("csv-ts-epoch", ts="1767607200"), "bad_timestamp"),
            (row("csv-ts-2999", ts="2999-01-01T00:00:00Z"), "timestamp_out_of_range"),
        ],
    )
    csv_case("csv-wrong-types-are-text", [(row("csv-types-1", user="12345"), Accept("csv-types-1", user_id="12345"))])
    # A record with an unterminated quote swallows the rest of the file: it is bad_csv, the
    # record before it is staged. (Line number: the record's last physical line.)
    data = (
        header
        + "\n"
        + row("csv-unterminated-before")
        + "\n"
        + 'csv-open,track,u-csv,"Logged In\n'
        + row("csv-swallowed")
        + "\n"
    ).encode()
    b.raw_file(
        "csv-unterminated-quote",
        "tracks.csv",
        data,
        {2: Accept("csv-unterminated-before"), 4: "bad_csv"},
        raw={4: ('csv-open,track,u-csv,"Logged In\n' + row("csv-swallowed")).encode()},
    )
    data = (
        header
        + "\n"
        + row("csv-strayquote-1")
        + "\n"
        + 'csv-q,"tr"ack,u,E,'
        + TS
        + ",acc\n"
        + row("csv-strayquote-2")
        + "\n"
    ).encode()
    b.raw_file(
        "csv-stray-quote",
        "tracks.csv",
        data,
        {2: Accept("csv-strayquote-1"), 3: "bad_csv", 4: Accept("csv-strayquote-2")},
    )
    b.raw_file("csv-empty", "tracks.csv", b"", {})
    b.raw_file("csv-header-only", "tracks.csv", (header + "\n").encode(), {})
    b.raw_file("csv-blank-only", "tracks.csv", b"\n\n", {1: "empty_line", 2: "empty_line"})
    b.raw_file(
        "csv-leading-blank-line",
        "tracks.csv",
        ("\n" + header + "\n" + row("csv-lead-1") + "\n").encode(),
        {1: "empty_line", 3: Accept("csv-lead-1")},
    )
    # Truncated gzipped CSV: the record cut by the broken stream is truncated_file.
    rows = [row(f"csv-trunc-{i:04d}") for i in range(300)]
    blob = gzip.compress((header + "\n" + "\n".join(rows) + "\n").encode(), mtime=0)
    cut = blob[: len(blob) // 2]
    prefix = zlib.decompressobj(wbits=31).decompress(cut)
    complete = prefix.count(b"\n") - 1  # minus the header
    partial = not prefix.endswith(b"\n")
    expect = {i + 2: Accept(f"csv-trunc-{i:04d}") for i in range(complete)}
    if partial:
        expect[complete + 2] = "truncated_file"
    b.raw_file("csv-truncated-gzip", "tracks.csv.gz", cut, expect, exact=partial)
    # Random bytes as CSV: nothing crashes; every line is quarantined for one reason or another.
    rng = random.Random(7)
    data = bytes(rng.choice(b'abc,,,"\n\r\xff\x00 ') for _ in range(4000))
    b.raw_file("csv-random-bytes", "tracks.csv", data, {}, exact=False)


def _parquet_bytes(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()


def _parquet(b: _Builder) -> None:
    t = dt.datetime(2026, 1, 5, 10)
    base = {
        "id": ["pq-1", "pq-2"],
        "type": ["track", "track"],
        "user_id": ["u-pq", "u-pq"],
        "event": ["Logged In", "Logged In"],
        "timestamp": [t, t],
    }
    b.raw_file(
        "parquet-good", "events.parquet", _parquet_bytes(pl.DataFrame(base)), {1: Accept("pq-1"), 2: Accept("pq-2")}
    )
    no_id = {k: v for k, v in base.items() if k != "id"}
    no_id["event"] = ["Logged In", "Dashboard Viewed"]
    b.raw_file(
        "parquet-no-id", "events.parquet", _parquet_bytes(pl.DataFrame(no_id)), {1: Accept("md5:*"), 2: Accept("md5:*")}
    )
    no_user = {**{k: v for k, v in base.items() if k != "user_id"}, "id": ["pq-nouser-1", "pq-nouser-2"]}
    b.raw_file(
        "parquet-no-user-id",
        "events.parquet",
        _parquet_bytes(pl.DataFrame(no_user)),
        {1: "missing_identity", 2: "missing_identity"},
    )
    extra = {
        **base,
        "id": ["pq-extra-1", "pq-extra-2"],
        "seats": [3, 4],
        "nested": [{"a": 1}, {"a": 2}],
        "tags": [["x"], []],
        "blob": [b"\xff\x00", b""],
        "price": pl.Series([1.5, 2.0]).cast(pl.Decimal(10, 2)),
        "when": [dt.time(1, 2), dt.time(3, 4)],
        "took": [dt.timedelta(seconds=3), dt.timedelta(0)],
    }
    b.raw_file(
        "parquet-extra-and-odd-columns",
        "events.parquet",
        _parquet_bytes(pl.DataFrame(extra)),
        {1: Accept("pq-extra-1"), 2: Accept("pq-extra-2")},
    )
    tz = pl.DataFrame({**base, "id": ["pq-tz-1", "pq-tz-2"]}).with_columns(
        pl.col("timestamp").dt.replace_time_zone("America/New_York")
    )
    b.raw_file(
        "parquet-tz-aware-timestamp",
        "events.parquet",
        _parquet_bytes(tz),
        {
            1: Accept("pq-tz-1", timestamp=dt.datetime(2026, 1, 5, 15)),
            2: Accept("pq-tz-2", timestamp=dt.datetime(2026, 1, 5, 15)),
        },
    )
    ms = pl.DataFrame({**base, "id": ["pq-ms-1", "pq-ms-2"]}).with_columns(pl.col("timestamp").cast(pl.Datetime("ms")))
    b.raw_file(
        "parquet-ms-timestamp",
        "events.parquet",
        _parquet_bytes(ms),
        {1: Accept("pq-ms-1", timestamp=t), 2: Accept("pq-ms-2", timestamp=t)},
    )
    clash = pl.DataFrame(
        {
            "id": ["pq-case-1"],
            "ID": ["PQ-CASE-X"],
            "type": ["track"],
            "user_id": ["u"],
            "event": ["E"],
            "timestamp": [t],
        }
    )
    b.raw_file("parquet-column-case-clash", "events.parquet", _parquet_bytes(clash), {1: Accept("pq-case-1")})
    wrong = pl.DataFrame(
        {
            "id": ["pq-w-1", "pq-w-2", "pq-w-3"],
            "type": ["track"] * 3,
            "user_id": [True, None, None],
            "anonymous_id": [None, "a", "a"],
            "event": [None, "E", "E"],
            "timestamp": [TS, "1767607200", TS],
            "event_count": [1, 2, 3],
        }
    ).with_columns(pl.when(pl.col("id") == "pq-w-3").then(pl.lit(7)).otherwise(None).alias("sent_at"))
    b.raw_file(
        "parquet-wrong-types",
        "events.parquet",
        _parquet_bytes(wrong),
        {1: "wrong_field_type", 2: "bad_timestamp", 3: "wrong_field_type"},
    )
    b.raw_file("parquet-empty", "events.parquet", _parquet_bytes(pl.DataFrame(base).clear()), {})
    b.raw_file("parquet-corrupt", "events.parquet", b"PAR1" + b"\x00garbage" * 20 + b"PAR1", {1: "unreadable_file"})
    b.raw_file("parquet-that-is-csv", "events.parquet", b"id,user_id\n1,u\n", {1: "unreadable_file"})
    b.raw_file("parquet-truncated", "events.parquet", _parquet_bytes(pl.DataFrame(base))[:200], {1: "unreadable_file"})


def build_corpus(seed: int = 20260105) -> list[Case]:
    """Every hostile case, in a stable order with unique file names (one day folder holds them all)."""
    rng = random.Random(seed)
    b = _Builder()
    _structure(b)
    _encoding(b)
    _size(b)
    _types(b)
    _timestamps(b)
    _files(b, rng)
    _csv(b)
    _parquet(b)
    names = [c.name for c in b.cases]
    assert len(names) == len(set(names)), "case names must be unique"
    return b.cases


def write_case_files(folder: Path, cases: list[Case]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for case in cases:
        for name, data in case.files.items():
            path = folder / name
            if data is DIRECTORY:
                path.mkdir()
                (path / "inside.jsonl").write_bytes(_dump(good(f"{case.name}-inside")) + b"\n")
            elif data is SYMLINK:
                target = folder.parent / f".outside-{name}"
                target.write_bytes(_dump(good(f"{case.name}-behind-the-link")) + b"\n")
                path.symlink_to(target)
            else:
                path.write_bytes(data)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
