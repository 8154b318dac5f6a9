"""destinations, one day: the scores pushed to Segment and the digest posted to customer success.

The only module of the layer that reads or writes the warehouse. Each destination runs on
its own and reports an `Outcome`; one that is down does not stop the other, and the caller
(the Dagster asset) fails after reporting both. What Segment acknowledged is recorded batch
by batch, in `destinations.segment_sync_state`, right after the acknowledgement: a call is
never recorded as sent before, and a run stopped half-way resumes where it stopped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import httpx
import polars as pl

from engagement_pipeline.core.config import Config
from engagement_pipeline.core.config_destinations import DigestDestination, SegmentDestination
from engagement_pipeline.core.warehouse import (
    DESTINATION_RUNS,
    SEGMENT_SYNC_STATE,
    insert_rows,
    registered,
    replace_rows,
    transaction,
)
from engagement_pipeline.destinations import segment as seg
from engagement_pipeline.destinations.delivery import DeliveryError, Sleep, post_json
from engagement_pipeline.destinations.digest import build_digest
from engagement_pipeline.exports.privacy import mask_names

SEGMENT, DIGEST = "segment", "digest"
DRY_RUN_FOLDER = "segment_dry_run"


@dataclass
class Outcome:
    """What one destination did for the day. `status`: off, sent, nothing_new, already_sent,
    dry_run or failed; `error` is the one sentence of a failure."""

    destination: str
    status: str
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    details: dict[str, object] = field(default_factory=dict)
    error: str | None = None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _record_run(con: duckdb.DuckDBPyConnection, day: dt.date, outcome: Outcome, payload_sha256: str | None) -> None:
    row = pl.DataFrame(
        [
            {
                "destination": outcome.destination,
                "as_of_date": day,
                "status": outcome.status,
                "sent": outcome.sent,
                "skipped": outcome.skipped,
                "failed": outcome.failed,
                "payload_sha256": payload_sha256,
                "finished_at": _now(),
            }
        ]
    )
    with transaction(con):
        replace_rows(con, DESTINATION_RUNS, row, "destination = ? AND as_of_date = ?", [outcome.destination, day])


def _secret(env: str, what: str) -> str:
    value = os.environ.get(env, "").strip()
    if not value:
        raise DeliveryError(
            f"the environment variable {env} is not set", f"export it with {what} and run the day again"
        )
    return value


def _sentence(destination: str, exc: DeliveryError, done: str) -> str:
    return f"destinations.{destination}: {exc.problem} ({done}): {exc.fix}"


def _sync_state(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], tuple[str, dt.date]]:
    rows = con.execute(f"SELECT kind, key, traits_sha256, as_of_date FROM {SEGMENT_SYNC_STATE.qualified}").fetchall()
    return {(kind, key): (sha, day) for kind, key, sha, day in rows}


def _acknowledged(con: duckdb.DuckDBPyConnection, day: dt.date, calls: list[seg.Pending]) -> None:
    """Record a batch Segment acknowledged, replacing each id's previous state, in one transaction."""
    acked = pl.DataFrame(
        {
            "kind": [c.kind for c in calls],
            "key": [c.key for c in calls],
            "traits_sha256": [c.traits_sha256 for c in calls],
            "message_id": [c.message["messageId"] for c in calls],
            "as_of_date": [day] * len(calls),
            "synced_at": [_now()] * len(calls),
        }
    )
    with transaction(con), registered(con, "_acked", acked.select("kind", "key")) as name:
        con.execute(
            f"DELETE FROM {SEGMENT_SYNC_STATE.qualified} s "
            f"WHERE EXISTS (SELECT 1 FROM {name} a WHERE a.kind = s.kind AND a.key = s.key)"
        )
        insert_rows(con, SEGMENT_SYNC_STATE, acked)


