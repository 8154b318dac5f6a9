"""Landing folder -> raw lines: every line kept with its file and line number.

Nothing is dropped here. A line that cannot be decoded is still a line: it is kept
(base64 of its original bytes) with a `read_error`, so staging quarantines it with that
reason, the original can be replayed after a fix, and the count of lines landed is
exact. A truncated gzip file keeps every line that could be decompressed; its broken
tail becomes one more line with `read_error = 'truncated_file'`.

Formats, by file name:
- `*.jsonl`, `*.json`, `*.ndjson` (optionally `.gz`): Segment messages, one per line,
  kept verbatim.
- `*.csv` (optionally `.gz`) and `*.parquet`: Segment warehouse-style rows (snake_case
  columns, `id` = messageId, flattened `context_*`). Each row becomes the equivalent
  Segment JSON object (see `warehouse_rows_to_json`), which is what `line` holds; the
  line number is the CSV record's last physical line, or the Parquet row number.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from polars.exceptions import PanicException

from engagement_pipeline.core.errors import InputError

JSON_SUFFIXES = (".jsonl", ".json", ".ndjson")
CSV_SUFFIXES = (".csv",)
PARQUET_SUFFIXES = (".parquet",)
SKIPPED_NAMES = {"_SUCCESS"}
UTF8_BOM = b"\xef\xbb\xbf"
RAW_SCHEMA = {
    "source_file": pl.String, "line_number": pl.Int64, "line": pl.String,
    "encoding": pl.String, "read_error": pl.String,
}


@dataclass(frozen=True)
class LandedFile:
    path: Path
    relative: str

    @property
    def kind(self) -> str:
        name = self.path.name.lower().removesuffix(".gz")
        if name.endswith(JSON_SUFFIXES):
            return "json"
        if name.endswith(CSV_SUFFIXES):
            return "csv"
        if name.endswith(PARQUET_SUFFIXES) and not self.path.name.lower().endswith(".gz"):
            return "parquet"
        return "unsupported"


def day_folder(landing: Path, day: dt.date) -> Path:
    return landing / day.isoformat()


def list_day_files(landing: Path, day: dt.date) -> list[LandedFile]:
    """The data files of one received day, in a stable order; a missing folder is an error."""
    if not landing.is_dir():
        raise InputError(
            f"landing folder {landing} does not exist: generate demo data with "
            f"`engagement-pipeline generate` or set paths.landing in the config."
        )
    folder = day_folder(landing, day)
    if not folder.is_dir():
        raise InputError(
            f"no landing folder for {day.isoformat()} ({folder}): land that day's files there "
            f"or run only the days that have data."
        )
    files = [
        p for p in sorted(folder.iterdir())
        if p.is_file() and p.name not in SKIPPED_NAMES and not p.name.startswith(".")
    ]
    return [LandedFile(p, f"{day.isoformat()}/{_printable_name(p.name)}") for p in files]


def _printable_name(name: str) -> str:
    """A file name as valid UTF-8 text: bytes that are not UTF-8 (surrogate-escaped by the OS
    layer) become `\\xNN`, so the name can be stored and shown (a raw lone surrogate cannot)."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _gunzip_salvaging(data: bytes) -> tuple[bytes, str | None]:
    """Decompress (possibly multi-member) gzip data, keeping what precedes any corruption."""
    out: list[bytes] = []
    rest = data
    while rest:
        decompressor = zlib.decompressobj(wbits=31)
        try:
            out.append(decompressor.decompress(rest))
        except zlib.error as exc:
            return b"".join(out), f"corrupt gzip data ({exc})"
        if not decompressor.eof:
            out.append(decompressor.flush())
            return b"".join(out), "gzip stream ends early (file truncated)"
        rest = decompressor.unused_data.lstrip(b"\x00")
    return b"".join(out), None


def _file_bytes(file: LandedFile) -> tuple[bytes, str | None]:
    data = file.path.read_bytes()
    if file.path.name.lower().endswith(".gz"):
        return _gunzip_salvaging(data)
    return data, None


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


