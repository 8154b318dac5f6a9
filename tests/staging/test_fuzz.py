"""Property-based fuzzing of the line parser, the landing readers and the audience normalizers.

- `parsing.parse_lines` on frames shaped like raw.landed_lines (arbitrary text, arbitrary JSON,
  and Segment-like objects whose every field may be missing, null, of the wrong type or oddly
  formatted): it never raises, returns exactly one row per input line, every row is either
  accepted (reason null) or quarantined with one known reason, and accepted rows carry
  everything staging relies on (messageId, type, identity, UTC timestamp, event date in range).
- `read_json_lines` (tests/raw/readers.py) on arbitrary bytes written to files (plain,
  gzip, truncated gzip), and `ingest.read_csv_rows` on arbitrary CSV-ish bytes: they never
  raise, land one row per line of the oracle, and keep every unreadable line's original bytes.
- The audience normalizers (complementing tests/exports/test_audiences.py, which already checks that they
  never raise on text and that the lists reconcile): idempotence, case/space invariance of the
  email hash, digest pass-through, and the list builders on columns of non-string types.

Bounded: 100-200 examples per property, no deadline; the file runs in well under a minute.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
import re
import tempfile
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from engagement_pipeline.exports.audiences.normalize import (
    is_sha256_hex,
    neutralize_formula,
    normalize_country,
    normalize_email,
    normalize_name,
    normalize_name_meta,
    sha256_hex,
)
from engagement_pipeline.exports.audiences.phones import normalize_phone_e164
from engagement_pipeline.exports.audiences.platforms import (
    GOOGLE_HEADER,
    META_HEADER,
    google_customer_match,
    meta_customer_list,
)
from engagement_pipeline.raw.files import LandedFile
from engagement_pipeline.raw.tables import read_csv_rows
from engagement_pipeline.staging.parse import MESSAGE_TYPES, REASONS, parse_lines
from tests.exports.test_audiences import HEX64, USER_COLUMNS, assert_reconciles
from tests.raw.readers import read_json_lines

FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
DAY = dt.date(2026, 1, 5)
MAX_ID = 40
READ_ERRORS = (
    "invalid_utf8",
    "nul_byte",
    "truncated_file",
    "unsupported_file_type",
    "unreadable_file",
    "bad_csv",
    "csv_wrong_field_count",
)
_CON: duckdb.DuckDBPyConnection | None = None


def _con() -> duckdb.DuckDBPyConnection:
    global _CON
    if _CON is None:
        _CON = duckdb.connect()
        _CON.execute("SET TimeZone = 'UTC'")
    return _CON


# --------------------------------------------------------------------------------------
# Strategies: Segment-like messages with every field possibly wrong
# --------------------------------------------------------------------------------------

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=12))
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=8,
)
ids = st.one_of(
    st.sampled_from(["u1", "u2", "anon-1", "acc-1", " ", ""]),
    st.text(max_size=8),
    st.text(alphabet="x", min_size=MAX_ID - 1, max_size=MAX_ID + 2),
    st.integers(-5, 2**65),
)


@st.composite
def timestamps(draw: st.DrawFn) -> object:
    moment = draw(st.datetimes(min_value=dt.datetime(1960, 1, 1), max_value=dt.datetime(3000, 1, 1)))
    formats = [
        moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        moment.strftime("%Y-%m-%d %H:%M:%S"),
        moment.strftime("%Y-%m-%dt%H:%M:%Sz"),
        moment.strftime("%Y-%m-%dT%H:%M:%S") + draw(st.sampled_from(["+05:45", "-09:30", "+14:00", "-00:00"])),
        moment.strftime("%Y-%m-%d"),
        str(int(moment.replace(tzinfo=dt.UTC).timestamp())),
    ]
    near = DAY + dt.timedelta(days=draw(st.sampled_from(range(-3, 4))))
    clock = f"{draw(st.sampled_from(range(24))):02d}:{draw(st.sampled_from([0, 0, 30, 59])):02d}:00"
    formats += [f"{near.isoformat()}T{clock}Z"] * 6 + [
        f"{near.isoformat()} {clock}",
        f"{near.isoformat()}T{clock}+05:45",
    ]
    return draw(
        st.sampled_from(["format"] * 18 + ["text", "json"]).flatmap(
            lambda k: (
                st.sampled_from(formats) if k == "format" else st.text(max_size=30) if k == "text" else json_values
            )
        )
    )


def _mostly(good: st.SearchStrategy, bad: st.SearchStrategy = json_values) -> st.SearchStrategy:
    """Usually a plausible value, sometimes any JSON value (wrong type, null, nested...)."""
    return st.sampled_from([True] * 11 + [False]).flatmap(lambda ok: good if ok else bad)


def _chance(draw: st.DrawFn, p_in_10: int) -> bool:
    return draw(st.sampled_from([True] * p_in_10 + [False] * (10 - p_in_10)))


@st.composite
def segment_objects(draw: st.DrawFn) -> dict[str, object]:
    kind = draw(st.sampled_from(MESSAGE_TYPES))
    fields = {  # field -> (strategy, chance in 10 that the field is present)
        "type": (_mostly(st.sampled_from([kind] * 6 + [kind.title(), f" {kind} ", "bogus", ""])), 9),
        "messageId": (_mostly(ids), 8),
        "userId": (_mostly(ids), 8),
        "anonymousId": (_mostly(ids), 3),
        "event": (_mostly(st.sampled_from(["Logged In", "Document Created", "", "  "])), 8 if kind == "track" else 1),
        "groupId": (_mostly(ids), 8 if kind == "group" else 1),
        "previousId": (_mostly(ids), 8 if kind == "alias" else 1),
        "name": (_mostly(st.text(max_size=10)), 2),
        "timestamp": (timestamps(), 8),
        "originalTimestamp": (timestamps(), 3),
        "sentAt": (timestamps(), 3),
        "receivedAt": (timestamps(), 4),
        "traits": (_mostly(st.dictionaries(st.sampled_from(["email", "name", "plan"]), st.text(max_size=8))), 3),
        "properties": (json_values, 3),
        "context": (_mostly(st.fixed_dictionaries({}, optional={"groupId": _mostly(ids)})), 4),
    }
    return {key: draw(strategy) for key, (strategy, chance) in fields.items() if _chance(draw, chance)}


@st.composite
def raw_lines(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["text", "json"] + ["segment"] * 8))
    if kind == "text":
        return draw(st.one_of(st.text(max_size=60), st.text(alphabet=" \t\r\f\v\u00a0", max_size=5)))
    if kind == "json":
        return json.dumps(draw(json_values))
    obj = draw(segment_objects())
    text = json.dumps(obj)
    mutation = draw(st.sampled_from(["none"] * 9 + ["cut", "duplicate-key", "pad"]))
    if mutation == "cut" and len(text) > 2:
        text = text[: max(1, int(len(text) * draw(st.floats(0.05, 0.95))))]
    elif mutation == "duplicate-key":
        text = text[:-1] + (", " if obj else "") + '"userId": "dup"}'
    elif mutation == "pad":
        text = " \t" + text + " \r"
    return text


def _frame(lines: list[str], errors: list[str | None], received: list[dt.date]) -> pl.DataFrame:
    n = len(lines)
    return pl.DataFrame(
        {
            "received_date": received,
            "source_file": ["f.jsonl"] * n,
            "line_number": list(range(1, n + 1)),
            "line": lines,
            "encoding": ["utf-8"] * n,
            "read_error": errors,
        },
        schema={
            "received_date": pl.Date,
            "source_file": pl.String,
            "line_number": pl.Int64,
            "line": pl.String,
            "encoding": pl.String,
            "read_error": pl.String,
        },
    )


# --------------------------------------------------------------------------------------
# parse_lines
# --------------------------------------------------------------------------------------


@pytest.mark.slow  # about 16 s of hypothesis examples
@FUZZ
@given(
    st.lists(
        st.tuples(
            raw_lines(),
            st.one_of(st.none(), st.none(), st.none(), st.sampled_from(READ_ERRORS)),
            st.sampled_from([DAY, DAY - dt.timedelta(days=30)]),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_parse_lines_judges_every_line_exactly_once(rows: list[tuple[str, str | None, dt.date]]) -> None:
    lines = _frame([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])
    out = parse_lines(_con(), lines, MAX_ID)
    assert out.height == lines.height
    assert sorted(out["line_number"].to_list()) == lines["line_number"].to_list()
    by_number = {r["line_number"]: r for r in out.iter_rows(named=True)}
    for number, (text, error, received) in enumerate(rows, start=1):
        row = by_number[number]
        reason = row["reason"]
        assert reason is None or reason in REASONS
        if error is not None:
            assert reason == error  # a read error is the line's reason, nothing else
            continue
        if not text.strip(" \t\r\n\f\v"):
            assert reason == "empty_line"
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        else:
            if not isinstance(value, dict):
                assert reason is not None, "a JSON value that is not an object cannot be accepted"
        if reason is not None:
            continue
        # Accepted: everything staging relies on is there and sane.
        assert row["message_id"] and row["type"] in MESSAGE_TYPES
        assert row["user_id"] is not None or row["anonymous_id"] is not None
        for column in ("message_id", "user_id", "anonymous_id", "group_id", "context_group_id", "previous_id"):
            assert row[column] is None or 0 < len(row[column]) <= MAX_ID or row[column].startswith("md5:")
        assert row["type"] != "track" or row["event"]
        assert row["type"] != "group" or row["group_id"]
        assert row["type"] != "alias" or row["previous_id"]
        ts = row["timestamp"]
        assert ts is not None and ts.tzinfo is None and row["event_date"] == ts.date()
        assert dt.datetime(2000, 1, 1) <= ts < dt.datetime.combine(received + dt.timedelta(days=2), dt.time())
        assert row["encoding"] == "utf-8"


@pytest.mark.slow  # about 6 s of hypothesis examples
@settings(max_examples=60, deadline=None)
@given(st.lists(raw_lines(), min_size=1, max_size=10))
def test_parse_lines_is_deterministic_and_order_free(texts: list[str]) -> None:
    lines = _frame(texts, [None] * len(texts), [DAY] * len(texts))
    first = parse_lines(_con(), lines, MAX_ID).sort("line_number")
    reversed_ = parse_lines(_con(), lines.reverse(), MAX_ID).sort("line_number")
    assert first.equals(reversed_)


# --------------------------------------------------------------------------------------
# read_json_lines / read_csv_rows on arbitrary bytes in files
# --------------------------------------------------------------------------------------

line_bytes = st.one_of(
    st.binary(max_size=40),
    st.text(max_size=40).map(lambda t: t.encode("utf-8")),
    segment_objects().map(lambda o: json.dumps(o).encode()),
    st.sampled_from([b"", b"\r", b"\x00", b"\xff\xfe", b"\xef\xbb\xbf{}", b"\xed\xa0\x80", b"\xc0\xaf"]),
)


@st.composite
def files(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):
        return draw(st.binary(max_size=400))
    parts = draw(st.lists(line_bytes.filter(lambda b: b"\n" not in b), max_size=12))
    eol = draw(st.sampled_from([b"\n", b"\r\n"]))
    data = eol.join(parts) + (eol if parts and draw(st.booleans()) else b"")
    return (b"\xef\xbb\xbf" if draw(st.integers(0, 4)) == 0 else b"") + data


def _oracle_lines(data: bytes) -> list[bytes]:
    """What the landing layer must see: LF-separated lines, one CR before the LF dropped, a
    leading BOM dropped, and no line after a final newline."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data:
        return []
    parts = data.split(b"\n")
    if parts[-1] == b"":
        parts.pop()
    return [p[:-1] if p.endswith(b"\r") else p for p in parts]


