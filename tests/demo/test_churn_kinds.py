"""The demo's kinds of churn, its holiday week and its ground truth."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from engagement_pipeline.demo.catalogue import CHURNING, STEADY
from engagement_pipeline.demo.churn_kinds import (
    CHAMPION_LOSS,
    CHURN_KINDS,
    HOLIDAY_FACTOR,
    SEAT_CONTRACTION,
    SUDDEN,
    holiday_days,
)
from engagement_pipeline.demo.faults import FaultRates
from engagement_pipeline.demo.generator import generate_demo
from engagement_pipeline.demo.world import activity_multiplier, build_world

START = dt.date(2026, 1, 1)


@pytest.fixture(scope="module")
def world():  # type: ignore[no-untyped-def]
    return build_world(3, START, 90, 300, FaultRates(), 6.0)


def test_every_churning_account_has_a_kind_and_the_others_none(world) -> None:  # type: ignore[no-untyped-def]
    churning = world.accounts.kind == CHURNING
    assert (world.churn_kind[churning] >= 0).all()
    assert set(world.churn_kind[churning]) == set(range(len(CHURN_KINDS)))  # 300 accounts show every kind
    assert (world.churn_kind[world.accounts.kind == STEADY] == -1).all()


def test_a_champion_leaves_weeks_before_the_account_while_colleagues_stay(world) -> None:  # type: ignore[no-untyped-def]
    mem, acc = world.members, world.accounts
    seen = 0
    for a in np.flatnonzero(world.churn_kind == CHAMPION_LOSS):
        members = np.flatnonzero((mem.account == a) & (mem.join_day < acc.activity_end[a] - 45))
        if len(members) < 2:
            continue
        champion = members[np.argmax(mem.rate[members])]
        gap = acc.activity_end[a] - mem.end_day[champion]
        assert 20 <= gap <= 40
        others = members[members != champion]
        assert (mem.end_day[others] == acc.activity_end[a]).all()  # colleagues carry on to the end
        seen += 1
    assert seen >= 2


def test_seats_contract_one_by_one_and_sudden_churn_gives_no_warning(world) -> None:  # type: ignore[no-untyped-def]
    mem, acc = world.members, world.accounts
    for a in np.flatnonzero(world.churn_kind == SEAT_CONTRACTION):
        primary = np.arange(len(mem.user)) < world.users.n  # consultants' second seats end with the account
        ends = mem.end_day[primary & (mem.account == a) & ~mem.admin & (mem.join_day < acc.activity_end[a] - 45)]
        assert (ends < acc.activity_end[a]).all() and (ends >= acc.activity_end[a] - 45).all()
    for a in np.flatnonzero(world.churn_kind == SUDDEN):
        members = (mem.account == a) & (mem.join_day < acc.activity_end[a])
        assert (mem.end_day[members] == acc.activity_end[a]).all()
        day = int(acc.activity_end[a]) - 1
        assert activity_multiplier(acc, day, 90, world.churn_kind)[a] == pytest.approx(acc.intensity[a])


def test_the_holiday_week_slows_every_account_alike(world) -> None:  # type: ignore[no-untyped-def]
    first, end = holiday_days(START, 90)  # type: ignore[misc]
    assert end - first == 7 and (START + dt.timedelta(days=first)).weekday() == 0
    steady = np.flatnonzero(world.accounts.kind == STEADY)
    before = activity_multiplier(world.accounts, first - 7, 90, world.churn_kind, None, world.holiday)[steady]
    during = activity_multiplier(world.accounts, first, 90, world.churn_kind, None, world.holiday)[steady]
    assert during == pytest.approx(before * HOLIDAY_FACTOR)
    assert holiday_days(START, 30) is None  # a short demo has none


def test_the_ground_truth_names_each_churners_kind_and_the_holiday(tmp_path: Path) -> None:
    generate_demo(tmp_path / "landing", START, 56, accounts=60, seed=2, events_per_user_day=1.0)
    truth = pl.read_csv(tmp_path / "ground_truth" / "accounts.csv")
    churning = truth.filter(pl.col("trajectory") == "churning")
    assert churning.height and churning["churn_kind"].is_in(list(CHURN_KINDS)).all()
    assert truth.filter(pl.col("churn_kind").is_not_null())["churned_date"].is_not_null().all()
    summary = json.loads((tmp_path / "ground_truth" / "summary.json").read_text())
    first, last = (dt.date.fromisoformat(d) for d in summary["holiday_week"])
    assert (last - first).days == 6 and sum(summary["churn_kinds"].values()) == truth["churn_kind"].count()

    def tracks(day: dt.date) -> int:
        folder = tmp_path / "landing" / day.isoformat()
        return sum(gzip.decompress(f.read_bytes()).count(b'"type":"track"') for f in folder.glob("*.gz"))

    week = [tracks(first + dt.timedelta(days=i)) for i in range(7)]
    week_before = [tracks(first - dt.timedelta(days=7 - i)) for i in range(7)]
    assert sum(week) < 0.6 * sum(week_before)  # the product-wide dip, on every weekday of it
