"""Parsed lines -> staged messages: de-duplication, identity stitching, account resolution.

One received day is staged at a time. The rules, in order:

1. De-duplication is by messageId only: within the day the first line (by file, then
   line number) wins; a messageId already staged in the `staging.dedupe_lookback_days`
   before wins over today's copy. Every dropped copy is written to `staging.duplicates`.
2. Stitching: an anonymousId is linked to a userId by any message carrying both
   (identify, usually) or by an alias call (previousId -> userId), found today or in the
   staged days within `staging.stitching_lookback_days` on either side; the earliest
   link wins.
3. Account resolution (first that applies, recorded in `account_source`):
   `context` - the message's own `context.groupId`; `group_call` - a group call's
   `groupId`; `membership` - the user's latest group call at or before the message;
   `membership_next` - the user's first group call after it (activity before the
   group call that made them a member, as in a signup flow); otherwise the account
   stays null (`unresolved`, or `anonymous` when no user is known) and is counted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from engagement_pipeline.core.config import Config
from engagement_pipeline.staging.parse import parse_landed, parse_lines
from engagement_pipeline.core.warehouse import (
    ACCOUNT_TRAITS_HISTORY, BILLING, DAILY_EVENT_COUNTS, DUPLICATES, EVENTS, QUARANTINE, USER_TRAITS_HISTORY, Table,
    conform, insert_rows, registered, replace_rows,
)


@dataclass
class StagingResult:
    day: dt.date
    lines: int
    events: pl.DataFrame
    quarantine: pl.DataFrame
    duplicates: pl.DataFrame
    counts: pl.DataFrame
    reasons: dict[str, int] = field(default_factory=dict)
    restated: pl.DataFrame = field(default_factory=pl.DataFrame)          # neighbour events re-attributed
    later_duplicates: pl.DataFrame = field(default_factory=pl.DataFrame)  # later copies of this day's messages

    @property
    def restated_days(self) -> list[dt.date]:
        """Received days (other than this one) whose rows this staging changed."""
        days: set[dt.date] = set()
        for frame in (self.restated, self.later_duplicates):
            if frame.height:
                days.update(frame["received_date"].to_list())
        return sorted(days)

    @property
    def accepted(self) -> int:
        return self.events.height

    @property
    def stitched(self) -> int:
        return int(self.events["stitched"].sum())

    @property
    def unresolved(self) -> int:
        return int(self.events["account_id"].is_null().sum())

    @property
    def late_event_dates(self) -> list[dt.date]:
        """Event dates before the received day that this staging added or changed.

        Every as-of day from the earliest of these to the day before this one is stale
        until re-materialized (within one window of the event).
        """
        frames = [self.events.filter(pl.col("event_date") < self.day).select("event_date")]
        frames += [f.select("event_date") for f in (self.restated, self.later_duplicates) if f.height]
        return pl.concat(frames)["event_date"].unique().sort().to_list()

    @property
    def reconciles(self) -> bool:
        return self.lines == self.accepted + self.duplicates.height + self.quarantine.height


def _dedupe(parsed: pl.DataFrame, earlier: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split accepted messages into first copies and duplicates (with the first copy's day)."""
    ordered = parsed.sort("source_file", "line_number")
    seen_before = earlier.group_by("message_id").agg(pl.col("received_date").min().alias("_earlier_date"))
    judged = ordered.with_columns(pl.col("message_id").is_first_distinct().alias("_first_in_day")).join(
        seen_before, on="message_id", how="left", maintain_order="left")
    is_kept = pl.col("_first_in_day") & pl.col("_earlier_date").is_null()
    keep = judged.filter(is_kept).drop("_first_in_day", "_earlier_date")
    dupes = judged.filter(~is_kept).with_columns(
        pl.coalesce("_earlier_date", "received_date").alias("first_received_date"))
    return keep, conform(dupes, DUPLICATES)