# Decompressed bytes per block of lines: a file of any size is read in blocks of this
# size, so landing a day holds about three blocks in memory, not the whole file.
BLOCK_BYTES = 16 << 20


@dataclass
class _StreamEnd:
    error: str | None = None
    size: int = 0


def _byte_pieces(file: LandedFile, end: _StreamEnd) -> Iterator[bytes]:
    """The file's bytes (decompressed from possibly multi-member gzip), in pieces of at most
    `BLOCK_BYTES`. A corrupt or truncated stream ends the pieces and sets `end.error`: what
    preceded the damage is kept."""
    if not file.path.name.lower().endswith(".gz"):
        with file.path.open("rb") as handle:
            while piece := handle.read(BLOCK_BYTES):
                end.size += len(piece)
                yield piece
        return
    rest = file.path.read_bytes()  # compressed: several times smaller than the text
    while rest:
        decompressor = zlib.decompressobj(wbits=31)
        pending = rest
        while not decompressor.eof:
            try:
                piece = decompressor.decompress(pending, BLOCK_BYTES)
                pending = decompressor.unconsumed_tail
                if not pending and not piece and not decompressor.eof:
                    piece = decompressor.flush()
                    if not decompressor.eof:
                        end.error = "gzip stream ends early (file truncated)"
            except zlib.error as exc:
                end.error = f"corrupt gzip data ({exc})"
                piece = b""
            if piece:
                end.size += len(piece)
                yield piece
            if end.error:
                return
        rest = decompressor.unused_data.lstrip(b"\x00")


def iter_json_lines(file: LandedFile) -> Iterator[pl.DataFrame]:
    """Each line's text (or base64 of its bytes when unreadable) and its read error, in blocks
    of about `BLOCK_BYTES`; line numbers run on across blocks."""
    end = _StreamEnd()
    buffered: list[bytes] = []
    size = 0
    number = 0
    carry = b""
    first = True
    for piece in _byte_pieces(file, end):
        buffered.append(piece)
        size += len(piece)
        if size < BLOCK_BYTES:
            continue
        data = carry + b"".join(buffered)
        buffered, size = [], 0
        if first:
            if len(data) < len(UTF8_BOM):  # too short to tell whether it starts with a BOM
                carry = data
                continue
            data, first = data.removeprefix(UTF8_BOM), False
        cut = data.rfind(b"\n")
        if cut < 0:
            carry = data
            continue
        carry = data[cut + 1:]
        block = _block_frame(file, data[:cut], number)
        del data
        number += block.height
        yield block
    data = carry + b"".join(buffered)
    del buffered
    if first:
        data = data.removeprefix(UTF8_BOM)
    if end.error is not None and end.size == 0:
        # Nothing at all could be decompressed (not gzip, or a bare header): the file is
        # unreadable, not "truncated after zero lines".
        yield _single(file, "unreadable_file", end.error)
        return
    if end.error is None:
        if data:
            yield _block_frame(file, data.removesuffix(b"\n"), number)
        return
    # A broken stream: its last line is `truncated_file`; when it broke at a line end, the
    # missing data still counts as one unreadable line.
    cut = data.rfind(b"\n")
    if cut >= 0:
        yield _block_frame(file, data[:cut], number)
        number += data[:cut].count(b"\n") + 1
    tail = _block_frame(file, data[cut + 1:], number)
    yield tail.with_columns(pl.lit("truncated_file", dtype=pl.String).alias("read_error"))


def read_json_lines(file: LandedFile) -> pl.DataFrame:
    """Every line of a JSON-lines file (see `iter_json_lines`) in one frame."""
    frames = list(iter_json_lines(file))
    return pl.concat(frames) if frames else _frame(file, [], [], [], [])