def _read(data: bytes, name: str) -> pl.DataFrame:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        reader = read_csv_rows if name.removesuffix(".gz").endswith(".csv") else read_json_lines
        return reader(LandedFile(path, f"{DAY}/{name}"))


def _assert_lines_match(frame: pl.DataFrame, expected: list[bytes]) -> None:
    assert frame.height == len(expected)
    assert frame["line_number"].to_list() == list(range(1, len(expected) + 1))
    for row, original in zip(frame.iter_rows(named=True), expected):
        if row["encoding"] == "base64":
            assert base64.b64decode(row["line"]) == original
            assert row["read_error"] in ("invalid_utf8", "nul_byte")
            if row["read_error"] == "nul_byte":
                assert b"\x00" in original
            else:
                with pytest.raises(UnicodeDecodeError):
                    original.decode("utf-8")
        else:
            assert row["line"].encode("utf-8") == original and row["read_error"] is None
            assert "\x00" not in row["line"]


@FUZZ
@given(files())
def test_read_json_lines_keeps_every_line_and_its_bytes(data: bytes) -> None:
    _assert_lines_match(_read(data, "x.jsonl"), _oracle_lines(data))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files(), st.floats(0.0, 1.0))
def test_gzip_whole_or_truncated_never_loses_a_readable_line(data: bytes, keep: float) -> None:
    blob = gzip.compress(data, mtime=0)
    whole = _read(blob, "x.jsonl.gz")
    _assert_lines_match(whole, _oracle_lines(data))
    cut = blob[: int(len(blob) * keep)]
    assume(cut != blob)
    frame = _read(cut, "x.jsonl.gz")
    errors = frame["read_error"].to_list()
    # At most one line marks the break, and it is the last one; every line before it is a
    # line of the original data, in order.
    marks = [i for i, e in enumerate(errors) if e in ("truncated_file", "unreadable_file")]
    if cut:
        assert marks == [frame.height - 1]
    else:
        assert frame.height == 0  # an empty file: no lines
    original = _oracle_lines(data)
    readable = frame.head(max(frame.height - 1, 0))
    _assert_lines_match(readable, original[: readable.height])


