"""The `collector:` section of `engagement.yaml`: the Segment-compatible HTTP collector.

The write keys themselves are never in the config file: `write_keys_env` names the
environment variable that holds them, comma-separated (a key is a credential: whoever has
one can write events into the landing).
"""

from __future__ import annotations

import os
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from engagement_pipeline.core.errors import ConfigError

# Segment's own limits (its HTTP tracking API): 32 KB a message, 500 KB a batch request.
SEGMENT_MESSAGE_BYTES = 32 * 1024
SEGMENT_BATCH_BYTES = 500 * 1024


class Collector(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    write_keys_env: str = Field(
        default="ENGAGEMENT_WRITE_KEYS",
        description="Environment variable holding the accepted write keys, comma-separated.",
    )
    host: str = Field(default="127.0.0.1", description="Address to listen on (`--host` overrides it).")
    port: Annotated[int, Field(ge=1, le=65535)] = 8088
    max_message_bytes: Annotated[int, Field(ge=1024)] = SEGMENT_MESSAGE_BYTES
    max_batch_bytes: Annotated[int, Field(ge=1024)] = SEGMENT_BATCH_BYTES
    rotate_bytes: Annotated[int, Field(ge=1 << 20)] = Field(
        default=128 << 20, description="A collector file is closed and a new one opened past this size."
    )
    max_backlog_bytes: Annotated[int, Field(ge=1 << 20)] = Field(
        default=64 << 20,
        description="Accepted bytes waiting for their fsync; over it (or over max_backlog_requests) "
        "requests get 429 with Retry-After.",
    )
    max_backlog_requests: Annotated[int, Field(ge=1)] = 2000
    retry_after_seconds: Annotated[int, Field(ge=1, le=300)] = 1
    write_marker: bool = Field(
        default=True,
        description="Write the automation.success_marker into a day folder the collector wrote to, "
        "once that UTC day is over and its last message is on disk.",
    )

    def write_keys(self) -> list[str]:
        """The accepted write keys, from the environment; none is a ConfigError naming the variable."""
        raw = os.environ.get(self.write_keys_env, "")
        keys = [k.strip() for k in raw.split(",") if k.strip()]
        if not keys:
            raise ConfigError(
                f"no write key: set {self.write_keys_env} to the comma-separated write keys your apps "
                f"send (collector.write_keys_env names this variable), then start the collector again."
            )
        if any(":" in k for k in keys):
            raise ConfigError(
                f"a write key in {self.write_keys_env} contains ':', which HTTP Basic auth cannot carry in a "
                f"user name: use keys of letters and digits."
            )
        return keys
