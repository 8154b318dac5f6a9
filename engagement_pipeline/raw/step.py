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
from dataclasses import dataclass

import duckdb
import polars as pl

from engagement_pipeline.core.config import Config
from engagement_pipeline.core.warehouse import LANDED_FILES, LANDED_LINES, insert_rows, replace_rows, transaction
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
        for file in fetched_ahead(files):
            before = len(positions)
            for lines, restart in iter_landed_file(file, config.raw):
                if restart:  # the file failed part-way: it is one unreadable line, nothing more
                    con.execute(
                        f"DELETE FROM {LANDED_LINES.qualified} WHERE {DAY} AND source = ? AND source_file = ?",
                        [day, file.source, file.relative],
                    )
                    del positions[before:]
                lines = lines.with_columns(
                    pl.lit(day, dtype=pl.Date).alias("received_date"), pl.lit(file.source).alias("source")
                )
                insert_rows(con, LANDED_LINES, lines)
                positions.append(lines.drop("line"))
                del lines
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
