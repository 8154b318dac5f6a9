"""The health rules the lists rely on, on hand-made days: `at_risk` and `inactive` as the contract
defines them for any window, and no near-zero account `healthy`."""

from __future__ import annotations

import datetime as dt

import polars as pl

from engagement_pipeline.accounts.model import account_day
from tests.accounts.test_accounts import DAY, _attributes, _config, _counts, _daily, _first_used

OLD = dt.date(2025, 1, 1)


def _health(rows, attrs, **model):  # type: ignore[no-untyped-def]
    counts = _counts(rows)
    scores = account_day(counts, _first_used(counts), attrs, DAY, _config(**model)).scores
    return {r["account_id"]: (r["health"], r["health_reason"], r["score"]) for r in scores.to_dicts()}


def test_a_paying_account_quiet_for_11_days_is_at_risk_with_a_7_day_window() -> None:
    d = DAY
    busy = _daily("busy", ["b1", "b2"], d - dt.timedelta(days=40), d, 6)
    silent = _daily("paid_quiet", ["p1"], d - dt.timedelta(days=40), d - dt.timedelta(days=11), 6)
    free = _daily("free_quiet", ["f1"], d - dt.timedelta(days=40), d - dt.timedelta(days=11), 6)
    gone = _daily("paid_gone", ["g1"], d - dt.timedelta(days=60), d - dt.timedelta(days=31), 6)
    attrs = _attributes(
        ("busy", "pro", "active", 100.0, OLD),
        ("paid_quiet", "pro", "active", 100.0, OLD),
        ("free_quiet", "free", "active", 0.0, OLD),
        ("paid_gone", "pro", "active", 100.0, OLD),
    )
    health = _health(busy + silent + free + gone, attrs, window_days=7)
    assert health["paid_quiet"][0] == "at_risk", health["paid_quiet"]
    assert health["free_quiet"][0] == "inactive"
    assert health["paid_gone"][0] == "inactive"  # no event in the last 30 days
    assert health["paid_gone"][1] == "no event in the last 31 days"
    # the default 30-day window: the same quiet paying account is at risk too
    assert _health(busy + silent, attrs)["paid_quiet"][0] == "at_risk"


def test_near_zero_engagement_is_never_healthy() -> None:
    d = DAY
    strong = [_daily(f"strong{i}", [f"s{i}a", f"s{i}b"], d - dt.timedelta(days=29), d, 20) for i in range(5)]
    # one user, one event on one day: a score of a few points
    faint = [(d - dt.timedelta(days=3), "f1", "free_faint", "Logged In", 1)]
    young = [(d - dt.timedelta(days=3), "y1", "free_young", "Logged In", 1)]
    paid = [(d - dt.timedelta(days=3), "q1", "paid_faint", "Logged In", 1)]
    attrs = _attributes(
        *[(f"strong{i}", "free", "active", 0.0, OLD) for i in range(5)],
        ("free_faint", "free", "active", 0.0, OLD),
        ("free_young", "trial", "trial", 0.0, d - dt.timedelta(days=5)),
        ("paid_faint", "pro", "active", 50.0, OLD),
    )
    health = _health([r for s in strong for r in s] + faint + young + paid, attrs)
    assert health["free_faint"][2] < 10
    assert health["free_faint"][0] == "inactive"
    assert "under the minimum engagement 10" in health["free_faint"][1]
    assert health["free_young"][0] == "new"
    assert health["paid_faint"][0] == "at_risk"
    assert all(h in ("healthy", "expansion_ready") for a, (h, _, _) in health.items() if a.startswith("strong"))
    # the rule follows its setting: with a minimum of 0 the faint free account is healthy again
    assert _health(faint + [r for s in strong for r in s], attrs, health={"min_healthy_score": 0})["free_faint"][0] == (
        "healthy"
    )
    scores = pl.DataFrame([{"health": h, "score": s} for h, _, s in health.values()])
    assert scores.filter((pl.col("health") == "healthy") & (pl.col("score") < 10)).is_empty()
