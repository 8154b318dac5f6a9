"""One UTC day of messages: who is active and what they do.

`simulate_day` decides the day in numpy (sessions, track events from each account's event mix,
anonymous browsing, page views, identify and group calls) from the day's own random stream
(seed, 1, day), and hands each kind of message to its renderer in `rendering`. The order of the
random draws is part of the output.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from engagement_pipeline.demo.arrays import DAY_MS
from engagement_pipeline.demo.catalogue import EVENT_CODE, EVENT_NAMES, WEEKDAY_FACTOR
from engagement_pipeline.demo.geography import CITY_TZ
from engagement_pipeline.demo.memberships import session_start_sec
from engagement_pipeline.demo.rendering import in_chunks, render_groups, render_identifies, render_pages, render_tracks
from engagement_pipeline.demo.world import World, activity_multiplier


@dataclass
class DayState:
    """What the simulation remembers from one day to the next."""

    identified: np.ndarray  # per user
    last_group: np.ndarray  # per membership
    seats: np.ndarray  # billed seats per account


def _first_per(keys: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    out = np.full(size, np.inf)
    np.minimum.at(out, keys, values)
    return out


def simulate_day(world: World, d: int, state: DayState, plan: np.ndarray, status: np.ndarray) -> list[pl.DataFrame]:
    """All messages whose events happen on UTC day d (some are received later)."""
    rng = np.random.default_rng([world.seed, 1, d])
    acc, mem, users = world.accounts, world.members, world.users
    day_ms = world.start_ms + d * DAY_MS
    weekday = (world.start + dt.timedelta(days=d)).weekday()
    noise = np.exp(np.random.default_rng([world.seed, 4, d]).normal(0.0, 0.6, size=acc.n))  # the noisy decline's
    base = activity_multiplier(acc, d, world.days, world.churn_kind, noise, world.holiday)
    multiplier = base * np.exp(rng.normal(0.0, 0.2, size=acc.n))
    tz = CITY_TZ[acc.city]

    # who is active today, and their session
    mm = multiplier[mem.account]
    present = (mem.join_day <= d) & (d < mem.end_day)
    joining = mem.join_day == d
    p = np.minimum(mem.active_prob * WEEKDAY_FACTOR[weekday] * np.sqrt(mm), 0.97)
    active = present & (joining | ((mm > 0) & (rng.random(len(p)) < p)))
    act = np.flatnonzero(active)
    session = np.where(joining[act], mem.join_sec[act], session_start_sec(rng, tz[mem.account[act]], weekday >= 5))
    span = rng.uniform(0.3, 3.0 if weekday >= 5 else 9.0, size=len(act)) * 3600.0
    intensity = world.epud * mem.rate[act] * np.sqrt(np.maximum(mm[act], 0.05))
    login = rng.random(len(act)) < 0.75
    n_other = rng.poisson(np.maximum(intensity - 0.75, 0.05))

    # track events: a session login, then the account's event mix spread over the session
    rep = np.repeat(np.arange(len(act)), n_other)
    a_ev = mem.account[act][rep]
    u = rng.random(len(rep))
    code = np.zeros(len(rep), dtype=np.int64)
    for k in range(len(EVENT_NAMES) - 1):  # inverse CDF of each account's mix, one column at a time
        code += u > acc.mix_cum[a_ev, k]
    sec = session[rep] + 5.0 + rng.random(len(rep)) * span[rep]
    lo, hi = np.searchsorted(world.injected.day, [d, d + 1])
    inj_mem = world.injected.membership[lo:hi]
    track_mem = np.concatenate([act[login], act[rep], inj_mem])
    track_sec = np.concatenate(
        [session[login] + rng.uniform(2.0, 5.0, size=int(login.sum())), sec, world.injected.sec[lo:hi]]
    )
    track_code = np.concatenate([np.full(int(login.sum()), EVENT_CODE["Logged In"]), code, world.injected.code[lo:hi]])

    # anonymous browsing before signing up (first appearance of a new user)
    newcomers = np.flatnonzero(users.first_day == d)
    anon_users = newcomers[users.anonymous[newcomers]]
    first_sec = _first_per(mem.user[act], session, users.n)
    n_anon = 1 + rng.poisson(2.0, size=len(anon_users))
    anon_rep = np.repeat(anon_users, n_anon)
    start_sec = first_sec[anon_rep]
    anon_sec = start_sec - rng.uniform(0.0, 1.0, size=len(anon_rep)) * np.minimum(5400.0, start_sec - 30.0)
    anon_track = rng.random(len(anon_rep)) < 0.3

    frames = in_chunks(
        render_tracks,
        world,
        rng,
        np.concatenate(
            [day_ms + (track_sec * 1000).astype(np.int64), day_ms + (anon_sec[anon_track] * 1000).astype(np.int64)]
        ),
        np.concatenate([mem.user[track_mem], anon_rep[anon_track]]),
        np.concatenate([mem.account[track_mem], np.zeros(int(anon_track.sum()), dtype=np.int64)]),
        np.concatenate([track_code, np.full(int(anon_track.sum()), EVENT_CODE["Dashboard Viewed"])]),
        np.concatenate([np.zeros(len(track_mem), dtype=bool), np.ones(int(anon_track.sum()), dtype=bool)]),
    )

    # page views
    n_pages = rng.poisson(0.35 * (n_other + login))
    page_rep = np.repeat(np.arange(len(act)), n_pages)
    page_sec = session[page_rep] + 5.0 + rng.random(len(page_rep)) * span[page_rep]
    page_anon = ~anon_track
    frames += in_chunks(
        render_pages,
        world,
        rng,
        np.concatenate(
            [day_ms + (page_sec * 1000).astype(np.int64), day_ms + (anon_sec[page_anon] * 1000).astype(np.int64)]
        ),
        np.concatenate([mem.user[act[page_rep]], anon_rep[page_anon]]),
        np.concatenate([mem.account[act[page_rep]], np.zeros(int(page_anon.sum()), dtype=np.int64)]),
        np.concatenate([np.zeros(len(page_rep), dtype=bool), np.ones(int(page_anon.sum()), dtype=bool)]),
    )

    # identify: on first appearance, on the first active day of the period, and now and then
    active_users = np.flatnonzero(np.isfinite(first_sec))
    ident = active_users[
        (users.first_day[active_users] == d) | ~state.identified[active_users] | (rng.random(len(active_users)) < 0.03)
    ]
    state.identified[ident] = True
    link = (users.first_day[ident] == d) & users.anonymous[ident]
    ident_ms = day_ms + (first_sec[ident] * 1000).astype(np.int64) - np.where(users.first_day[ident] == d, 0, 3000)
    frames.append(render_identifies(world, rng, d, ident_ms, ident, link))

    # group: when joining an account, then about weekly, and server-side on plan or status changes
    due = joining[act] | (d - state.last_group[act] >= 7)
    weekly = act[due]
    state.last_group[weekly] = d
    group_sec = session[due] + np.where(joining[weekly], 1.0, -2.0)
    changed = np.flatnonzero((acc.trans_day == d) & (acc.created_day < d))
    changed = changed[world.admin_of[changed] >= 0]
    change_sec = session_start_sec(rng, tz[changed])
    g_mem = np.concatenate([weekly, world.admin_of[changed]])
    frames.append(
        render_groups(
            world,
            rng,
            day_ms + (np.concatenate([group_sec, change_sec]) * 1000).astype(np.int64),
            mem.user[g_mem],
            mem.account[g_mem],
            plan,
            status,
            np.concatenate([np.zeros(len(weekly), dtype=bool), np.ones(len(changed), dtype=bool)]),
        )
    )
    return frames