csv_bytes = st.one_of(
    st.binary(max_size=300),
    st.lists(
        st.sampled_from(
            [
                b"a",
                b"b",
                b",",
                b",",
                b'"',
                b"\n",
                b"\r\n",
                b"\r",
                b"\xff",
                b"\x00",
                b" ",
                b"id",
                b"user_id",
                b"ID",
                b"context_group_id",
                b"type",
                b"track",
            ]
        ),
        max_size=80,
    ).map(b"".join),
)


@pytest.mark.slow  # about 6 s of hypothesis examples
@FUZZ
@given(csv_bytes, st.booleans())
def test_read_csv_rows_never_raises_and_lines_are_unique(data: bytes, truncate: bool) -> None:
    name = "tracks.csv"
    if truncate:
        blob = gzip.compress(data, mtime=0)
        data, name = blob[: len(blob) // 2], "tracks.csv.gz"
    frame = _read(data, name)
    assert frame["line_number"].is_unique().all()
    assert frame["line_number"].is_sorted()
    assert set(frame["read_error"].drop_nulls().to_list()) <= {
        "bad_csv",
        "csv_wrong_field_count",
        "invalid_utf8",
        "nul_byte",
        "truncated_file",
        "unreadable_file",
    }
    for row in frame.iter_rows(named=True):
        if row["encoding"] == "base64":
            base64.b64decode(row["line"], validate=True)
    # ... and the parser gives each of those lines one outcome.
    lines = frame.with_columns(pl.lit(DAY).alias("received_date"))
    out = parse_lines(_con(), lines, MAX_ID)
    assert out.height == frame.height


# --------------------------------------------------------------------------------------
# Audience normalizers (beyond tests/exports/test_audiences.py)
# --------------------------------------------------------------------------------------

ascii_local = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._+-", min_size=1, max_size=12)
ascii_label = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=10)