def identity_links(messages: pl.DataFrame) -> pl.DataFrame:
    """anonymous_id -> user_id links, the earliest per anonymous id."""
    direct = messages.filter(pl.col("anonymous_id").is_not_null() & pl.col("user_id").is_not_null()).select(
        "anonymous_id", "user_id", "timestamp"
    )
    aliases = messages.filter((pl.col("type") == "alias") & pl.col("previous_id").is_not_null()).select(
        pl.col("previous_id").alias("anonymous_id"), "user_id", "timestamp"
    )
    return (
        pl.concat([direct, aliases])
        .filter(pl.col("anonymous_id") != pl.col("user_id"))
        .sort("timestamp", "user_id")
        .unique("anonymous_id", keep="first", maintain_order=True)
        .select("anonymous_id", pl.col("user_id").alias("linked_user_id"))
    )


def stitch(messages: pl.DataFrame, links: pl.DataFrame) -> pl.DataFrame:
    joined = messages.join(links, on="anonymous_id", how="left")
    return joined.with_columns(
        (pl.col("user_id").is_null() & pl.col("linked_user_id").is_not_null()).alias("stitched"),
        pl.coalesce("user_id", "linked_user_id").alias("user_id"),
    ).drop("linked_user_id")


def resolve_accounts(messages: pl.DataFrame, group_calls: pl.DataFrame,
                     fallback: str = "latest_before") -> pl.DataFrame:
    """Attach `account_id` and `account_source` to every message (see the module docstring).

    `fallback` decides the account of a message without `context.groupId` (users in
    several accounts): `latest_before` - the latest group call at or before it, else the
    first after it; `first_joined` - the first account the user ever joined.
    """
    calls = (
        group_calls.select("user_id", pl.col("group_id").alias("_gid"), pl.col("timestamp").alias("_gts"))
        .drop_nulls()
        .sort("_gts", "_gid")
    )
    indexed = messages.with_row_index("_row")
    # Only a message without its own account (no context.groupId, not a group call) of a known
    # user looks for a membership: with context on most events, a small share of the day.
    own_account = pl.col("context_group_id").is_not_null() | ((pl.col("type") == "group") & pl.col("group_id").is_not_null())
    looking = indexed.filter(~own_account.fill_null(False) & pl.col("user_id").is_not_null()).select(
        "_row", "user_id", pl.col("timestamp").fill_null(dt.datetime(1970, 1, 1)).alias("_ts")).sort("_ts")
    if fallback == "first_joined":
        first = calls.unique("user_id", keep="first", maintain_order=True).select("user_id", pl.col("_gid").alias("_first"))
        candidates = looking.join(first, on="user_id", how="left").select(
            "_row", pl.col("_first").alias("_before"), pl.lit(None, dtype=pl.String).alias("_after"))
    else:
        backward = looking.join_asof(
            calls, left_on="_ts", right_on="_gts", by="user_id", strategy="backward", check_sortedness=False
        ).select("_row", pl.col("_gid").alias("_before"))
        forward = looking.join_asof(
            calls, left_on="_ts", right_on="_gts", by="user_id", strategy="forward", check_sortedness=False
        ).select("_row", pl.col("_gid").alias("_after"))
        candidates = backward.join(forward, on="_row", how="left")
    return (
        indexed.join(candidates, on="_row", how="left", maintain_order="left")
        .with_columns(
            pl.when(pl.col("context_group_id").is_not_null()).then(pl.lit("context"))
            .when((pl.col("type") == "group") & pl.col("group_id").is_not_null()).then(pl.lit("group_call"))
            .when(pl.col("_before").is_not_null()).then(pl.lit("membership"))
            .when(pl.col("_after").is_not_null()).then(pl.lit("membership_next"))
            .when(pl.col("user_id").is_null()).then(pl.lit("anonymous"))
            .otherwise(pl.lit("unresolved"))
            .alias("account_source"),
        )
        .with_columns(
            pl.when(pl.col("account_source") == "context").then(pl.col("context_group_id"))
            .when(pl.col("account_source") == "group_call").then(pl.col("group_id"))
            .when(pl.col("account_source") == "membership").then(pl.col("_before"))
            .when(pl.col("account_source") == "membership_next").then(pl.col("_after"))
            .alias("account_id")
        )
        .drop("_row", "_before", "_after")
    )


def daily_counts(events: pl.DataFrame) -> pl.DataFrame:
    """The compact aggregate: user x account x type x event x event day -> count."""
    return (
        events.filter(pl.col("user_id").is_not_null())
        .group_by("received_date", "event_date", "user_id", "account_id", "type", "event")
        .agg(pl.len().cast(pl.Int64).alias("event_count"))
        .sort("event_date", "user_id", "account_id", "type", "event", nulls_last=True)
    )


