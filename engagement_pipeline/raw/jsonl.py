"""JSON-lines files (`*.jsonl`, `*.json`, `*.ndjson`, optionally `.gz`) -> raw lines, in blocks.

Each line is kept verbatim. A line that is not valid UTF-8 or holds a NUL byte is kept as
base64 of its bytes with `read_error` `invalid_utf8` / `nul_byte`. A truncated or corrupt
gzip stream keeps every line before the damage; its broken tail is one more line with
`read_error = 'truncated_file'`. A file is read `BLOCK_BYTES` at a time, so its size does
not bound memory; a line over `raw.max_line_bytes` is never held whole (it is skipped to
its end and kept as `line_too_long` with its first KiB), and a file over the `raw:` caps is
refused whole (`streams.FileTooLarge`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import polars as pl

from engagement_pipeline.core.config_raw import Raw
from engagement_pipeline.raw.lines import UTF8_BOM, b64, line_frame, single_line
from engagement_pipeline.raw.streams import StreamEnd, byte_pieces

if TYPE_CHECKING:
    from engagement_pipeline.raw.files import LandedFile

# Decompressed bytes per block of lines: a file of any size is read in blocks of this
# size, so landing a day holds about three blocks in memory, not the whole file.
BLOCK_BYTES = 16 << 20
# Lines per frame: a block of empty lines is 16 million rows; frames stay a few tens of MB.
BLOCK_LINES = 262_144
# What a `line_too_long` line keeps of the original: enough to recognise it.
KEPT_PREFIX_BYTES = 1024


class _Overlong:
    """A line over the cap being skipped to its end: its number, first bytes and length."""

    def __init__(self, number: int, head: bytes, length: int) -> None:
        self.number, self.head, self.length = number, head[:KEPT_PREFIX_BYTES], length

    def kept(self) -> tuple[str, str]:
        """The kept text and its encoding: a note and the first KiB, or base64 of the first KiB
        when it is not clean text (invalid UTF-8 or NUL bytes, as elsewhere in raw)."""
        try:
            text = self.head.decode("utf-8")
        except UnicodeDecodeError:
            text = "\x00"
        if "\x00" in text:
            return b64(self.head), "base64"
        note = f"[line of {self.length:,} bytes over raw.max_line_bytes; first {len(self.head):,} bytes kept] "
        return note + text, "utf-8"

    def frame(self, file: LandedFile) -> pl.DataFrame:
        text, encoding = self.kept()
        return line_frame(file, [self.number], [text], [encoding], ["line_too_long"])


def iter_json_lines(file: LandedFile, limits: Raw | None = None) -> Iterator[pl.DataFrame]:
    """Each line's text (or base64 of its bytes when unreadable) and its read error, in blocks
    of about `BLOCK_BYTES` (and at most `BLOCK_LINES` lines); line numbers run on across blocks."""
    limits = limits or Raw()
    end = StreamEnd()
    buffered: list[bytes] = []
    size = 0
    number = 0
    carry = b""
    first = True
    overlong: _Overlong | None = None
    for piece in byte_pieces(file.path, end, limits):
        if overlong is not None:  # skipping an over-long line to its end
            cut = piece.find(b"\n")
            overlong.length += len(piece) if cut < 0 else cut
            if cut < 0:
                continue
            yield overlong.frame(file)
            number, overlong, piece = overlong.number, None, piece[cut + 1 :]
        buffered.append(piece)
        size += len(piece)
        if size < BLOCK_BYTES:
            continue
        data = carry + b"".join(buffered)
        buffered, size = [], 0
        if first:
            if len(data) < len(UTF8_BOM):  # too short to tell whether it starts with a BOM
                carry = data
                continue
            data, first = data.removeprefix(UTF8_BOM), False
        cut = data.rfind(b"\n")
        carry = data[cut + 1 :]
        if cut >= 0:
            for block in _block_frames(file, data[:cut], number, limits):
                number += block.height
                yield block
        del data
        if len(carry) > limits.max_line_bytes:  # the line has no end in sight: skip, never hold it
            overlong, carry = _Overlong(number + 1, carry, len(carry)), b""
    if overlong is not None:
        yield overlong.frame(file)
        return
    data = carry + b"".join(buffered)
    del buffered
    if first:
        data = data.removeprefix(UTF8_BOM)
    if end.error is not None and end.size == 0:
        # Nothing at all could be decompressed (not gzip, or a bare header): the file is
        # unreadable, not "truncated after zero lines".
        yield single_line(file, "unreadable_file", end.error)
        return
    if end.error is None:
        if data:
            yield from _block_frames(file, data.removesuffix(b"\n"), number, limits)
        return
    # A broken stream: its last line is `truncated_file`; when it broke at a line end, the
    # missing data still counts as one unreadable line.
    cut = data.rfind(b"\n")
    if cut >= 0:
        for block in _block_frames(file, data[:cut], number, limits):
            number += block.height
            yield block
    tail = _block_frame(file, data[cut + 1 :], number, limits)
    yield tail.with_columns(pl.lit("truncated_file", dtype=pl.String).alias("read_error"))


def _block_frames(file: LandedFile, block: bytes, before: int, limits: Raw) -> Iterator[pl.DataFrame]:
    """`_block_frame` in frames of at most `BLOCK_LINES` lines."""
    frame = _block_frame(file, block, before, limits)
    for offset in range(0, max(frame.height, 1), BLOCK_LINES):
        yield frame.slice(offset, BLOCK_LINES)


def _block_frame(file: LandedFile, block: bytes, before: int, limits: Raw) -> pl.DataFrame:
    """The lines of `block` (LF-separated, a CR before the LF dropped), numbered after `before`;
    a line over `limits.max_line_bytes` keeps its first KiB as `line_too_long`."""
    fast = _split_valid_text(block) if b"\x00" not in block else None
    if fast is not None:
        # Fast path: valid UTF-8 without NUL bytes, as almost every block is.
        n = fast.len()
        errors = pl.repeat(None, n, eager=True, dtype=pl.String)
        long = fast.str.len_bytes() > limits.max_line_bytes
        if long.any():
            note = pl.lit("[line over raw.max_line_bytes; first KiB kept] ")
            kept = pl.select(pl.when(long).then(note + fast.str.slice(0, KEPT_PREFIX_BYTES)).otherwise(fast))
            fast = kept.to_series().alias("line")
            errors = pl.select(pl.when(long).then(pl.lit("line_too_long"))).to_series().alias("read_error")
        return _lines_frame(file, fast, before, pl.repeat("utf-8", n, eager=True, dtype=pl.String), errors)
    texts: list[str] = []
    encodings: list[str] = []
    errors_: list[str | None] = []
    for ln in block.split(b"\n"):
        ln = ln.removesuffix(b"\r")
        if len(ln) > limits.max_line_bytes:
            text, encoding = _Overlong(0, ln, len(ln)).kept()
            texts.append(text)
            encodings.append(encoding)
            errors_.append("line_too_long")
            continue
        try:
            text = ln.decode("utf-8")
        except UnicodeDecodeError:
            texts.append(b64(ln))
            encodings.append("base64")
            errors_.append("invalid_utf8")
            continue
        if "\x00" in text:
            texts.append(b64(ln))
            encodings.append("base64")
            errors_.append("nul_byte")
        else:
            texts.append(text)
            encodings.append("utf-8")
            errors_.append(None)
    return line_frame(file, list(range(before + 1, before + len(texts) + 1)), texts, encodings, errors_)


def _split_valid_text(block: bytes) -> pl.Series | None:
    """The lines of a block (no final LF) if it is valid UTF-8, else None.

    Validating and splitting in polars keeps a million lines out of Python objects: about
    4x faster than decoding in Python and a third of the memory of a list of str.
    """
    try:
        text = pl.Series("line", [block], dtype=pl.Binary).cast(pl.String)
    except pl.exceptions.ComputeError:  # not valid UTF-8
        return None
    lines = text.str.split("\n").explode()
    if b"\r" in block:
        lines = lines.str.strip_suffix("\r")
    return lines.alias("line")


def _lines_frame(
    file: LandedFile, lines: pl.Series, before: int, encodings: pl.Series, errors: pl.Series
) -> pl.DataFrame:
    n = lines.len()
    return pl.DataFrame(
        {
            "source_file": pl.repeat(file.relative, n, eager=True, dtype=pl.String),
            "line_number": pl.int_range(before + 1, before + n + 1, eager=True, dtype=pl.Int64),
            "line": lines,
            "encoding": encodings.alias("encoding"),
            "read_error": errors.alias("read_error"),
        }
    )
