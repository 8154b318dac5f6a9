"""`engine: spark` against `engine: duckdb`: the same landed days give identical rows in every table,
and a Spark that cannot be reached or a job that fails leaves the day's staging untouched.

The days (tests/staging/spark_days.py) hold generated demo days, hand-made lines for every
cross-line rule (duplicates within a day and across days, a later copy staged first, duplicate
JSON keys, stitching across days, an alias, a membership change, a group-call tie, a late event)
and the hostile corpus. Both warehouses are staged in the same (out-of-order) day order, then run
through every later layer; every table's row count and row hash must match. Spark runs on
`local[2]`, one session for the whole test session (`spark_local`).
"""

from __future__ import annotations

import datetime as dt
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest

from engagement_pipeline.core.config import Config, load_config
from engagement_pipeline.core.errors import EngineError
from engagement_pipeline.core.warehouse import connect
from engagement_pipeline.raw.lines import RAW_SCHEMA
from engagement_pipeline.staging import step as staging_step
from engagement_pipeline.staging.parse import PARSED_SCHEMA, parse_lines
from tests.conftest import base_config, run_days, write_config
from tests.reliability import VOLATILE, table_fingerprints
from tests.staging import spark_days

pytestmark = pytest.mark.slow

# The raw step (the same for both engines) records when it listed each file: wall-clock, not data.
ENGINE_VOLATILE = {**VOLATILE, "raw.landed_files": ("listed_at", "first_listed_at")}


def engine_config(folder: Path, landing: Path, engine: str, master: str = "local[2]", **spark: Any) -> Config:
    folder.mkdir(parents=True, exist_ok=True)
    data = base_config(spark_days.START.isoformat())
    data["paths"] = {"landing": str(landing), "warehouse": "warehouse.duckdb", "exports": "exports"}
    data["engine"] = engine
    data["spark"] = {"master": master, **spark}
    return load_config(write_config(folder, data))


@dataclass(frozen=True)
class Pair:
    duckdb: Config
    spark: Config


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory, spark_sessions: None) -> Pair:
    root = tmp_path_factory.mktemp("engines")
    landing = root / "landing"
    spark_days.land(landing, None)
    configs = Pair(engine_config(root / "duckdb", landing, "duckdb"), engine_config(root / "spark", landing, "spark"))
    for config in (configs.duckdb, configs.spark):
        con = connect(config.paths.warehouse)
        try:
            run_days(con, spark_days.DAYS, config, through="raw")
            for day in spark_days.STAGING_ORDER:
                staging_step.run(con, day, config)  # on Spark: the session of config.spark (local[2])
            run_days(con, spark_days.DAYS, config, start="scores", through="exports")
        finally:
            con.close()
    return configs


def test_both_engines_give_identical_rows_in_every_table(pair: Pair) -> None:
    want = table_fingerprints(pair.duckdb.paths.warehouse, ENGINE_VOLATILE)
    got = table_fingerprints(pair.spark.paths.warehouse, ENGINE_VOLATILE)
    assert want["staging.events"][0] > 1000 and want["staging.quarantine"][0] > 100  # the days are not trivial
    assert {t for t, (rows, _) in want.items() if rows} >= {
        "staging.events",
        "staging.duplicates",
        "staging.memberships",
        "scores.user_scores",
        "accounts.account_scores",
        "snapshots.account_history",
    }
    different = {t: (want[t], got.get(t)) for t in want if want[t] != got.get(t)}
    assert not different, f"tables that differ between the engines: {different}"


