"""JSON-lines files (`*.jsonl`, `*.json`, `*.ndjson`, optionally `.gz`) -> raw lines, in blocks.

Each line is kept verbatim. A line that is not valid UTF-8 or holds a NUL byte is kept as
base64 of its bytes with `read_error` `invalid_utf8` / `nul_byte`. A truncated or corrupt
gzip stream keeps every line before the damage; its broken tail is one more line with
`read_error = 'truncated_file'`. A file is read `BLOCK_BYTES` at a time, so its size does
not bound memory.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from engagement_pipeline.raw.lines import UTF8_BOM, b64, line_frame, single_line

if TYPE_CHECKING:
    from engagement_pipeline.raw.files import LandedFile

# Decompressed bytes per block of lines: a file of any size is read in blocks of this
# size, so landing a day holds about three blocks in memory, not the whole file.
BLOCK_BYTES = 16 << 20


@dataclass
class _StreamEnd:
    error: str | None = None
    size: int = 0


def _byte_pieces(file: LandedFile, end: _StreamEnd) -> Iterator[bytes]:
    """The file's bytes (decompressed from possibly multi-member gzip), in pieces of at most
    `BLOCK_BYTES`. A corrupt or truncated stream ends the pieces and sets `end.error`: what
    preceded the damage is kept."""
    if not file.path.name.lower().endswith(".gz"):
        with file.path.open("rb") as handle:
            while piece := handle.read(BLOCK_BYTES):
                end.size += len(piece)
                yield piece
        return
    rest = file.path.read_bytes()  # compressed: several times smaller than the text
    while rest:
        decompressor = zlib.decompressobj(wbits=31)
        pending = rest
        while not decompressor.eof:
            try:
                piece = decompressor.decompress(pending, BLOCK_BYTES)
                pending = decompressor.unconsumed_tail
                if not pending and not piece and not decompressor.eof:
                    piece = decompressor.flush()
                    if not decompressor.eof:
                        end.error = "gzip stream ends early (file truncated)"
            except zlib.error as exc:
                end.error = f"corrupt gzip data ({exc})"
                piece = b""
            if piece:
                end.size += len(piece)
                yield piece
            if end.error:
                return
        rest = decompressor.unused_data.lstrip(b"\x00")


def iter_json_lines(file: LandedFile) -> Iterator[pl.DataFrame]:
    """Each line's text (or base64 of its bytes when unreadable) and its read error, in blocks
    of about `BLOCK_BYTES`; line numbers run on across blocks."""
    end = _StreamEnd()
    buffered: list[bytes] = []
    size = 0
    number = 0
    carry = b""
    first = True
    for piece in _byte_pieces(file, end):
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
        if cut < 0:
            carry = data
            continue
        carry = data[cut + 1 :]
        block = _block_frame(file, data[:cut], number)
        del data
        number += block.height
        yield block
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
            yield _block_frame(file, data.removesuffix(b"\n"), number)
        return
    # A broken stream: its last line is `truncated_file`; when it broke at a line end, the
    # missing data still counts as one unreadable line.
    cut = data.rfind(b"\n")
    if cut >= 0:
        yield _block_frame(file, data[:cut], number)
        number += data[:cut].count(b"\n") + 1
    tail = _block_frame(file, data[cut + 1 :], number)
    yield tail.with_columns(pl.lit("truncated_file", dtype=pl.String).alias("read_error"))


def _block_frame(file: LandedFile, block: bytes, before: int) -> pl.DataFrame:
    """The lines of `block` (LF-separated, a CR before the LF dropped), numbered after `before`."""
    fast = _split_valid_text(block) if b"\x00" not in block else None
    if fast is not None:
        # Fast path: valid UTF-8 without NUL bytes, as almost every block is.
        n = fast.len()
        return _lines_frame(
            file,
            fast,
            before,
            pl.repeat("utf-8", n, eager=True, dtype=pl.String),
            pl.repeat(None, n, eager=True, dtype=pl.String),
        )
    texts: list[str] = []
    encodings: list[str] = []
    errors: list[str | None] = []
    for ln in block.split(b"\n"):
        ln = ln.removesuffix(b"\r")
        try:
            text = ln.decode("utf-8")
        except UnicodeDecodeError:
            texts.append(b64(ln))
            encodings.append("base64")
            errors.append("invalid_utf8")
            continue
        if "\x00" in text:
            texts.append(b64(ln))
            encodings.append("base64")
            errors.append("nul_byte")
        else:
            texts.append(text)
            encodings.append("utf-8")
            errors.append(None)
    return line_frame(file, list(range(before + 1, before + len(texts) + 1)), texts, encodings, errors)


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
