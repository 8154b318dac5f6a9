"""The DuckDB warehouse: declared table schemas and atomic partition writes.

Every table is declared here once, with its column types. Writes go through
`replace_rows`, which deletes a partition's rows and inserts the new ones BY NAME in
one transaction: a crash leaves the old rows or the new rows, never half of each, a
re-run replaces instead of appending, and a frame whose column order differs cannot
write values into the wrong columns (the pitfall of positional inserts).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
from dagster import AssetKey, TableColumn, TableSchema

from engagement_pipeline.core.columns import describe
from engagement_pipeline.core.errors import PipelineError
from engagement_pipeline.core.vocab import Health


@dataclass(frozen=True)
class Table:
    schema: str
    name: str
    columns: tuple[tuple[str, str], ...]
    description: str

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def key(self) -> AssetKey:
        """The table's asset key: [schema, name] (schema = layer = asset group)."""
        return AssetKey([self.schema, self.name])

    @property
    def column_names(self) -> list[str]:
        return [c for c, _ in self.columns]

    def description_of(self, column: str) -> str:
        return describe(self.qualified, column)

    def column_schema(self) -> TableSchema:
        """The columns with their types and descriptions, as Dagster shows a table's schema."""
        return TableSchema(columns=[TableColumn(c, t, description=self.description_of(c)) for c, t in self.columns])

    def ddl(self) -> str:
        cols = ", ".join(f'"{c}" {t}' for c, t in self.columns)
        return f"CREATE TABLE IF NOT EXISTS {self.qualified} ({cols})"

    def polars_schema(self) -> dict[str, pl.DataType]:
        return {c: _POLARS_TYPES[t] for c, t in self.columns}


_POLARS_TYPES: dict[str, pl.DataType] = {
    "VARCHAR": pl.String(),
    "DATE": pl.Date(),
    "TIMESTAMP": pl.Datetime("us"),
    "BIGINT": pl.Int64(),
    "INTEGER": pl.Int32(),
    "DOUBLE": pl.Float64(),
    "BOOLEAN": pl.Boolean(),
}


def _t(schema: str, name: str, description: str, *columns: tuple[str, str]) -> Table:
    return Table(schema, name, tuple(columns), description)


# The table declarations read as tables: one column list per table, kept as written.
# fmt: off
V, D, TS, I, F, B = "VARCHAR", "DATE", "TIMESTAMP", "BIGINT", "DOUBLE", "BOOLEAN"  # noqa: E741 - type shorthands