@FUZZ
@given(st.text(max_size=40))
def test_normalizers_are_idempotent(value: str) -> None:
    for normalize in (normalize_email, normalize_country, normalize_name, normalize_name_meta):
        once = normalize(value)
        if once is not None:
            assert normalize(once) == once, (normalize.__name__, value, once)
    neutral = neutralize_formula(value)
    assert neutralize_formula(neutral) == neutral
    assert not neutral.lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r"))


@FUZZ
@given(st.text(max_size=25), st.one_of(st.none(), st.sampled_from(["US", "GB", "DE", "IN", "NP", "FR"])))
def test_e164_is_a_fixed_point(value: str, country: str | None) -> None:
    e164 = normalize_phone_e164(value, country)
    if e164 is not None:
        assert re.fullmatch(r"\+[1-9][0-9]{6,14}", e164)
        assert normalize_phone_e164(e164, country) == e164
        assert normalize_phone_e164(e164, None) == e164


@FUZZ
@given(
    ascii_local.filter(lambda s: not s.startswith(".") and not s.endswith(".") and ".." not in s),
    st.lists(ascii_label, min_size=1, max_size=3),
    st.sampled_from(["com", "io", "co", "de"]),
    st.sampled_from(["", " ", "\t", "\u00a0"]),
)
def test_email_hash_ignores_case_and_surrounding_space(local: str, labels: list[str], tld: str, pad: str) -> None:
    email = f"{local}@{'.'.join(labels)}.{tld}"
    base = normalize_email(email)
    assert base == email
    assert normalize_email(pad + email.upper() + pad) == base
    assert sha256_hex(base) == sha256_hex(normalize_email(f" {email.title()} "))


