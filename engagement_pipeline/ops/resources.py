"""Dagster resources: the validated config and the DuckDB warehouse connection."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

import duckdb
from dagster import ConfigurableResource
from dagster_duckdb import DuckDBResource

from engagement_pipeline.core.config import Config, load_config
from engagement_pipeline.core.warehouse import ensure_schema, owner_only


@lru_cache(maxsize=8)
def _cached_config(path: str, mtime_ns: int) -> Config:
    return load_config(path)


class EngagementConfig(ConfigurableResource):
    """Points at `engagement.yaml`; the file is re-read only when it changes."""

    path: str

    def load(self) -> Config:
        return _cached_config(self.path, Path(self.path).stat().st_mtime_ns)


def warehouse_resource(config: Config) -> DuckDBResource:
    return DuckDBResource(database=str(config.paths.warehouse))


@contextlib.contextmanager
def open_warehouse(resource: DuckDBResource) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection with every table created; dagster-duckdb retries while another writer holds the lock."""
    path = Path(resource.database)
    path.parent.mkdir(parents=True, exist_ok=True)
    with resource.get_connection() as con:
        # Set per connection: as a connect-time option DuckDB rejects it before ICU is loaded.
        con.execute("SET TimeZone = 'UTC'")
        ensure_schema(con)
        owner_only(path)
        yield con