def _block_frame(file: LandedFile, block: bytes, before: int) -> pl.DataFrame:
    """The lines of `block` (LF-separated, a CR before the LF dropped), numbered after `before`."""
    fast = _split_valid_text(block) if b"\x00" not in block else None
    if fast is not None:
        # Fast path: valid UTF-8 without NUL bytes, as almost every block is.
        n = fast.len()
        return _lines_frame(file, fast, before, pl.repeat("utf-8", n, eager=True, dtype=pl.String),
                            pl.repeat(None, n, eager=True, dtype=pl.String))
    texts: list[str] = []
    encodings: list[str] = []
    errors: list[str | None] = []
    for ln in block.split(b"\n"):
        ln = ln.removesuffix(b"\r")
        try:
            text = ln.decode("utf-8")
        except UnicodeDecodeError:
            texts.append(_b64(ln))
            encodings.append("base64")
            errors.append("invalid_utf8")
            continue
        if "\x00" in text:
            texts.append(_b64(ln))
            encodings.append("base64")
            errors.append("nul_byte")
        else:
            texts.append(text)
            encodings.append("utf-8")
            errors.append(None)
    return _frame(file, list(range(before + 1, before + len(texts) + 1)), texts, encodings, errors)


def _split_valid_text(block: bytes) -> pl.Series | None:
    """The lines of a block (no final LF) if it is valid UTF-8, else None.

    Validating and splitting in polars keeps a million lines out of Python objects: about
    4x faster than decoding in Python and a third of the memory of a list of str.
    """
    try:
        text = pl.Series("line", [block], dtype=pl.Binary).cast(pl.String)
    except pl.exceptions.ComputeError:  # not valid UTF-8
        return None
    lines = text.str.split("\n").explode()
    if b"\r" in block:
        lines = lines.str.strip_suffix("\r")
    return lines.alias("line")


def _lines_frame(file: LandedFile, lines: pl.Series, before: int, encodings: pl.Series,
                 errors: pl.Series) -> pl.DataFrame:
    n = lines.len()
    return pl.DataFrame({
        "source_file": pl.repeat(file.relative, n, eager=True, dtype=pl.String),
        "line_number": pl.int_range(before + 1, before + n + 1, eager=True, dtype=pl.Int64),
        "line": lines,
        "encoding": encodings.alias("encoding"),
        "read_error": errors.alias("read_error"),
    })


def _frame(file: LandedFile, numbers: list[int], texts: list[str], encodings: list[str],
           errors: list[str | None]) -> pl.DataFrame:
    n = len(texts)
    return pl.DataFrame({
        "source_file": pl.Series([file.relative] * n, dtype=pl.String),
        "line_number": pl.Series(numbers, dtype=pl.Int64),
        "line": pl.Series(texts, dtype=pl.String),
        "encoding": pl.Series(encodings, dtype=pl.String),
        "read_error": pl.Series(errors, dtype=pl.String),
    })


def _single(file: LandedFile, error: str, text: str = "") -> pl.DataFrame:
    return _frame(file, [1], [text], ["utf-8"], [error])


# Segment warehouse columns -> message fields; everything else goes to traits or properties.
_TOP_LEVEL = {
    "id": "messageId", "message_id": "messageId", "type": "type", "user_id": "userId",
    "anonymous_id": "anonymousId", "group_id": "groupId", "previous_id": "previousId",
    "event": "event", "timestamp": "timestamp",
    "original_timestamp": "originalTimestamp", "sent_at": "sentAt", "received_at": "receivedAt",
}
_DROPPED = {"uuid", "uuid_ts", "loaded_at", "event_text", "channel", "version"}
_TYPE_BY_TABLE = {
    "tracks": "track", "identifies": "identify", "groups": "group", "pages": "page",
    "screens": "screen", "aliases": "alias",
}
_TRAIT_TYPES = ("identify", "group")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _table_type(file: LandedFile) -> str | None:
    stem = re.split(r"[.\-_]", file.path.name.lower(), maxsplit=1)[0]
    return _TYPE_BY_TABLE.get(stem)


