"""Churn risk on hand-made accounts, and the fitted model's view of time."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from engagement_pipeline.accounts import churn
from engagement_pipeline.accounts.model import account_day
from engagement_pipeline.core.config import parse_config
from tests.conftest import base_config

DAY = dt.date(2026, 3, 31)


def _rows(account: str, users: int, start_ago: int, end_ago: int, per_day: int) -> list[tuple]:
    return [
        (DAY - dt.timedelta(days=ago), f"{account}_u{u}", account, "Document Edited", per_day)
        for ago in range(end_ago, start_ago + 1)
        for u in range(users)
    ]


def _risk() -> dict[str, dict]:
    rows = (
        _rows("large", 20, 60, 7, 4)
        + _rows("large", 20, 6, 0, 2)  # activity halves in the last week
        + _rows("small", 2, 60, 0, 2)  # small and steady
        + _rows("silent", 5, 60, 10, 3)  # nothing in the last 10 days
    )
    counts = pl.DataFrame(
        [
            {"event_date": d, "user_id": u, "account_id": a, "type": "track", "event": e, "event_count": n}
            for d, u, a, e, n in rows
        ]
    )
    first = counts.group_by("account_id", "event").agg(pl.col("event_date").min().alias("first_used"))
    attrs = pl.DataFrame(
        {
            "account_id": ["large", "small", "silent"],
            "name": ["L", "S", "Q"],
            "plan": ["pro"] * 3,
            "status": ["active"] * 3,
            "mrr": [900.0, 50.0, 200.0],
            "created_date": [dt.date(2025, 1, 1)] * 3,
        }
    )
    scores = account_day(counts, first, attrs, DAY, parse_config(base_config())).scores
    return {r["account_id"]: r for r in scores.to_dicts()}


def log_loss(p: np.ndarray, y: np.ndarray) -> float:
    eps = 1e-9
    return float(-np.mean(y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps)))


def test_a_large_account_halving_ranks_riskier_than_a_small_steady_one() -> None:
    risk = _risk()
    assert risk["large"]["activity_change"] == -0.5
    assert risk["large"]["churn_risk"] > risk["small"]["churn_risk"]
    assert (
        "activity 50% below its usual weeks" in risk["large"]["health_reason"] or risk["large"]["health"] != "at_risk"
    )


def test_an_account_silent_for_ten_days_ranks_riskier_than_either() -> None:
    risk = _risk()
    assert risk["silent"]["days_since_active"] == 10
    assert risk["silent"]["churn_risk"] > max(risk["large"]["churn_risk"], risk["small"]["churn_risk"])
    assert risk["silent"]["health"] == "at_risk"
    reason = risk["silent"]["health_reason"]
    assert "activity 100% below its usual weeks" in reason and "last active 10 days ago" in reason


def _history(days: int, accounts: int) -> pl.DataFrame:
    rng = np.random.default_rng(1)
    rows = []
    for a in range(accounts):
        for i in range(days):
            rows.append(
                {
                    "account_id": f"a{a}",
                    "date": dt.date(2026, 1, 1) + dt.timedelta(days=i),
                    "status": "active",
                    "activity_change": float(rng.uniform(-1, 0.5)),
                    "activity_vs_peak": float(rng.uniform(-1, 0)),
                    "days_since_active": int(rng.integers(0, 20)),
                    "pct_active": float(rng.uniform()),
                    "active_users": int(rng.integers(0, 9)),
                    "trend_delta": float(rng.normal(0, 10)),
                    "adoption_rate": float(rng.uniform()),
                    "is_paying": True,
                    "score": float(rng.uniform(0, 100)),
                }
            )
    return pl.DataFrame(rows)


def test_the_fitted_model_never_sees_outcomes_after_its_as_of_day() -> None:
    history = _history(90, 40)
    churns = pl.DataFrame(
        {"account_id": ["a1", "a2", "a3"], "date": [dt.date(2026, 2, 10), dt.date(2026, 3, 5), dt.date(2026, 3, 20)]}
    )
    as_of = dt.date(2026, 3, 10)
    features, labels = churn.training_set(history, churns, as_of, horizon_days=30)
    assert features["date"].max() <= as_of - dt.timedelta(days=30)  # only closed outcome windows
    positives = features.filter(pl.Series(labels))
    # a1 and a2 churned by the as-of day; a3 churns after it, so no row may say so yet.
    assert set(positives["account_id"]) == {"a1", "a2"}
    assert positives.filter(pl.col("account_id") == "a2")["date"].min() >= dt.date(2026, 2, 3)  # 30 days before
    later, later_labels = churn.training_set(history, churns, dt.date(2026, 4, 30), horizon_days=30)
    assert set(later.filter(pl.Series(later_labels))["account_id"]) == {"a1", "a2", "a3"}


def test_fit_learns_a_signal_that_predicts_churn() -> None:
    rng = np.random.default_rng(7)
    n = 2000
    frame = pl.DataFrame({name: rng.uniform(0, 1, n) for name in churn.FEATURES})
    truth = 1 / (1 + np.exp(-(-3 + 5 * frame["contraction"].to_numpy())))
    labels = rng.uniform(0, 1, n) < truth
    model = churn.fit(frame, labels, DAY)
    weights = dict(zip(churn.FEATURES, model.coefficients))
    assert max(weights, key=lambda k: weights[k]) == "contraction"
    predicted = model.predict(frame)
    assert log_loss(predicted, labels) < log_loss(np.full(n, labels.mean()), labels)
