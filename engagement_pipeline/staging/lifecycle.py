"""Segment's B2B SaaS lifecycle events as dated account and user facts.

The spec tells an account's life with track events carrying `context.groupId`; the event
names are configuration (`lifecycle:`, `core/config_lifecycle.py`). After the day's events
are staged (whatever engine parsed them), `refresh_facts` reads the recognised events of the
staged days from `staging.events`, takes their properties from the verbatim landed line
(`raw.landed_lines`, by received day, file and line number: `staging.events` keeps no
properties) and writes one row per event to `staging.lifecycle_facts`, dated by event time:

| fact (`kind`) | default event | effect |
| --- | --- | --- |
| account_created | Account Created | the account's name (`account_name`); a deletion before it is undone |
| account_deleted | Account Deleted | the account's end: status `churned` from the event on |
| signed_up | Signed Up | the user's traits (`first_name`, `last_name`, `email`, `phone`, `title`), signup time |
| user_added | Account Added User | the user's membership starts (its `role`) |
| user_removed | Account Removed User | the membership ends: the user leaves the account's users the day after |
| trial_started | Trial Started | status `trial`, plan `trial_plan_name` (else `trial`) until the trial ends |
| trial_ended | Trial Ended | the trial's status and plan end; traits or billing say what follows |
| invite_sent | Invite Sent | counted as a seat-growth signal (`accounts.account_scores.invites_sent`) |

The user of `user_added` / `user_removed` / `signed_up` is the message's `userId`; the account
is the staged event's account (its `context.groupId`).

Precedence when sources disagree (the README's "Lifecycle events" section):

- plan, status and MRR: billing (its latest row on or before the day), else the lifecycle
  events (while their statement holds: a trial from `Trial Started` to `Trial Ended`, a
  deletion until a later `Account Created`), else the `plan` / `status` traits of group calls.
  A lifecycle event is an explicit, dated transition; a group call's traits are a snapshot
  that sync jobs re-send, often stale; billing is the system of record for money.
- descriptive attributes (account name, created time, user names, email, ...): the traits of
  group / identify calls, else the lifecycle events. Renames arrive as traits; `Account
  Created` and `Signed Up` are birth certificates that are not re-sent.
- membership: group calls and events start a membership; only `Account Removed User` ends one
  (a later `Account Added User` starts it again).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import duckdb
import polars as pl

from engagement_pipeline.core.config import Config
from engagement_pipeline.core.vocab import MessageType, Plan, Status
from engagement_pipeline.core.warehouse import LIFECYCLE_FACTS, insert_rows, registered
from engagement_pipeline.staging.outcomes import outcome_events

ACCOUNT_KINDS = ("account_created", "account_deleted", "trial_started", "trial_ended")
MEMBER_KINDS = ("user_added", "user_removed")


def _text(key: str) -> str:
    return f"NULLIF(trim(json_extract_string(p, ${key})), '')"


def _date(key: str) -> str:
    text = _text(key)
    return f"coalesce(CAST(timezone('UTC', TRY_CAST({text} AS TIMESTAMPTZ)) AS DATE), TRY_CAST({text} AS DATE))"


def _signed_up(key: str) -> str:
    """A user trait, kept from `Signed Up` only: personal data no other fact needs is not stored."""
    text = f"lower({_text(key)})" if key == "email" else _text(key)
    return f"CASE WHEN kind = 'signed_up' THEN {text} END AS {key}"


FACTS_SQL = f"""
WITH ev AS (
    SELECT e.received_date, e.message_id, e.event, k.kind, e.account_id, e.user_id, e.timestamp, e.event_date,
           e.source_file, e.line_number
    FROM staging.events e JOIN _lifecycle_kinds k ON k.event = e.event
    WHERE e.type = '{MessageType.TRACK}' AND e.received_date BETWEEN $first AND $last
      AND list_contains($days, e.received_date)
),
props AS (
    SELECT ev.*, CASE WHEN json_valid(l.line) THEN json_extract(l.line, '$.properties') END AS p
    FROM ev LEFT JOIN raw.landed_lines l
      ON l.received_date = ev.received_date AND l.source_file = ev.source_file AND l.line_number = ev.line_number
)
SELECT received_date, message_id, event, kind, account_id, user_id, timestamp, event_date,
       {_text("account_name")} AS account_name,
       lower(CASE WHEN kind = 'invite_sent' THEN {_text("invitee_role")} ELSE {_text("role")} END) AS role,
       lower({_text("trial_plan")}) AS plan,
       {_date("trial_start")} AS trial_start, {_date("trial_end")} AS trial_end,
       {", ".join(_signed_up(c) for c in ("first_name", "last_name", "email", "phone", "title"))}