LANDED_LINES = _t(
    "raw", "landed_lines", "Every landed line verbatim, with its file and 1-based line number.",
    ("received_date", D), ("source_file", V), ("line_number", I), ("line", V), ("encoding", V),
    ("read_error", V),
    ("source", V),  # the landing source's name (issue 17: sources)
)
LANDED_FILES = _t(
    "raw", "landed_files",
    "The listing each day's read used, once per run: file, size, version (ETag), so a re-run can tell what changed.",
    ("received_date", D), ("source", V), ("source_file", V), ("size", I), ("version", V),
    ("modified_at", TS), ("listed_at", TS), ("first_listed_at", TS),
)
EVENTS = _t(
    "staging", "events", "Accepted, de-duplicated messages of every type, identity resolved.",
    ("message_id", V), ("type", V), ("event", V), ("name", V), ("user_id", V),
    ("anonymous_id", V), ("account_id", V), ("account_source", V), ("stitched", B),
    ("timestamp", TS), ("event_date", D), ("received_date", D), ("traits", V),
    ("group_id", V), ("previous_id", V), ("source_file", V), ("line_number", I),
    ("source", V),  # the landing source's name (issue 17: sources)
)
QUARANTINE = _t(
    "staging", "quarantine", "Rejected input lines with the reason; payload kept for replay.",
    ("received_date", D), ("source_file", V), ("line_number", I), ("reason", V),
    ("detail", V), ("payload", V), ("encoding", V),
    ("source", V),  # the landing source's name (issue 17: sources)
)
DUPLICATES = _t(
    "staging", "duplicates", "Lines dropped as repeats of an earlier messageId (first received wins).",
    ("received_date", D), ("source_file", V), ("line_number", I), ("message_id", V),
    ("first_received_date", D),
)
DAILY_EVENT_COUNTS = _t(
    "staging", "daily_event_counts",
    "The compact aggregate all scoring reads: user x account x event x event day -> count.",
    ("received_date", D), ("event_date", D), ("user_id", V), ("account_id", V),
    ("type", V), ("event", V), ("event_count", I),
)
USERS = _t(
    "staging", "users", "One row per user with the latest value of each trait.",
    ("user_id", V), ("email", V), ("first_name", V), ("last_name", V), ("phone", V),
    ("title", V), ("city", V), ("state", V), ("zip", V), ("country", V),
    ("unsubscribed", B), ("created_at", TS), ("first_seen", D), ("last_seen", D),
)
ACCOUNTS = _t(
    "staging", "accounts", "One row per account with the latest value of each trait.",
    ("account_id", V), ("name", V), ("website", V), ("industry", V), ("employees", I),
    ("plan", V), ("status", V), ("created_at", TS), ("city", V), ("state", V), ("zip", V),
    ("country", V), ("linkedin_url", V), ("stock_symbol", V), ("first_seen", D), ("last_seen", D),
)
USER_TRAITS_HISTORY = _t(
    "staging", "user_traits_history",
    "Point-in-time user traits: one row per change, valid from .. to (null = current).",
    ("user_id", V), ("valid_from", TS), ("email", V), ("first_name", V), ("last_name", V), ("phone", V),
    ("title", V), ("city", V), ("state", V), ("zip", V), ("country", V), ("unsubscribed", B),
    ("created_at", TS), ("valid_to", TS),
)
ACCOUNT_TRAITS_HISTORY = _t(
    "staging", "account_traits_history",
    "Point-in-time account traits: one row per change, valid from .. to (null = current).",
    ("account_id", V), ("valid_from", TS), ("name", V), ("website", V), ("industry", V), ("employees", I),
    ("plan", V), ("status", V), ("created_at", TS), ("city", V), ("state", V), ("zip", V), ("country", V),
    ("linkedin_url", V), ("stock_symbol", V), ("valid_to", TS),
)
MEMBERSHIPS = _t(
    "staging", "memberships",
    "User x account, from group calls, group context and lifecycle events (role, added, removed).",
    ("user_id", V), ("account_id", V), ("first_seen", D), ("last_seen", D), ("group_calls", I),
    ("role", V), ("added_on", D), ("removed_on", D),
)
LIFECYCLE_FACTS = _t(
    "staging", "lifecycle_facts",
    "One row per lifecycle event (Segment's B2B SaaS spec, `lifecycle:` names): the dated fact and its properties.",
    ("received_date", D), ("message_id", V), ("event", V), ("kind", V), ("account_id", V), ("user_id", V),
    ("timestamp", TS), ("event_date", D), ("account_name", V), ("role", V), ("plan", V), ("trial_start", D),
    ("trial_end", D), ("first_name", V), ("last_name", V), ("email", V), ("phone", V), ("title", V),
)
BILLING = _t(
    "staging", "billing", "Billing changes (account x day), from the optional billing input.",
    ("account_id", V), ("date", D), ("plan", V), ("mrr", F), ("status", V), ("source_file", V), ("seats", I),
)
BENCHMARKS = _t(
    "scores", "benchmarks", "The day's normalization benchmark (raw score at the percentile).",
    ("as_of_date", D), ("window_days", I), ("method", V), ("percentile", F),
    ("benchmark_raw", F), ("active_users", I), ("total_users", I),
)
USER_SCORES = _t(
    "scores", "user_scores", "User x as-of day: weighted event count in the window, 1..100 score.",
    ("as_of_date", D), ("user_id", V), ("account_id", V), ("raw_score", F), ("score", F),
    ("active_days", I), ("scored_events", I), ("last_active_date", D), ("activation_pct", F),
    ("model_version", V),
)
USER_WINDOW_SCORES = _t(
    "scores", "user_window_scores", "User x as-of day x extra window (model.extra_windows): raw and 1..100 score.",
    ("as_of_date", D), ("window_days", I), ("user_id", V), ("raw_score", F), ("score", F), ("active_days", I),
    ("benchmark_raw", F),
)
ACCOUNT_SCORES = _t(
    "accounts", "account_scores", "Account x as-of day: score, users, activation, trend, health, PQL.",
    ("as_of_date", D), ("account_id", V), ("name", V), ("created_date", D), ("score", F),
    ("raw_score", F), ("active_users", I), ("total_users", I), ("pct_active", F), ("active_days", I),
    ("adoption_rate", F), ("previous_score", F), ("trend", V), ("trend_delta", F),
    ("activation_pct", F), ("activated_at", D), ("days_to_activation", I),
    ("last_active_date", D), ("plan", V), ("status", V), ("mrr", F), ("is_paying", B),
    ("health", V), ("health_reason", V), ("is_pql", B), ("pql_reason", V), ("churn_risk", F),
    ("adoption_rate_all_time", F), ("never_used_key_events", V), ("top_contributors", V),
    ("change_drivers", V), ("segments", V), ("activity_change", F), ("days_since_active", I),
    ("churn_model", V), ("activity_vs_peak", F), ("invites_sent", I), ("profile", V), ("model_version", V),
    # churn signals (accounts/signals.py)
    ("champion_share", F), ("champion_quiet_days", I), ("champion_lost", B), ("users_for_80pct", I),
    ("active_users_change", F), ("activity_vs_usual", F), ("mrr_change_28d", F), ("engagement_vs_mrr", V),
    ("signal_reasons", V), ("seats_bought", I), ("seats_used_share", F),
)
# Rows of accounts.account_scores a rescore replaced (`engagement-pipeline rescore`), kept with their
# model version for the comparison: the contract table holds the current version only.
ACCOUNT_SCORE_VERSIONS = _t(
    "accounts", "account_score_versions",
    "Account x as-of day x prior model version: the account_scores rows a rescore replaced.",
    *ACCOUNT_SCORES.columns, ("replaced_at", TS),
)
ACCOUNT_CONTRIBUTIONS = _t(
    "accounts", "account_contributions",
    "Account x (event | user) x as-of day: points now and one trend look-back earlier.",
    ("as_of_date", D), ("account_id", V), ("kind", V), ("key", V), ("points", F), ("previous_points", F),
    ("delta", F),
)
ACTIVATION_STEPS = _t(
    "accounts", "activation_steps", "Account x checklist step x as-of day: first done, by whom, by how many users.",
    ("as_of_date", D), ("account_id", V), ("step", V), ("step_key", V), ("first_done", D),
    ("first_user_id", V), ("users_done", I),
)
ACCOUNT_FEATURE_USAGE = _t(
    "accounts", "account_feature_usage", "Account x scored event x as-of day: use in the window.",
    ("as_of_date", D), ("account_id", V), ("event", V), ("feature", V), ("event_count", I),
    ("user_count", I), ("first_used", D),
)
ACCOUNT_HISTORY = _t(
    "snapshots", "account_history", "Account x day, every materialized day: scores and states.",
    ("date", D), ("account_id", V), ("name", V), ("score", F), ("score_band", V),
    ("active_users", I), ("total_users", I), ("trend", V), ("trend_delta", F),
    ("activation_pct", F), ("health", V), ("is_pql", B), ("churn_risk", F), ("plan", V),
    ("status", V), ("mrr", F), ("pct_active", F), ("adoption_rate", F), ("is_paying", B),
    ("activity_change", F), ("days_since_active", I), ("churn_model", V), ("activity_vs_peak", F),
    ("champion_lost", B), ("users_for_80pct", I), ("active_users_change", F), ("activity_vs_usual", F),
    ("mrr_change_28d", F), ("signal_reasons", V),
)
# snapshots.product_daily counts the accounts in each health state, one column per state
# (`new` is `new_health_accounts`, apart from `new_accounts_30d`): a new state gets its column.
HEALTH_COUNT_COLUMNS: dict[str, str] = {
    state.value: "new_health_accounts" if state is Health.NEW else f"{state.value}_accounts" for state in Health
}
PRODUCT_DAILY = _t(
    "snapshots", "product_daily", "One row per day: the product as a whole.",
    ("date", D), ("product_score", F), ("median_account_score", F), ("active_accounts", I),
    ("total_accounts", I), ("active_users", I), ("total_users", I), ("benchmark_raw", F),
    ("new_accounts_30d", I), ("activated_new_accounts_30d", I), ("activation_rate_30d", F),
    ("median_days_to_activation", F), ("heating_accounts", I), ("cooling_accounts", I),
    *((column, I) for column in HEALTH_COUNT_COLUMNS.values()), ("pql_accounts", I),
    ("band_75_plus", I), ("band_50_74", I), ("band_25_49", I), ("band_below_25", I),
)
COHORT_DAILY = _t(
    "snapshots", "cohort_daily", "Day x cohort (tenure, plan type, plan, industry, size, signup month).",
    ("date", D), ("dimension", V), ("cohort", V), ("accounts", I), ("active_accounts", I), ("mean_score", F),
    ("median_score", F), ("activation_rate", F), ("median_days_to_activation", F), ("pql_accounts", I),
    ("at_risk_accounts", I), ("mrr", F),
)
SCORE_BACKTEST = _t(
    "snapshots", "score_backtest",
    "How well the score and churn_risk of an as-of day predicted churn, conversion and expansion over "
    "the next 30/60/90 days; evaluated on the day the horizon closes.",
    ("evaluated_on", D), ("as_of_date", D), ("horizon_days", I), ("outcome", V), ("predictor", V),
    ("metric", V), ("band", V), ("value", F),
)
EXPORT_RUNS = _t(
    "exports", "export_runs", "One row per exported day: folder, files, row counts, checksums.",
    ("as_of_date", D), ("folder", V), ("model_version", V), ("files", I), ("manifest_sha256", V),
    ("warnings", I), ("written_at", TS),
)
SEGMENT_SYNC_STATE = _t(
    "destinations", "segment_sync_state",
    "What Segment last acknowledged per account (group call) and user (identify call): traits hash, messageId, day.",
    ("kind", V), ("key", V), ("traits_sha256", V), ("message_id", V), ("as_of_date", D), ("synced_at", TS),
)
DESTINATION_RUNS = _t(
    "destinations", "destination_runs",
    "One row per destination x as-of day: what its last run sent, skipped and failed to deliver.",
    ("destination", V), ("as_of_date", D), ("status", V), ("sent", I), ("skipped", I), ("failed", I),
    ("payload_sha256", V), ("finished_at", TS),
)

