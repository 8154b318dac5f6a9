"""The demo told in Segment's B2B SaaS spec (`demo.spec_events`, off by default).

Beside the usual messages, each day's lifecycle events as the spec names them, from the same
simulated world: `Signed Up` (a user's first join), `Account Created` and `Trial Started` (an
account created in the period, by its admin), `Invite Sent` (the admin, before each invited
join), `Account Added User` (every join in the period, with its role), `Account Removed User`
(a freed seat), `Trial Ended` (a trial's billing transition) and `Account Deleted` (a transition
to churned). They draw from their own random stream (seed, 3, day), so with the setting off the
output is byte for byte what it was.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import numpy as np
import polars as pl

from engagement_pipeline.demo.arrays import DAY_MS
from engagement_pipeline.demo.catalogue import PLANS, ST_CHURNED, ST_TRIAL
from engagement_pipeline.demo.rendering import render_spec_tracks
from engagement_pipeline.demo.world import World


def _body(event: str, properties: dict[str, Any]) -> str:
    return f',"event":{json.dumps(event)},"properties":{json.dumps(properties, ensure_ascii=False)}'


def spec_events_day(world: World, d: int, plan: np.ndarray, status: np.ndarray) -> pl.DataFrame:
    """Day d's lifecycle events (see the module docstring), rendered as JSON lines."""
    rng = np.random.default_rng([world.seed, 3, d])
    acc, mem, users = world.accounts, world.members, world.users
    rows: list[tuple[float, int, int, str]] = []  # second of the day, user, account, body

    for m in np.flatnonzero(mem.join_day == d):
        user, account, sec = int(mem.user[m]), int(mem.account[m]), float(mem.join_sec[m])
        if users.first_day[user] == d:
            truth = {k: users.truth[k][user] for k in ("first_name", "last_name", "email", "phone", "title")}
            rows.append((sec + 0.5, user, account, _body("Signed Up", truth)))
        if mem.admin[m] and acc.created_day[account] == d:
            rows.append((sec + 1.0, user, account, _body("Account Created", {"account_name": acc.names[account]})))
            if status[account] == ST_TRIAL:
                trial = {"trial_start_date": _iso(world, d), "trial_plan_name": PLANS[plan[account]]}
                rows.append((sec + 1.5, user, account, _body("Trial Started", trial)))
        admin = int(world.admin_of[account])
        if not mem.admin[m] and admin >= 0 and mem.join_day[admin] <= d:
            invite = {"invitee_email": users.truth["email"][user], "invitee_role": "member"}
            rows.append((max(sec - 60.0, 1.0), int(mem.user[admin]), account, _body("Invite Sent", invite)))
        role = "admin" if mem.admin[m] else "member"
        rows.append((sec + 2.0, user, account, _body("Account Added User", {"role": role})))

    for m in np.flatnonzero(mem.removed & (mem.end_day == d)):
        rows.append(
            (float(rng.uniform(9, 17) * 3600), int(mem.user[m]), int(mem.account[m]), _body("Account Removed User", {}))
        )

    for changed in np.flatnonzero((acc.trans_day == d) & (acc.created_day < d)):
        a, admin = int(changed), int(world.admin_of[changed])
        if admin < 0:  # no admin in the period to send it
            continue
        admin_user, sec = int(mem.user[admin]), float(rng.uniform(9, 17) * 3600)
        if acc.status0[a] == ST_TRIAL:
            ended = {"trial_end_date": _iso(world, d), "trial_plan_name": PLANS[acc.plan0[a]]}
            rows.append((sec, admin_user, a, _body("Trial Ended", ended)))
        if status[a] == ST_CHURNED:
            rows.append((sec + 60.0, admin_user, a, _body("Account Deleted", {"account_name": acc.names[a]})))

    if not rows:
        rows_t: tuple[Any, ...] = ((), (), (), ())
    else:
        rows_t = tuple(zip(*sorted(rows, key=lambda r: (r[0], r[1], r[3]))))
    secs, user_idx, account_idx, bodies = rows_t
    t_ms = world.start_ms + d * DAY_MS + (np.asarray(secs, dtype=np.float64) * 1000).astype(np.int64)
    return render_spec_tracks(
        world,
        rng,
        t_ms,
        np.asarray(user_idx, dtype=np.int64),
        np.asarray(account_idx, dtype=np.int64),
        pl.Series(bodies, dtype=pl.String),
    )


def _iso(world: World, d: int) -> str:
    return (world.start + dt.timedelta(days=d)).isoformat()