def warehouse_rows_to_json(rows: pl.DataFrame, default_type: str | None) -> pl.Series:
    """Segment warehouse rows -> one Segment JSON object per row (as text).

    `id` becomes messageId, snake_case ids and timestamps their camelCase fields,
    `context_x_y` goes to `context.xY` (so `context_group_id` is `context.groupId`), and
    every other column becomes a trait (identify, group) or a property (other types).
    The type comes from a `type` column, else the file's table name (tracks.csv ->
    track), else the columns (previous_id -> alias, group_id -> group, event -> track).

    Column names are case-insensitive: a later column whose lower-cased name repeats an
    earlier one is renamed `<name>_2`, ... (so `ID` after `id` is an extra column), and
    when two columns map to the same field (`id` and `message_id`, or `context_group_id`
    and `context_group__id`) the first wins and the other stays an extra column.
    Timezone-aware timestamps are written in UTC, naive ones are taken as UTC; binary
    columns become base64 text.
    """
    cols = [c for c in rows.columns if c.lower() not in _DROPPED]
    frame = rows.select(cols)
    frame.columns = _unique_names([c.lower() for c in cols])
    frame = frame.with_columns(
        pl.col(c).dt.convert_time_zone("UTC") for c, t in frame.schema.items()
        if isinstance(t, pl.Datetime) and t.time_zone is not None
    )
    frame = frame.with_columns(pl.col(pl.Datetime).dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ"))
    frame = frame.with_columns(pl.col(pl.Date).dt.strftime("%Y-%m-%d"))
    frame = frame.with_columns(
        pl.col(c).map_elements(lambda b: base64.b64encode(b).decode("ascii"), return_dtype=pl.String)
        for c, t in frame.schema.items() if t == pl.Binary
    )
    frame = frame.with_columns(pl.col(c).cast(pl.String) for c, t in frame.schema.items() if t == pl.Object)
    columns = frame.columns
    type_col = "\x00type"  # an internal name no input column can have
    if "type" in columns:
        type_expr = pl.col("type").cast(pl.String)
    elif default_type is not None:
        type_expr = pl.lit(default_type)
    else:
        type_expr = (
            pl.when(pl.col("previous_id").is_not_null() if "previous_id" in columns else pl.lit(False)).then(pl.lit("alias"))
            .when(pl.col("group_id").is_not_null() if "group_id" in columns else pl.lit(False)).then(pl.lit("group"))
            .when(pl.col("event").is_not_null() if "event" in columns else pl.lit(False)).then(pl.lit("track"))
        )
    frame = frame.with_columns(type_expr.alias(type_col))
    top, used = [], set()
    for c in columns:
        target = _TOP_LEVEL.get(c)
        if target is not None and c != "type" and target not in {e.meta.output_name() for e in top}:
            top.append(pl.col(c).alias(target))
            used.add(c)
    top.append(pl.col(type_col).alias("type"))
    if "name" in columns:  # a page's or screen's own name; for identify and group it is a trait
        top.append(pl.when(pl.col(type_col).is_in(["page", "screen"])).then(pl.col("name")).alias("name"))
    context_fields: dict[str, str] = {}
    for c in columns:
        if c.startswith("context_"):
            context_fields.setdefault(_camel(c.removeprefix("context_")), c)
    used.update(context_fields.values())
    rest = [c for c in columns if c not in used and c != "type"]
    fields = list(top)
    if context_fields:
        fields.append(pl.struct([pl.col(c).alias(name) for name, c in context_fields.items()]).alias("context"))
    if rest:
        extra = pl.struct([pl.col(c) for c in rest])
        is_traits = pl.col(type_col).is_in(list(_TRAIT_TYPES))
        fields.append(pl.when(is_traits).then(extra).alias("traits"))
        fields.append(pl.when(~is_traits).then(extra).alias("properties"))
    return frame.select(pl.struct(fields).struct.json_encode().alias("line")).to_series()


# Python's csv module refuses fields over 128 KiB by default; a JSON line of a megabyte is
# accepted, so a CSV field of that size is too (up to this bound; above it, `bad_csv`).
CSV_FIELD_LIMIT = 64 * 1024 * 1024
_SURROGATES = re.compile("[\udc80-\udcff]")


class _RecordText:
    """Feeds csv.reader line by line and keeps the physical lines of the current record, so a
    rejected record's payload is its original text, not a re-join of parsed fields."""

    def __init__(self, text: str) -> None:
        self._lines = io.StringIO(text, newline="")
        self.current: list[str] = []

    def __iter__(self) -> _RecordText:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.current.append(line)
        return line

    def take(self) -> str:
        text = "".join(self.current)
        self.current = []
        return text.removesuffix("\n").removesuffix("\r")


def read_csv_rows(file: LandedFile) -> pl.DataFrame:
    """CSV rows with their line numbers; a rejected record is kept as a line with `read_error`.

    The header is the first non-blank record (blank lines before it are `empty_line` lines),
    column names are case-insensitive, a blank record is an empty line, a record with the
    wrong number of fields is `csv_wrong_field_count`, one that cannot be parsed (an
    unterminated or stray quote) is `bad_csv`, and invalid UTF-8 or a NUL byte are
    `invalid_utf8` / `nul_byte` as in JSON files. Rejected records keep their original text
    (base64 of their bytes when not UTF-8).
    """
    if csv.field_size_limit() < CSV_FIELD_LIMIT:
        csv.field_size_limit(CSV_FIELD_LIMIT)
    data, tail_error = _file_bytes(file)
    if tail_error is not None and not data:
        return _single(file, "unreadable_file", tail_error)
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM):]
    text = data.decode("utf-8", errors="surrogateescape")
    source = _RecordText(text)
    reader = csv.reader(source, strict=True)
    header: list[str] | None = None
    good_rows: list[list[str]] = []
    good_numbers: list[int] = []
    # (line number, text, encoding, read error); read error None = an empty line for the parser
    other: list[tuple[int, str, str, str | None]] = []
    last, last_raw = "", ""  # what the last record was ("good", "other", "header") and its text
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error:
            other.append(_rejected(reader.line_num, source.take(), "bad_csv"))
            last = "other"
            continue
        raw = source.take()
        last = "other"
        if not row or (len(row) == 1 and not raw.strip()):
            other.append((reader.line_num, "", "utf-8", None))  # a blank line: `empty_line`
        elif header is None:
            header = [_printable_name(name) for name in row]
            last = "header"
        elif _SURROGATES.search(raw):
            other.append(_rejected(reader.line_num, raw, "invalid_utf8"))
        elif "\x00" in raw:
            other.append(_rejected(reader.line_num, raw, "nul_byte"))
        elif len(row) != len(header):
            other.append(_rejected(reader.line_num, raw, "csv_wrong_field_count"))
        else:
            good_rows.append(row)
            good_numbers.append(reader.line_num)
            last, last_raw = "good", raw
    if tail_error is not None:
        # The last record may be cut short by the broken stream: it is the truncated line.
        if last == "good":
            good_rows.pop()
            other.append(_rejected(good_numbers.pop(), last_raw, "truncated_file"))
        elif last == "other":
            number, line, encoding, _ = other.pop()
            other.append((number, line, encoding, "truncated_file"))
        else:
            other.append((reader.line_num + 1, "", "utf-8", "truncated_file"))
    frames = []
    if good_rows and header is not None:
        table = pl.DataFrame(good_rows, schema=[f"c{i}" for i in range(len(header))], orient="row")
        table.columns = _unique_names(header)
        table = table.with_columns(pl.all().replace("", None))
        lines = warehouse_rows_to_json(table, _table_type(file))
        frames.append(_frame(file, good_numbers, lines.to_list(), ["utf-8"] * len(good_numbers), [None] * len(good_numbers)))
    if other:
        frames.append(_frame(file, [o[0] for o in other], [o[1] for o in other], [o[2] for o in other],
                             [o[3] for o in other]))
    if not frames:
        return _frame(file, [], [], [], [])
    return pl.concat(frames).sort("line_number")


