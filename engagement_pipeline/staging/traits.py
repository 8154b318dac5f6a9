"""Trait histories and the tables built from them: users, accounts, memberships, and the
point-in-time account attributes the accounts layer reads.

A trait is a column parsed from the `traits` of identify (users) or group (accounts) calls,
by its SQL in `USER_TRAITS` / `ACCOUNT_TRAITS`. The histories (`staging.user_traits_history`,
`staging.account_traits_history`) hold one row per change; `staging.users` and
`staging.accounts` are their current rows. Every trait here is a column of those tables
(declared in `core/warehouse.py`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import polars as pl

from engagement_pipeline.core.vocab import PLAN_SYNONYMS, STATUS_SYNONYMS, MessageType, canonical_sql
from engagement_pipeline.core.warehouse import (
    ACCOUNT_TRAITS_HISTORY,
    USER_TRAITS_HISTORY,
    Table,
    insert_rows,
    registered,
    replace_rows,
)
from engagement_pipeline.staging.lifecycle import (
    ACCOUNT_LIFECYCLE_AT_SQL,
    ACCOUNT_LIFECYCLE_NOW_SQL,
    MEMBER_CHANGES_SQL,
    SIGNED_UP_SQL,
)


def _trait(*paths: str) -> str:
    return "coalesce(" + ", ".join(f"NULLIF(trim(traits::JSON->>'{p}'), '')" for p in paths) + ")"


# Each trait column: its SQL over one identify/group call's `traits` (camelCase or snake_case).
USER_TRAITS = {
    "email": f"lower({_trait('$.email')})",
    "first_name": _trait("$.firstName", "$.first_name"),
    "last_name": _trait("$.lastName", "$.last_name"),
    "phone": _trait("$.phone"),
    "title": _trait("$.title"),
    "city": _trait("$.address.city", "$.city"),
    "state": _trait("$.address.state", "$.state"),
    "zip": _trait("$.address.postalCode", "$.address.postal_code", "$.postalCode", "$.postal_code", "$.zip"),
    "country": _trait("$.address.country", "$.country"),
    "unsubscribed": f"TRY_CAST({_trait('$.unsubscribed')} AS BOOLEAN)",
    "created_at": f"timezone('UTC', TRY_CAST({_trait('$.createdAt', '$.created_at')} AS TIMESTAMPTZ))",
}
ACCOUNT_TRAITS = {
    "name": _trait("$.name"),
    "website": _trait("$.website"),
    "industry": _trait("$.industry"),
    "employees": f"TRY_CAST(regexp_replace({_trait('$.employees', '$.employee_count')}, '[ ,_]', '', 'g') AS BIGINT)",
    "plan": canonical_sql(f"lower({_trait('$.plan')})", PLAN_SYNONYMS),  # trialing -> trial, ... (vocab.py)
    "status": canonical_sql(f"lower({_trait('$.status')})", STATUS_SYNONYMS),
    "created_at": f"timezone('UTC', TRY_CAST({_trait('$.createdAt', '$.created_at')} AS TIMESTAMPTZ))",
    "city": _trait("$.address.city", "$.city"),
    "state": _trait("$.address.state", "$.state"),
    "zip": _trait("$.address.postalCode", "$.address.postal_code", "$.postalCode", "$.zip"),
    "country": _trait("$.address.country", "$.country"),
    "linkedin_url": _trait("$.linkedin", "$.linkedinUrl", "$.linkedin_url"),
    "stock_symbol": _trait("$.stockSymbol", "$.stock_symbol", "$.ticker"),
}


def _history_sql(
    key: str,
    id_expr: str,
    message_type: str,
    traits: dict[str, str],
    only: str | None = None,
    state: str | None = None,
    day_only: bool = False,
) -> str:
    """Point-in-time trait history (one row per change): each trait carries its latest
    non-null value forward, so a call that omits a trait does not erase it.

    `only`: a relation of keys (`key` column) to restrict to. `state` and `day_only` make the
    incremental form: the calls of the received day `$day` only, folded onto each key's
    current history row (read from `state`) as if it were the key's last earlier call.
    """
    parsed = ", ".join(f"{sql} AS {name}" for name, sql in traits.items())
    filled = ", ".join(f"last_value({name} IGNORE NULLS) OVER w AS {name}" for name in traits)
    where = [f"type = '{message_type}'", f"{id_expr} IS NOT NULL", "traits IS NOT NULL"]
    if only:
        where.append(f"{id_expr} IN (SELECT key FROM {only})")
    if day_only:
        where.append("received_date = $day")
    carried = ""
    if state:
        carried = f"""UNION ALL
        SELECT {key}, valid_from, '' AS message_id, {", ".join(traits)}
        FROM {state} WHERE valid_to IS NULL AND {key} IN (SELECT key FROM {only})"""
    return f"""
    WITH calls AS (
        SELECT {id_expr} AS {key}, timestamp, message_id, {parsed}
        FROM staging.events WHERE {" AND ".join(where)}
        {carried}
    ),
    filled AS (
        SELECT {key}, timestamp AS valid_from, message_id, {filled}
        FROM calls
        WINDOW w AS (PARTITION BY {key} ORDER BY timestamp, message_id
                     ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
    ),
    per_instant AS (
        SELECT * EXCLUDE (message_id) FROM filled
        QUALIFY row_number() OVER (PARTITION BY {key}, valid_from ORDER BY message_id DESC) = 1
    )
    SELECT *, lead(valid_from) OVER (PARTITION BY {key} ORDER BY valid_from) AS valid_to
    FROM per_instant ORDER BY {key}, valid_from
    """


@dataclass(frozen=True)
class TraitHistory:
    table: Table
    key: str  # the history's key column
    id_expr: str  # the events column it comes from
    message_type: MessageType  # identify or group
    traits: dict[str, str]

    def sql(self, only: str | None = None, state: str | None = None, day_only: bool = False) -> str:
        """`_history_sql` for this history: the full rebuild without arguments."""
        return _history_sql(self.key, self.id_expr, self.message_type, self.traits, only, state, day_only)

    def restated_keys(self, restated: pl.DataFrame) -> pl.DataFrame:
        """Keys of this history's calls among a staging's restated events."""
        if restated.is_empty():
            return pl.DataFrame(schema={"key": pl.String})
        return (
            restated.filter(pl.col("type") == self.message_type).select(pl.col(self.id_expr).alias("key")).drop_nulls()
        )

    def call_keys(self, con: duckdb.DuckDBPyConnection, day: dt.date) -> pl.DataFrame:
        """Keys with calls received on `day` (to pass to `refresh_history` as `before`)."""
        return con.execute(
            f"SELECT DISTINCT {self.id_expr} AS key FROM staging.events WHERE received_date = ? "
            f"AND type = '{self.message_type}' AND {self.id_expr} IS NOT NULL AND traits IS NOT NULL",
            [day],
        ).pl()


USER_HISTORY_SPEC = TraitHistory(USER_TRAITS_HISTORY, "user_id", "user_id", MessageType.IDENTIFY, USER_TRAITS)
ACCOUNT_HISTORY_SPEC = TraitHistory(ACCOUNT_TRAITS_HISTORY, "account_id", "group_id", MessageType.GROUP, ACCOUNT_TRAITS)


def refresh_history(
    con: duckdb.DuckDBPyConnection, h: TraitHistory, day: dt.date, before: pl.DataFrame, restated: pl.DataFrame
) -> int:
    """Bring a trait history up to date after staging `day`; returns the rows rewritten.

    The history is one row per call, so rebuilding it whole costs the length of the history.
    Instead a key whose calls of the day all come after its current row is folded forward from
    that row (the usual case: a day's calls are that day's news). A key with a call of the day
    at or before its current row (late data), with calls on this day before a re-run
    (`before`), or whose calls are among the `restated` events, is rebuilt from all its calls; so
    is everything when the history is empty. Either way the rows equal a full rebuild's.
    """
    table = h.table.qualified
    row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    if row is not None and row[0] == 0:
        return replace_rows(con, h.table, con.execute(h.sql()).pl(), None)
    today = h.call_keys(con, day)
    with (
        registered(con, "_today_keys", today),
        registered(con, "_forced_keys", pl.concat([before.select("key"), h.restated_keys(restated)]).unique()),
    ):
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE _rebuild_keys AS
            SELECT key FROM _forced_keys
            UNION
            SELECT c.{h.id_expr} FROM staging.events c JOIN (
                SELECT {h.key}, max(valid_from) AS last_from FROM {table} GROUP BY {h.key}
            ) s ON s.{h.key} = c.{h.id_expr}
            WHERE c.received_date = $day AND c.type = '{h.message_type}' AND c.traits IS NOT NULL
              AND c.timestamp <= s.last_from""",
            {"day": day},
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _fold_keys AS "
            "SELECT key FROM _today_keys WHERE key NOT IN (SELECT key FROM _rebuild_keys)"
        )
    rebuilt = con.execute(h.sql(only="_rebuild_keys")).pl()
    folded = con.execute(h.sql(only="_fold_keys", state=table, day_only=True), {"day": day}).pl()
    con.execute(f"DELETE FROM {table} WHERE {h.key} IN (SELECT key FROM _rebuild_keys)")
    con.execute(f"DELETE FROM {table} WHERE valid_to IS NULL AND {h.key} IN (SELECT key FROM _fold_keys)")
    con.execute("DROP TABLE _rebuild_keys")
    con.execute("DROP TABLE _fold_keys")
    return insert_rows(con, h.table, rebuilt) + insert_rows(con, h.table, folded)


