"""raw, one day: copy the landed lines verbatim into raw.landed_lines.

The only module of the layer that reads or writes the warehouse; each write replaces
the day's rows in one transaction, so a re-run gives the same rows and a crash changes nothing.

Each source is listed once per run, before anything is read, and that listing is recorded in
raw.landed_files with the lines, in the same transaction: a file that lands while the day is
being read is not half-read, it is a late file. The next run of the day (the landing sensor
starts one when the day's listing changes) reads it, reports it as `late_files`, and staging's
late event dates restate the as-of days they belong to.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
from pyarrow import parquet as pq

from engagement_pipeline.core.config import Config
from engagement_pipeline.core.warehouse import LANDED_FILES, LANDED_LINES, conform, replace_rows, transaction
from engagement_pipeline.raw.files import LandedFile, fetched_ahead, iter_landed_file, list_landed

DAY = "received_date = ?"


@dataclass(frozen=True)
class LandedDay:
    lines: pl.DataFrame  # every line's position and read error, not its text
    listing: pl.DataFrame  # the rows of raw.landed_files written for the day
    late_files: int  # files (or new versions) that an earlier run of the day had not listed
    kept_files: int = 0  # objects gone from a bucket since an earlier run read them: their lines kept


def run(con: duckdb.DuckDBPyConnection, day: dt.date, config: Config) -> pl.DataFrame:
    """`run_day`'s lines: every line's position and read error, not its text."""
    return run_day(con, day, config).lines


def run_day(con: duckdb.DuckDBPyConnection, day: dt.date, config: Config) -> LandedDay:
    """Copy the day's landed lines verbatim into raw.landed_lines, one file at a time (so only
    one file's text is in memory), and record the listing read in raw.landed_files.

    An object an earlier run read from a bucket and that is gone now (a lifecycle rule expired
    it, say) keeps its lines and its listing row: a re-run never loses lines that were landed.
    A local file is the user's own: removed, its lines go with it."""
    files = list_landed(config.landing_sources, day)
    listed_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    positions: list[pl.DataFrame] = []
    buckets = [s.name for s in config.landing_sources if s.remote]
    with transaction(con):
        earlier = con.execute(f"SELECT * FROM {LANDED_FILES.qualified} WHERE {DAY}", [day]).pl()
        listed = pl.DataFrame(
            {"source": [f.source for f in files], "source_file": [f.relative for f in files]},
            schema={"source": pl.String, "source_file": pl.String},
        )
        vanished = earlier.filter(pl.col("source").is_in(buckets)).join(
            listed, on=["source", "source_file"], how="anti"
        )
        keep = [f"{r['source']}/{r['source_file']}" for r in vanished.iter_rows(named=True)]  # no / in names
        kept = "list_contains(?, coalesce(source, '') || '/' || source_file)"
        con.execute(f"DELETE FROM {LANDED_LINES.qualified} WHERE {DAY} AND NOT {kept}", [day, keep])
        if keep:
            positions.append(
                con.execute(
                    f"SELECT * EXCLUDE (line) FROM {LANDED_LINES.qualified} WHERE {DAY} AND {kept}", [day, keep]
                ).pl()
            )
        with tempfile.TemporaryDirectory(prefix="engagement-landing-", dir=config.paths.warehouse.parent) as spool:
            parts = [Path(spool) / f"{index:06d}.parquet" for index in range(len(files))]
            for part, file in zip(parts, fetched_ahead(files), strict=True):
                positions += _spool_file(part, file, day, config)
            written = [str(part) for part in parts if part.exists()]  # a list, so no path is a glob pattern
            if written:
                con.execute(f"INSERT INTO {LANDED_LINES.qualified} BY NAME SELECT * FROM read_parquet(?)", [written])
        listing = _listing(files, day, listed_at, earlier)
        replace_rows(
            con,
            LANDED_FILES,
            pl.concat([listing, vanished.select(listing.columns)], how="vertical_relaxed"),
            DAY,
            [day],
        )
    late = listing.filter(pl.col("first_listed_at") == listed_at).height if earlier.height else 0
    columns = [c for c in LANDED_LINES.column_names if c != "line"]
    if not positions:
        schema = {k: v for k, v in LANDED_LINES.polars_schema().items() if k != "line"}
        return LandedDay(pl.DataFrame(schema=schema), listing, late, vanished.height)
    return LandedDay(pl.concat([p.select(columns) for p in positions]), listing, late, vanished.height)


def _spool_file(part: Path, file: LandedFile, day: dt.date, config: Config) -> list[pl.DataFrame]:
    """Write one file's lines, block by block, to a Parquet part of the day's spool; return their
    positions. The day's parts are inserted into raw.landed_lines by ONE `INSERT ... SELECT` at the
    end: DuckDB then writes the rows to the warehouse as it reads them, where a block-by-block
    insert of a million lines' text kept about a gigabyte in memory until the commit.

    A file that fails part-way is one unreadable line: its part is started again (see
    `files.iter_landed_file`)."""
    positions: list[pl.DataFrame] = []
    writer: pq.ParquetWriter | None = None
    try:
        for lines, restart in iter_landed_file(file, config.raw):
            if restart:
                if writer is not None:
                    writer.close()
                    writer = None
                part.unlink(missing_ok=True)
                positions = []
            lines = lines.with_columns(
                pl.lit(day, dtype=pl.Date).alias("received_date"), pl.lit(file.source).alias("source")
            )
            table = conform(lines, LANDED_LINES).to_arrow(compat_level=pl.CompatLevel.oldest())
            if writer is None:
                writer = pq.ParquetWriter(part, table.schema, compression="zstd", compression_level=1)
            writer.write_table(table)
            positions.append(lines.drop("line"))
            del lines, table
    finally:
        if writer is not None:
            writer.close()
    return positions


def _listing(files: list[LandedFile], day: dt.date, listed_at: dt.datetime, earlier: pl.DataFrame) -> pl.DataFrame:
    """The day's listing as rows of raw.landed_files; a file keeps the time it was first listed
    (with the same version), so the ones an earlier run did not see stand out."""
    rows = []
    for file in files:
        if file.stored is not None:
            size, version, modified = file.stored.size, file.stored.version, file.stored.modified
        else:
            try:
                info = file.path.lstat()
                size, version = info.st_size, f"{info.st_size}-{info.st_mtime_ns}"
                modified = dt.datetime.fromtimestamp(info.st_mtime, dt.UTC).replace(tzinfo=None)
            except OSError:  # it vanished: its read said so in quarantine
                size, version, modified = 0, "", None
        rows.append((day, file.source, file.relative, size, version, modified, listed_at))
    frame = pl.DataFrame(
        rows,
        schema={c: t for c, t in LANDED_FILES.polars_schema().items() if c != "first_listed_at"},
        orient="row",
    )
    seen = earlier.select("source", "source_file", "version", pl.col("first_listed_at").alias("_first"))
    return (
        frame.join(seen, on=["source", "source_file", "version"], how="left")
        .with_columns(pl.coalesce("_first", "listed_at").alias("first_listed_at"))
        .drop("_first")
    )
