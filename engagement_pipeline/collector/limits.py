"""Reading a request body within Segment's limits, and the errors a request can end with.

Every refusal is an `ApiError`: an HTTP status and a JSON body `{"code", "message"}`, the
shape Segment's and RudderStack's client libraries read. Sizes are checked on the bytes as
they arrive (a client cannot make the collector buffer more than the limit) and on the
decompressed body (a small gzip body cannot inflate past it either).
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass


class ApiError(Exception):
    """A request refused with `status` and a JSON reason."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


def kb(n: int) -> str:
    return f"{n / 1024:g} KB"


def too_large(limit: int) -> ApiError:
    return ApiError(413, "batch_too_large", f"the request body is over {kb(limit)}, Segment's limit for a batch")


@dataclass(frozen=True)
class Body:
    data: bytes  # decompressed
    wire_bytes: int  # as received
    gzip: bool


async def read_body(
    chunks: AsyncIterator[bytes], content_encoding: str | None, content_length: str | None, limit: int
) -> Body:
    """The request body, gunzipped when sent with `Content-Encoding: gzip`, at most `limit` bytes
    both as sent and decompressed; 413 past it, 400 for a broken gzip stream, 415 for another encoding."""
    encoding = (content_encoding or "identity").strip().lower()
    if encoding not in ("identity", "gzip", "x-gzip"):
        raise ApiError(
            415, "unsupported_encoding", f"Content-Encoding {encoding!r} is not supported: send gzip or none"
        )
    if content_length is not None and content_length.isdigit() and int(content_length) > limit:
        raise too_large(limit)
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        parts.append(chunk)
    raw = b"".join(parts)
    if encoding == "identity":
        return Body(raw, size, gzip=False)
    return Body(gunzip(raw, limit), size, gzip=True)


def gunzip(raw: bytes, limit: int) -> bytes:
    """Decompress a gzip body (several members allowed), never past `limit` bytes."""
    out: list[bytes] = []
    size = 0
    rest = raw
    try:
        while rest:
            decompressor = zlib.decompressobj(wbits=31)
            piece = decompressor.decompress(rest, limit + 1 - size)
            size += len(piece)
            out.append(piece)
            if size > limit or decompressor.unconsumed_tail:
                raise too_large(limit)
            if not decompressor.eof:
                raise ApiError(400, "invalid_gzip", "the gzip body ends early (truncated)")
            rest = decompressor.unused_data
    except zlib.error:
        raise ApiError(400, "invalid_gzip", "the body is not valid gzip (Content-Encoding: gzip was sent)") from None
    return b"".join(out)