def _rejected(number: int, raw: str, error: str) -> tuple[int, str, str, str]:
    """A rejected CSV record: its original text, or base64 of its bytes when they are not UTF-8."""
    if _SURROGATES.search(raw):
        return number, _b64(raw.encode("utf-8", errors="surrogateescape")), "base64", error
    if "\x00" in raw:
        return number, _b64(raw.encode("utf-8")), "base64", error
    return number, raw, "utf-8", error


def _unique_names(header: list[str]) -> list[str]:
    """Column names made unique case-insensitively (a blank name becomes `column_<n>`)."""
    seen: set[str] = set()
    out = []
    for i, name in enumerate(header):
        name = name.strip() or f"column_{i + 1}"
        candidate, n = name, 1
        while candidate.lower() in seen:
            n += 1
            candidate = f"{name}_{n}"
        seen.add(candidate.lower())
        out.append(candidate)
    return out


def read_parquet_rows(file: LandedFile) -> pl.DataFrame:
    """Parquet rows numbered from 1; an unreadable file is one line with `read_error`."""
    try:
        table = pl.read_parquet(file.path)
        if table.height == 0:
            return _frame(file, [], [], [], [])
        lines = warehouse_rows_to_json(table, _table_type(file))
    except (Exception, PanicException) as exc:  # noqa: BLE001 - any reader failure means the file is unusable
        return _single(file, "unreadable_file", _error_text(exc))
    n = table.height
    return _frame(file, list(range(1, n + 1)), lines.to_list(), ["utf-8"] * n, [None] * n)


