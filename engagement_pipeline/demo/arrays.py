"""Fixed-width strings built in numpy: ids, timestamps and digits without per-row Python.

Much of a Segment message is fixed-width once its values are known (uuid4 messageIds, ISO-8601
timestamps with milliseconds, zero-padded ids), so those pieces are built as (n, width) byte
matrices and wrapped as polars String series, which polars then concatenates with the
variable-width pieces.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import polars as pl
import pyarrow as pa

DAY_MS = 86_400_000


def epoch_ms(day: dt.date) -> int:
    """Epoch milliseconds of midnight (UTC) starting `day`."""
    return (day - dt.date(1970, 1, 1)).days * DAY_MS


_HEX_TABLE = np.frombuffer("".join(f"{i:02x}" for i in range(256)).encode(), dtype=np.uint8).reshape(256, 2)


def hex_matrix(random_bytes: np.ndarray) -> np.ndarray:
    """(n, k) bytes -> (n, 2k) lower-case hex digits."""
    n, k = random_bytes.shape
    return _HEX_TABLE[random_bytes].reshape(n, 2 * k)


def uuid4_matrix(rng: np.random.Generator, n: int) -> np.ndarray:
    """n random version-4 UUIDs as an (n, 36) byte matrix."""
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    hexes = hex_matrix(raw)
    out = np.full((n, 36), ord("-"), dtype=np.uint8)
    out[:, 0:8] = hexes[:, 0:8]
    out[:, 9:13] = hexes[:, 8:12]
    out[:, 14:18] = hexes[:, 12:16]
    out[:, 19:23] = hexes[:, 16:20]
    out[:, 24:36] = hexes[:, 20:32]
    return out


def iso_matrix(epoch_ms: np.ndarray) -> np.ndarray:
    """Epoch milliseconds -> (n, 24) bytes 'YYYY-MM-DDTHH:MM:SS.mmmZ' (UTC)."""
    epoch_ms = np.asarray(epoch_ms, dtype=np.int64)
    n = len(epoch_ms)
    out = np.empty((n, 24), dtype=np.uint8)
    if n == 0:
        return out
    days = epoch_ms // DAY_MS
    rest = epoch_ms - days * DAY_MS
    first, last = int(days.min()), int(days.max())
    epoch = dt.date(1970, 1, 1)
    prefixes = "".join((epoch + dt.timedelta(days=k)).isoformat() + "T" for k in range(first, last + 1))
    table = np.frombuffer(prefixes.encode(), dtype=np.uint8).reshape(last - first + 1, 11)
    out[:, :11] = table[days - first]
    zero = ord("0")
    for pos, value in ((11, rest // 3_600_000), (14, rest // 60_000 % 60), (17, rest // 1000 % 60)):
        out[:, pos] = zero + value // 10
        out[:, pos + 1] = zero + value % 10
    millis = rest % 1000
    out[:, 13] = out[:, 16] = ord(":")
    out[:, 19] = ord(".")
    out[:, 20] = zero + millis // 100
    out[:, 21] = zero + millis // 10 % 10
    out[:, 22] = zero + millis % 10
    out[:, 23] = ord("Z")
    return out


def digits_matrix(values: np.ndarray, width: int) -> np.ndarray:
    """Non-negative integers -> (n, width) zero-padded decimal digits."""
    values = np.asarray(values, dtype=np.int64)
    out = np.empty((len(values), width), dtype=np.uint8)
    for pos in range(width - 1, -1, -1):
        out[:, pos] = ord("0") + values % 10
        values = values // 10
    return out


def _fixed_width_series(matrix: np.ndarray) -> pl.Series:
    """Wrap an (n, width) matrix of ASCII bytes as a polars String series (no per-row Python)."""
    n, width = matrix.shape
    offsets = np.arange(0, n * width + 1, width, dtype=np.int64)
    array = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(matrix)))
    series = pl.from_arrow(array)
    assert isinstance(series, pl.Series)
    return series


def with_literals(*parts: str | np.ndarray) -> pl.Series:
    """Concatenate literal strings and (n, w) byte matrices column-wise into one fixed-width series."""
    n = next(len(p) for p in parts if isinstance(p, np.ndarray))
    blocks = [
        np.broadcast_to(np.frombuffer(p.encode(), dtype=np.uint8), (n, len(p.encode()))) if isinstance(p, str) else p
        for p in parts
    ]
    return _fixed_width_series(np.concatenate(blocks, axis=1))


def gather(values: Sequence[str] | pl.Series, index: np.ndarray) -> pl.Series:
    """values[index] as a polars String series."""
    table = values if isinstance(values, pl.Series) else pl.Series(values, dtype=pl.String)
    return table.gather(pl.Series(index, dtype=pl.Int64))
