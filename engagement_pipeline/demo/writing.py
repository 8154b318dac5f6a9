"""The files: each day's gzip landing files, billing.csv, and the ground truth (accounts, users, summary)."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from engagement_pipeline.demo.arrays import gather
from engagement_pipeline.demo.catalogue import PLANS, ST_CHURNED, STARTER, STATUSES, TRAJECTORIES, TRIAL
from engagement_pipeline.demo.churn_kinds import churn_kind_name
from engagement_pipeline.demo.geography import COUNTRIES
from engagement_pipeline.demo.market import INDUSTRIES
from engagement_pipeline.demo.world import World

_GZIP_LEVEL = 1  # throughput matters more than the last 10% of size for demo data


def write_day_files(folder: Path, lines: pl.Series, files_per_day: int) -> None:
    """Split the (sorted) lines into contiguous chunks, gzip each (mtime 0: byte-identical reruns), then _SUCCESS."""
    folder.mkdir(parents=True, exist_ok=True)
    array = lines.to_arrow()
    if array.type != pa.large_string():
        array = array.cast(pa.large_string())
    n = len(array)
    offsets = (
        np.frombuffer(array.buffers()[1], dtype=np.int64)[array.offset : array.offset + n + 1]
        if n
        else np.zeros(1, dtype=np.int64)
    )
    data = np.frombuffer(array.buffers()[2], dtype=np.uint8) if n else np.zeros(0, dtype=np.uint8)
    bounds = np.linspace(0, n, files_per_day + 1).round().astype(np.int64)
    for k in range(files_per_day):
        chunk = data[offsets[bounds[k]] : offsets[bounds[k + 1]]]
        (folder / f"events-{k:03d}.jsonl.gz").write_bytes(gzip.compress(chunk.data, compresslevel=_GZIP_LEVEL, mtime=0))
    (folder / "_SUCCESS").write_bytes(b"")


@dataclass
class Billing:
    """The billing rows so far, and each account's MRR and plan at the start and end of the period."""

    rows: list[tuple[str, str, str, int, str, int]] = field(default_factory=list)
    mrr_start: np.ndarray | None = None
    mrr_end: np.ndarray | None = None
    plan_end: np.ndarray | None = None
    previous: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None


def record_billing(
    world: World, d: int, plan: np.ndarray, status: np.ndarray, mrr: np.ndarray, seats: np.ndarray, billing: Billing
) -> None:
    """One row per account and day on which plan, status, MRR or the seats bought changed (the first on
    its creation date). `seats`: the seats bought that day (`world.billed_seats`, 0 when not paying)."""
    acc = world.accounts
    created = acc.created_day
    if billing.previous is None:  # the first day also opens every account created before the period
        billing.mrr_start = np.zeros(acc.n, dtype=np.int64)
        new = np.flatnonzero(created <= d)
        changed = np.zeros(0, dtype=np.int64)
    else:
        p_plan, p_status, p_mrr, p_seats = billing.previous
        new = np.flatnonzero(created == d)
        moved = (plan != p_plan) | (status != p_status) | (mrr != p_mrr) | (seats != p_seats)
        changed = np.flatnonzero((created < d) & moved)
    assert billing.mrr_start is not None
    billing.mrr_start[new] = mrr[new]
    for a, day in [(a, int(created[a])) for a in new.tolist()] + [(a, d) for a in changed.tolist()]:
        date = (world.start + dt.timedelta(days=day)).isoformat()
        row = (acc.ids[a], date, PLANS[int(plan[a])], int(mrr[a]), STATUSES[int(status[a])], int(seats[a]))
        billing.rows.append(row)
    billing.previous = (plan, status, mrr, seats.copy())  # copied: the caller's arrays may change in place
    billing.mrr_end, billing.plan_end = mrr, plan


def write_truth(world: World, truth_dir: Path, billing: Billing, summary: dict[str, Any]) -> None:
    """accounts.csv and users.csv (what the simulation decided, for tests to check the pipeline against), summary.json."""
    acc, last = world.accounts, world.days - 1
    truth_dir.mkdir(parents=True, exist_ok=True)
    assert billing.mrr_end is not None and billing.mrr_start is not None and billing.plan_end is not None

    def day_or_none(days: np.ndarray, mask: np.ndarray) -> list[str | None]:
        return [
            (world.start + dt.timedelta(days=int(x))).isoformat() if ok and x <= last else None
            for x, ok in zip(days, mask)
        ]

    converted = (acc.plan0 <= TRIAL) & (acc.plan1 >= STARTER)
    churned = acc.status1 == ST_CHURNED
    pl.DataFrame(
        {
            "account_id": acc.ids,
            "name": acc.names,
            "domain": acc.domains,
            "industry": [INDUSTRIES[int(i)][0] for i in acc.industry],
            "employees": acc.employees,
            "country": [COUNTRIES[int(c)].code for c in acc.country],
            "plan": [PLANS[int(p)] for p in billing.plan_end],
            "created_date": [(world.start + dt.timedelta(days=int(c))).isoformat() for c in acc.created_day],
            "trajectory": [TRAJECTORIES[int(k)] for k in acc.kind],
            "converted_date": pl.Series(day_or_none(acc.trans_day, converted), dtype=pl.String),
            "churned_date": pl.Series(day_or_none(acc.trans_day, churned), dtype=pl.String),
            "churn_kind": pl.Series([churn_kind_name(int(k)) for k in world.churn_kind], dtype=pl.String),
            "best_fit": acc.best_fit,
            "mrr_start": billing.mrr_start,
            "mrr_end": billing.mrr_end,
        }
    ).write_csv(truth_dir / "accounts.csv")

    users, mem = world.users, world.members
    second = np.full(users.n, -1, dtype=np.int64)
    secondary = np.arange(len(mem.user)) >= users.n
    second[mem.user[secondary]] = mem.account[secondary]
    pl.DataFrame(
        {
            "user_id": users.ids,
            "account_id": gather(acc.ids, mem.account[: users.n]),
            "second_account_id": pl.Series([acc.ids[int(a)] if a >= 0 else None for a in second], dtype=pl.String),
            "email": users.truth["email"],
            "first_name": users.truth["first_name"],
            "last_name": users.truth["last_name"],
            "title": users.truth["title"],
            "country": users.truth["country"],
            "phone": users.truth["phone"],
            "anonymous_id": pl.Series([a or None for a in users.anon_ids.to_list()], dtype=pl.String),
            "first_seen_date": [(world.start + dt.timedelta(days=int(x))).isoformat() for x in users.first_day],
        }
    ).write_csv(truth_dir / "users.csv")
    (truth_dir / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_billing(billing_dir: Path, billing: Billing) -> None:
    """billing.csv: one row per account and change, sorted by account and date."""
    billing_dir.mkdir(parents=True, exist_ok=True)
    rows = sorted(billing.rows, key=lambda r: (r[0], r[1]))
    pl.DataFrame(rows, schema=["account_id", "date", "plan", "mrr", "status", "seats"], orient="row").write_csv(
        billing_dir / "billing.csv"
    )
