"""The simulated world, decided up front, and each account's state on a given day.

`build_world` draws accounts, memberships, users and scheduled events from one random stream
(seed, 0): the order of its calls is part of the output. The day-by-day simulation then only
asks how busy an account is on a day, and what its plan, status and MRR are.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from engagement_pipeline.demo.arrays import epoch_ms
from engagement_pipeline.demo.catalogue import (
    CHURNING,
    CLIENT_LIBRARY,
    DECLINING,
    GROWING,
    MIN_SEATS,
    ONBOARDING,
    SEAT_PRICE,
    SERVER_LIBRARY,
    ST_ACTIVE,
    STARTER,
    TRIAL_CONV,
    TRIAL_NOT,
    USER_AGENTS,
)
from engagement_pipeline.demo.churn_kinds import (
    HOLIDAY_FACTOR,
    assign_churn_kinds,
    churner_intensity,
    holiday_days,
    kind_multiplier,
    reshape_memberships,
)
from engagement_pipeline.demo.companies import Accounts, build_accounts, choose_segment
from engagement_pipeline.demo.faults import FaultRates
from engagement_pipeline.demo.memberships import Injected, Memberships, build_injected, build_memberships, find_admins
from engagement_pipeline.demo.people import Users, build_users


@dataclass
class World:
    """Everything decided before the first day; the daily simulation only reads it."""

    seed: int
    start: dt.date
    days: int
    start_ms: int
    epud: float
    faults: FaultRates
    segment: tuple[str, str]
    accounts: Accounts
    users: Users
    members: Memberships
    admin_of: np.ndarray  # per account: its admin membership (-1 if none in the period)
    injected: Injected
    client_contexts: pl.Series  # per user agent, then the server context last
    churn_kind: np.ndarray  # per account: `churn_kinds` code, NO_CHURN (-1) when it does not churn
    holiday: tuple[int, int] | None  # the product-wide holiday week [first, end) day indices


def build_world(
    seed: int, start: dt.date, days: int, accounts: int, faults: FaultRates, events_per_user_day: float
) -> World:
    rng = np.random.default_rng([seed, 0])
    segment = choose_segment(rng)
    acc = build_accounts(rng, accounts, days, start, segment)
    mem, primary = build_memberships(rng, acc, days)
    kinds_rng = np.random.default_rng([seed, 4])  # its own stream: the draws of `rng` stay as they were
    churn_kind = assign_churn_kinds(kinds_rng, acc.kind, acc.status1, acc.activity_end)
    acc.intensity[:] = churner_intensity(churn_kind, acc.intensity)
    n_primary = int(primary.sum())
    end, removed, rate = reshape_memberships(
        kinds_rng,
        churn_kind,
        acc.activity_end,
        mem.account[:n_primary],
        mem.join_day[:n_primary],
        mem.admin[:n_primary],
        mem.rate[:n_primary],
        mem.end_day[:n_primary],
        mem.removed[:n_primary],
    )
    mem.end_day[:n_primary], mem.removed[:n_primary], mem.rate[:n_primary] = end, removed, rate
    start_ms = epoch_ms(start)
    users = build_users(rng, acc, mem, primary, start_ms, days, faults)
    admin_of = find_admins(acc, mem)
    injected = build_injected(rng, acc, mem, admin_of, days)
    contexts = [f'{CLIENT_LIBRARY},"userAgent":"{ua}"}}' for ua in USER_AGENTS] + [f"{SERVER_LIBRARY}}}"]
    return World(
        seed=seed,
        start=start,
        days=days,
        start_ms=start_ms,
        epud=events_per_user_day,
        faults=faults,
        segment=segment,
        accounts=acc,
        users=users,
        members=mem,
        admin_of=admin_of,
        injected=injected,
        client_contexts=pl.Series(contexts, dtype=pl.String),
        churn_kind=churn_kind,
        holiday=holiday_days(start, days),
    )


_GROWTH = math.log(2.5)  # growing / declining accounts change 2.5x per 30 days (or per half period)
_CHURN_DECAY = math.log(5.0)  # churning accounts fall to a fifth of their level before they cancel


def activity_multiplier(
    acc: Accounts,
    d: int,
    days: int,
    churn_kind: np.ndarray | None = None,
    noise: np.ndarray | None = None,
    holiday: tuple[int, int] | None = None,
) -> np.ndarray:
    """How busy each account is on day d relative to its normal level (0 = no activity at all).

    With `churn_kind` (and `noise`, the day's draw for the noisy kind) churning accounts follow
    their kind (`churn_kinds.kind_multiplier`); in the `holiday` week [first, end) every account
    slows to `churn_kinds.HOLIDAY_FACTOR`.
    """
    last = days - 1
    h = min(30.0, max(days, 2) / 2)
    rel = (d - acc.created_day).astype(float)
    m = np.ones(acc.n)
    k = acc.kind
    sel = k == GROWING
    m[sel] = np.maximum(0.3, 2.5 * np.exp(-_GROWTH * (last - d) / h))
    sel = k == DECLINING
    m[sel] = min(1.6, max(0.12, 1.6 * math.exp(-_GROWTH * (d - (last - 2 * h)) / h)))
    sel = k == CHURNING
    # Disengagement precedes cancellation: from up to 30 days before the churn day the
    # account's activity falls steadily, to a fifth of its normal level by the end.
    ch = acc.activity_end[sel].astype(float)
    h2 = np.clip(ch / 2, 2, 30)
    m[sel] = np.clip(1.3 * np.exp(np.minimum(-_CHURN_DECAY * (d - (ch - h2)) / h2, 1.0)), 0.1, 1.3)
    sel = k == TRIAL_CONV
    m[sel] = np.where(d >= acc.trans_day[sel], 1.5, 1.25)
    sel = k == TRIAL_NOT
    m[sel] = np.maximum(0.03, 0.5 ** (rel[sel] / 4))
    sel = k == ONBOARDING
    m[sel] = 0.6 + 0.6 * np.minimum(1.0, rel[sel] / 14)
    if churn_kind is not None:
        m = kind_multiplier(churn_kind, m, np.ones(acc.n) if noise is None else noise)
    if holiday is not None and holiday[0] <= d < holiday[1]:
        m = m * HOLIDAY_FACTOR
    m[(rel < 0) | (d >= acc.activity_end)] = 0.0
    return m * acc.intensity


def plan_status(acc: Accounts, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Each account's plan and status codes on day d (after its one transition, if it has happened)."""
    after = d >= acc.trans_day
    return np.where(after, acc.plan1, acc.plan0), np.where(after, acc.status1, acc.status0)


def billed_seats(plan: np.ndarray, status: np.ndarray, seats: np.ndarray) -> np.ndarray:
    """The seats bought (billing's `seats`): on an active paid plan the account's seats, at least the
    plan's minimum (an enterprise account with 8 people has bought 20); 0 otherwise."""
    paying = (status == ST_ACTIVE) & (plan >= STARTER)
    return np.where(paying, np.maximum(seats, MIN_SEATS[plan]), 0)


def account_mrr(plan: np.ndarray, status: np.ndarray, seats: np.ndarray) -> np.ndarray:
    """Monthly recurring revenue in USD: active paid plans pay per billed seat, at least the plan's minimum."""
    return SEAT_PRICE[plan] * billed_seats(plan, status, seats)