NEIGHBOUR_SQL = """
SELECT * FROM staging.events
WHERE received_date BETWEEN ? AND ? AND received_date <> ?
  AND (anonymous_id IS NOT NULL OR type IN ('group', 'alias')
       OR account_source IN ('membership', 'membership_next', 'unresolved'))
"""


def _original_ids(events: pl.DataFrame) -> pl.DataFrame:
    """Staged events as they arrived: a stitched event had no userId of its own, and an
    account that came from the event's context was its `context.groupId`."""
    return events.with_columns(
        pl.when(pl.col("stitched")).then(None).otherwise(pl.col("user_id")).alias("user_id"),
        pl.when(pl.col("account_source") == "context").then(pl.col("account_id")).alias("context_group_id"),
    )


def _restate_neighbours(neighbours: pl.DataFrame, links: pl.DataFrame, group_calls: pl.DataFrame,
                        touched_users: set[str], fallback: str) -> pl.DataFrame:
    """Neighbour-day events whose user or account changes now that this day is staged.

    Anonymous events linked by this day's identify/alias calls are stitched, and events
    resolved through memberships of users with group calls this day are resolved again,
    so the result does not depend on the order in which days are staged.
    """
    original = _original_ids(neighbours).with_columns(
        neighbours["user_id"].alias("_old_user"), pl.col("account_id").alias("_old_account"),
        pl.col("stitched").alias("_old_stitched"), pl.col("account_source").alias("_old_source"),
    ).drop("stitched")
    candidates = original.filter(
        (pl.col("user_id").is_null() & pl.col("anonymous_id").is_in(links["anonymous_id"].implode()))
        | (pl.col("_old_user").is_in(list(touched_users))
           & pl.col("_old_source").is_in(["membership", "membership_next", "unresolved"]))
    )
    if candidates.is_empty():
        return neighbours.clear()
    redone = resolve_accounts(stitch(candidates, links), group_calls, fallback)
    changed = redone.filter(
        pl.col("user_id").ne_missing(pl.col("_old_user")) | pl.col("account_id").ne_missing(pl.col("_old_account"))
        | pl.col("stitched").ne_missing(pl.col("_old_stitched"))
        | pl.col("account_source").ne_missing(pl.col("_old_source"))
    )
    return conform(changed, EVENTS)


