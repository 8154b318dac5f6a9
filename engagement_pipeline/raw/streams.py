"""A landed file's bytes, decompressed piece by piece under the `raw:` caps.

Both the compressed input and the inflated output are handled `PIECE_BYTES` at a time, so a
file of any size, or a few kilobytes that inflate to gigabytes, never holds more than a piece
in memory here. A gzip bomb is stopped by its compression ratio once `RATIO_GRACE_BYTES` are
inflated; any file by its decompressed size. Both raise `FileTooLarge`, which the reader turns
into one `file_too_large` quarantine line for the whole file.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from engagement_pipeline.core.config_raw import Raw

PIECE_BYTES = 1 << 20
RATIO_GRACE_BYTES = 1 << 20


class FileTooLarge(Exception):
    """A file over a `raw:` cap; its message says which cap and how to lift it."""


@dataclass
class StreamEnd:
    """How a stream ended: `error` says why when it broke (truncated or corrupt gzip), `size`
    counts the decompressed bytes yielded."""

    error: str | None = None
    size: int = 0
    consumed: int = 0  # compressed bytes inflated so far (gzip only)


def is_gzip(path: Path) -> bool:
    return path.name.lower().endswith(".gz")


def byte_pieces(path: Path, end: StreamEnd, limits: Raw, cap: int | None = None) -> Iterator[bytes]:
    """The file's bytes (inflated from possibly multi-member gzip), in pieces of at most
    `PIECE_BYTES`. A corrupt or truncated gzip stream ends the pieces and sets `end.error`:
    what preceded the damage is kept. Over `cap` decompressed bytes (default
    `limits.max_file_bytes`) or `limits.max_compression_ratio`, raises FileTooLarge."""
    cap = limits.max_file_bytes if cap is None else cap
    with path.open("rb") as handle:
        pieces = _gunzip(handle, end) if is_gzip(path) else iter(lambda: handle.read(PIECE_BYTES), b"")
        for piece in pieces:
            end.size += len(piece)
            if end.size > cap:
                raise FileTooLarge(
                    f"decompressed size passed the cap of {cap:,} bytes (raw.max_file_bytes / "
                    f"raw.max_table_file_bytes): split the file or raise the cap"
                )
            if is_gzip(path) and end.size > RATIO_GRACE_BYTES:
                consumed = max(end.consumed, 1)
                if end.size > limits.max_compression_ratio * consumed:
                    raise FileTooLarge(
                        f"{consumed:,} compressed bytes inflated to over {end.size:,} "
                        f"(more than {limits.max_compression_ratio:g}x, raw.max_compression_ratio): "
                        f"a decompression bomb or a degenerate file; it is not read"
                    )
            yield piece


def _gunzip(handle: object, end: StreamEnd) -> Iterator[bytes]:
    """Inflate a gzip stream of one or more members read `PIECE_BYTES` at a time; NUL padding
    between members is skipped. Damage sets `end.error` and ends the stream."""
    read = handle.read  # type: ignore[attr-defined]
    decompressor = zlib.decompressobj(wbits=31)
    fed = False  # whether the current member has had input
    pending = b""
    total = 0
    while True:
        if not pending:
            pending = read(PIECE_BYTES)
            total += len(pending)
            if not pending:
                if fed and not decompressor.eof:
                    tail = decompressor.flush()
                    if tail:
                        yield tail
                    end.error = "gzip stream ends early (file truncated)"
                return
        if decompressor.eof:  # the next member, after any NUL padding
            pending = pending.lstrip(b"\x00")
            if not pending:
                continue
            decompressor, fed = zlib.decompressobj(wbits=31), False
        try:
            piece = decompressor.decompress(pending, PIECE_BYTES)
        except zlib.error as exc:
            end.error = f"corrupt gzip data ({exc})"
            return
        fed = True
        pending = decompressor.unused_data if decompressor.eof else decompressor.unconsumed_tail
        end.consumed = total - len(pending)
        if piece:
            yield piece
