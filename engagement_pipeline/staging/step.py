"""staging, one day: parse, quarantine, dedupe, stitch and resolve accounts, then restate
the neighbour days it changes, read the lifecycle facts of the staged events (`lifecycle.py`)
and refresh users, accounts, memberships and billing.

The only module of the layer that writes the warehouse, in one transaction per day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import duckdb
import polars as pl

from engagement_pipeline.core.config import Config
from engagement_pipeline.core.warehouse import (
    ACCOUNTS,
    BILLING,
    DAILY_EVENT_COUNTS,
    DUPLICATES,
    EVENTS,
    MEMBERSHIPS,
    QUARANTINE,
    USERS,
    insert_rows,
    registered,
    replace_rows,
    transaction,
)
from engagement_pipeline.staging.billing import read_billing
from engagement_pipeline.staging.coverage import Coverage, missing_traits, unscored_counts
from engagement_pipeline.staging.lifecycle import refresh_facts
from engagement_pipeline.staging.stage import StagingResult, stage_day
from engagement_pipeline.staging.traits import (
    ACCOUNT_HISTORY_SPEC,
    ACCOUNTS_SQL,
    MEMBERSHIPS_SQL,
    USER_HISTORY_SPEC,
    USERS_SQL,
    refresh_history,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DAY = "received_date = ?"


@dataclass
class StagedDay:
    result: StagingResult
    users: int
    accounts: int
    memberships: int
    billing_rows: int
    billing_warnings: list[str]
    user_history: int = 0
    account_history: int = 0
    lifecycle_facts: int = 0
    coverage: Coverage | None = None


def run(con: duckdb.DuckDBPyConnection, day: dt.date, config: Config, spark: SparkSession | None = None) -> StagedDay:
    """Stage a received day, restate the neighbour days it changes, refresh users and accounts.

    With `engine: spark` the event-level work runs on Spark (`spark`, else the process's session
    for `config.spark`) and its results are loaded here, in the same one transaction.
    """
    result = _stage(con, day, config, spark)
    billing, warnings = read_billing(con, config.paths.billing)
    with transaction(con):
        histories = (USER_HISTORY_SPEC, ACCOUNT_HISTORY_SPEC)
        before = [h.call_keys(con, day) for h in histories]  # this day's keys before a re-run replaces it
        replace_rows(con, EVENTS, result.events, DAY, [day])
        replace_rows(con, QUARANTINE, result.quarantine, DAY, [day])
        replace_rows(con, DUPLICATES, result.duplicates, DAY, [day])
        replace_rows(con, DAILY_EVENT_COUNTS, result.counts, DAY, [day])
        _restate(con, result)
        lifecycle_facts = refresh_facts(con, day, result.restated_days, config)  # read by users, accounts, ...
        user_history, account_history = (
            refresh_history(con, h, day, keys, result.restated) for h, keys in zip(histories, before)
        )
        users = replace_rows(con, USERS, con.execute(USERS_SQL).pl(), None)
        accounts = replace_rows(con, ACCOUNTS, con.execute(ACCOUNTS_SQL).pl(), None)
        memberships = replace_rows(con, MEMBERSHIPS, con.execute(MEMBERSHIPS_SQL).pl(), None)
        billing_rows = replace_rows(con, BILLING, billing, None)
    coverage = _coverage(con, result, config)
    return StagedDay(
        result,
        users,
        accounts,
        memberships,
        billing_rows,
        warnings,
        user_history,
        account_history,
        lifecycle_facts,
        coverage,
    )


def _coverage(con: duckdb.DuckDBPyConnection, result: StagingResult, config: Config) -> Coverage:
    """What the model will not see of this day, and the needed traits no account ever sent."""
    row = con.execute("SELECT count(*), count(plan), count(status) FROM staging.accounts").fetchone()
    accounts, with_plan, with_status = row if row else (0, 0, 0)
    return Coverage(
        day=result.day,
        lines=result.lines,
        unscored=unscored_counts(result.events, config.model.events),
        missing_traits=missing_traits(accounts, with_plan, with_status, config.paths.billing is not None),
    )


def engine_label(config: Config) -> str:
    """Which engine staged a day, for the UI: `duckdb`, or `spark (<master>)`."""
    return "duckdb" if config.engine == "duckdb" else f"spark ({config.spark.master})"


def _stage(con: duckdb.DuckDBPyConnection, day: dt.date, config: Config, spark: SparkSession | None) -> StagingResult:
    if config.engine == "duckdb":
        return stage_day(con, day, None, config)
    from engagement_pipeline.staging.spark_engine import stage_day_spark
    from engagement_pipeline.staging.spark_session import spark_session

    session = spark or spark_session(config.spark, config.spark.work_root(config.paths.data_dir))
    return stage_day_spark(con, session, day, config)


def _restate(con: duckdb.DuckDBPyConnection, result: StagingResult) -> None:
    """Apply a staging's changes to neighbour days and rebuild their daily aggregates."""
    if not result.restated_days:
        return
    keys = pl.concat(
        [
            result.restated.select("received_date", "message_id"),
            result.later_duplicates.select("received_date", "message_id"),
        ]
    )
    with registered(con, "_keys", keys):
        con.execute(
            "DELETE FROM staging.events e USING _keys k "
            "WHERE e.received_date = k.received_date AND e.message_id = k.message_id"
        )
    insert_rows(con, EVENTS, result.restated)
    insert_rows(con, DUPLICATES, result.later_duplicates)
    days = result.restated_days
    con.execute("DELETE FROM staging.daily_event_counts WHERE list_contains(?, received_date)", [days])
    con.execute(
        """INSERT INTO staging.daily_event_counts BY NAME
           SELECT received_date, event_date, user_id, account_id, type, event, count(*)::BIGINT AS event_count
           FROM staging.events WHERE list_contains(?, received_date) AND user_id IS NOT NULL GROUP BY ALL""",
        [days],
    )