ALL_TABLES: tuple[Table, ...] = (
    LANDED_LINES, LANDED_FILES, EVENTS, QUARANTINE, DUPLICATES, DAILY_EVENT_COUNTS, USERS, ACCOUNTS,
    MEMBERSHIPS, USER_TRAITS_HISTORY, ACCOUNT_TRAITS_HISTORY, LIFECYCLE_FACTS, BILLING, BENCHMARKS, USER_SCORES, USER_WINDOW_SCORES, ACCOUNT_SCORES, ACCOUNT_SCORE_VERSIONS, ACCOUNT_FEATURE_USAGE,
    ACCOUNT_CONTRIBUTIONS, ACTIVATION_STEPS,
    ACCOUNT_HISTORY, PRODUCT_DAILY, COHORT_DAILY, SCORE_BACKTEST, EXPORT_RUNS,
    SEGMENT_SYNC_STATE, DESTINATION_RUNS,
)
# fmt: on


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create missing schemas and tables, and add columns a newer version declares.

    Idempotent and one query when everything exists, so every connection can call it.
    A warehouse written by an older version gains the new columns (null in old rows)
    instead of failing the next insert.
    """
    present: dict[str, set[str]] = {}
    for schema, table, column in con.execute(
        "SELECT table_schema, table_name, column_name FROM information_schema.columns "
        "WHERE table_catalog = current_database()"
    ).fetchall():
        present.setdefault(f"{schema}.{table}", set()).add(column)
    if all(t.qualified in present and set(t.column_names) <= present[t.qualified] for t in ALL_TABLES):
        return
    for schema in sorted({t.schema for t in ALL_TABLES}):
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    for table in ALL_TABLES:
        new = [c for c in table.column_names if c not in present.get(table.qualified, set())]
        if table.qualified not in present:
            con.execute(table.ddl())
        else:
            for column, kind in table.columns:
                if column in new:
                    con.execute(f'ALTER TABLE {table.qualified} ADD COLUMN "{column}" {kind}')
        for column in new:  # the UI's column descriptions, in the warehouse too (duckdb_columns().comment)
            comment = table.description_of(column).replace("'", "''")
            con.execute(f"COMMENT ON COLUMN {table.qualified}.\"{column}\" IS '{comment}'")


def conform(frame: pl.DataFrame, table: Table) -> pl.DataFrame:
    """Select and cast a frame to the table's declared columns, in order.

    A missing column is an error (it is a bug upstream), never silently null.
    """
    missing = [c for c in table.column_names if c not in frame.columns]
    if missing:
        raise ValueError(f"{table.qualified}: frame lacks columns {missing}")
    return frame.select([pl.col(c).cast(t, strict=False) for c, t in table.polars_schema().items()])


@contextlib.contextmanager
def registered(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame) -> Iterator[str]:
    """A polars frame visible to SQL as `name` for the duration of the block."""
    con.register(name, frame.to_arrow())
    try:
        yield name
    finally:
        con.unregister(name)


def insert_rows(con: duckdb.DuckDBPyConnection, table: Table, frame: pl.DataFrame) -> int:
    """Insert a frame into a table BY NAME, after conforming it to the declared schema."""
    data = conform(frame, table)
    if data.height:
        with registered(con, "_incoming", data) as name:
            con.execute(f"INSERT INTO {table.qualified} BY NAME SELECT * FROM {name}")
    return data.height


def replace_rows(
    con: duckdb.DuckDBPyConnection,
    table: Table,
    frame: pl.DataFrame,
    where: str | None,
    params: Sequence[object] = (),
) -> int:
    """Delete the rows matching `where` (None: all rows) and insert `frame`.

    Runs inside the caller's transaction when one is open (see `transaction`), so the
    delete and the insert land together.
    """
    con.execute(f"DELETE FROM {table.qualified}" + (f" WHERE {where}" if where else ""), params)
    return insert_rows(con, table, frame)


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def connect(path: Path, read_only: bool = False, wait_seconds: float = 30.0) -> duckdb.DuckDBPyConnection:
    """Open the warehouse; wait for another writer for a while, then say so in one sentence."""
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise PipelineError(
                    f"the warehouse {path} cannot be opened ({str(exc).splitlines()[0][:200]}): if the file is "
                    f"damaged, restore it from a backup or move it away and run the days again."
                ) from None
            if time.monotonic() > deadline:
                raise PipelineError(
                    f"the warehouse {path} is locked by another process (another `run`, "
                    f"`demo` or the Dagster UI's run): wait for it to finish and try again."
                ) from None
            time.sleep(0.5)
    con.execute("SET TimeZone = 'UTC'")
    if not read_only:
        ensure_schema(con)
        owner_only(path)
    return con


def owner_only(path: Path) -> None:
    """The warehouse holds personal data (staging.users): readable by its owner only."""
    for file in (path, Path(str(path) + ".wal")):
        if file.exists() and file.stat().st_mode & 0o077:
            file.chmod(0o600)