# Identify traits first, then the user's `Signed Up` properties (see `lifecycle.py` for the precedence).
_SIGNED_UP_FALLBACK = ("email", "first_name", "last_name", "phone", "title")
_USER_COLUMNS = ", ".join(
    f"coalesce(h.{c}, g.{c}) AS {c}" if c in _SIGNED_UP_FALLBACK else f"h.{c}"
    for c in USER_TRAITS
    if c not in ("unsubscribed", "created_at")
)
USERS_SQL = f"""
WITH seen AS (
    SELECT user_id, min(event_date) AS first_seen, max(event_date) AS last_seen
    FROM staging.daily_event_counts GROUP BY user_id
),
signed AS ({SIGNED_UP_SQL})
SELECT s.user_id, {_USER_COLUMNS},
       coalesce(h.unsubscribed, false) AS unsubscribed, coalesce(h.created_at, g.signed_up_at) AS created_at,
       s.first_seen, s.last_seen
FROM seen s LEFT JOIN staging.user_traits_history h ON h.user_id = s.user_id AND h.valid_to IS NULL
LEFT JOIN signed g ON g.user_id = s.user_id
ORDER BY s.user_id
"""

# Fields the lifecycle events also state (precedence: see `lifecycle.py`).
_LIFECYCLE_FIELDS = ("name", "plan", "status", "created_at")
ACCOUNTS_SQL = f"""
WITH seen AS (
    SELECT account_id, min(event_date) AS first_seen, max(event_date) AS last_seen
    FROM staging.daily_event_counts WHERE account_id IS NOT NULL GROUP BY account_id
    UNION ALL
    SELECT account_id, min(CAST(valid_from AS DATE)), max(CAST(valid_from AS DATE))
    FROM staging.account_traits_history GROUP BY account_id
),
ids AS (SELECT account_id, min(first_seen) AS first_seen, max(last_seen) AS last_seen FROM seen GROUP BY account_id)
SELECT i.account_id, {", ".join(f"h.{c}" for c in ACCOUNT_TRAITS if c not in _LIFECYCLE_FIELDS)},
       coalesce(h.name, l.name) AS name, coalesce(l.plan, h.plan) AS plan, coalesce(l.status, h.status) AS status,
       coalesce(h.created_at, l.created_at) AS created_at, i.first_seen, i.last_seen
FROM ids i LEFT JOIN staging.account_traits_history h ON h.account_id = i.account_id AND h.valid_to IS NULL
LEFT JOIN ({ACCOUNT_LIFECYCLE_NOW_SQL}) l ON l.account_id = i.account_id
ORDER BY i.account_id
"""

