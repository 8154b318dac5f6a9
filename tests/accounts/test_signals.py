"""Churn signals on hand-made accounts: champion loss, breadth, seat contraction, a holiday week,
seats bought vs used."""

from __future__ import annotations

import datetime as dt

import polars as pl

from engagement_pipeline.accounts.signals import (
    PRODUCT_MIN_ACCOUNTS,
    account_signals,
    mrr_exprs,
    reasons_expr,
    seats_exprs,
)

DAY = dt.date(2026, 3, 31)


def _rows(account: str, user: str, first_ago: int, last_ago: int, per_day: int) -> list[dict]:
    return [
        {
            "account_id": account,
            "user_id": user,
            "event_date": DAY - dt.timedelta(days=ago),
            "event_count": per_day,
            "points": float(per_day * 2),
        }
        for ago in range(last_ago, first_ago + 1)
    ]


def _steady(n: int) -> list[dict]:
    return [r for a in range(n) for u in range(3) for r in _rows(f"steady{a}", f"s{a}_{u}", 62, 0, 3)]


def _signals(rows: list[dict]) -> dict[str, dict]:
    frame = account_signals(pl.DataFrame(rows), DAY, 30)
    return {r["account_id"]: r for r in frame.to_dicts()}


def test_a_champion_gone_quiet_while_colleagues_carry_on_is_champion_loss() -> None:
    rows = (
        _rows("champ", "boss", 62, 14, 20)  # the top user stops 14 days ago
        + _rows("champ", "helper1", 62, 0, 2)
        + _rows("champ", "helper2", 62, 0, 2)
        + _rows("alone", "boss2", 62, 14, 20)  # everyone stops: quiet, not a champion loss
        + _rows("alone", "other", 62, 14, 2)
    )
    s = _signals(rows)
    assert s["champ"]["champion_lost"] and s["champ"]["champion_quiet_days"] == 14
    assert s["champ"]["champion_share"] > 0.75  # 420 of 532 points in days 7..34
    assert not s["alone"]["champion_lost"]


def test_breadth_counts_the_users_who_carry_80_percent() -> None:
    rows = _rows("one", "big", 29, 0, 50) + _rows("one", "small1", 29, 0, 1) + _rows("one", "small2", 29, 0, 1)
    rows += [r for u in range(5) for r in _rows("even", f"e{u}", 29, 0, 4)]
    s = _signals(rows)
    assert s["one"]["users_for_80pct"] == 1
    assert s["even"]["users_for_80pct"] == 4  # 4 of 5 equal users make 80%


def test_seats_dropping_out_show_as_fewer_active_users_than_usual() -> None:
    rows = [r for u in range(6) for r in _rows("shrinking", f"u{u}", 62, 0 if u < 2 else 10, 3)]
    s = _signals(rows)
    assert s["shrinking"]["active_users_change"] <= -0.5


def test_a_holiday_week_every_account_shares_is_no_drop_but_one_account_falling_is() -> None:
    rows = []
    for a in range(PRODUCT_MIN_ACCOUNTS + 5):
        for u in range(3):
            rows += _rows(f"acc{a}", f"a{a}_{u}", 62, 7, 10) + _rows(f"acc{a}", f"a{a}_{u}", 6, 0, 3)  # holiday: 30%
    rows += [r for u in range(3) for r in _rows("falling", f"f{u}", 62, 7, 10) + _rows("falling", f"f{u}", 6, 0, 1)]
    s = _signals(rows)
    assert abs(s["acc0"]["activity_vs_usual"]) < 0.05  # the product's dip is discounted
    assert s["falling"]["activity_vs_usual"] < -0.6  # 10% of usual against the product's 30%
    # Without the whole product to compare with, the same week is an account's own drop.
    alone = _signals([r for r in rows if r["account_id"] in ("acc0", "falling")])
    assert alone["acc0"]["activity_vs_usual"] < -0.6


def test_engagement_falling_while_mrr_rises_is_said_in_words() -> None:
    frame = pl.DataFrame(
        {"mrr": [300.0, 100.0, 100.0], "_mrr_28d_ago": [100.0, 300.0, 100.0], "activity_vs_usual": [-0.5, 0.6, -0.5]}
    ).with_columns(*mrr_exprs())
    texts = frame["engagement_vs_mrr"].to_list()
    assert texts[0] == "engagement down 50% while MRR rose 200.0 USD"
    assert texts[1].startswith("engagement up 60% while MRR fell")
    assert texts[2] is None
    assert frame["mrr_change_28d"].to_list() == [200.0, -200.0, 0.0]


def test_seats_bought_vs_used_and_the_reason_when_fewer_than_half_are_used() -> None:
    # active users of seats bought: 4 of 20 (under half), 10 of 20 (half: no word), 3 of 0, unknown, 1 of 3
    frame = pl.DataFrame(
        {
            "active_users": [4, 10, 3, 5, 1],
            "total_users": [4, 10, 3, 5, 2],
            "seats": [20, 20, 0, None, 3],
            "champion_lost": [False] * 5,
            "champion_share": [None] * 5,
            "champion_quiet_days": [None] * 5,
            "active_users_change": [None] * 5,
            "_wau_now": [None] * 5,
            "_wau_usual": [None] * 5,
            "activity_vs_usual": [None] * 5,
            "users_for_80pct": [None] * 5,
            "engagement_vs_mrr": [None] * 5,
        },
        schema_overrides={"seats": pl.Int64, "champion_share": pl.Float64, "activity_vs_usual": pl.Float64},
    )
    out = frame.with_columns(*seats_exprs()).with_columns(reasons_expr())
    assert out["seats_bought"].to_list() == [20, 20, 0, None, 3]
    assert out["seats_used_share"].to_list() == [0.2, 0.5, None, None, 0.333]
    assert out["signal_reasons"].to_list() == [
        "4 of 20 bought seats used", "", "", "", "1 of 3 bought seats used",
    ]  # fmt: skip