@FUZZ
@given(st.text(max_size=30))
def test_digests_pass_through_and_hashes_are_lower_hex(value: str) -> None:
    digest = sha256_hex(value)
    assert HEX64.fullmatch(digest) and is_sha256_hex(digest)
    assert sha256_hex(digest) == digest and sha256_hex(digest.upper()) == digest and sha256_hex(f" {digest} ") == digest


def _odd_column(draw: st.DrawFn, n: int) -> pl.Series:
    kind = draw(st.sampled_from(["int", "float", "bool", "null", "text", "date"]))
    if kind == "int":
        return pl.Series(
            draw(st.lists(st.one_of(st.none(), st.integers(-(10**15), 10**15)), min_size=n, max_size=n)), dtype=pl.Int64
        )
    if kind == "float":
        return pl.Series(draw(st.lists(st.one_of(st.none(), st.floats()), min_size=n, max_size=n)), dtype=pl.Float64)
    if kind == "bool":
        return pl.Series(draw(st.lists(st.one_of(st.none(), st.booleans()), min_size=n, max_size=n)), dtype=pl.Boolean)
    if kind == "null":
        return pl.Series([None] * n, dtype=pl.Null)
    if kind == "date":
        return pl.Series([dt.date(2026, 1, 5)] * n, dtype=pl.Date)
    return pl.Series(
        draw(st.lists(st.one_of(st.none(), st.text(max_size=15)), min_size=n, max_size=n)), dtype=pl.String
    )


@st.composite
def odd_user_frames(draw: st.DrawFn) -> pl.DataFrame:
    n = draw(st.integers(0, 12))
    return pl.DataFrame({c: _odd_column(draw, n).alias(c) for c in USER_COLUMNS})


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(odd_user_frames())
def test_audience_builders_take_columns_of_any_type(frame: pl.DataFrame) -> None:
    for builder, header in ((google_customer_match, GOOGLE_HEADER), (meta_customer_list, META_HEADER)):
        result = builder(frame)
        assert result.input_rows == frame.height
        assert_reconciles(result)
        assert result.frame.columns == list(header)
        hashed = header[:4] if builder is google_customer_match else header
        for column in hashed:
            assert all(v == "" or HEX64.fullmatch(v) for v in result.frame[column])