def stage_day(con: duckdb.DuckDBPyConnection, day: dt.date, lines: pl.DataFrame | None, config: Config) -> StagingResult:
    """Stage one received day's raw lines.

    Reads the staged days within the look-back on both sides: earlier days decide
    duplicates; identity links and group calls found on any side stitch and resolve
    this day's events; and this day's messages restate the neighbours (later copies of
    its messageIds become duplicates, anonymous events it links are stitched, memberships
    re-resolved), so days staged out of order end the same as days staged in order.

    `lines` shaped like raw.landed_lines, or None to parse the day's rows of
    raw.landed_lines where they are (the lines then never leave DuckDB).
    """
    dedupe_days = config.staging.dedupe_lookback_days
    stitch_days = config.staging.stitching_lookback_days
    fallback = config.staging.membership_fallback
    max_id = config.staging.max_id_length
    parsed = parse_landed(con, day, max_id) if lines is None else parse_lines(con, lines, max_id)
    n_lines = parsed.height
    quarantine = conform(parsed.filter(pl.col("reason").is_not_null()).rename({"line": "payload"}), QUARANTINE)
    accepted = parsed.filter(pl.col("reason").is_null()).drop("line", "encoding", "reason", "detail")
    del parsed  # a million-line day: each frame let go as soon as the next exists keeps the peak low

    window = [day - dt.timedelta(days=dedupe_days), day + dt.timedelta(days=dedupe_days)]
    with registered(con, "_today_ids", accepted.select("message_id").unique()):
        same_ids = con.execute(
            """SELECT e.* FROM staging.events e JOIN _today_ids t USING (message_id)
               WHERE e.received_date BETWEEN ? AND ? AND e.received_date <> ?""",
            [*window, day],
        ).pl()
    earlier = same_ids.filter(pl.col("received_date") < day).select("message_id", "received_date")
    kept, duplicates = _dedupe(accepted, earlier)
    del accepted
    later_copies = same_ids.filter(pl.col("received_date") > day).join(
        kept.select("message_id"), on="message_id", how="semi")

    neighbourhood = [day - dt.timedelta(days=stitch_days), day + dt.timedelta(days=stitch_days)]
    neighbours = con.execute(NEIGHBOUR_SQL, [*neighbourhood, day]).pl().join(
        later_copies.select("message_id", "received_date"), on=["message_id", "received_date"], how="anti")
    id_columns = ["type", "user_id", "anonymous_id", "previous_id", "timestamp"]
    links = identity_links(pl.concat(
        [kept.select(id_columns), _original_ids(neighbours).select(id_columns)], how="vertical_relaxed"))
    stitched = stitch(kept, links)
    del kept

    # Memberships are looked up only for users of this day and its neighbours: their group
    # calls, on any day, are all that resolving and restating can read.
    users = pl.concat([stitched.select("user_id"), neighbours.select("user_id"),
                       links.select(pl.col("linked_user_id").alias("user_id"))]).drop_nulls().unique()
    with registered(con, "_day_users", users):
        earlier_calls = con.execute(
            "SELECT user_id, group_id, timestamp FROM staging.events JOIN _day_users USING (user_id) "
            "WHERE type = 'group' AND received_date <> ?", [day]).pl()
    group_calls = pl.concat(
        [earlier_calls, stitched.filter(pl.col("type") == "group").select("user_id", "group_id", "timestamp")],
        how="vertical_relaxed",
    )
    events = conform(resolve_accounts(stitched, group_calls, fallback), EVENTS)
    touched = set(stitched.filter(pl.col("type") == "group")["user_id"].drop_nulls().to_list())
    restated = _restate_neighbours(neighbours, links, group_calls, touched, fallback)
    moved = later_copies.select("received_date", "source_file", "line_number", "message_id", "event_date") \
        .with_columns(pl.lit(day).alias("first_received_date"))
    reasons = dict(quarantine.group_by("reason").len().sort("reason").iter_rows())
    return StagingResult(
        day=day, lines=n_lines, events=events, quarantine=quarantine, duplicates=duplicates,
        counts=conform(daily_counts(events), DAILY_EVENT_COUNTS), reasons=reasons,
        restated=restated, later_duplicates=moved,
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
    "plan": f"lower({_trait('$.plan')})",
    "status": f"lower({_trait('$.status')})",
    "created_at": f"timezone('UTC', TRY_CAST({_trait('$.createdAt', '$.created_at')} AS TIMESTAMPTZ))",
    "city": _trait("$.address.city", "$.city"),
    "state": _trait("$.address.state", "$.state"),
    "zip": _trait("$.address.postalCode", "$.address.postal_code", "$.postalCode", "$.zip"),
    "country": _trait("$.address.country", "$.country"),
}


def _history_sql(key: str, id_expr: str, message_type: str, traits: dict[str, str], only: str | None = None,
                 state: str | None = None, day_only: bool = False) -> str:
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
    key: str           # the history's key column
    id_expr: str       # the events column it comes from
    message_type: str  # identify or group
    traits: dict[str, str]

    def sql(self, only: str | None = None, state: str | None = None, day_only: bool = False) -> str:
        """`_history_sql` for this history: the full rebuild without arguments."""
        return _history_sql(self.key, self.id_expr, self.message_type, self.traits, only, state, day_only)

    def restated_keys(self, restated: pl.DataFrame) -> pl.DataFrame:
        """Keys of this history's calls among a staging's restated events."""
        if restated.is_empty():
            return pl.DataFrame(schema={"key": pl.String})
        return restated.filter(pl.col("type") == self.message_type).select(
            pl.col(self.id_expr).alias("key")).drop_nulls()

    def call_keys(self, con: duckdb.DuckDBPyConnection, day: dt.date) -> pl.DataFrame:
        """Keys with calls received on `day` (to pass to `refresh_history` as `before`)."""
        return con.execute(
            f"SELECT DISTINCT {self.id_expr} AS key FROM staging.events WHERE received_date = ? "
            f"AND type = '{self.message_type}' AND {self.id_expr} IS NOT NULL AND traits IS NOT NULL", [day]).pl()