def test_the_hand_made_cases_happened_on_spark(pair: Pair) -> None:
    """The equality above is only as good as the cases: each hand-made one did what it is for."""
    con = duckdb.connect(str(pair.spark.paths.warehouse), read_only=True)
    try:
        events = con.execute(
            "SELECT message_id, event, user_id, account_id, account_source, stitched, received_date "
            "FROM staging.events WHERE message_id LIKE 'hm-%'"
        ).pl()
        dupes = con.execute("SELECT message_id, received_date, first_received_date FROM staging.duplicates").pl()
    finally:
        con.close()
    row = {r["message_id"]: r for r in events.iter_rows(named=True)}
    d = spark_days.DEMO_DAYS
    assert row["hm-twice"]["event"] == "Copy In First File"  # first by file
    assert row["hm-keys"]["event"] == "First"  # duplicate JSON keys: the first wins
    assert row["hm-anon1"]["stitched"] and row["hm-anon1"]["user_id"] == "hm_u4"  # restated from day 3
    assert row["hm-anon2"]["user_id"] == "hm_u5"  # alias
    assert (row["hm-t1"]["account_id"], row["hm-t2"]["account_id"]) == ("hm_A", "hm_B")  # as of event time
    assert (row["hm-tie"]["account_id"], row["hm-before"]["account_source"]) == ("hm_C", "membership_next")
    assert row["hm-cross"]["received_date"] == d[1] and row["hm-dup1"]["received_date"] == d[1]
    moved = dupes.filter(pl.col("message_id").is_in(["hm-cross", "hm-dup1", "hm-twice"])).sort("message_id")
    assert moved.rows() == [("hm-cross", d[2], d[1]), ("hm-dup1", d[3], d[1]), ("hm-twice", d[1], d[1])]


def test_the_judged_columns_are_the_shared_list() -> None:
    """The Spark engine declares its schema from PARSED_SCHEMA: the DuckDB judge must return exactly it."""
    lines = pl.DataFrame(
        {"received_date": [dt.date(2026, 1, 1)], "source_file": ["f"], "line_number": [1], "line": ["{}"]},
        schema={
            "received_date": pl.Date,
            **{k: v for k, v in RAW_SCHEMA.items() if k in ("source_file", "line_number", "line")},
        },
    ).with_columns(pl.lit("utf-8").alias("encoding"), pl.lit(None, dtype=pl.String).alias("read_error"))
    assert dict(parse_lines(duckdb.connect(), lines, 100).schema) == PARSED_SCHEMA


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def staged_once(tmp_path: Path) -> tuple[Path, Config]:
    """One demo day landed and staged by DuckDB: the state a failed Spark run must leave as it was."""
    landing = tmp_path / "landing"
    spark_days.land(landing, None)
    config = engine_config(tmp_path / "duckdb", landing, "duckdb")
    run_days(config.paths.warehouse, [spark_days.DAYS[0]], config, through="staging")
    return landing, config


def test_an_unreachable_master_is_one_sentence_and_changes_nothing(staged_once: tuple[Path, Config]) -> None:
    landing, config = staged_once
    master = f"spark://127.0.0.1:{_free_port()}"
    broken = engine_config(config.paths.warehouse.parent, landing, "spark", master)
    before = table_fingerprints(config.paths.warehouse)
    with pytest.raises(EngineError) as caught:
        _stage(broken, spark_days.DAYS[0])
    message = str(caught.value)
    assert message.startswith(f"Spark master {master} is unreachable (127.0.0.1:")
    assert "refused" in message and "\n" not in message
    assert table_fingerprints(config.paths.warehouse) == before


def _stage(config: Config, day: dt.date, spark: Any = None) -> None:
    con = connect(config.paths.warehouse)
    try:
        staging_step.run(con, day, config, spark)
    finally:
        con.close()


def test_a_failing_job_names_the_master_and_cause_and_the_day_stays_whole(
    staged_once: tuple[Path, Config], spark_local: Any
) -> None:
    """A job that fails half-way (at its first Parquet write) leaves the day's staging untouched;
    the next run replaces it whole, with the rows DuckDB staged."""
    landing, config = staged_once
    on_spark = engine_config(config.paths.warehouse.parent, landing, "spark")
    day = spark_days.DAYS[0]
    before = table_fingerprints(config.paths.warehouse)
    # A valid setting whose codec is not on the class path: the job fails when it first writes Parquet.
    spark_local.conf.set("spark.sql.parquet.compression.codec", "lzo")
    try:
        with pytest.raises(EngineError) as caught:
            _stage(on_spark, day, spark_local)
    finally:
        spark_local.conf.unset("spark.sql.parquet.compression.codec")
    assert table_fingerprints(config.paths.warehouse) == before
    message = str(caught.value)
    assert message.startswith(f"Spark job on local[2] failed while staging {day.isoformat()} (")
    assert "lzo" in message.lower() and "\n" not in message
    assert not list((on_spark.paths.data_dir / "spark_work").glob(f"{day.isoformat()}-*"))  # no work files left
    _stage(on_spark, day, spark_local)
    assert table_fingerprints(config.paths.warehouse) == before  # DuckDB's rows, replaced whole
