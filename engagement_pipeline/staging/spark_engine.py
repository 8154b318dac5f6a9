"""Staging one received day on Spark: the event-level work, written as Parquet for DuckDB to load.

1. The driver lists the day's files (`raw.files.list_day_files`, as the raw layer does) and puts
   beside them, as Parquet, what the look-back reads from the warehouse: the message ids of the
   staged days around this one, their identity-relevant events, and the group calls of other days.
2. Each file is read and judged on an executor by the project's own reader (`raw.files`) and
   judging SQL (`staging.parse`, DuckDB inside the Python worker), so both engines produce the
   same line numbers, payloads and quarantine reasons by construction. Spark's own readers were
   tried first and differ (README "Scaling out"): `spark.read.json` turns JSON-array lines into
   rows, keeps half-parsed malformed lines and drops empty ones; `from_json` keeps the last of
   duplicate keys where DuckDB keeps the first, and `try_parse_json` rejects them; `to_timestamp`
   fails the job on one bad value; invalid UTF-8 is replaced silently; a truncated gzip fails or
   is cut short; lines have no numbers.
3. Across lines, Spark's DataFrame API (`staging/spark_rules.py`): de-duplication over the
   look-back, identity links, stitching, account resolution as of event time, the daily aggregate.
4. The day's events, quarantine, duplicates, aggregate, links and later copies are written as
   Parquet to a folder of this run, read back, and the rest is the DuckDB path's own code
   (`stage.finish_day`: restating neighbour days); `staging/step.py` loads it all in one
   transaction. A failure anywhere before that leaves the warehouse untouched (EngineError).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import polars as pl

from engagement_pipeline.core.config import Config
from engagement_pipeline.core.config_engine import URL_SCHEMES
from engagement_pipeline.core.config_raw import Raw
from engagement_pipeline.core.errors import EngineError, PipelineError
from engagement_pipeline.core.vocab import MessageType
from engagement_pipeline.core.warehouse import DAILY_EVENT_COUNTS, DUPLICATES, EVENTS, QUARANTINE, conform
from engagement_pipeline.raw.files import LandedFile, list_landed, read_landed_file
from engagement_pipeline.staging.parse import PARSED_SCHEMA, parse_lines
from engagement_pipeline.staging.stage import (
    NEIGHBOUR_SQL,
    StagingResult,
    day_group_calls,
    finish_day,
    neighbour_events,
)

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession

_SPARK_TYPES = {pl.Date(): "date", pl.String(): "string", pl.Int64(): "bigint", pl.Datetime("us"): "timestamp_ntz"}
PARSED_DDL = ", ".join(f"`{name}` {_SPARK_TYPES[dtype]}" for name, dtype in PARSED_SCHEMA.items())

WINDOW_IDS_SQL = """
SELECT message_id, received_date, source_file, line_number, event_date FROM staging.events
WHERE received_date BETWEEN ? AND ? AND received_date <> ?
"""
OTHER_DAYS_GROUP_CALLS_SQL = f"""
SELECT user_id, group_id, timestamp FROM staging.events
WHERE type = '{MessageType.GROUP}' AND user_id IS NOT NULL AND received_date <> ?
"""
LINKS_SCHEMA: dict[str, pl.DataType] = {"anonymous_id": pl.String(), "linked_user_id": pl.String()}
LATER_SCHEMA = {k: v for k, v in DUPLICATES.polars_schema().items() if k != "first_received_date"} | {
    "event_date": pl.Date()
}


def judge_files(
    batches: Iterator[pa.RecordBatch], day: dt.date, max_id_length: int, limits: Raw
) -> Iterator[pa.RecordBatch]:
    """Executor side: read each listed file with the raw layer's reader and judge its lines with
    the staging SQL (one DuckDB connection per Python worker). An accepted line's text is dropped
    here: only a quarantined line keeps its payload."""
    import pyarrow as pa

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    # Spark's Arrow reader takes plain strings, not polars' string views.
    arrow = {
        pl.Date(): pa.date32(),
        pl.String(): pa.string(),
        pl.Int64(): pa.int64(),
        pl.Datetime("us"): pa.timestamp("us"),
    }
    schema = pa.schema([(name, arrow[dtype]) for name, dtype in PARSED_SCHEMA.items()])
    for batch in batches:
        columns = (batch.column(name).to_pylist() for name in ("path", "relative", "source"))
        for path, relative, source in zip(*columns, strict=True):
            lines = read_landed_file(LandedFile(Path(os.fsdecode(path)), relative, source), limits)
            lines = lines.with_columns(
                pl.lit(day, dtype=pl.Date).alias("received_date"), pl.lit(source, dtype=pl.String).alias("source")
            )
            judged = parse_lines(con, lines, max_id_length).with_columns(
                pl.when(pl.col("reason").is_null()).then(None).otherwise(pl.col("line")).alias("line")
            )
            yield from judged.select(list(PARSED_SCHEMA)).to_arrow().cast(schema).to_batches()
    con.close()


def _export(con: duckdb.DuckDBPyConnection, sql: str, params: list[object], path: str) -> None:
    con.execute(f"COPY ({sql}) TO '{path}' (FORMAT parquet)", params)


def _read(path: str, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """A folder of part files as one frame (no part file at all: an empty frame of `schema`)."""
    if not path.startswith(URL_SCHEMES) and not any(Path(path).glob("*.parquet")):
        return pl.DataFrame(schema=schema)
    return pl.read_parquet(f"{path}/*.parquet")


def _run_dir(config: Config, day: dt.date) -> str:
    root = config.spark.work_root(config.paths.data_dir)
    folder = f"{root}/{day.isoformat()}-{uuid.uuid4().hex[:12]}"
    if not folder.startswith(URL_SCHEMES):
        Path(folder).mkdir(parents=True, exist_ok=True)
    return folder


def stage_day_spark(con: duckdb.DuckDBPyConnection, spark: SparkSession, day: dt.date, config: Config) -> StagingResult:
    """Stage one received day on Spark (see the module docstring); raises EngineError naming the
    master and the cause when a Spark job fails. Writes nothing to the warehouse."""
    run = _run_dir(config, day)
    try:
        return _stage(con, spark, day, config, run)
    except PipelineError:
        raise
    except Exception as exc:
        from engagement_pipeline.staging.spark_session import first_line

        raise EngineError(
            f"Spark job on {config.spark.master} failed while staging {day.isoformat()} ({first_line(exc)}); "
            "the day's staging is unchanged: fix the cause and run the day again."
        ) from None
    finally:
        if not run.startswith(URL_SCHEMES):
            shutil.rmtree(run, ignore_errors=True)


def _stage(
    con: duckdb.DuckDBPyConnection, spark: SparkSession, day: dt.date, config: Config, run: str
) -> StagingResult:
    from pyspark.sql import functions as F

    from engagement_pipeline.staging import spark_rules as rules

    s = config.staging
    remote = [source.name for source in config.landing_sources if source.remote]
    if remote:
        raise EngineError(
            f"engine: spark reads local landing sources only, and source {remote[0]!r} is a bucket: "
            "mount it where the executors can read it, or stage with engine: duckdb."
        )
    files = list_landed(config.landing_sources, day)
    window = [day - dt.timedelta(days=s.dedupe_lookback_days), day + dt.timedelta(days=s.dedupe_lookback_days)]
    near = [day - dt.timedelta(days=s.stitching_lookback_days), day + dt.timedelta(days=s.stitching_lookback_days)]
    _export(con, WINDOW_IDS_SQL, [*window, day], f"{run}/window_ids.parquet")
    _export(con, NEIGHBOUR_SQL, [*near, day], f"{run}/neighbours.parquet")
    _export(con, OTHER_DAYS_GROUP_CALLS_SQL, [day], f"{run}/group_calls.parquet")

    def read(name: str) -> DataFrame:
        return _ntz(spark.read.parquet(f"{run}/{name}.parquet"))

    # Paths travel as bytes: a file name that is not valid UTF-8 must reach the executor unchanged.
    listing = spark.createDataFrame(
        [(os.fsencode(f.path), f.relative, f.source) for f in files], "path binary, relative string, source string"
    )
    max_id, limits = s.max_id_length, config.raw
    judged = (
        listing.repartition(max(len(files), 1))
        .mapInArrow(lambda batches: judge_files(batches, day, max_id, limits), PARSED_DDL)
        .persist()
    )
    n_lines = judged.count()
    accepted = judged.where(F.col("reason").isNull()).drop("line", "encoding", "reason", "detail")
    judged.where(F.col("reason").isNotNull()).withColumnRenamed("line", "payload").select(
        *QUARANTINE.column_names
    ).write.parquet(f"{run}/quarantine")
    window_ids = read("window_ids")
    kept, duplicates = rules.first_copies(accepted, window_ids, day)
    kept = kept.persist()
    duplicates.write.parquet(f"{run}/duplicates")
    later = rules.later_copies(window_ids, kept, day)
    later.write.parquet(f"{run}/later")
    neighbours = read("neighbours").join(
        spark.read.parquet(f"{run}/later").select("message_id", "received_date"),
        on=["message_id", "received_date"],
        how="left_anti",
    )
    ids = list(rules.ID_COLUMNS)
    links = rules.identity_links(kept.select(*ids).unionByName(rules.original_ids(neighbours))).persist()
    links.write.parquet(f"{run}/links")
    stitched = rules.stitch(kept, links)
    today_calls = stitched.where(F.col("type") == MessageType.GROUP.value).select("user_id", "group_id", "timestamp")
    calls = read("group_calls").unionByName(today_calls)
    events = rules.resolve_accounts(stitched, calls, s.membership_fallback).persist()
    events.select(*EVENTS.column_names).write.parquet(f"{run}/events")
    rules.daily_counts(events).write.parquet(f"{run}/counts")
    for frame in (events, links, kept, judged):
        frame.unpersist()

    # Back on the driver: the small results, and the neighbour restatement (the DuckDB path's code).
    events_pl = conform(_read(f"{run}/events", EVENTS.polars_schema()), EVENTS)
    later_pl = _read(f"{run}/later", LATER_SCHEMA)
    neighbours_pl = neighbour_events(con, day, s.stitching_lookback_days, later_pl)
    links_pl = _read(f"{run}/links", LINKS_SCHEMA)
    group_calls = day_group_calls(con, day, events_pl, neighbours_pl, links_pl)
    quarantine = conform(_read(f"{run}/quarantine", QUARANTINE.polars_schema()), QUARANTINE).sort(
        "source_file", "line_number"
    )
    duplicates_pl = conform(_read(f"{run}/duplicates", DUPLICATES.polars_schema()), DUPLICATES)
    counts = conform(
        _read(f"{run}/counts", DAILY_EVENT_COUNTS.polars_schema()).sort(
            "event_date", "user_id", "account_id", "type", "event", nulls_last=True
        ),
        DAILY_EVENT_COUNTS,
    )
    events_pl = events_pl.sort("source_file", "line_number")
    return finish_day(
        day, n_lines, events_pl, quarantine, duplicates_pl, counts, neighbours_pl, links_pl, group_calls, later_pl,
        s.membership_fallback,
    )  # fmt: skip


def _ntz(frame: DataFrame) -> DataFrame:
    """Timestamps read from the warehouse's Parquet as Spark's zone-less type (the warehouse's are UTC)."""
    from pyspark.sql import functions as F

    return frame.select(
        *(F.col(name).cast("timestamp_ntz") if kind == "timestamp" else F.col(name) for name, kind in frame.dtypes)
    )