USER_HISTORY_SPEC = TraitHistory(USER_TRAITS_HISTORY, "user_id", "user_id", "identify", USER_TRAITS)
ACCOUNT_HISTORY_SPEC = TraitHistory(ACCOUNT_TRAITS_HISTORY, "account_id", "group_id", "group", ACCOUNT_TRAITS)


def refresh_history(con: duckdb.DuckDBPyConnection, h: TraitHistory, day: dt.date, before: pl.DataFrame,
                    restated: pl.DataFrame) -> int:
    """Bring a trait history up to date after staging `day`; returns the rows rewritten.

    The history is one row per call, so rebuilding it whole costs the length of the history.
    Instead a key whose calls of the day all come after its current row is folded forward from
    that row (the usual case: a day's calls are that day's news). A key with a call of the day
    at or before its current row (late data), with calls on this day before a re-run
    (`before`), or whose calls are among the `restated` events, is rebuilt from all its calls; so
    is everything when the history is empty. Either way the rows equal a full rebuild's.
    """
    table = h.table.qualified
    if con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0:
        return replace_rows(con, h.table, con.execute(h.sql()).pl(), None)
    today = h.call_keys(con, day)
    with registered(con, "_today_keys", today), registered(con, "_forced_keys", pl.concat(
            [before.select("key"), h.restated_keys(restated)]).unique()):
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _rebuild_keys AS
            SELECT key FROM _forced_keys
            UNION
            SELECT c.{h.id_expr} FROM staging.events c JOIN (
                SELECT {h.key}, max(valid_from) AS last_from FROM {table} GROUP BY {h.key}
            ) s ON s.{h.key} = c.{h.id_expr}
            WHERE c.received_date = $day AND c.type = '{h.message_type}' AND c.traits IS NOT NULL
              AND c.timestamp <= s.last_from""", {"day": day})
        con.execute("CREATE OR REPLACE TEMP TABLE _fold_keys AS "
                    "SELECT key FROM _today_keys WHERE key NOT IN (SELECT key FROM _rebuild_keys)")
    rebuilt = con.execute(h.sql(only="_rebuild_keys")).pl()
    folded = con.execute(h.sql(only="_fold_keys", state=table, day_only=True), {"day": day}).pl()
    con.execute(f"DELETE FROM {table} WHERE {h.key} IN (SELECT key FROM _rebuild_keys)")
    con.execute(f"DELETE FROM {table} WHERE valid_to IS NULL AND {h.key} IN (SELECT key FROM _fold_keys)")
    con.execute("DROP TABLE _rebuild_keys")
    con.execute("DROP TABLE _fold_keys")
    return insert_rows(con, h.table, rebuilt) + insert_rows(con, h.table, folded)


USERS_SQL = f"""
WITH seen AS (
    SELECT user_id, min(event_date) AS first_seen, max(event_date) AS last_seen
    FROM staging.daily_event_counts GROUP BY user_id
)
SELECT s.user_id, {", ".join(f"h.{c}" for c in USER_TRAITS if c not in ("unsubscribed",))},
       coalesce(h.unsubscribed, false) AS unsubscribed, s.first_seen, s.last_seen
FROM seen s LEFT JOIN staging.user_traits_history h ON h.user_id = s.user_id AND h.valid_to IS NULL
ORDER BY s.user_id
"""

ACCOUNTS_SQL = f"""
WITH seen AS (
    SELECT account_id, min(event_date) AS first_seen, max(event_date) AS last_seen
    FROM staging.daily_event_counts WHERE account_id IS NOT NULL GROUP BY account_id
    UNION ALL
    SELECT account_id, min(CAST(valid_from AS DATE)), max(CAST(valid_from AS DATE))
    FROM staging.account_traits_history GROUP BY account_id
),
ids AS (SELECT account_id, min(first_seen) AS first_seen, max(last_seen) AS last_seen FROM seen GROUP BY account_id)
SELECT i.account_id, {", ".join(f"h.{c}" for c in ACCOUNT_TRAITS)}, i.first_seen, i.last_seen
FROM ids i LEFT JOIN staging.account_traits_history h ON h.account_id = i.account_id AND h.valid_to IS NULL
ORDER BY i.account_id
"""

# Point-in-time account attributes for an as-of day: the trait history as of the end of
# the day, overridden by the latest billing row on or before the day.
ACCOUNT_ATTRIBUTES_SQL = """
WITH traits AS (
    SELECT * FROM staging.account_traits_history
    WHERE valid_from < $end AND (valid_to IS NULL OR valid_to >= $end)
),
bill AS (
    SELECT account_id, arg_max(plan, date) AS plan, arg_max(status, date) AS status,
           arg_max(mrr, date) AS mrr
    FROM staging.billing WHERE date <= $day GROUP BY account_id
)
SELECT a.account_id, coalesce(t.name, a.name) AS name,
       coalesce(b.plan, t.plan) AS plan, coalesce(b.status, t.status) AS status,
       coalesce(b.mrr, 0.0) AS mrr,
       coalesce(CAST(t.created_at AS DATE), a.first_seen) AS created_date
