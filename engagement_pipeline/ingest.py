"""Landing folder -> raw lines: every line kept verbatim with its file and line number.

Nothing is dropped here. A line that cannot be decoded is still a line: it is kept with
a `read_error` so staging can quarantine it with that reason, and so the count of lines
landed is exact. A truncated gzip file keeps every line that could be decompressed; its
broken tail becomes one more line with `read_error = 'truncated_file'`.
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from engagement_pipeline.errors import InputError

JSON_SUFFIXES = (".jsonl", ".json", ".ndjson", ".jsonl.gz", ".json.gz", ".ndjson.gz")
SKIPPED_NAMES = {"_SUCCESS"}
UTF8_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class LandedFile:
    path: Path
    relative: str


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


def split_lines(data: bytes) -> list[bytes]:
    """Split on LF (tolerating CRLF); a final newline does not start another line."""
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM):]
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return [ln[:-1] if ln.endswith(b"\r") else ln for ln in lines]


def read_file_lines(file: LandedFile) -> tuple[list[str], list[str | None]]:
    """Return each line's text and its read error (None when the line decoded cleanly)."""
    data = file.path.read_bytes()
    tail_error: str | None = None
    if file.path.name.endswith(".gz"):
        data, tail_error = _gunzip_salvaging(data)
    raw_lines = split_lines(data)
    if tail_error is not None:
        # The last line of a broken stream is incomplete; if the stream broke exactly at
        # a line end, the missing data still counts as one unreadable line.
        if data.endswith(b"\n") or not raw_lines:
            raw_lines.append(b"")
    texts: list[str] = []
    errors: list[str | None] = []
    try:
        # Fast path: the whole file is valid UTF-8, as almost every file is.
        texts = b"\n".join(raw_lines).decode("utf-8").split("\n") if raw_lines else []
        errors = [None] * len(texts)
    except UnicodeDecodeError:
        texts, errors = [], []
        for ln in raw_lines:
            try:
                texts.append(ln.decode("utf-8"))
                errors.append(None)
            except UnicodeDecodeError:
                texts.append(ln.decode("utf-8", errors="backslashreplace"))
                errors.append("invalid_utf8")
    for i, text in enumerate(texts):
        if errors[i] is None and "\x00" in text:
            errors[i] = "nul_byte"
    if tail_error is not None and texts:
        errors[-1] = "truncated_file"
    return texts, errors


def read_landed_day(landing: Path, day: dt.date) -> pl.DataFrame:
    """All lines of one received day as a frame shaped like `raw.landed_lines`."""
    frames = []
    for file in list_day_files(landing, day):
        if not file.path.name.endswith(JSON_SUFFIXES):
            frames.append(pl.DataFrame({
                "source_file": [file.relative], "line_number": [1], "line": [""],
                "read_error": ["unsupported_file_type"],
            }))
            continue
        texts, errors = read_file_lines(file)
        n = len(texts)
        frames.append(pl.DataFrame({
            "source_file": pl.Series([file.relative] * n, dtype=pl.String),
            "line_number": pl.Series(range(1, n + 1), dtype=pl.Int64),
            "line": pl.Series(texts, dtype=pl.String),
            "read_error": pl.Series(errors, dtype=pl.String),
        }))
    schema = {"source_file": pl.String, "line_number": pl.Int64, "line": pl.String, "read_error": pl.String}
    combined = pl.concat(frames) if frames else pl.DataFrame(schema=schema)
    return combined.with_columns(pl.lit(day, dtype=pl.Date).alias("received_date"))
