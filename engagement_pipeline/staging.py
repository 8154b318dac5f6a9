"""Parsed lines -> staged messages: de-duplication, identity stitching, account resolution.

One received day is staged at a time. The rules, in order:

1. De-duplication is by messageId only: within the day the first line (by file, then
   line number) wins; a messageId already staged in the `dedupe_lookback_days` before
   wins over today's copy. Every dropped copy is written to `staging.duplicates`.
2. Stitching: an anonymousId is linked to a userId by any message carrying both
   (identify, usually) or by an alias call (previousId -> userId), found today or in the
   staged days within the look-back on either side; the earliest link wins.
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

from engagement_pipeline.config import Config
from engagement_pipeline.parsing import parse_lines
from engagement_pipeline.warehouse import (
    BILLING, DAILY_EVENT_COUNTS, DUPLICATES, EVENTS, QUARANTINE, conform,
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
        """Event dates before the received day: the as-of days whose scores this day changes."""
        dates = self.events.filter(pl.col("event_date") < self.day)["event_date"].unique().sort()
        return dates.to_list()

    @property
    def reconciles(self) -> bool:
        return self.lines == self.accepted + self.duplicates.height + self.quarantine.height


def _dedupe(parsed: pl.DataFrame, earlier: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split accepted messages into first copies and duplicates (with the first copy's day)."""
    ordered = parsed.sort("source_file", "line_number")
    first_today = ordered.select("message_id", pl.col("received_date").alias("first_received_date")).unique(
        "message_id", keep="first", maintain_order=True
    )
    seen_before = earlier.group_by("message_id").agg(pl.col("received_date").min().alias("first_received_date"))
    first_seen = pl.concat([seen_before, first_today]).unique("message_id", keep="first")
    is_first = ordered.with_columns(
        (pl.int_range(pl.len()).over("message_id") == 0).alias("_first_in_day")
    ).join(first_seen, on="message_id", how="left")
    keep = is_first.filter(pl.col("_first_in_day") & (pl.col("first_received_date") == pl.col("received_date")))
    dupes = is_first.filter(~(pl.col("_first_in_day") & (pl.col("first_received_date") == pl.col("received_date"))))
    return keep.drop("_first_in_day", "first_received_date"), conform(dupes, DUPLICATES)


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


def resolve_accounts(messages: pl.DataFrame, group_calls: pl.DataFrame) -> pl.DataFrame:
    """Attach `account_id` and `account_source` to every message (see the module docstring)."""
    calls = (
        group_calls.select("user_id", pl.col("group_id").alias("_gid"), pl.col("timestamp").alias("_gts"))
        .drop_nulls()
        .sort("_gts")
    )
    indexed = messages.with_row_index("_row").sort("timestamp")
    indexed = indexed.with_columns(pl.col("timestamp").fill_null(dt.datetime(1970, 1, 1)).alias("_ts"))
    backward = indexed.join_asof(
        calls, left_on="_ts", right_on="_gts", by="user_id", strategy="backward", check_sortedness=False
    ).select("_row", pl.col("_gid").alias("_before"))
    forward = indexed.join_asof(
        calls, left_on="_ts", right_on="_gts", by="user_id", strategy="forward", check_sortedness=False
    ).select("_row", pl.col("_gid").alias("_after"))
    out = (
        indexed.join(backward, on="_row", how="left").join(forward, on="_row", how="left")
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
        .sort("_row")
        .drop("_row", "_ts", "_before", "_after")
    )
    return out


def daily_counts(events: pl.DataFrame) -> pl.DataFrame:
    """The compact aggregate: user x account x type x event x event day -> count."""
    return (
        events.filter(pl.col("user_id").is_not_null())
        .group_by("received_date", "event_date", "user_id", "account_id", "type", "event")
        .agg(pl.len().cast(pl.Int64).alias("event_count"))
        .sort("event_date", "user_id", "account_id", "type", "event", nulls_last=True)
    )


def _neighbour_events(con: duckdb.DuckDBPyConnection, day: dt.date, before: int, after: int) -> pl.DataFrame:
    return con.execute(
        """SELECT message_id, type, user_id, anonymous_id, group_id, previous_id, timestamp, received_date
           FROM staging.events
           WHERE received_date BETWEEN ? AND ? AND received_date <> ?
             AND (anonymous_id IS NOT NULL OR type IN ('group', 'alias'))""",
        [day - dt.timedelta(days=before), day + dt.timedelta(days=after), day],
    ).pl()