FROM staging.accounts a LEFT JOIN traits t USING (account_id) LEFT JOIN bill b USING (account_id)
"""


def account_attributes(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> pl.DataFrame:
    """account_id, name, plan, status, mrr, created_date as known at the end of `as_of`."""
    end = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
    return con.execute(ACCOUNT_ATTRIBUTES_SQL, {"end": end, "day": as_of}).pl()


def traits_as_of(con: duckdb.DuckDBPyConnection, table: str, as_of: dt.datetime) -> pl.DataFrame:
    """Every user's (`user_traits_history`) or account's traits as known at `as_of`."""
    if table not in ("user_traits_history", "account_traits_history"):
        raise ValueError(f"not a trait history table: {table}")
    return con.execute(
        f"SELECT * FROM staging.{table} WHERE valid_from <= ? AND (valid_to IS NULL OR valid_to > ?)",
        [as_of, as_of],
    ).pl()


MEMBERSHIPS_SQL = """
WITH pairs AS (
    SELECT user_id, account_id, event_date AS d, 0 AS calls FROM staging.daily_event_counts
    WHERE user_id IS NOT NULL AND account_id IS NOT NULL AND type <> 'group'
    UNION ALL
    SELECT user_id, group_id, CAST(timestamp AS DATE), 1 FROM staging.events
    WHERE type = 'group' AND user_id IS NOT NULL
)
SELECT user_id, account_id, min(d) AS first_seen, max(d) AS last_seen, sum(calls)::BIGINT AS group_calls
FROM pairs GROUP BY user_id, account_id ORDER BY user_id, account_id
"""


def read_billing(con: duckdb.DuckDBPyConnection, folder: Path | None) -> tuple[pl.DataFrame, list[str]]:
    """All billing files (CSV or Parquet) as one frame, plus warnings for what was skipped."""
    empty = pl.DataFrame(schema=BILLING.polars_schema())
    if folder is None:
        return empty, []
    if not folder.exists():
        return empty, [f"billing folder {folder} does not exist: billing outcomes come from group traits only"]
    frames, warnings = [], []
    for path in sorted(folder.iterdir()):
        reader = {".csv": "read_csv", ".parquet": "read_parquet"}.get(path.suffix.lower())
        if reader is None or path.name.startswith("."):
            continue
        try:
            rel = con.execute(f"SELECT * FROM {reader}(?)", [str(path)]).pl()
        except duckdb.Error as exc:
            warnings.append(f"billing file {path.name} could not be read ({str(exc).splitlines()[0]})")
            continue
        missing = {"account_id", "date", "plan", "mrr", "status"} - set(rel.columns)
        if missing:
            warnings.append(f"billing file {path.name} lacks columns {sorted(missing)}; skipped")
            continue
        frames.append(rel.with_columns(pl.lit(path.name).alias("source_file")))
    if not frames:
        return empty, warnings
    frame = pl.concat([conform(f, BILLING) for f in frames]).with_columns(
        pl.col("plan").str.to_lowercase(), pl.col("status").str.to_lowercase()
    )
    bad = frame.filter(pl.col("account_id").is_null() | pl.col("date").is_null()).height
    if bad:
        warnings.append(f"{bad} billing rows without account_id or date were skipped")
    return frame.drop_nulls(["account_id", "date"]).sort("account_id", "date"), warnings