FROM props
"""


def _kinds(config: Config) -> pl.DataFrame:
    events = config.lifecycle.events()
    return pl.DataFrame(
        {"event": list(events.values()), "kind": list(events)}, schema={"event": pl.String, "kind": pl.String}
    )


def _paths(config: Config) -> dict[str, str]:
    """JSON paths of the configured property names (quoted: names may hold spaces or dots)."""
    props = config.lifecycle.properties.model_dump()
    return {key: '$."' + name.replace('"', '\\"') + '"' for key, name in props.items()}


def _fingerprint(config: Config) -> str:
    """What `staging.lifecycle_facts`'s comment says once it holds every staged day's facts under
    this mapping: a new warehouse, one written before lifecycle facts existed, or a changed
    `lifecycle:` mapping has another, and its next run reads every staged day again."""
    mapping = json.dumps(config.lifecycle.model_dump(mode="json"), sort_keys=True)
    return "lifecycle facts of every staged day, mapping " + hashlib.sha256(mapping.encode()).hexdigest()[:12]


def refresh_facts(con: duckdb.DuckDBPyConnection, day: dt.date, restated_days: list[dt.date], config: Config) -> int:
    """Rewrite `staging.lifecycle_facts` for the received `day` and the days its staging restated
    (every staged day at the first run under a mapping, see `_fingerprint`).

    Runs after the day's events are in `staging.events`. Returns the rows written.
    """
    table = LIFECYCLE_FACTS.qualified
    row = con.execute(
        "SELECT comment FROM duckdb_tables() WHERE schema_name = ? AND table_name = ? AND database_name = current_database()",
        [LIFECYCLE_FACTS.schema, LIFECYCLE_FACTS.name],
    ).fetchone()
    fingerprint = _fingerprint(config)
    if row is None or row[0] != fingerprint:
        days = sorted(d for (d,) in con.execute("SELECT DISTINCT received_date FROM staging.events").fetchall())
        con.execute(f"DELETE FROM {table}")
        con.execute(f"COMMENT ON TABLE {table} IS '{fingerprint}'")
    else:
        days = sorted({day, *restated_days})
    con.execute(f"DELETE FROM {table} WHERE list_contains(?, received_date)", [days])
    kinds = _kinds(config)
    if kinds.is_empty() or not days:
        return 0
    with registered(con, "_lifecycle_kinds", kinds):
        facts = con.execute(FACTS_SQL, {"days": days, "first": days[0], "last": days[-1], **_paths(config)}).pl()
    return insert_rows(con, LIFECYCLE_FACTS, facts)


# Point-in-time account facts told by the lifecycle events: one row per instant with an
# account fact, the state after it (see the module docstring for what each fact does).
ACCOUNT_LIFECYCLE_SQL = f"""
SELECT account_id, timestamp AS valid_from,
       CASE WHEN last_value(CASE WHEN kind IN ('account_created', 'account_deleted') THEN kind END IGNORE NULLS)
                 OVER w = 'account_deleted' THEN '{Status.CHURNED}'
            WHEN last_value(CASE WHEN kind IN ('trial_started', 'trial_ended') THEN kind END IGNORE NULLS)
                 OVER w = 'trial_started' THEN '{Status.TRIAL}' END AS status,
       CASE WHEN last_value(CASE WHEN kind IN ('trial_started', 'trial_ended') THEN kind END IGNORE NULLS)
                 OVER w = 'trial_started'
            THEN last_value(CASE WHEN kind = 'trial_started' THEN coalesce(plan, '{Plan.TRIAL}') END IGNORE NULLS)
                 OVER w END AS plan,
       last_value(CASE WHEN kind IN ('account_created', 'account_deleted') THEN account_name END IGNORE NULLS)
           OVER w AS name,
       min(CASE WHEN kind = 'account_created' THEN timestamp END) OVER w AS created_at,
       max(CASE WHEN kind = 'account_deleted' THEN timestamp END) OVER w AS deleted_at
