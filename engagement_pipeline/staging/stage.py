"""Parsed lines -> staged messages: de-duplication, then identity stitching and account
resolution (`staging/identity.py`), and the restating of neighbour days.

One received day is staged at a time. De-duplication is by messageId only: within the day
the copy received first wins (by receivedAt, then file and line number); a messageId already staged in the
`staging.dedupe_lookback_days` before wins over today's copy. Every dropped copy is written
to `staging.duplicates`. Stitching reads the identity links of the staged days within
`staging.stitching_lookback_days` on either side, and this day's links and group calls
restate those neighbours (see `stage_day`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb
import polars as pl

from engagement_pipeline.core.config import Config
from engagement_pipeline.core.vocab import AccountSource, MessageType
from engagement_pipeline.core.warehouse import DAILY_EVENT_COUNTS, DUPLICATES, EVENTS, QUARANTINE, conform, registered
from engagement_pipeline.staging.identity import identity_links, resolve_accounts, stitch
from engagement_pipeline.staging.parse import parse_landed, parse_lines


@dataclass
class StagingResult:
    day: dt.date
    lines: int
    events: pl.DataFrame
    quarantine: pl.DataFrame
    duplicates: pl.DataFrame
    counts: pl.DataFrame
    reasons: dict[str, int] = field(default_factory=dict)
    restated: pl.DataFrame = field(default_factory=pl.DataFrame)  # neighbour events re-attributed
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
    """Split accepted messages into first copies and duplicates (with the first copy's day).

    Within the day the copy received first wins, as Segment keeps the first received: by
    `receivedAt`, then file and line (copies without `receivedAt` come after those with one)."""
    ordered = parsed.sort("source", "source_file", "line_number")  # source: issue 17
    ordered = ordered.with_row_index("_position")
    first_received = (
        ordered.sort("received_at", "_position", nulls_last=True)
        .group_by("message_id", maintain_order=True)
        .agg(pl.col("_position").first())["_position"]
    )
    seen_before = earlier.group_by("message_id").agg(pl.col("received_date").min().alias("_earlier_date"))
    judged = ordered.with_columns(pl.col("_position").is_in(first_received.implode()).alias("_first_in_day")).join(
        seen_before, on="message_id", how="left", maintain_order="left"
    )
    is_kept = pl.col("_first_in_day") & pl.col("_earlier_date").is_null()
    keep = judged.filter(is_kept).drop("_first_in_day", "_earlier_date", "_position")
    dupes = judged.filter(~is_kept).with_columns(
        pl.coalesce("_earlier_date", "received_date").alias("first_received_date")
    )
    return keep, conform(dupes, DUPLICATES)


def daily_counts(events: pl.DataFrame) -> pl.DataFrame:
    """The compact aggregate: user x account x type x event x event day -> count."""
    return (
        events.filter(pl.col("user_id").is_not_null())
        .group_by("received_date", "event_date", "user_id", "account_id", "type", "event")
        .agg(pl.len().cast(pl.Int64).alias("event_count"))
        .sort("event_date", "user_id", "account_id", "type", "event", nulls_last=True)
    )


# Account sources that another day's group calls can change.
_MEMBERSHIP_SOURCES = (AccountSource.MEMBERSHIP, AccountSource.MEMBERSHIP_NEXT, AccountSource.UNRESOLVED)

NEIGHBOUR_SQL = f"""
SELECT * FROM staging.events
WHERE received_date BETWEEN ? AND ? AND received_date <> ?
  AND (anonymous_id IS NOT NULL OR type IN ('{MessageType.GROUP}', '{MessageType.ALIAS}')
       OR account_source IN ({", ".join(f"'{source}'" for source in _MEMBERSHIP_SOURCES)}))
"""


def _original_ids(events: pl.DataFrame) -> pl.DataFrame:
    """Staged events as they arrived: a stitched event had no userId of its own, and an
    account that came from the event's context was its `context.groupId`."""
    return events.with_columns(
        pl.when(pl.col("stitched")).then(None).otherwise(pl.col("user_id")).alias("user_id"),
        pl.when(pl.col("account_source") == AccountSource.CONTEXT).then(pl.col("account_id")).alias("context_group_id"),
    )


def _restate_neighbours(
    neighbours: pl.DataFrame, links: pl.DataFrame, group_calls: pl.DataFrame, touched_users: set[str], fallback: str
) -> pl.DataFrame:
    """Neighbour-day events whose user or account changes now that this day is staged.

    Anonymous events linked by this day's identify/alias calls are stitched, and events
    resolved through memberships of users with group calls this day are resolved again,
    so the result does not depend on the order in which days are staged.
    """
    original = (
        _original_ids(neighbours)
        .with_columns(
            neighbours["user_id"].alias("_old_user"),
            pl.col("account_id").alias("_old_account"),
            pl.col("stitched").alias("_old_stitched"),
            pl.col("account_source").alias("_old_source"),
        )
        .drop("stitched")
    )
    candidates = original.filter(
        (pl.col("user_id").is_null() & pl.col("anonymous_id").is_in(links["anonymous_id"].implode()))
        | (pl.col("_old_user").is_in(list(touched_users)) & pl.col("_old_source").is_in(_MEMBERSHIP_SOURCES))
    )
    if candidates.is_empty():
        return neighbours.clear()
    redone = resolve_accounts(stitch(candidates, links), group_calls, fallback)
    changed = redone.filter(
        pl.col("user_id").ne_missing(pl.col("_old_user"))
        | pl.col("account_id").ne_missing(pl.col("_old_account"))
        | pl.col("stitched").ne_missing(pl.col("_old_stitched"))
        | pl.col("account_source").ne_missing(pl.col("_old_source"))
    )
    return conform(changed, EVENTS)


def stage_day(
    con: duckdb.DuckDBPyConnection, day: dt.date, lines: pl.DataFrame | None, config: Config
) -> StagingResult:
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
        kept.select("message_id"), on="message_id", how="semi"
    )

    neighbours = neighbour_events(con, day, stitch_days, later_copies)
    id_columns = ["type", "user_id", "anonymous_id", "previous_id", "timestamp"]
    links = identity_links(
        pl.concat([kept.select(id_columns), _original_ids(neighbours).select(id_columns)], how="vertical_relaxed")
    )
    stitched = stitch(kept, links)
    del kept
    group_calls = day_group_calls(con, day, stitched, neighbours, links)
    events = conform(resolve_accounts(stitched, group_calls, fallback), EVENTS)
    counts = conform(daily_counts(events), DAILY_EVENT_COUNTS)
    return finish_day(
        day, n_lines, events, quarantine, duplicates, counts, neighbours, links, group_calls, later_copies, fallback
    )


