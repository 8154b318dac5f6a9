"""The shape of raw lines: the frame every reader returns, one row per line.

Every reader (JSON lines, CSV, Parquet) gives frames shaped like `raw.landed_lines` without
the received date: source_file, line_number, line, encoding, read_error. A line that cannot
be kept as text is base64 of its bytes (`encoding = 'base64'`).
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from engagement_pipeline.raw.files import LandedFile

UTF8_BOM = b"\xef\xbb\xbf"
RAW_SCHEMA = {
    "source_file": pl.String,
    "line_number": pl.Int64,
    "line": pl.String,
    "encoding": pl.String,
    "read_error": pl.String,
}


def printable_name(name: str) -> str:
    """A file name as valid UTF-8 text: bytes that are not UTF-8 (surrogate-escaped by the OS
    layer) become `\\xNN`, so the name can be stored and shown (a raw lone surrogate cannot)."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def line_frame(
    file: LandedFile, numbers: list[int], texts: list[str], encodings: list[str], errors: list[str | None]
) -> pl.DataFrame:
    n = len(texts)
    return pl.DataFrame(
        {
            "source_file": pl.Series([file.relative] * n, dtype=pl.String),
            "line_number": pl.Series(numbers, dtype=pl.Int64),
            "line": pl.Series(texts, dtype=pl.String),
            "encoding": pl.Series(encodings, dtype=pl.String),
            "read_error": pl.Series(errors, dtype=pl.String),
        }
    )


def single_line(file: LandedFile, error: str, text: str = "") -> pl.DataFrame:
    return line_frame(file, [1], [text], ["utf-8"], [error])


def error_text(exc: BaseException) -> str:
    text = str(exc).splitlines()[0][:500] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
