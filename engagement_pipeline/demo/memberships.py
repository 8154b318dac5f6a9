"""Who works where and when: seats, joins and departures, consultants, and scheduled track events.

A membership links a user to an account for a span of days (a few consultants have a second
one, in another account). The scheduled events are those the random event mix would not
produce at the right moment: the admin's invitation just before each teammate joins, and the
activation checklist of new accounts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engagement_pipeline.demo.catalogue import (
    CHURNING,
    DECLINING,
    ESTABLISHED,
    EVENT_CODE,
    GROWING,
    NEVER,
    ONBOARDING,
    STEADY,
    TRIAL_CONV,
    TRIAL_NOT,
)
from engagement_pipeline.demo.companies import Accounts
from engagement_pipeline.demo.geography import CITY_TZ


@dataclass
class Memberships:
    user: np.ndarray
    account: np.ndarray
    join_day: np.ndarray
    join_sec: np.ndarray  # second of the join day at which the user signs up / accepts the invite
    end_day: np.ndarray  # first day without activity
    removed: np.ndarray  # seat freed on end_day
    admin: np.ndarray
    active_prob: np.ndarray
    rate: np.ndarray  # mean track events on an active day


@dataclass
class Injected:
    """Scheduled track events (invites, activation checklist), sorted by day."""

    day: np.ndarray
    membership: np.ndarray
    code: np.ndarray
    sec: np.ndarray


def session_start_sec(rng: np.random.Generator, tz: np.ndarray, weekend: bool = False) -> np.ndarray:
    """UTC second of the day at which a local working session starts."""
    local_hour = rng.normal(12.0 if weekend else 9.8, 2.2, size=len(tz)).clip(6.0, 21.5)
    utc = (local_hour - tz) * 3600.0 % 86_400.0
    # squeeze into 00:30..23:30 UTC so that the anonymous browsing, invitations and identify calls that
    # precede a session stay on the same UTC day (clipping instead would pile sessions up on one instant)
    return 1800.0 + utc * (82_800.0 / 86_400.0)


def _target_seats(rng: np.random.Generator, acc: Accounts) -> np.ndarray:
    """Heavy-tailed seat counts that grow with company size (1..60, up to 150 for big companies)."""
    base = 2.5 + 2.0 * acc.employees.astype(float) ** 0.33
    seats = np.exp(rng.normal(np.log(base), 0.6)) * np.where(acc.best_fit, 1.3, 1.0)
    cap = np.where(acc.employees > 1000, 150, 60)
    seats = np.round(seats).clip(1, cap).astype(np.int64)
    seats = np.where(acc.kind == TRIAL_NOT, 1 + rng.binomial(2, 0.3, size=acc.n), seats)
    return np.where(acc.kind == TRIAL_CONV, seats.clip(3, 15), seats)


def _between(rng: np.random.Generator, low: np.ndarray, high: float) -> np.ndarray:
    """Uniform in [low, high) element-wise; `high` where low >= high (such values end up outside the period)."""
    low = np.minimum(np.asarray(low, dtype=float), high)
    return low + rng.random(len(low)) * (high - low)


def build_memberships(rng: np.random.Generator, acc: Accounts, days: int) -> tuple[Memberships, np.ndarray]:
    """Primary memberships (one per user, sorted by account and join day) then consultants' second ones.

    Returns the memberships and, for each, whether it is the user's primary one.
    """
    last = days - 1
    n = acc.n
    seats = _target_seats(rng, acc)
    established = np.isin(acc.kind, ESTABLISHED)
    initial = np.where(established, np.where(acc.kind == GROWING, np.ceil(seats * 0.4), seats), 1).astype(np.int64)
    joiners = np.where(
        established,
        np.where(
            acc.kind == GROWING,
            seats - initial,
            rng.poisson(np.where(acc.kind == STEADY, 0.08, 0.02) * seats * days / 30),
        ),
        seats - 1,
    ).astype(np.int64)

    a_init = np.repeat(np.arange(n), initial)
    first_of = np.r_[0, np.cumsum(initial)[:-1]]
    admin_init = np.zeros(len(a_init), dtype=bool)
    admin_init[first_of] = True
    c_init = acc.created_day[a_init]
    join_init = np.where(admin_init, c_init, rng.integers(np.minimum(c_init + 1, -1), 0))

    a_join = np.repeat(np.arange(n), joiners)
    kind_j = acc.kind[a_join]
    c_join = acc.created_day[a_join]
    u = rng.random(len(a_join))
    scale = np.select([kind_j == TRIAL_CONV, kind_j == TRIAL_NOT], [3.0, 3.0], 8.0)
    new_join = c_join + 1 + np.floor(rng.exponential(scale)).astype(np.int64)
    first_joiner = np.r_[True, a_join[1:] != a_join[:-1]] if len(a_join) else np.zeros(0, dtype=bool)
    new_join = np.where(first_joiner & (kind_j == TRIAL_CONV), c_join + rng.integers(1, 4, size=len(a_join)), new_join)
    join_join = np.select(
        [kind_j == GROWING, np.isin(kind_j, ESTABLISHED)],
        [np.floor(days * np.sqrt(u)).astype(np.int64), np.floor(days * u).astype(np.int64)],
        new_join,
    )

    account = np.r_[a_init, a_join]
    join = np.r_[join_init, join_join]
    admin = np.r_[admin_init, np.zeros(len(a_join), dtype=bool)]
    keep = (join <= last) & (join < acc.activity_end[account])
    account, join, admin = account[keep], join[keep], admin[keep]
    order = np.lexsort((~admin, join, account))
    account, join, admin = account[order], join[order], admin[order]
    m = len(account)

    # who stops being active, and when
    kind = acc.kind[account]
    h = min(30.0, max(days, 2) / 2)
    stop_prob = np.select(
        [kind == STEADY, kind == GROWING, kind == DECLINING, kind == CHURNING, kind == TRIAL_NOT],
        [0.06, 0.02, 0.45, 0.30, 0.6],
        0.03,
    )
    stops = ~admin & (rng.random(m) < stop_prob)
    ch = acc.activity_end[account].astype(float)
    decline_from = np.select([kind == DECLINING, kind == CHURNING], [last - 2 * h, ch - np.clip(ch / 2, 2, 20) * 2], 0)
    stop_day = np.select(
        [kind == TRIAL_NOT, np.isin(kind, (DECLINING, CHURNING))],
        [
            join + 1 + np.floor(rng.exponential(4.0, size=m)),
            _between(rng, np.maximum(decline_from, join + 1), last + 1),
        ],
        _between(rng, np.maximum(join + 1, 0), last + 1),
    ).astype(np.int64)
    end = np.where(stops, np.maximum(stop_day, join + 1), NEVER)
    end = np.minimum(end, acc.activity_end[account])
    removed = stops & (rng.random(m) < np.where(np.isin(kind, (DECLINING, CHURNING)), 0.7, 0.3))

    # consultants / agency staff: a second membership in another account
    second = np.flatnonzero(~admin & (rng.random(m) < 0.03)) if n > 1 else np.zeros(0, dtype=np.int64)
    a2 = (account[second] + 1 + rng.integers(0, n - 1, size=len(second))) % n if n > 1 else second
    c2 = acc.created_day[a2]
    j2 = np.where(
        c2 < 0,
        np.floor(_between(rng, np.maximum(c2 + 1, -120), days)).astype(np.int64),
        c2 + 1 + np.floor(rng.exponential(5.0, size=len(second))).astype(np.int64),
    )
    ok = (j2 <= last) & (j2 < acc.activity_end[a2])
    second, a2, j2 = second[ok], a2[ok], j2[ok]

    users = np.arange(m)
    active_prob = rng.beta(2.4, 1.5, size=m) * np.where(acc.best_fit[account], 1.15, 1.0)
    active_prob *= np.where(kind == TRIAL_CONV, 1.3, 1.0) * np.where(admin, 1.2, 1.0)
    rate = np.exp(rng.normal(-0.32, 0.8, size=m))  # mean 1: a few power users, many light ones
    split = np.zeros(m, dtype=bool)
    split[second] = True
    active_prob = np.where(split, active_prob * 0.75, active_prob).clip(0.02, 0.95)

    tz = CITY_TZ[acc.city]
    all_account = np.r_[account, a2]
    members = Memberships(
        user=np.r_[users, second],
        account=all_account,
        join_day=np.r_[join, j2],
        join_sec=session_start_sec(rng, tz[all_account]),
        end_day=np.r_[end, acc.activity_end[a2]],
        removed=np.r_[removed, np.zeros(len(second), dtype=bool)],
        admin=np.r_[admin, np.zeros(len(second), dtype=bool)],
        active_prob=np.r_[active_prob, (active_prob[second] * 0.8).clip(0.02, 0.95)],
        rate=np.r_[np.where(split, rate * 0.7, rate), rate[second] * 0.6],
    )
    return members, np.r_[np.ones(m, dtype=bool), np.zeros(len(second), dtype=bool)]


def find_admins(acc: Accounts, mem: Memberships) -> np.ndarray:
    """Each account's admin membership (its creator), -1 when the admin joins after the period."""
    admin_of = np.full(acc.n, -1, dtype=np.int64)
    admin_idx = np.flatnonzero(mem.admin)
    admin_of[mem.account[admin_idx]] = admin_idx
    return admin_of


