"""Segment warehouse-shaped rows (`*.csv`, optionally `.gz`, and `*.parquet`) -> raw lines.

Warehouse rows have snake_case columns, `id` = messageId and flattened `context_*`. Each row
becomes the equivalent Segment JSON object (see `warehouse_rows_to_json`), which is what
`line` holds; the line number is the CSV record's last physical line, or the Parquet row
number. A CSV record that cannot be used is kept as a line with its reason in `read_error`
(see `read_csv_rows`); an unreadable Parquet file is one `unreadable_file` line.
"""

from __future__ import annotations

import base64
import csv
import io
import re
from typing import TYPE_CHECKING

import polars as pl
from polars.exceptions import PanicException
from pyarrow import parquet as pq

from engagement_pipeline.core.config_raw import Raw
from engagement_pipeline.core.vocab import MessageType
from engagement_pipeline.raw.lines import UTF8_BOM, b64, error_text, line_frame, printable_name, single_line
from engagement_pipeline.raw.streams import FileTooLarge, StreamEnd, byte_pieces

if TYPE_CHECKING:
    from engagement_pipeline.raw.files import LandedFile


def _file_bytes(file: LandedFile, limits: Raw) -> tuple[bytes, str | None]:
    """The whole file, inflated when gzip (what precedes any corruption kept, with the error);
    a file over `raw.max_table_file_bytes` raises FileTooLarge before it is all in memory."""
    end = StreamEnd()
    data = b"".join(byte_pieces(file.path, end, limits, cap=limits.max_table_file_bytes))
    return data, end.error


def _parquet_size(file: LandedFile) -> int:
    """The uncompressed bytes of a Parquet file's column chunks, from its footer alone."""
    meta = pq.ParquetFile(file.path).metadata
    return sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))


# Segment warehouse columns -> message fields; everything else goes to traits or properties.
_TOP_LEVEL = {
    "id": "messageId",
    "message_id": "messageId",
    "type": "type",
    "user_id": "userId",
    "anonymous_id": "anonymousId",
    "group_id": "groupId",
    "previous_id": "previousId",
    "event": "event",
    "timestamp": "timestamp",
    "original_timestamp": "originalTimestamp",
    "sent_at": "sentAt",
    "received_at": "receivedAt",
}
_DROPPED = {"uuid", "uuid_ts", "loaded_at", "event_text", "channel", "version"}
_TYPE_BY_TABLE = {
    "tracks": MessageType.TRACK,
    "identifies": MessageType.IDENTIFY,
    "groups": MessageType.GROUP,
    "pages": MessageType.PAGE,
    "screens": MessageType.SCREEN,
    "aliases": MessageType.ALIAS,
}
_TRAIT_TYPES = (MessageType.IDENTIFY, MessageType.GROUP)


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
        pl.col(c).dt.convert_time_zone("UTC")
        for c, t in frame.schema.items()
        if isinstance(t, pl.Datetime) and t.time_zone is not None
    )
    frame = frame.with_columns(pl.col(pl.Datetime).dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ"))
    frame = frame.with_columns(pl.col(pl.Date).dt.strftime("%Y-%m-%d"))
    frame = frame.with_columns(
        pl.col(c).map_elements(lambda b: base64.b64encode(b).decode("ascii"), return_dtype=pl.String)
        for c, t in frame.schema.items()
        if t == pl.Binary
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
            pl.when(pl.col("previous_id").is_not_null() if "previous_id" in columns else pl.lit(False))
            .then(pl.lit(MessageType.ALIAS))
            .when(pl.col("group_id").is_not_null() if "group_id" in columns else pl.lit(False))
            .then(pl.lit(MessageType.GROUP))
            .when(pl.col("event").is_not_null() if "event" in columns else pl.lit(False))
            .then(pl.lit(MessageType.TRACK))
        )
    frame = frame.with_columns(type_expr.alias(type_col))
    top: list[pl.Expr] = []
    used: set[str] = set()
    for c in columns:
        target = _TOP_LEVEL.get(c)
        if target is not None and c != "type" and target not in {e.meta.output_name() for e in top}:
            top.append(pl.col(c).alias(target))
            used.add(c)
    top.append(pl.col(type_col).alias("type"))
    if "name" in columns:  # a page's or screen's own name; for identify and group it is a trait
        top.append(
            pl.when(pl.col(type_col).is_in([MessageType.PAGE, MessageType.SCREEN])).then(pl.col("name")).alias("name")
        )
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


def read_csv_rows(file: LandedFile, limits: Raw | None = None) -> pl.DataFrame:
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
    data, tail_error = _file_bytes(file, limits or Raw())
    if tail_error is not None and not data:
        return single_line(file, "unreadable_file", tail_error)
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM) :]
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
            header = [printable_name(name) for name in row]
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
        frames.append(
            line_frame(file, good_numbers, lines.to_list(), ["utf-8"] * len(good_numbers), [None] * len(good_numbers))
        )
    if other:
        frames.append(
            line_frame(file, [o[0] for o in other], [o[1] for o in other], [o[2] for o in other], [o[3] for o in other])
        )
    if not frames:
        return line_frame(file, [], [], [], [])
    return pl.concat(frames).sort("line_number")


def _rejected(number: int, raw: str, error: str) -> tuple[int, str, str, str]:
    """A rejected CSV record: its original text, or base64 of its bytes when they are not UTF-8."""
    if _SURROGATES.search(raw):
        return number, b64(raw.encode("utf-8", errors="surrogateescape")), "base64", error
    if "\x00" in raw:
        return number, b64(raw.encode("utf-8")), "base64", error
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


def read_parquet_rows(file: LandedFile, limits: Raw | None = None) -> pl.DataFrame:
    """Parquet rows numbered from 1; an unreadable file is one line with `read_error`. A file
    whose footer says it inflates past `raw.max_table_file_bytes` raises FileTooLarge unread."""
    cap = (limits or Raw()).max_table_file_bytes
    try:
        size = _parquet_size(file)
    except (Exception, PanicException) as exc:
        return single_line(file, "unreadable_file", error_text(exc))
    if size > cap:
        raise FileTooLarge(
            f"its footer says {size:,} uncompressed bytes, over the cap of {cap:,} (raw.max_table_file_bytes): "
            f"split the file or raise the cap"
        )
    try:
        table = pl.read_parquet(file.path)
        if table.height == 0:
            return line_frame(file, [], [], [], [])
        lines = warehouse_rows_to_json(table, _table_type(file))
    except (Exception, PanicException) as exc:  # any reader failure means the file is unusable
        return single_line(file, "unreadable_file", error_text(exc))
    n = table.height
    return line_frame(file, list(range(1, n + 1)), lines.to_list(), ["utf-8"] * n, [None] * n)