def stage_day(con: duckdb.DuckDBPyConnection, day: dt.date, lines: pl.DataFrame, config: Config) -> StagingResult:
    """Stage one received day's raw lines; reads earlier staged days for duplicates and identity."""
    lookback = config.staging.dedupe_lookback_days
    parsed = parse_lines(con, lines, config.staging.max_id_length)
    rejected = parsed.filter(pl.col("reason").is_not_null())
    quarantine = conform(rejected.rename({"line": "payload"}), QUARANTINE)
    accepted = parsed.filter(pl.col("reason").is_null())

    earlier = con.execute(
        """SELECT e.message_id, e.received_date FROM staging.events e
           WHERE e.received_date BETWEEN ? AND ?""",
        [day - dt.timedelta(days=lookback), day - dt.timedelta(days=1)],
    ).pl() if lookback else pl.DataFrame(schema={"message_id": pl.String, "received_date": pl.Date})
    earlier = earlier.join(accepted.select("message_id"), on="message_id", how="semi")
    kept, duplicates = _dedupe(accepted, earlier)

    neighbours = _neighbour_events(con, day, lookback, lookback)
    links = identity_links(pl.concat([kept.select(neighbours.columns), neighbours], how="vertical_relaxed"))
    stitched = stitch(kept, links)

    group_calls = pl.concat(
        [
            con.execute(
                "SELECT user_id, group_id, timestamp FROM staging.events WHERE type = 'group' AND received_date <> ?",
                [day],
            ).pl(),
            stitched.filter(pl.col("type") == "group").select("user_id", "group_id", "timestamp"),
        ],
        how="vertical_relaxed",
    )
    resolved = resolve_accounts(stitched, group_calls)
    events = conform(resolved, EVENTS)
    reasons = dict(quarantine.group_by("reason").len().sort("reason").iter_rows())
    return StagingResult(
        day=day, lines=lines.height, events=events, quarantine=quarantine,
        duplicates=duplicates, counts=conform(daily_counts(events), DAILY_EVENT_COUNTS), reasons=reasons,
    )


def _trait(*paths: str) -> str:
    return "coalesce(" + ", ".join(f"NULLIF(trim(traits::JSON->>'{p}'), '')" for p in paths) + ")"


USERS_SQL = f"""
WITH identified AS (
    SELECT user_id, timestamp,
        lower({_trait('$.email')}) AS email,
        {_trait('$.firstName', '$.first_name')} AS first_name,
        {_trait('$.lastName', '$.last_name')} AS last_name,
        {_trait('$.phone')} AS phone,
        {_trait('$.title')} AS title,
        {_trait('$.address.city', '$.city')} AS city,
        {_trait('$.address.state', '$.state')} AS state,
        {_trait('$.address.postalCode', '$.address.postal_code', '$.postalCode', '$.postal_code', '$.zip')} AS zip,
        {_trait('$.address.country', '$.country')} AS country,
        TRY_CAST({_trait('$.unsubscribed')} AS BOOLEAN) AS unsubscribed,
        TRY_CAST({_trait('$.createdAt', '$.created_at')} AS TIMESTAMPTZ) AS created_at
    FROM staging.events WHERE type = 'identify' AND user_id IS NOT NULL AND traits IS NOT NULL
),
latest AS (
    SELECT user_id,
        arg_max(email, timestamp) FILTER (WHERE email IS NOT NULL) AS email,
        arg_max(first_name, timestamp) FILTER (WHERE first_name IS NOT NULL) AS first_name,
        arg_max(last_name, timestamp) FILTER (WHERE last_name IS NOT NULL) AS last_name,
        arg_max(phone, timestamp) FILTER (WHERE phone IS NOT NULL) AS phone,
        arg_max(title, timestamp) FILTER (WHERE title IS NOT NULL) AS title,
        arg_max(city, timestamp) FILTER (WHERE city IS NOT NULL) AS city,
        arg_max(state, timestamp) FILTER (WHERE state IS NOT NULL) AS state,
        arg_max(zip, timestamp) FILTER (WHERE zip IS NOT NULL) AS zip,
        arg_max(country, timestamp) FILTER (WHERE country IS NOT NULL) AS country,
        arg_max(unsubscribed, timestamp) FILTER (WHERE unsubscribed IS NOT NULL) AS unsubscribed,
        arg_max(created_at, timestamp) FILTER (WHERE created_at IS NOT NULL) AS created_at
    FROM identified GROUP BY user_id
),
seen AS (
    SELECT user_id, min(event_date) AS first_seen, max(event_date) AS last_seen
    FROM staging.daily_event_counts GROUP BY user_id
)
SELECT s.user_id, l.email, l.first_name, l.last_name, l.phone, l.title, l.city, l.state, l.zip,
       l.country, coalesce(l.unsubscribed, false) AS unsubscribed,
       timezone('UTC', l.created_at) AS created_at, s.first_seen, s.last_seen
FROM seen s LEFT JOIN latest l USING (user_id)
ORDER BY s.user_id
"""

