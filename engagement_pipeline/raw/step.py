"""raw, one day: copy the landed lines verbatim into raw.landed_lines.

The only module of the layer that reads or writes the warehouse; each write replaces
the day's rows in one transaction, so a re-run gives the same rows and a crash changes nothing.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from engagement_pipeline.core.config import Config
from engagement_pipeline.core.warehouse import LANDED_LINES, insert_rows, transaction
from engagement_pipeline.raw.files import iter_landed_file, list_day_files

DAY = "received_date = ?"


def run(con: duckdb.DuckDBPyConnection, day: dt.date, config: Config) -> pl.DataFrame:
    """Copy the day's landed lines verbatim into raw.landed_lines, one file at a time (so only
    one file's text is in memory); returns every line's position and read error, not its text."""
    positions: list[pl.DataFrame] = []
    with transaction(con):
        con.execute(f"DELETE FROM {LANDED_LINES.qualified} WHERE {DAY}", [day])
        for file in list_day_files(config.paths.landing, day):
            kept = len(positions)
            for lines, restart in iter_landed_file(file, config.raw):
                if restart:  # the file failed part-way: it is one unreadable line, nothing more
                    con.execute(
                        f"DELETE FROM {LANDED_LINES.qualified} WHERE {DAY} AND source_file = ?", [day, file.relative]
                    )
                    del positions[kept:]
                lines = lines.with_columns(pl.lit(day, dtype=pl.Date).alias("received_date"))
                insert_rows(con, LANDED_LINES, lines)
                positions.append(lines.drop("line"))
                del lines
    if not positions:
        return pl.DataFrame(schema={k: v for k, v in LANDED_LINES.polars_schema().items() if k != "line"})
    return pl.concat(positions)
