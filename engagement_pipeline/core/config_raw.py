"""The `raw:` section: how much a landed file may cost to read.

Memory is bounded by construction, whatever lands: files are read block by block, and these
caps stop the inputs whose size is not what it seems. A gzip bomb (kilobytes that inflate to
gigabytes) is caught by the compression ratio long before it is inflated; a file that is
simply huge by the decompressed-size cap; a line with no end in sight by the line cap. What
goes over a cap is quarantined with its reason (`file_too_large`, `line_too_long`); nothing
is silently cut.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

MIB = 1 << 20


class Raw(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_line_bytes: Annotated[int, Field(ge=1024)] = Field(
        default=1 * MIB,
        description="A JSON line longer than this is quarantined as `line_too_long` (its first KiB kept); "
        "Segment itself refuses messages over 32 KB.",
    )
    max_file_bytes: Annotated[int, Field(ge=MIB)] = Field(
        default=16 * 1024 * MIB,
        description="Decompressed bytes a JSON-lines file may hold; over it the file is one `file_too_large` line.",
    )
    max_table_file_bytes: Annotated[int, Field(ge=MIB)] = Field(
        default=1024 * MIB,
        description="Decompressed bytes of a CSV or Parquet file, which are read whole; land bigger tables "
        "as several files or as JSON lines.",
    )
    max_compression_ratio: Annotated[float, Field(ge=2)] = Field(
        default=200.0,
        description="Decompressed / compressed bytes of a gzip file, judged once 1 MiB has been inflated: "
        "event JSON compresses 5-20x, a gzip bomb about 1000x.",
    )
