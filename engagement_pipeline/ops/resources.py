"""Dagster resources: the validated config, the DuckDB warehouse connection and the Spark session."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
from dagster import ConfigurableResource
from dagster_duckdb import DuckDBResource

from engagement_pipeline.core.config import Config, load_config
from engagement_pipeline.core.warehouse import ensure_schema, owner_only

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


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


class SparkResource(ConfigurableResource):
    """The Spark session of `engine: spark`, started lazily: only when a staging run on Spark first
    asks for it (a DuckDB run never imports pyspark nor starts a JVM). Its master and settings are
    the config's `spark:` block, read at that moment, so the one config file decides everything;
    the session lives as long as the process (`staging/spark_session.py`)."""

    def session(self, config: Config) -> SparkSession:
        from engagement_pipeline.staging.spark_session import spark_session

        return spark_session(config.spark, config.spark.work_root(config.paths.data_dir))