def _write_dry_run(folder: Path, day: dt.date, calls: list[seg.Pending]) -> Path:
    """The calls as JSON lines in `<exports>/segment_dry_run/<day>.jsonl`, written whole or not at all."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / f"{day.isoformat()}.jsonl"
    tmp = folder / f".{path.name}.tmp-{os.getpid()}"
    tmp.write_text("".join(seg.canonical(c.message) + "\n" for c in calls), encoding="utf-8")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path


def sync_segment(
    con: duckdb.DuckDBPyConnection,
    day: dt.date,
    config: Config,
    transport: httpx.BaseTransport | None = None,
    sleep: Sleep = time.sleep,
) -> Outcome:
    """Send the group (and identify) calls whose traits changed since Segment last acknowledged them."""
    segment: SegmentDestination | None = config.destinations.segment
    if segment is None:
        return Outcome(SEGMENT, "off")
    scores = con.execute("SELECT * FROM accounts.account_scores WHERE as_of_date = ?", [day]).pl()
    calls = seg.group_calls(scores, day, segment) if scores.height else []
    if segment.identify_users:
        users = con.execute(
            "SELECT user_id, score FROM scores.user_scores WHERE as_of_date = ? AND user_id IS NOT NULL", [day]
        ).pl()
        calls += seg.identify_calls(users, day, segment)
    chosen = seg.changed_since_sync(calls, _sync_state(con), day)
    skipped = chosen.unchanged + chosen.newer_synced
    details: dict[str, object] = {
        "group_calls": sum(c.kind == seg.GROUP for c in chosen.send),
        "identify_calls": sum(c.kind == seg.IDENTIFY for c in chosen.send),
        "unchanged": chosen.unchanged,
        "newer_day_already_synced": chosen.newer_synced,
        "endpoint": segment.endpoint,
    }
    if segment.dry_run:
        path = _write_dry_run(config.paths.exports / DRY_RUN_FOLDER, day, chosen.send)
        outcome = Outcome(SEGMENT, "dry_run", 0, skipped, 0, {**details, "dry_run_file": str(path)})
        _record_run(con, day, outcome, hashlib.sha256(path.read_bytes()).hexdigest())
        return outcome
    outcome = Outcome(SEGMENT, "nothing_new" if not chosen.send else "sent", 0, skipped, 0, details)
    parts = seg.batches(chosen.send, segment.max_batch_bytes)
    url, what = f"{segment.endpoint}/v1/batch", f"the Segment endpoint {segment.endpoint}/v1/batch"
    acknowledged = attempts = 0
    try:
        if parts:
            write_key = _secret(segment.write_key_env, "the write key of the Segment source")
            with httpx.Client(transport=transport) as client:
                for part in parts:
                    body = seg.batch_body(part)
                    attempts += post_json(client, url, body, segment, what, auth=(write_key, ""), sleep=sleep)
                    _acknowledged(con, day, part)  # recorded only now, after the 2xx
                    outcome.sent += len(part)
                    acknowledged += 1
    except DeliveryError as exc:
        outcome.status, outcome.failed = "failed", len(chosen.send) - outcome.sent
        done = f"{outcome.sent} calls acknowledged and recorded, {outcome.failed} left for the next run"
        outcome.error = _sentence(SEGMENT, exc, done)
    details.update(batches=len(parts), batches_acknowledged=acknowledged, attempts=attempts)
    _record_run(con, day, outcome, None)
    return outcome


def send_digest(
    con: duckdb.DuckDBPyConnection,
    day: dt.date,
    config: Config,
    transport: httpx.BaseTransport | None = None,
    sleep: Sleep = time.sleep,
) -> Outcome:
    """Post the day's customer-success digest once (a re-run of a day whose digest was acknowledged skips it)."""
    digest: DigestDestination | None = config.destinations.digest
    if digest is None:
        return Outcome(DIGEST, "off")
    done = con.execute(
        f"SELECT count(*) FROM {DESTINATION_RUNS.qualified} WHERE destination = ? AND as_of_date = ? AND status = 'sent'",
        [DIGEST, day],
    ).fetchone()
    if done and done[0]:
        return Outcome(DIGEST, "already_sent", skipped=1)
    # Names are free text: an email or phone number in one is masked, as in every export file.
    today = mask_names(con.execute("SELECT * FROM accounts.account_scores WHERE as_of_date = ?", [day]).pl())
    before = day - dt.timedelta(days=1)
    had_before = con.execute("SELECT count(*) FROM snapshots.account_history WHERE date = ?", [before]).fetchone()
    yesterday = (
        con.execute("SELECT account_id, is_pql, health FROM snapshots.account_history WHERE date = ?", [before]).pl()
        if had_before and had_before[0]
        else None
    )
    payload = build_digest(day, today, yesterday, digest, config.model.trend_lookback_days)
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode("utf-8")
    sha = hashlib.sha256(body).hexdigest()
    outcome = Outcome(DIGEST, "sent", details={"summary": payload["text"], "bytes": len(body)})
    what = f"the digest webhook (${digest.webhook_url_env})"
    try:
        url = _secret(digest.webhook_url_env, "the webhook URL of the customer-success channel")
        with httpx.Client(transport=transport) as client:
            outcome.details["attempts"] = post_json(client, url, body, digest, what, sleep=sleep)
        outcome.sent = 1
    except DeliveryError as exc:
        outcome.status, outcome.failed = "failed", 1
        outcome.error = _sentence(DIGEST, exc, "the digest was not sent")
    _record_run(con, day, outcome, sha)
    return outcome


def run(
    con: duckdb.DuckDBPyConnection,
    day: dt.date,
    config: Config,
    transport: httpx.BaseTransport | None = None,
    sleep: Sleep = time.sleep,
) -> list[Outcome]:
    """Every destination for the day, each on its own: a failure is in its `Outcome`, not raised."""
    return [
        sync_segment(con, day, config, transport, sleep),
        send_digest(con, day, config, transport, sleep),
    ]