# Point-in-time account attributes for an as-of day: the trait history and the lifecycle events
# as of the end of the day, overridden by the latest billing row on or before the day (the
# precedence of `lifecycle.py`: plan and status from billing, else events, else traits; the name
# and created date from traits, else events).
ACCOUNT_ATTRIBUTES_SQL = f"""
WITH traits AS (
    SELECT * FROM staging.account_traits_history
    WHERE valid_from < $end AND (valid_to IS NULL OR valid_to >= $end)
),
life AS ({ACCOUNT_LIFECYCLE_AT_SQL}),
bill AS (
    SELECT account_id, arg_max(plan, date) AS plan, arg_max(status, date) AS status,
           arg_max(mrr, date) AS mrr, arg_max_null(seats, date) AS seats  -- the latest row's seats, even null
    FROM staging.billing WHERE date <= $day GROUP BY account_id
)
SELECT a.account_id, coalesce(t.name, l.name, a.name) AS name,
       coalesce(b.plan, l.plan, t.plan) AS plan, coalesce(b.status, l.status, t.status) AS status,
       CASE WHEN b.status IS NOT NULL THEN 'billing' WHEN l.status IS NOT NULL THEN 'lifecycle'
            WHEN t.status IS NOT NULL THEN 'traits' END AS _status_source,
       coalesce(b.mrr, 0.0) AS mrr, b.seats,
       coalesce(CAST(t.created_at AS DATE), CAST(l.created_at AS DATE), a.first_seen) AS created_date
FROM staging.accounts a LEFT JOIN traits t USING (account_id) LEFT JOIN life l USING (account_id)
LEFT JOIN bill b USING (account_id)
"""


def account_attributes(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> pl.DataFrame:
    """account_id, name, plan, status, mrr, seats (bought, from billing's optional column), created_date
    as known at the end of `as_of`, and `_status_source` (billing, lifecycle or traits: which source said
    the status)."""
    end = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
    return con.execute(ACCOUNT_ATTRIBUTES_SQL, {"end": end, "day": as_of}).pl()


MEMBERSHIPS_SQL = f"""
WITH pairs AS (
    SELECT user_id, account_id, event_date AS d, 0 AS calls FROM staging.daily_event_counts
    WHERE user_id IS NOT NULL AND account_id IS NOT NULL AND type <> '{MessageType.GROUP}'
    UNION ALL
    SELECT user_id, group_id, CAST(timestamp AS DATE), 1 FROM staging.events
    WHERE type = '{MessageType.GROUP}' AND user_id IS NOT NULL
),
seen AS (
    SELECT user_id, account_id, min(d) AS first_seen, max(d) AS last_seen, sum(calls)::BIGINT AS group_calls
    FROM pairs GROUP BY user_id, account_id
),
changes AS ({MEMBER_CHANGES_SQL.replace("$end", "TIMESTAMP '9999-12-31'")})
SELECT s.*, c.role, c.added_on, CASE WHEN c.last_kind = 'user_removed' THEN c.last_date END AS removed_on
FROM seen s LEFT JOIN changes c USING (user_id, account_id) ORDER BY user_id, account_id
"""
