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

This module lists a day's files, in each source (a local folder or a bucket, see
`raw/storage.py`), and dispatches each to its reader; every reader returns frames of the shape
in `raw/lines.py`. A stored object is read as a byte stream from the bucket (JSON lines, block
by block) or, for the whole-file table formats, copied to a temporary file first.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import stat
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import polars as pl
from polars.exceptions import PanicException

from engagement_pipeline.core.config_raw import Raw
from engagement_pipeline.core.config_sources import DEFAULT_SOURCE, Layout, Source
from engagement_pipeline.core.errors import InputError
from engagement_pipeline.raw import storage
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
    """A landed file: `relative` is its name under the source's landing (`<day folder>/<name>`).

    For an object in a bucket, `stored` is its listing entry and `fs` the filesystem to open it
    with; `path` then only names it (it is never opened as a local file)."""

    path: Path
    relative: str
    source: str = DEFAULT_SOURCE
    stored: storage.StoredObject | None = None
    fs: Any = field(default=None, compare=False, repr=False)
    data: bytes | BaseException | None = field(default=None, compare=False, repr=False)  # fetched ahead

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


def day_folder(landing: Path, day: dt.date, layout: Layout = "days") -> Path:
    return landing / storage.folder_name(layout, day)


def missing_landing(landing: Path) -> InputError:
    return InputError(
        f"landing folder {landing} does not exist: generate demo data with "
        f"`engagement-pipeline generate` or set paths.landing (or sources) in the config."
    )


def list_landed(sources: list[Source], day: dt.date) -> list[LandedFile]:
    """Every source's files of one received day, each source listed once; a day that no source
    has a folder for is an error (one source may lack a day another has)."""
    files: list[LandedFile] = []
    found = False
    for source in sources:
        listed = list_source_day(source, day)
        if listed is not None:
            found, files = True, files + listed
    if not found:
        where = ", ".join(str(s.landing) for s in sources)
        raise InputError(
            f"no landing folder for {day.isoformat()} in {where}: land that day's files there "
            f"or run only the days that have data."
        )
    return files


def list_source_day(source: Source, day: dt.date) -> list[LandedFile] | None:
    """One source's files of a day, or None when it has no folder for that day."""
    if source.remote:
        listed = storage.list_day(source, day)
        if listed is None:
            return None
        fs, objects = listed
        folder = storage.folder_name(source.layout, day)
        return [
            LandedFile(Path(o.key), f"{folder}/{printable_name(o.name)}", source.name, o, fs)
            for o in objects
            if o.name not in SKIPPED_NAMES and not o.name.startswith(".")  # as in a local folder
        ]
    if not source.local.is_dir():
        raise missing_landing(source.local)
    if not day_folder(source.local, day, source.layout).is_dir():
        return None
    return list_day_files(source.local, day, source.name, source.layout)


def landed_days(sources: list[Source]) -> list[dt.date]:
    """The received days any source holds a folder for (a missing local landing folder is an error)."""
    days: set[dt.date] = set()
    for source in sources:
        if source.remote:
            days.update(storage.list_days(source))
            continue
        if not source.local.is_dir():
            raise missing_landing(source.local)
        for path in source.local.iterdir():
            day = storage.day_of_folder(source.layout, path.name)
            if day is not None and path.is_dir():
                days.add(day)
    return sorted(days)


def list_day_files(
    landing: Path, day: dt.date, source: str = DEFAULT_SOURCE, layout: Layout = "days"
) -> list[LandedFile]:
    """The data files of one received day in a local folder, in a stable order; a missing folder is an error."""
    if not landing.is_dir():
        raise missing_landing(landing)
    folder = day_folder(landing, day, layout)
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
    return [LandedFile(p, f"{folder.name}/{printable_name(p.name)}", source) for p in files]


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
        regular = file.stored.regular if file.stored is not None else stat.S_ISREG(file.path.lstat().st_mode)
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
        with _readable(file, kind) as local:
            for frame in reader(local, limits):
                yield frame, False
    except FileTooLarge as exc:  # a bomb or a giant: the whole file is one quarantine line
        yield single_line(file, "file_too_large", str(exc)), True
    except MemoryError:
        raise  # a resource problem of this machine, not a property of the file
    except (Exception, PanicException) as exc:  # any failure: see read_landed_file
        if file.stored is not None and storage.unreachable(exc):
            # The storage, not the file, failed (network, credentials): the day fails with one
            # sentence and is read again by the next run, rather than losing the file's lines.
            raise storage.storage_problem(exc, str(file.path)) from None
        yield single_line(file, "unreadable_file", error_text(exc)), True


@contextlib.contextmanager
def _readable(file: LandedFile, kind: str) -> Iterator[LandedFile]:
    """The file as the readers take it. A stored JSON-lines object is read as the bucket's byte
    stream (the reader uses only the path's name, `open('rb')` and `read_bytes()`, which
    `storage.ObjectPath` provides); a CSV or Parquet object, read whole anyway, is copied to a
    temporary file first."""
    if file.stored is None:
        yield file
        return
    if isinstance(file.data, BaseException):
        raise file.data  # the fetch ahead failed: judged like a failed read
    remote = storage.ObjectPath(file.fs, file.stored.key, file.data)
    if kind == "json":
        yield replace(file, path=cast(Path, remote))
        return
    with tempfile.TemporaryDirectory(prefix="engagement-object-") as folder:
        local = Path(folder) / remote.name
        local.write_bytes(remote.read_bytes())
        yield replace(file, path=local)


def fetched_ahead(files: list[LandedFile]) -> Iterator[LandedFile]:
    """The files in order, the small objects of a bucket fetched ahead in concurrent batches
    (`storage.fetch_small`); local files and large objects as they are (read as streams)."""
    batch: list[tuple[LandedFile, storage.StoredObject]] = []
    for file in files:
        stored = file.stored
        small = stored is not None and stored.regular and stored.size <= storage.SMALL_OBJECT_BYTES
        if batch and (
            stored is None
            or not small
            or file.fs is not batch[0][0].fs
            or len(batch) >= storage.FETCH_BATCH_OBJECTS
            or sum(s.size for _, s in batch) + stored.size > storage.FETCH_BATCH_BYTES
        ):
            yield from _fetch(batch)
            batch = []
        if stored is not None and small:
            batch.append((file, stored))
        else:
            yield file
    yield from _fetch(batch)


def _fetch(batch: list[tuple[LandedFile, storage.StoredObject]]) -> Iterator[LandedFile]:
    if batch:
        data = storage.fetch_small(batch[0][0].fs, [stored.key for _, stored in batch])
        yield from (replace(file, data=data[stored.key]) for file, stored in batch)


def _one(
    reader: Callable[[LandedFile, Raw], pl.DataFrame],
) -> Callable[[LandedFile, Raw], Iterator[pl.DataFrame]]:
    def blocks(file: LandedFile, limits: Raw) -> Iterator[pl.DataFrame]:
        yield reader(file, limits)

    return blocks