def _account_traits_sql(until_param: bool) -> str:
    """Latest value of each account trait from group calls (up to a timestamp when asked)."""
    until = "AND timestamp < ?" if until_param else ""
    return f"""
    grouped AS (
        SELECT group_id AS account_id, timestamp,
            {_trait('$.name')} AS name,
            {_trait('$.website')} AS website,
            {_trait('$.industry')} AS industry,
            TRY_CAST(regexp_replace({_trait('$.employees', '$.employee_count')}, '[ ,_]', '', 'g') AS BIGINT) AS employees,
            lower({_trait('$.plan')}) AS plan,
            lower({_trait('$.status')}) AS status,
            TRY_CAST({_trait('$.createdAt', '$.created_at')} AS TIMESTAMPTZ) AS created_at,
            {_trait('$.address.city', '$.city')} AS city,
            {_trait('$.address.state', '$.state')} AS state,
            {_trait('$.address.postalCode', '$.address.postal_code', '$.postalCode', '$.zip')} AS zip,
            {_trait('$.address.country', '$.country')} AS country
        FROM staging.events WHERE type = 'group' AND group_id IS NOT NULL {until}
    ),
    latest AS (
        SELECT account_id,
            arg_max(name, timestamp) FILTER (WHERE name IS NOT NULL) AS name,
            arg_max(website, timestamp) FILTER (WHERE website IS NOT NULL) AS website,
            arg_max(industry, timestamp) FILTER (WHERE industry IS NOT NULL) AS industry,
            arg_max(employees, timestamp) FILTER (WHERE employees IS NOT NULL) AS employees,
            arg_max(plan, timestamp) FILTER (WHERE plan IS NOT NULL) AS plan,
            arg_max(status, timestamp) FILTER (WHERE status IS NOT NULL) AS status,
            arg_max(created_at, timestamp) FILTER (WHERE created_at IS NOT NULL) AS created_at,
            arg_max(city, timestamp) FILTER (WHERE city IS NOT NULL) AS city,
            arg_max(state, timestamp) FILTER (WHERE state IS NOT NULL) AS state,
            arg_max(zip, timestamp) FILTER (WHERE zip IS NOT NULL) AS zip,
            arg_max(country, timestamp) FILTER (WHERE country IS NOT NULL) AS country
        FROM grouped GROUP BY account_id
    )"""


ACCOUNTS_SQL = f"""
WITH {_account_traits_sql(False)},
seen AS (
    SELECT account_id, min(event_date) AS first_seen, max(event_date) AS last_seen
    FROM staging.daily_event_counts WHERE account_id IS NOT NULL GROUP BY account_id
    UNION ALL
    SELECT account_id, min(CAST(timestamp AS DATE)), max(CAST(timestamp AS DATE)) FROM grouped GROUP BY account_id
),
ids AS (SELECT account_id, min(first_seen) AS first_seen, max(last_seen) AS last_seen FROM seen GROUP BY account_id)
SELECT i.account_id, l.name, l.website, l.industry, l.employees, l.plan, l.status,
       timezone('UTC', l.created_at) AS created_at, l.city, l.state, l.zip, l.country,
       i.first_seen, i.last_seen
FROM ids i LEFT JOIN latest l USING (account_id)
ORDER BY i.account_id
"""

# Point-in-time account attributes for an as-of day: group traits sent before the end
# of the day, overridden by the latest billing row on or before the day.
ACCOUNT_ATTRIBUTES_SQL = f"""
WITH {_account_traits_sql(True)},
bill AS (
    SELECT account_id, arg_max(plan, date) AS plan, arg_max(status, date) AS status,
           arg_max(mrr, date) AS mrr
    FROM staging.billing WHERE date <= ? GROUP BY account_id
)
SELECT a.account_id, coalesce(l.name, a.name) AS name,
       coalesce(b.plan, l.plan) AS plan, coalesce(b.status, l.status) AS status,
       coalesce(b.mrr, 0.0) AS mrr,
       coalesce(CAST(timezone('UTC', l.created_at) AS DATE), a.first_seen) AS created_date
FROM staging.accounts a LEFT JOIN latest l USING (account_id) LEFT JOIN bill b USING (account_id)
"""


def account_attributes(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> pl.DataFrame:
    """account_id, name, plan, status, mrr, created_date as known at the end of `as_of`."""
    return con.execute(ACCOUNT_ATTRIBUTES_SQL, [as_of + dt.timedelta(days=1), as_of]).pl()


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