def neighbour_events(
    con: duckdb.DuckDBPyConnection, day: dt.date, stitch_days: int, later_copies: pl.DataFrame
) -> pl.DataFrame:
    """Staged events of the neighbour days that this day's links and group calls can change,
    without the later copies of this day's messages (they become duplicates)."""
    neighbourhood = [day - dt.timedelta(days=stitch_days), day + dt.timedelta(days=stitch_days)]
    return (
        con.execute(NEIGHBOUR_SQL, [*neighbourhood, day])
        .pl()
        .join(later_copies.select("message_id", "received_date"), on=["message_id", "received_date"], how="anti")
    )


def day_group_calls(
    con: duckdb.DuckDBPyConnection,
    day: dt.date,
    day_events: pl.DataFrame,
    neighbours: pl.DataFrame,
    links: pl.DataFrame,
) -> pl.DataFrame:
    """Group calls (user_id, group_id, timestamp) that resolving and restating can read: this
    day's own, and those of other days by the users of this day and its neighbours."""
    users = (
        pl.concat(
            [
                day_events.select("user_id"),
                neighbours.select("user_id"),
                links.select(pl.col("linked_user_id").alias("user_id")),
            ]
        )
        .drop_nulls()
        .unique()
    )
    with registered(con, "_day_users", users):
        earlier_calls = con.execute(
            "SELECT user_id, group_id, timestamp FROM staging.events JOIN _day_users USING (user_id) "
            f"WHERE type = '{MessageType.GROUP}' AND received_date <> ?",
            [day],
        ).pl()
    return pl.concat(
        [
            earlier_calls,
            day_events.filter(pl.col("type") == MessageType.GROUP).select("user_id", "group_id", "timestamp"),
        ],
        how="vertical_relaxed",
    )


def finish_day(
    day: dt.date,
    n_lines: int,
    events: pl.DataFrame,
    quarantine: pl.DataFrame,
    duplicates: pl.DataFrame,
    counts: pl.DataFrame,
    neighbours: pl.DataFrame,
    links: pl.DataFrame,
    group_calls: pl.DataFrame,
    later_copies: pl.DataFrame,
    fallback: str,
) -> StagingResult:
    """The day's result from its staged rows (whichever engine made them): the neighbour events
    it restates, the later copies that become duplicates, the quarantine reasons."""
    touched = set(events.filter(pl.col("type") == MessageType.GROUP)["user_id"].drop_nulls().to_list())
    restated = _restate_neighbours(neighbours, links, group_calls, touched, fallback)
    moved = later_copies.select("received_date", "source_file", "line_number", "message_id", "event_date").with_columns(
        pl.lit(day).alias("first_received_date")
    )
    reasons = dict(quarantine.group_by("reason").len().sort("reason").iter_rows())
    return StagingResult(
        day=day,
        lines=n_lines,
        events=events,
        quarantine=quarantine,
        duplicates=duplicates,
        counts=counts,
        reasons=reasons,
        restated=restated,
        later_duplicates=moved,
    )