def build_injected(
    rng: np.random.Generator, acc: Accounts, mem: Memberships, admin_of: np.ndarray, days: int
) -> Injected:
    """Invitations (by the account's admin, just before each in-period join) and the activation checklist."""
    last = days - 1
    tz = CITY_TZ[acc.city]

    invited = np.flatnonzero(~mem.admin & (mem.join_day >= 0) & (admin_of[mem.account] >= 0))
    inviter = admin_of[mem.account[invited]]
    room = np.minimum(7200.0, mem.join_sec[invited] - 60.0)
    invite_sec = mem.join_sec[invited] - rng.uniform(30.0, room)
    days_l: list[np.ndarray] = [mem.join_day[invited]]
    mem_l: list[np.ndarray] = [inviter]
    code_l: list[np.ndarray] = [np.full(len(invited), EVENT_CODE["Teammate Invited"])]
    sec_l: list[np.ndarray] = [invite_sec.clip(10.0)]

    # the checklist, for new accounts that activate
    new = acc.created_day >= 0
    completes = new & (
        (acc.kind == TRIAL_CONV)
        | ((acc.kind == ONBOARDING) & (rng.random(acc.n) < 0.8))
        | ((acc.kind == TRIAL_NOT) & (rng.random(acc.n) < 0.1))
    )
    starts_only = new & ~completes & (rng.random(acc.n) < 0.7)
    non_admins = np.flatnonzero(~mem.admin)
    non_admins = non_admins[np.argsort(mem.account[non_admins], kind="stable")]
    bounds = np.searchsorted(mem.account[non_admins], np.arange(acc.n + 1))
    for account in np.flatnonzero(completes | starts_only):
        admin = admin_of[account]
        if admin < 0:
            continue
        c = int(acc.created_day[account])
        others = non_admins[bounds[account] : bounds[account + 1]]
        steps = [("Document Created", c + (0 if rng.random() < 0.7 else int(rng.integers(1, 3))))]
        if completes[account]:
            steps += [
                ("Document Shared", c + int(rng.integers(1, 7))),
                ("Integration Connected", c + int(rng.integers(1, 11))),
            ]
        for name, day in steps:
            helpers = others[(mem.join_day[others] <= day) & (mem.end_day[others] > day)]
            who = admin if len(helpers) == 0 or rng.random() < 0.5 else int(helpers[rng.integers(len(helpers))])
            if day > last or day >= mem.end_day[who]:
                continue
            if day == mem.join_day[who]:
                sec = float(mem.join_sec[who]) + rng.uniform(120.0, 3600.0)
            else:
                sec = float(session_start_sec(rng, tz[account : account + 1])[0]) + rng.uniform(60.0, 4 * 3600.0)
            days_l.append(np.array([day]))
            mem_l.append(np.array([who]))
            code_l.append(np.array([EVENT_CODE[name]]))
            sec_l.append(np.array([sec]))
    all_days = np.concatenate(days_l).astype(np.int64)
    order = np.argsort(all_days, kind="stable")
    return Injected(
        day=all_days[order],
        membership=np.concatenate(mem_l).astype(np.int64)[order],
        code=np.concatenate(code_l).astype(np.int64)[order],
        sec=np.concatenate(sec_l)[order],
    )
