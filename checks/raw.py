"""raw: every landed line keeps its position."""

from __future__ import annotations

import polars as pl
from dagster import AssetCheckResult

from checks.common import Check, result
from engagement_pipeline.core import keys

CHECKS = {
    c.name: c
    for c in (
        Check(
            "lines_have_position",
            keys.RAW_LINES,
            "Every landed line has its source file and a unique 1-based line number.",
        ),
    )
}


def lines_have_position(lines: pl.DataFrame) -> AssetCheckResult:
    problems = []
    missing = lines.filter(pl.col("source_file").is_null() | pl.col("line_number").is_null()).height
    if missing:
        problems.append(f"{missing} lines lack a source file or line number")
    dupes = lines.height - lines.select("source_file", "line_number").unique().height
    if dupes:
        problems.append(f"{dupes} lines repeat a (file, line number) position")
    return result(CHECKS["lines_have_position"], problems, lines=lines.height)
