"""Realistic demo, test and benchmark data: Segment messages of a collaborative-documents B2B SaaS.

The world (accounts, users, memberships, billing plans) is simulated up front in small numpy
arrays; events are then generated one UTC day at a time, rendered to JSON lines with polars'
vectorised string kernels (numpy builds the fixed-width parts: ids and timestamps) and written
as gzip files by a background thread while the next day is simulated. Memory is therefore
bounded by roughly two days of events whatever the period length.

Everything downstream may rely on is listed in `generate_demo`'s docstring; the simulated
business itself (trajectories, best-fit segment, checklist) is written to the ground-truth
folder so that tests can check that the pipeline recovers it.

This module is the entry point; the parts live next to it: `catalogue` (the product, its
events and plans), `market` (industries, company names, job titles), `geography` (countries,
cities, people's names), `arrays` (fixed-width strings in numpy), `companies`, `memberships` and
`people` (the simulated accounts, seats and users), `world` (the world as a whole and each
account's state on a day), `day` (one day of activity), `rendering` (its messages as JSON lines),
`faults` (late events, duplicates, garbage lines) and `writing` (landing files, billing, ground
truth).
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import polars as pl

from engagement_pipeline.demo.catalogue import (
    ACTIVATION_EVENTS,
    EVENT_CATALOG,
    EVENT_NAMES,
    EVENT_WEIGHTS,
    NEVER,
    PLANS,
    STATUSES,
    TRAJECTORIES,
)
from engagement_pipeline.demo.churn_kinds import CHURN_KINDS, churn_kind_name
from engagement_pipeline.demo.day import DayState, simulate_day
from engagement_pipeline.demo.faults import FaultRates, Tally, finish_day
from engagement_pipeline.demo.lifecycle import spec_events_day
from engagement_pipeline.demo.world import account_mrr, billed_seats, build_world, plan_status
from engagement_pipeline.demo.writing import Billing, record_billing, write_billing, write_day_files, write_truth

__all__ = [
    "ACTIVATION_EVENTS",
    "EVENT_NAMES",
    "EVENT_WEIGHTS",
    "PLANS",
    "STATUSES",
    "TRAJECTORIES",
    "FaultRates",
    "GenerationSummary",
    "generate_demo",
]


_DEFAULT_FAULTS = FaultRates()  # frozen, so one shared default is safe


@dataclass(frozen=True)
class GenerationSummary:
    """What `generate_demo` wrote; every count reconciles with the landed lines."""

    days: int
    accounts: int
    users: int
    messages: int  # valid messages written (incl. duplicates)
    track_events: int  # distinct track messages written (duplicate copies not counted)
    duplicates: int
    late: int
    malformed: int
    lines: int  # every line written = messages + malformed
    files: int
    landing: Path
    truth_dir: Path
    billing_dir: Path | None


def _check_inputs(
    landing: Path,
    start: dt.date,
    days: int,
    accounts: int,
    faults: FaultRates,
    events_per_user_day: float,
    files_per_day: int,
    others: dict[str, Path | None],
) -> None:
    if isinstance(start, dt.datetime) or not isinstance(start, dt.date):
        raise TypeError(f"start must be a datetime.date, got {start!r}")
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    if accounts < 1:
        raise ValueError(f"accounts must be at least 1, got {accounts}")
    if files_per_day < 1:
        raise ValueError(f"files_per_day must be at least 1, got {files_per_day}")
    if not events_per_user_day > 0:
        raise ValueError(f"events_per_user_day must be positive, got {events_per_user_day}")
    for name, value in asdict(faults).items():
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"FaultRates.{name} must be between 0 and 1, got {value}")
    resolved = landing.resolve()
    for name, path in others.items():
        if path is not None and path.resolve().is_relative_to(resolved):
            raise ValueError(f"{name} {path} is inside the landing folder {landing}: only event files belong there")


def generate_demo(
    landing: Path,
    start: dt.date,
    days: int,
    accounts: int = 250,
    seed: int = 42,
    billing_dir: Path | None = None,
    truth_dir: Path | None = None,
    faults: FaultRates = _DEFAULT_FAULTS,
    events_per_user_day: float = 6.0,
    files_per_day: int = 2,
    spec_events: bool = False,
) -> GenerationSummary:
    """Write `days` days of Segment messages from `start` into `landing`, plus ground truth (and billing).

    Layout: `<landing>/<YYYY-MM-DD>/events-000.jsonl.gz ...` (`files_per_day` gzip files per UTC received
    day, lines ordered by receivedAt, then an empty `_SUCCESS`); `<truth_dir>/accounts.csv`, `users.csv`,
    `summary.json` (truth_dir defaults to `landing.parent / "ground_truth"`); `<billing_dir>/billing.csv`
    when billing_dir is given. Output files are byte-identical for the same arguments. `spec_events` adds
    the B2B SaaS spec's lifecycle events (`demo/lifecycle.py`); off, nothing changes.

    What a parser must expect: group traits.employees is a string in about half the calls and a number
    otherwise; about 20% of identify calls use snake_case traits (first_name, last_name, created_at); about
    15% of track/page calls have no context.groupId (never those of users who work in two accounts); 10%
    of devices have a skewed clock (originalTimestamp and sentAt shifted alike, receivedAt true); 5% of
    track/identify calls come from a server library and carry `timestamp`; anonymous calls carry only
    anonymousId until an identify with both ids links them; late track events land 1-3 days after they
    happened; a duplicate repeats a line byte for byte in the same or the next folder (so one in the next
    folder carries the previous day's receivedAt); garbage lines of nine kinds (summary.json
    `malformed_by_kind`) are mixed in.
    """
    landing = Path(landing)
    truth_dir = Path(truth_dir) if truth_dir is not None else landing.parent / "ground_truth"
    billing_dir = Path(billing_dir) if billing_dir is not None else None
    _check_inputs(
        landing,
        start,
        days,
        accounts,
        faults,
        events_per_user_day,
        files_per_day,
        {"truth_dir": truth_dir, "billing_dir": billing_dir},
    )

    world = build_world(seed, start, days, accounts, faults, events_per_user_day)
    acc, mem = world.accounts, world.members
    state = DayState(
        identified=np.zeros(world.users.n, dtype=bool),
        last_group=np.full(len(mem.user), -NEVER, dtype=np.int64),
        seats=np.zeros(acc.n, dtype=np.int64),
    )
    np.add.at(state.seats, mem.account[mem.join_day < 0], 1)
    join_order = np.argsort(mem.join_day, kind="stable")
    gone = np.flatnonzero(mem.removed)
    gone = gone[np.argsort(mem.end_day[gone], kind="stable")]
    billing = Billing()
    tally = Tally()
    pending: dict[int, list[pl.DataFrame]] = {}
    landing.mkdir(parents=True, exist_ok=True)

    writing: Future[None] | None = None
    with ThreadPoolExecutor(max_workers=1) as writer:
        for d in range(days):
            lo, hi = np.searchsorted(mem.join_day[join_order], [d, d + 1])
            np.add.at(state.seats, mem.account[join_order[lo:hi]], 1)
            lo, hi = np.searchsorted(mem.end_day[gone], [d, d + 1])
            np.add.at(state.seats, mem.account[gone[lo:hi]], -1)
            plan, status = plan_status(acc, d)
            mrr, seats = account_mrr(plan, status, state.seats), billed_seats(plan, status, state.seats)
            record_billing(world, d, plan, status, mrr, seats, billing)

            frames = simulate_day(world, d, state, plan, status)
            if spec_events:
                frames.append(spec_events_day(world, d, plan, status))
            lines = finish_day(world, d, frames, pending, tally)
            if writing is not None:
                writing.result()  # at most one day waits to be compressed: memory stays bounded
            folder = landing / (start + dt.timedelta(days=d)).isoformat()
            writing = writer.submit(write_day_files, folder, lines, files_per_day)
            tally.files += files_per_day
        if writing is not None:
            writing.result()

    summary = GenerationSummary(
        days=days,
        accounts=acc.n,
        users=world.users.n,
        messages=tally.messages,
        track_events=tally.track_events,
        duplicates=tally.duplicates,
        late=tally.late,
        malformed=tally.malformed,
        lines=tally.lines,
        files=tally.files,
        landing=landing,
        truth_dir=truth_dir,
        billing_dir=billing_dir,
    )
    report = {
        **{k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(summary).items()},
        "seed": seed,
        "start": start.isoformat(),
        "end": (start + dt.timedelta(days=days - 1)).isoformat(),
        "memberships": int(len(mem.user)),
        "distinct_messages": tally.messages - tally.duplicates,
        "messages_by_type": tally.by_type,
        "malformed_by_kind": tally.malformed_by_kind,
        "faults": asdict(faults),
        "events_per_user_day": events_per_user_day,
        "files_per_day": files_per_day,
        **({"spec_events": True} if spec_events else {}),
        "event_weights": EVENT_WEIGHTS,
        "event_frequencies": {name: freq for name, _, freq in EVENT_CATALOG},
        "activation_events": list(ACTIVATION_EVENTS),
        "best_fit_segment": {"industry": world.segment[0], "employee_band": world.segment[1]},
        "trajectories": {name: int((acc.kind == k).sum()) for k, name in enumerate(TRAJECTORIES)},
        "churn_kinds": {
            name: int(sum(churn_kind_name(int(k)) == name for k in world.churn_kind))
            for name in (*CHURN_KINDS, "trial_lapse")
        },
        "holiday_week": None
        if world.holiday is None
        else [(start + dt.timedelta(days=d)).isoformat() for d in (world.holiday[0], world.holiday[1] - 1)],
    }
    write_truth(world, truth_dir, billing, report)
    if billing_dir is not None:
        write_billing(billing_dir, billing)
    return summary