FROM staging.lifecycle_facts
WHERE account_id IS NOT NULL AND list_contains({list(ACCOUNT_KINDS)}, kind)
WINDOW w AS (PARTITION BY account_id ORDER BY timestamp, message_id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
QUALIFY row_number() OVER (PARTITION BY account_id, timestamp ORDER BY message_id DESC) = 1
"""

# The lifecycle state of each account as of `$end` (exclusive): a relation for the SQL of
# `traits.py` (accounts, point-in-time attributes).
ACCOUNT_LIFECYCLE_AT_SQL = f"""
SELECT * FROM ({ACCOUNT_LIFECYCLE_SQL}) WHERE valid_from < $end
QUALIFY row_number() OVER (PARTITION BY account_id ORDER BY valid_from DESC) = 1
"""

# The latest lifecycle state of each account (no time bound).
ACCOUNT_LIFECYCLE_NOW_SQL = f"""
SELECT * FROM ({ACCOUNT_LIFECYCLE_SQL})
QUALIFY row_number() OVER (PARTITION BY account_id ORDER BY valid_from DESC) = 1
"""

# A user's latest `Signed Up` traits.
SIGNED_UP_SQL = """
SELECT user_id, arg_max(first_name, (timestamp, message_id)) AS first_name,
       arg_max(last_name, (timestamp, message_id)) AS last_name, arg_max(email, (timestamp, message_id)) AS email,
       arg_max(phone, (timestamp, message_id)) AS phone, arg_max(title, (timestamp, message_id)) AS title,
       min(timestamp) AS signed_up_at
FROM staging.lifecycle_facts WHERE kind = 'signed_up' AND user_id IS NOT NULL GROUP BY user_id
"""

# User x account membership facts up to `$end` (exclusive): the latest add or removal, its
# date, and the role of the latest add.
MEMBER_CHANGES_SQL = f"""
SELECT user_id, account_id,
       arg_max(kind, (timestamp, message_id)) AS last_kind,
       arg_max(event_date, (timestamp, message_id)) AS last_date,
       arg_max(role, (timestamp, message_id)) FILTER (WHERE kind = 'user_added') AS role,
       max(event_date) FILTER (WHERE kind = 'user_added') AS added_on
FROM staging.lifecycle_facts
WHERE list_contains({list(MEMBER_KINDS)}, kind) AND user_id IS NOT NULL AND account_id IS NOT NULL
  AND timestamp < $end
GROUP BY user_id, account_id
"""


def _end_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time())


def removed_members(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> pl.DataFrame:
    """user_id, account_id of the memberships ended before `as_of` (removed on an earlier day,
    not added again since): they are no longer the account's users on `as_of`."""
    return con.execute(
        f"SELECT user_id, account_id FROM ({MEMBER_CHANGES_SQL}) WHERE last_kind = 'user_removed' AND last_date < $day",
        {"end": _end_of(as_of), "day": as_of},
    ).pl()


def invites_sent(con: duckdb.DuckDBPyConnection, as_of: dt.date, window_days: int, config: Config) -> pl.DataFrame:
    """account_id, invites_sent: the lifecycle invite event's count in the window ending `as_of`."""
    event = config.lifecycle.events().get("invite_sent")
    start = as_of - dt.timedelta(days=window_days - 1)
    return con.execute(
        f"""SELECT account_id, sum(event_count)::BIGINT AS invites_sent FROM staging.daily_event_counts
            WHERE type = '{MessageType.TRACK}' AND event = ? AND account_id IS NOT NULL
              AND event_date BETWEEN ? AND ? GROUP BY account_id""",
        [event or "", start, as_of],
    ).pl()


# Plan and status over time for the outcome facts (churn, conversion, ...) of accounts without
# billing: at every instant where the lifecycle events or the group traits change, the lifecycle
# statement, else the trait (the precedence of the module docstring).
STATUS_HISTORY_SQL = f"""
WITH life AS ({ACCOUNT_LIFECYCLE_SQL}),
trait AS (SELECT account_id, valid_from, plan, status FROM staging.account_traits_history),
instants AS (SELECT account_id, valid_from FROM life UNION SELECT account_id, valid_from FROM trait)
SELECT i.account_id, i.valid_from, coalesce(l.plan, t.plan) AS plan, coalesce(l.status, t.status) AS status
FROM instants i
ASOF LEFT JOIN life l ON l.account_id = i.account_id AND l.valid_from <= i.valid_from
ASOF LEFT JOIN trait t ON t.account_id = i.account_id AND t.valid_from <= i.valid_from
ORDER BY i.account_id, i.valid_from
"""


def status_history(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """account_id, valid_from, plan, status: the lifecycle events over the group traits, in time."""
    return con.execute(STATUS_HISTORY_SQL).pl()


def known_outcomes(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every outcome known to the warehouse (`outcomes.outcome_events`: churn, conversion, expansion),
    from the billing rows, else from the lifecycle events and status traits."""
    billing = con.execute("SELECT account_id, date, plan, mrr, status FROM staging.billing").pl()
    return outcome_events(billing, status_history(con))
