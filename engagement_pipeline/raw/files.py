"""Landing folder -> raw lines: every line kept with its file and line number.

Nothing is dropped here. A line that cannot be decoded is still a line: it is kept
(base64 of its original bytes) with a `read_error`, so staging quarantines it with that
reason, the original can be replayed after a fix, and the count of lines landed is
exact. A truncated gzip file keeps every line that could be decompressed; its broken
tail becomes one more line with `read_error = 'truncated_file'`.

Formats, by file name:
- `*.jsonl`, `*.json`, `*.ndjson` (optionally `.gz`): Segment messages, one per line,
  kept verbatim (`raw/jsonl.py`).
- `*.csv` (optionally `.gz`) and `*.parquet`: Segment warehouse-style rows (snake_case
  columns, `id` = messageId, flattened `context_*`). Each row becomes the equivalent
  Segment JSON object (see `tables.warehouse_rows_to_json`), which is what `line` holds; the
  line number is the CSV record's last physical line, or the Parquet row number
  (`raw/tables.py`).

This module lists a day's files and dispatches each to its reader; every reader returns
frames of the shape in `raw/lines.py`.
"""

from __future__ import annotations

import datetime as dt
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from polars.exceptions import PanicException

from engagement_pipeline.core.config_raw import Raw
from engagement_pipeline.core.errors import InputError
from engagement_pipeline.raw.jsonl import iter_json_lines
from engagement_pipeline.raw.lines import error_text, line_frame, printable_name, single_line
from engagement_pipeline.raw.streams import FileTooLarge
from engagement_pipeline.raw.tables import read_csv_rows, read_parquet_rows

JSON_SUFFIXES = (".jsonl", ".json", ".ndjson")
CSV_SUFFIXES = (".csv",)
PARQUET_SUFFIXES = (".parquet",)
SKIPPED_NAMES = {"_SUCCESS"}


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
    # Entries are judged by lstat, never through a link: a symlink (to /etc/passwd, say), a FIFO
    # (which would block the read forever), a device or a socket is not read but listed, so it
    # becomes one `not_a_regular_file` line in quarantine. Sub-folders are not day data.
    files = [
        p
        for p in sorted(folder.iterdir())
        if not stat.S_ISDIR(p.lstat().st_mode) and p.name not in SKIPPED_NAMES and not p.name.startswith(".")
    ]
    return [LandedFile(p, f"{day.isoformat()}/{printable_name(p.name)}") for p in files]


def read_landed_file(file: LandedFile, limits: Raw | None = None) -> pl.DataFrame:
    """One file's lines. A file that cannot be read at all (an OSError such as a permission
    problem or the file vanishing, or a reader failure) is one `unreadable_file` line, so one
    bad file costs its own lines, never the whole day."""
    frames: list[pl.DataFrame] = []
    for frame, restart in iter_landed_file(file, limits):
        frames = [frame] if restart else [*frames, frame]
    return pl.concat(frames) if frames else line_frame(file, [], [], [], [])


def iter_landed_file(file: LandedFile, limits: Raw | None = None) -> Iterator[tuple[pl.DataFrame, bool]]:
    """`read_landed_file` in blocks (JSON lines are read `jsonl.BLOCK_BYTES` at a time): yields
    (frame, restart). restart=True comes at most once, last: the file failed part-way, so
    the blocks it yielded before must be dropped; that frame is its one `unreadable_file` line
    (or `file_too_large`, when it passed a `raw:` cap)."""
    limits = limits or Raw()
    try:
        regular = stat.S_ISREG(file.path.lstat().st_mode)
    except OSError as exc:  # it vanished between the listing and the read
        yield single_line(file, "unreadable_file", error_text(exc)), False
        return
    if not regular:
        yield single_line(file, "not_a_regular_file"), False
        return
    kind = file.kind
    if kind == "unsupported":
        yield single_line(file, "unsupported_file_type"), False
        return
    reader = {"json": iter_json_lines, "csv": _one(read_csv_rows), "parquet": _one(read_parquet_rows)}[kind]
    try:
        for frame in reader(file, limits):
            yield frame, False
    except FileTooLarge as exc:  # a bomb or a giant: the whole file is one quarantine line
        yield single_line(file, "file_too_large", str(exc)), True
    except MemoryError:
        raise  # a resource problem of this machine, not a property of the file
    except (Exception, PanicException) as exc:  # any failure: see read_landed_file
        yield single_line(file, "unreadable_file", error_text(exc)), True


def _one(
    reader: Callable[[LandedFile, Raw], pl.DataFrame],
) -> Callable[[LandedFile, Raw], Iterator[pl.DataFrame]]:
    def blocks(file: LandedFile, limits: Raw) -> Iterator[pl.DataFrame]:
        yield reader(file, limits)

    return blocks
