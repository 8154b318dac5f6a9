"""How churn and the calendar look in the demo: kinds of churn, a holiday week, heavy-tailed users.

Real churn is rarely a smooth decline. Each churning account (trajectory `churning`) gets one
kind (`CHURN_KINDS`), recorded as `churn_kind` in the ground truth:

- `champion_loss`: the member who did most of the work stops 20-40 days before the account
  cancels, while colleagues carry on at their usual pace;
- `seat_contraction`: active members drop out one by one over the 45 days before the churn
  (some of them also freed as billed seats);
- `noisy_decline`: the account's activity slides to a fifth of its level (as before) with
  day-to-day noise three times the usual;
- `sudden`: nothing changes until the day it cancels (no warning: no signal can see it).

Trials that lapse into churn are `trial_lapse`. Every churning account (any kind) runs at
`CHURNER_INTENSITY` of the level it would otherwise have: accounts that churn were less engaged
from the start, which is what lets an engagement score separate churn at all. Beside them: a product-wide holiday week (every
account at `HOLIDAY_FACTOR` of its usual activity for 7 days from the first Monday at or after
60% of the period, when the period has at least 42 days; not churn) and heavier-tailed users
(a few power users, many light ones).

All of it draws from its own random stream (seed, 4), after the memberships are built, so the
world's other draws (accounts, users, names) are those of before.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from engagement_pipeline.demo.catalogue import CHURNING, NEVER, ST_CHURNED, TRIAL_NOT

CHURN_KINDS: tuple[str, ...] = ("champion_loss", "seat_contraction", "noisy_decline", "sudden")
CHAMPION_LOSS, SEAT_CONTRACTION, NOISY_DECLINE, SUDDEN = range(4)
TRIAL_LAPSE = len(CHURN_KINDS)  # a churned trial
NO_CHURN = -1
CHURN_KIND_MIX = np.array([0.3, 0.3, 0.25, 0.15])
HOLIDAY_FACTOR = 0.35
# Accounts that go on to churn were less engaged from the start (the premise of engagement scoring):
# their level is this share of what it would be, before any kind of churn shapes their last weeks.
CHURNER_INTENSITY = 0.7
# The members' rates, already lognormal (sd 0.8 in log space, `memberships.py`), get this much more spread.
HEAVY_TAIL = 0.35
HOLIDAY_MIN_DAYS = 42
# Kinds whose churn shows in the data before it happens (the others come without warning).
PREDICTABLE_KINDS: tuple[str, ...] = ("champion_loss", "seat_contraction", "noisy_decline", "trial_lapse")


def churn_kind_name(code: int) -> str | None:
    """The ground-truth name of a churn-kind code (None for an account that does not churn)."""
    if code == NO_CHURN:
        return None
    return "trial_lapse" if code == TRIAL_LAPSE else CHURN_KINDS[code]


def holiday_days(start: dt.date, days: int) -> tuple[int, int] | None:
    """[first, end) day indices of the product-wide holiday week, or None for a short period."""
    if days < HOLIDAY_MIN_DAYS:
        return None
    first = int(days * 0.6)
    first += (7 - (start + dt.timedelta(days=first)).weekday()) % 7  # the next Monday
    return (first, min(first + 7, days)) if first < days else None


def assign_churn_kinds(
    rng: np.random.Generator, kind: np.ndarray, status1: np.ndarray, activity_end: np.ndarray
) -> np.ndarray:
    """Per account: its churn-kind code, NO_CHURN when it does not churn in the period."""
    out = np.full(len(kind), NO_CHURN, dtype=np.int64)
    churning = np.flatnonzero(kind == CHURNING)
    out[churning] = rng.choice(len(CHURN_KINDS), size=len(churning), p=CHURN_KIND_MIX)
    lapse = (kind == TRIAL_NOT) & (status1 == ST_CHURNED) & (activity_end < NEVER)
    out[lapse] = TRIAL_LAPSE
    return out


def reshape_memberships(
    rng: np.random.Generator,
    churn_kind: np.ndarray,
    activity_end: np.ndarray,
    account: np.ndarray,
    join_day: np.ndarray,
    admin: np.ndarray,
    rate: np.ndarray,
    end_day: np.ndarray,
    removed: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """End days, removals and heavier-tailed rates of the primary memberships, by churn kind.

    Returns new (end_day, removed, rate) arrays; the inputs are not changed.
    """
    end, gone = end_day.copy(), removed.copy()
    spread = rng.normal(size=len(rate))  # heavier tail: a few power users, many light ones (mean kept)
    rate = rate * np.exp(HEAVY_TAIL * spread - HEAVY_TAIL**2 / 2)
    ck = churn_kind[account]
    ch_end = activity_end[account]
    in_kind = ck >= 0
    # Churn kinds other than the smooth decline keep every member until the account leaves ...
    keep = in_kind & (ck != NOISY_DECLINE) & (ck != TRIAL_LAPSE)
    end[keep] = ch_end[keep]
    gone[keep] = False
    # ... except the champion (the busiest member present a month before), and the members of a
    # contracting account, who leave one by one.
    for a in np.flatnonzero(churn_kind == CHAMPION_LOSS):
        members = np.flatnonzero((account == a) & (join_day < activity_end[a] - 45))
        if len(members) < 2:
            continue
        champion = members[np.argmax(rate[members])]
        total = rate[members].sum()
        rate[champion] *= 3.0  # the champion carries the account ...
        rate[members] *= total / rate[members].sum()  # ... of the same total activity: concentrated, not busier
        end[champion] = max(int(join_day[champion]) + 1, int(activity_end[a]) - int(rng.integers(20, 41)))
        gone[champion] = rng.random() < 0.5
    contract = np.flatnonzero((ck == SEAT_CONTRACTION) & ~admin)
    leave = ch_end[contract] - rng.integers(3, 46, size=len(contract))
    end[contract] = np.maximum(join_day[contract] + 1, leave)
    gone[contract] = rng.random(len(contract)) < 0.5
    return end, gone, rate


def churner_intensity(churn_kind: np.ndarray, intensity: np.ndarray) -> np.ndarray:
    """Each account's activity level with CHURNER_INTENSITY applied to the accounts that churn (no draw)."""
    return np.where(churn_kind >= 0, intensity * CHURNER_INTENSITY, intensity)


def kind_multiplier(churn_kind: np.ndarray, base: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """The day's activity multipliers with the churn kinds applied.

    `base` is the multiplier of the trajectories (a churning account's smooth decline); only
    the noisy decline keeps it (with `noise`, a day's lognormal draw), the other kinds stay at
    their usual level until they leave (their warning, if any, is in who is active).
    """
    out = base.copy()
    level = (churn_kind >= 0) & (churn_kind != NOISY_DECLINE) & (churn_kind != TRIAL_LAPSE) & (base > 0)
    out[level] = 1.0
    noisy = churn_kind == NOISY_DECLINE
    out[noisy] = base[noisy] * noise[noisy]
    return out