def read_landed_file(file: LandedFile) -> pl.DataFrame:
    """One file's lines. A file that cannot be read at all (an OSError such as a permission
    problem or the file vanishing, or a reader failure) is one `unreadable_file` line, so one
    bad file costs its own lines, never the whole day."""
    frames: list[pl.DataFrame] = []
    for frame, restart in iter_landed_file(file):
        frames = [frame] if restart else [*frames, frame]
    return pl.concat(frames) if frames else _frame(file, [], [], [], [])


def iter_landed_file(file: LandedFile) -> Iterator[tuple[pl.DataFrame, bool]]:
    """`read_landed_file` in blocks (JSON lines are read `BLOCK_BYTES` at a time): yields
    (frame, restart). restart=True comes at most once, last: the file failed part-way, so
    the blocks it yielded before must be dropped; that frame is its one `unreadable_file` line."""
    kind = file.kind
    if kind == "unsupported":
        yield _single(file, "unsupported_file_type"), False
        return
    reader = {"json": iter_json_lines, "csv": _one(read_csv_rows), "parquet": _one(read_parquet_rows)}[kind]
    try:
        for frame in reader(file):
            yield frame, False
    except MemoryError:
        raise  # a resource problem of this machine, not a property of the file
    except (Exception, PanicException) as exc:  # noqa: BLE001 - see read_landed_file
        yield _single(file, "unreadable_file", _error_text(exc)), True


def _one(reader: Callable[[LandedFile], pl.DataFrame]) -> Callable[[LandedFile], Iterator[pl.DataFrame]]:
    def blocks(file: LandedFile) -> Iterator[pl.DataFrame]:
        yield reader(file)
    return blocks


def _error_text(exc: BaseException) -> str:
    text = str(exc).splitlines()[0][:500] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def read_landed_day(landing: Path, day: dt.date) -> pl.DataFrame:
    """All lines of one received day as a frame shaped like `raw.landed_lines`."""
    frames = [read_landed_file(file) for file in list_day_files(landing, day)]
    combined = pl.concat(frames) if frames else pl.DataFrame(schema=RAW_SCHEMA)
    return combined.with_columns(pl.lit(day, dtype=pl.Date).alias("received_date"))
