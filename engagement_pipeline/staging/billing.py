"""The optional billing input (CSV or Parquet files: account_id, date, plan, mrr, status, and an
optional seats column: the seats bought, a whole number; files without it have seats null)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from engagement_pipeline.core.vocab import PLAN_SYNONYMS, STATUS_SYNONYMS
from engagement_pipeline.core.warehouse import BILLING, conform


def _with_seats(frame: pl.DataFrame) -> pl.DataFrame:
    """`seats` as Int64 (null when absent, empty or unusable) and `_bad_seats`: a value given that is
    not a whole number of at least 0 ("20.0" is 20; "abc", "2.5" and "-3" are bad)."""
    if "seats" not in frame.columns:
        return frame.with_columns(pl.lit(None, dtype=pl.Int64).alias("seats"), pl.lit(False).alias("_bad_seats"))
    raw = pl.col("seats").cast(pl.String).str.strip_chars()
    number = raw.cast(pl.Float64, strict=False)
    whole = number.is_finite() & (number == number.floor()) & (number >= 0) & (number < 2**53)
    return frame.with_columns(
        pl.when(whole).then(number.cast(pl.Int64)).alias("seats"),
        (raw.is_not_null() & (raw != "") & ~whole.fill_null(False)).alias("_bad_seats"),
    )


def read_billing(con: duckdb.DuckDBPyConnection, folder: Path | None) -> tuple[pl.DataFrame, list[str]]:
    """All billing files (CSV or Parquet) as one frame, plus warnings for what was skipped."""
    empty = pl.DataFrame(schema=BILLING.polars_schema())
    if folder is None:
        return empty, []
    if not folder.exists():
        return empty, [f"billing folder {folder} does not exist: billing outcomes come from group traits only"]
    frames, warnings = [], []
    for path in sorted(folder.iterdir()):
        reader = {".csv": "read_csv", ".parquet": "read_parquet"}.get(path.suffix.lower())
        if reader is None or path.name.startswith("."):
            continue
        try:
            rel = con.execute(f"SELECT * FROM {reader}(?)", [str(path)]).pl()
        except duckdb.Error as exc:
            warnings.append(f"billing file {path.name} could not be read ({str(exc).splitlines()[0]})")
            continue
        missing = {"account_id", "date", "plan", "mrr", "status"} - set(rel.columns)
        if missing:
            warnings.append(f"billing file {path.name} lacks columns {sorted(missing)}; skipped")
            continue
        frames.append(_with_seats(rel).with_columns(pl.lit(path.name).alias("source_file")))
    if not frames:
        return empty, warnings
    frame = pl.concat([conform(f, BILLING).with_columns(f.get_column("_bad_seats")) for f in frames]).with_columns(
        pl.col("plan").str.to_lowercase().replace(PLAN_SYNONYMS),
        pl.col("status").str.to_lowercase().replace(STATUS_SYNONYMS),  # canceled -> churned, ... (vocab.py)
    )
    bad = frame.filter(pl.col("account_id").is_null() | pl.col("date").is_null()).height
    if bad:
        warnings.append(f"{bad} billing rows without account_id or date were skipped")
    frame = frame.drop_nulls(["account_id", "date"])
    bad_seats = int(frame.get_column("_bad_seats").sum())
    if bad_seats:
        warnings.append(f"{bad_seats} billing rows with seats not a whole number >= 0 were kept with seats null")
    return frame.drop("_bad_seats").sort("account_id", "date"), warnings
