"""The optional billing input (CSV or Parquet files: account_id, date, plan, mrr, status)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from engagement_pipeline.core.vocab import PLAN_SYNONYMS, STATUS_SYNONYMS
from engagement_pipeline.core.warehouse import BILLING, conform


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
        frames.append(rel.with_columns(pl.lit(path.name).alias("source_file")))
    if not frames:
        return empty, warnings
    frame = pl.concat([conform(f, BILLING) for f in frames]).with_columns(
        pl.col("plan").str.to_lowercase().replace(PLAN_SYNONYMS),
        pl.col("status").str.to_lowercase().replace(STATUS_SYNONYMS),  # canceled -> churned, ... (vocab.py)
    )
    bad = frame.filter(pl.col("account_id").is_null() | pl.col("date").is_null()).height
    if bad:
        warnings.append(f"{bad} billing rows without account_id or date were skipped")
    return frame.drop_nulls(["account_id", "date"]).sort("account_id", "date"), warnings
