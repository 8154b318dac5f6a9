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
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from engagement_pipeline.errors import InputError

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
    return [LandedFile(p, f"{day.isoformat()}/{p.name}") for p in files]


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


def split_lines(data: bytes) -> list[bytes]:
    """Split on LF (tolerating CRLF); a final newline does not start another line."""
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM):]
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return [ln[:-1] if ln.endswith(b"\r") else ln for ln in lines]


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def read_json_lines(file: LandedFile) -> pl.DataFrame:
    """Each line's text (or base64 of its bytes when unreadable) and its read error."""
    data, tail_error = _file_bytes(file)
    raw_lines = split_lines(data)
    if tail_error is not None and (data.endswith(b"\n") or not raw_lines):
        # The stream broke at a line end: the missing data still counts as one unreadable line.
        raw_lines.append(b"")
    texts: list[str] = []
    encodings: list[str] = []
    errors: list[str | None] = []
    try:
        # Fast path: the whole file is valid UTF-8 without NUL bytes, as almost every file is.
        joined = b"\n".join(raw_lines)
        if b"\x00" in joined:
            raise UnicodeDecodeError("utf-8", b"", 0, 1, "NUL byte present")
        texts = joined.decode("utf-8").split("\n") if raw_lines else []
        encodings = ["utf-8"] * len(texts)
        errors = [None] * len(texts)
    except UnicodeDecodeError:
        texts, encodings, errors = [], [], []
        for ln in raw_lines:
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
    if tail_error is not None and texts:
        errors[-1] = "truncated_file"
    return _frame(file, list(range(1, len(texts) + 1)), texts, encodings, errors)


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
    """
    cols = [c for c in rows.columns if c.lower() not in _DROPPED]
    frame = rows.select(cols).rename({c: c.lower() for c in cols})
    frame = frame.with_columns(pl.col(pl.Datetime).dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ"))
    frame = frame.with_columns(pl.col(pl.Date).dt.strftime("%Y-%m-%d"))
    columns = frame.columns
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
    frame = frame.with_columns(type_expr.alias("_type"))
    top = [pl.col(c).alias(_TOP_LEVEL[c]) for c in columns if c in _TOP_LEVEL and c != "type"]
    top.append(pl.col("_type").alias("type"))
    if "name" in columns:  # a page's or screen's own name; for identify and group it is a trait
        top.append(pl.when(pl.col("_type").is_in(["page", "screen"])).then(pl.col("name")).alias("name"))
    context_cols = [c for c in columns if c.startswith("context_")]
    rest = [c for c in columns if c not in _TOP_LEVEL and not c.startswith("context_")]
    fields = list(top)
    if context_cols:
        fields.append(pl.struct([pl.col(c).alias(_camel(c.removeprefix("context_"))) for c in context_cols]).alias("context"))
    if rest:
        extra = pl.struct([pl.col(c) for c in rest])
        is_traits = pl.col("_type").is_in(list(_TRAIT_TYPES))
        fields.append(pl.when(is_traits).then(extra).alias("traits"))
        fields.append(pl.when(~is_traits).then(extra).alias("properties"))
    return frame.select(pl.struct(fields).struct.json_encode().alias("line")).to_series()


def read_csv_rows(file: LandedFile) -> pl.DataFrame:
    """CSV rows with their line numbers; a ragged row is kept as a line with `read_error`."""
    data, tail_error = _file_bytes(file)
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM):]
    text = data.decode("utf-8", errors="surrogateescape")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        return _frame(file, [], [], [], []) if not text.strip() else _single(file, "bad_csv", text[:1000])
    width = len(header)
    good_rows: list[list[str]] = []
    good_numbers: list[int] = []
    bad: list[tuple[int, str, str, str]] = []
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            bad.append((reader.line_num, f"{exc}", "utf-8", "bad_csv"))
            continue
        raw = ",".join(row)
        if any("\udc80" <= ch <= "\udcff" for ch in raw):
            bad.append((reader.line_num, _b64(raw.encode("utf-8", errors="surrogateescape")), "base64", "invalid_utf8"))
        elif len(row) != width:
            bad.append((reader.line_num, raw, "utf-8", "csv_wrong_field_count"))
        else:
            good_rows.append(row)
            good_numbers.append(reader.line_num)
    if tail_error is not None:
        if good_rows:  # the last parsed record may be cut short by the broken stream
            last = good_rows.pop()
            bad.append((good_numbers.pop(), ",".join(last), "utf-8", "truncated_file"))
        else:
            bad.append((reader.line_num + 1, "", "utf-8", "truncated_file"))
    frames = []
    if good_rows:
        table = pl.DataFrame(good_rows, schema=[f"c{i}" for i in range(width)], orient="row")
        table.columns = _unique_names(header)
        table = table.with_columns(pl.all().replace("", None))
        lines = warehouse_rows_to_json(table, _table_type(file))
        frames.append(_frame(file, good_numbers, lines.to_list(), ["utf-8"] * len(good_numbers), [None] * len(good_numbers)))
    if bad:
        frames.append(_frame(file, [b[0] for b in bad], [b[1] for b in bad], [b[2] for b in bad], [b[3] for b in bad]))
    if not frames:
        return _frame(file, [], [], [], [])
    return pl.concat(frames).sort("line_number")


def _unique_names(header: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for i, name in enumerate(header):
        name = name.strip() or f"column_{i + 1}"
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return out


def read_parquet_rows(file: LandedFile) -> pl.DataFrame:
    """Parquet rows numbered from 1; an unreadable file is one line with `read_error`."""
    try:
        table = pl.read_parquet(file.path)
    except Exception as exc:  # noqa: BLE001 - any reader failure means the file is unusable
        return _single(file, "unreadable_file", str(exc).splitlines()[0][:500] if str(exc) else type(exc).__name__)
    if table.height == 0:
        return _frame(file, [], [], [], [])
    lines = warehouse_rows_to_json(table, _table_type(file))
    n = table.height
    return _frame(file, list(range(1, n + 1)), lines.to_list(), ["utf-8"] * n, [None] * n)


def read_landed_day(landing: Path, day: dt.date) -> pl.DataFrame:
    """All lines of one received day as a frame shaped like `raw.landed_lines`."""
    frames = []
    for file in list_day_files(landing, day):
        kind = file.kind
        if kind == "json":
            frames.append(read_json_lines(file))
        elif kind == "csv":
            frames.append(read_csv_rows(file))
        elif kind == "parquet":
            frames.append(read_parquet_rows(file))
        else:
            frames.append(_single(file, "unsupported_file_type"))
    combined = pl.concat(frames) if frames else pl.DataFrame(schema=RAW_SCHEMA)
    return combined.with_columns(pl.lit(day, dtype=pl.Date).alias("received_date"))
