"""Whole-file and whole-day readers for tests (the pipeline itself streams files in blocks)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from engagement_pipeline.raw.files import LandedFile, list_day_files, read_landed_file
from engagement_pipeline.raw.jsonl import iter_json_lines
from engagement_pipeline.raw.lines import RAW_SCHEMA, line_frame


def read_json_lines(file: LandedFile) -> pl.DataFrame:
    """Every line of a JSON-lines file (see `iter_json_lines`) in one frame."""
    frames = list(iter_json_lines(file))
    return pl.concat(frames) if frames else line_frame(file, [], [], [], [])


def read_landed_day(landing: Path, day: dt.date) -> pl.DataFrame:
    """All lines of one received day as a frame shaped like `raw.landed_lines`."""
    frames = [read_landed_file(file) for file in list_day_files(landing, day)]
    combined = pl.concat(frames) if frames else pl.DataFrame(schema=RAW_SCHEMA)
    return combined.with_columns(pl.lit(day, dtype=pl.Date).alias("received_date"))
