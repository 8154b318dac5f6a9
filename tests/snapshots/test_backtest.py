"""Outcomes from billing / traits, AUC by hand, and the backtest's populations, horizons and metrics."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import polars as pl
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from engagement_pipeline.snapshots.backtest import (
    BACKTEST_SCHEMA,
    SUMMARY_SCHEMA,
    compare_weights,
    score_backtest,
    summarize_backtest,
)
from engagement_pipeline.snapshots.metrics import calibration, precision_at_k, roc_auc
from engagement_pipeline.staging.outcomes import OUTCOME_SCHEMA, outcome_events

D0 = dt.date(2026, 1, 1)


def d(n: int) -> dt.date:
    return D0 + dt.timedelta(days=n)


# --------------------------------------------------------------------------------------
# AUC


@pytest.mark.parametrize(
    ("values", "labels", "expected"),
    [
        ([1, 2, 3, 4], [False, False, True, True], 1.0),  # perfect separation
        ([1, 2, 3, 4], [True, True, False, False], 0.0),  # reversed
        ([5, 5, 5, 5], [True, False, True, False], 0.5),  # all tied
        ([0.1, 0.4, 0.35, 0.8], [False, False, True, True], 0.75),  # 3 of 4 pairs ordered
        ([1, 2, 2, 3], [False, True, False, True], 0.875),  # (1 + 0.5 + 1 + 1) / 4: the tie counts half
    ],
)
def test_auc_hand_made(values: list[float], labels: list[bool], expected: float) -> None:
    assert roc_auc(values, labels) == pytest.approx(expected)


def test_auc_mixed_case_pair_by_pair() -> None:
    # positives 3 and 2 against negatives 1, 2, 2: 3 beats all three (3), 2 beats 1 and ties two (1 + 0.5 + 0.5)
    assert roc_auc([3, 1, 2, 2, 2], [True, False, True, False, False]) == pytest.approx(5 / 6)


def test_auc_undefined_and_missing_values() -> None:
    assert roc_auc([1, 2, 3], [True, True, True]) is None
    assert roc_auc([1, 2, 3], [False, False, False]) is None
    assert roc_auc([], []) is None
    # a null or NaN value and a null label drop their pair
    assert roc_auc([1.0, None, float("nan"), 4.0, 9.0], [False, True, True, True, None]) == 1.0
    with pytest.raises(ValueError, match="differ in length"):
        roc_auc([1, 2], [True])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(-5, 5) | st.floats(-1e6, 1e6, allow_nan=False), st.booleans()), min_size=2, max_size=40
    )
)
def test_auc_property_bounds_and_symmetry(pairs: list[tuple[float, bool]]) -> None:
    values = [float(v) for v, _ in pairs]
    labels = [y for _, y in pairs]
    assume(any(labels) and not all(labels))
    auc, flipped = roc_auc(values, labels), roc_auc([-v for v in values], labels)
    assert auc is not None and flipped is not None
    assert 0.0 <= auc <= 1.0
    assert math.isclose(auc + flipped, 1.0, abs_tol=1e-9)


# --------------------------------------------------------------------------------------
# precision, calibration


def test_precision_at_k() -> None:
    assert precision_at_k([True, False, True, None], 3) == pytest.approx(2 / 3)
    assert precision_at_k([True, False, True, None]) == 0.5  # whole list; null counts as False
    assert precision_at_k([True, True], 5) == 1.0  # k capped at the list's length
    assert precision_at_k([True], 0) is None
    assert precision_at_k([]) is None


def test_calibration_bins() -> None:
    predicted = pl.Series([0.1, 0.2, 0.3, 0.3, 0.9, None])
    observed = pl.Series([0, 0, 1, 0, 1, 1])
    out = calibration(predicted, observed, bins=5)
    assert out.columns == ["decile", "mean_predicted", "observed_rate", "n"]
    # equal predictions (0.3, 0.3) share a bin; the null prediction is left out
    assert out.rows() == [(1, 0.1, 0.0, 1), (2, 0.2, 0.0, 1), (3, 0.3, 0.5, 2), (5, 0.9, 1.0, 1)]
    ten = calibration(pl.Series([i / 100 for i in range(100)]), pl.Series([i >= 50 for i in range(100)]))
    assert ten["decile"].to_list() == list(range(1, 11)) and ten["n"].to_list() == [10] * 10
    assert ten["observed_rate"].to_list() == [0.0] * 5 + [1.0] * 5
    assert calibration(pl.Series([], dtype=pl.Float64), pl.Series([], dtype=pl.Boolean)).height == 0


# --------------------------------------------------------------------------------------
# outcomes


def _billing(*rows: tuple[str, int, str, float | None, str]) -> pl.DataFrame:
    return pl.DataFrame(
        [{"account_id": a, "date": d(n), "plan": p, "mrr": m, "status": s} for a, n, p, m, s in rows],
        schema={"account_id": pl.String, "date": pl.Date, "plan": pl.String, "mrr": pl.Float64, "status": pl.String},
    )


def test_outcomes_from_billing() -> None:
    billing = _billing(
        ("t", 0, "trial", 0, "trial"),
        ("t", 10, "pro", 100, "active"),
        ("t", 40, "pro", 0, "churned"),
        ("f", 0, "free", 0, "active"),
        ("f", 5, "starter", 49, "active"),  # free -> paid: a conversion only
        ("x", 0, "starter", 49, "active"),
        ("x", 3, "pro", 99, "active"),
        ("x", 9, "starter", 49, "active"),
        ("x", 12, "starter", 49, "active"),  # no change: no event
        ("z", 0, "pro", 99, "churned"),  # churned from the start: no event
        ("u", 0, "TRIAL", 0, "Trial"),
        ("u", 7, "trial", 0, "churned"),  # case-insensitive, trial churns
    )
    out = outcome_events(billing, None)
    assert out.schema == pl.Schema(OUTCOME_SCHEMA)
    assert out.rows() == [
        ("f", d(5), "conversion", 0.0, 49.0),
        ("t", d(10), "conversion", 0.0, 100.0),
        ("t", d(40), "churn", 100.0, 0.0),
        ("u", d(7), "churn", 0.0, 0.0),
        ("x", d(3), "expansion", 49.0, 99.0),
        ("x", d(9), "contraction", 99.0, 49.0),
    ]
    # input order does not matter
    assert outcome_events(billing.reverse(), None).equals(out)


def test_billing_wins_over_trait_history_and_empty_inputs() -> None:
    billing = _billing(("a", 0, "pro", 10, "active"), ("a", 1, "pro", 20, "active"))
    history = pl.DataFrame(
        {
            "account_id": ["a", "a"],
            "valid_from": [dt.datetime(2026, 1, 1), dt.datetime(2026, 1, 5)],
            "plan": ["pro", "pro"],
            "status": ["active", "churned"],
        }
    )
    assert outcome_events(billing, history)["kind"].to_list() == ["expansion"]
    assert outcome_events(billing.clear(), None).schema == pl.Schema(OUTCOME_SCHEMA)
    assert outcome_events(None, None).height == 0
    assert outcome_events(billing.clear(), history.clear()).height == 0


def test_outcomes_from_trait_history() -> None:
    ts = dt.datetime
    history = pl.DataFrame(
        {
            "account_id": ["a", "a", "a", "a", "b", "b", "b", "c", "c"],
            "valid_from": [
                ts(2026, 1, 1, 9),
                ts(2026, 1, 3, 8),
                ts(2026, 1, 3, 17),
                ts(2026, 1, 20, 12),
                ts(2026, 1, 1),
                ts(2026, 1, 4),
                ts(2026, 1, 8),
                ts(2026, 1, 2),
                ts(2026, 1, 2, 1),
            ],
            "plan": ["trial", "trial", "pro", "pro", "free", None, "starter", "pro", "pro"],
            "status": ["trial", "trial", "active", "churned", "active", None, "active", "active", "churned"],
            "name": ["A"] * 4 + ["B"] * 3 + ["C"] * 2,
        }
    )
    out = outcome_events(
        pl.DataFrame(
            schema={"account_id": pl.String, "date": pl.Date, "plan": pl.String, "mrr": pl.Float64, "status": pl.String}
        ),
        history,
    )
    # a: trial -> pro on the 3rd (the day's last state counts), churned on the 20th;
    # b: a change with no plan / status keeps the earlier values, then free -> starter;
    # c: created and churned the same day: no earlier day, no event.
    assert out.select("account_id", "date", "kind").rows() == [
        ("a", d(2), "conversion"),
        ("a", d(19), "churn"),
        ("b", d(7), "conversion"),
    ]
    assert out["mrr_before"].null_count() == out.height and out["mrr_after"].null_count() == out.height


# --------------------------------------------------------------------------------------
# the backtest


def _history(rows: list[dict[str, Any]], days: range) -> pl.DataFrame:
    """The same accounts on every day in `days`; a row's `churned_on` switches its status from that day."""
    out = []
    for n in days:
        for r in rows:
            churned = r.get("churned_on") is not None and n >= r["churned_on"]
            status = "churned" if churned else r.get("status", "active")
            out.append(
                {
                    "date": d(n),
                    "account_id": r["id"],
                    "score": r["score"],
                    "churn_risk": r.get("risk", 0.5),
                    "status": status,
                    "plan": r.get("plan", "pro"),
                    "mrr": r.get("mrr", 100.0),
                }
            )
    return pl.DataFrame(
        out,
        schema={
            "date": pl.Date,
            "account_id": pl.String,
            "score": pl.Float64,
            "churn_risk": pl.Float64,
            "status": pl.String,
            "plan": pl.String,
            "mrr": pl.Float64,
        },
    )


def _events(*rows: tuple[str, int, str]) -> pl.DataFrame:
    return pl.DataFrame(
        [{"account_id": a, "date": d(n), "kind": k, "mrr_before": None, "mrr_after": None} for a, n, k in rows],
        schema=OUTCOME_SCHEMA,
    )


def _value(
    table: pl.DataFrame,
    as_of: dt.date,
    horizon: int,
    outcome: str,
    predictor: str,
    metric: str,
    band: str | None = None,
) -> float | None:
    rows = table.filter(
        (pl.col("as_of_date") == as_of)
        & (pl.col("horizon_days") == horizon)
        & (pl.col("outcome") == outcome)
        & (pl.col("predictor") == predictor)
        & (pl.col("metric") == metric)
        & (pl.col("band").is_null() if band is None else pl.col("band") == band)
    )
    assert rows.height == 1, (as_of, horizon, outcome, predictor, metric, band, rows)
    return rows["value"].item()


ACCOUNTS = [
    {"id": "hi", "score": 90.0, "risk": 0.1},
    {"id": "mid", "score": 60.0, "risk": 0.3},
    {"id": "low", "score": 30.0, "risk": 0.6},
    {"id": "vlow", "score": 10.0, "risk": 0.9},
]


def test_direction_of_score_and_churn_risk() -> None:
    history = _history(ACCOUNTS, range(1))
    outcomes = _events(("vlow", 5, "churn"), ("low", 8, "churn"))
    table = score_backtest(history, outcomes, d(30), horizons=(30,), predictors=("score", "churn_risk"))
    assert table.schema == pl.Schema(BACKTEST_SCHEMA)
    # low scores churned: AUC of -score is 1; high churn risk churned: AUC of +churn_risk is 1
    assert _value(table, d(0), 30, "churn", "score", "auc") == 1.0
    assert _value(table, d(0), 30, "churn", "churn_risk", "auc") == 1.0
    # a direction map that says the opposite gives the opposite AUC
    flipped = score_backtest(
        history,
        outcomes,
        d(30),
        horizons=(30,),
        predictors=("score",),
        direction={"churn": {"score": +1}},
        outcome_kinds=("churn",),
    )
    assert _value(flipped, d(0), 30, "churn", "score", "auc") == 0.0
    # for conversion / expansion a HIGH score is the good sign
    expansion = score_backtest(
        history, _events(("hi", 3, "expansion")), d(30), horizons=(30,), outcome_kinds=("expansion",)
    )
    assert _value(expansion, d(0), 30, "expansion", "score", "auc") == 1.0
    with pytest.raises(ValueError, match="no direction"):
        score_backtest(history, outcomes, d(30), horizons=(30,), predictors=("seats",))


def test_horizon_eligibility() -> None:
    history = _history(ACCOUNTS, range(20))
    table = score_backtest(history, _events(("vlow", 15, "churn")), d(19), horizons=(5, 10, 30))
    assert table.height > 0
    pairs = set(table.select("as_of_date", "horizon_days").unique().iter_rows())
    assert pairs == {(d(n), h) for h in (5, 10) for n in range(20) if n + h <= 19}
    assert all(a + dt.timedelta(days=h) <= d(19) for a, h in pairs)
    assert 30 not in table["horizon_days"].to_list()
    # nothing old enough: a typed empty frame
    empty = score_backtest(history, _events(), d(3), horizons=(5,))
    assert empty.height == 0 and empty.schema == pl.Schema(BACKTEST_SCHEMA)


def test_event_window_is_after_as_of_up_to_horizon() -> None:
    history = _history(ACCOUNTS, range(1))
    for day, expected in ((0, 0.0), (1, 1.0), (10, 1.0), (11, 0.0)):
        table = score_backtest(
            history, _events(("vlow", day, "churn")), d(30), horizons=(10,), outcome_kinds=("churn",)
        )
        assert _value(table, d(0), 10, "churn", "score", "n_positive") == expected, day


def test_churned_before_as_of_is_not_in_the_churn_population() -> None:
    rows = [*ACCOUNTS, {"id": "gone", "score": 5.0, "churned_on": 2}]
    history = _history(rows, range(6))
    outcomes = _events(("gone", 2, "churn"), ("vlow", 4, "churn"))
    table = score_backtest(history, outcomes, d(30), horizons=(10,), outcome_kinds=("churn",))
    # day 0 and 1: "gone" is alive and churns in the horizon; from day 2 it is churned and left out
    assert [_value(table, d(n), 10, "churn", "score", "n_accounts") for n in range(6)] == [5, 5, 4, 4, 4, 4]
    assert [_value(table, d(n), 10, "churn", "score", "n_positive") for n in range(6)] == [2, 2, 1, 1, 0, 0]
    assert _value(table, d(3), 10, "churn", "score", "auc") == 1.0
    assert _value(table, d(4), 10, "churn", "score", "auc") is None  # no positive left


def test_populations_for_conversion_and_expansion() -> None:
    rows = [
        {"id": "t1", "score": 80.0, "plan": "trial", "status": "trial", "mrr": 0.0},
        {"id": "t2", "score": 20.0, "plan": "trial", "status": "trial", "mrr": 0.0},
        {"id": "f1", "score": 70.0, "plan": "free", "status": "active", "mrr": 0.0},
        {"id": "p1", "score": 95.0, "plan": "pro", "status": "active", "mrr": 100.0},
        {"id": "p2", "score": 40.0, "plan": "pro", "status": "active", "mrr": 100.0},
        {"id": "c1", "score": 99.0, "plan": "trial", "status": "churned", "mrr": 0.0},
    ]
    history = _history(rows, range(1))
    outcomes = _events(("t1", 3, "conversion"), ("f1", 4, "conversion"), ("p1", 6, "expansion"))
    table = score_backtest(history, outcomes, d(30), horizons=(30,))
    assert _value(table, d(0), 30, "conversion", "score", "n_accounts") == 3  # t1, t2, f1
    assert _value(table, d(0), 30, "conversion", "score", "n_positive") == 2
    assert _value(table, d(0), 30, "conversion", "score", "auc") == 1.0
    assert _value(table, d(0), 30, "expansion", "score", "n_accounts") == 2  # p1, p2
    assert _value(table, d(0), 30, "expansion", "score", "auc") == 1.0
    assert _value(table, d(0), 30, "churn", "score", "n_accounts") == 5  # all but c1


def test_rates_lifts_bands_and_mrr_correlation() -> None:
    rows = [
        {"id": "a", "score": 90.0, "mrr": 100.0},
        {"id": "b", "score": 80.0, "mrr": 100.0},
        {"id": "c", "score": 60.0, "mrr": 100.0},
        {"id": "e", "score": 40.0, "mrr": 100.0},
        {"id": "f", "score": 20.0, "mrr": 100.0},
        {"id": "g", "score": 10.0, "mrr": 100.0},
        {"id": "h", "score": 5.0, "mrr": 100.0},
        {"id": "i", "score": 15.0, "mrr": 100.0},
    ]
    history = _history(rows, range(1))
    # MRR 30 days later: a rises, the churners fall to 0, the rest stay
    later = _history(rows, range(30, 31)).with_columns(
        pl.when(pl.col("account_id") == "a")
        .then(300.0)
        .when(pl.col("account_id").is_in(["f", "g"]))
        .then(0.0)
        .otherwise(pl.col("mrr"))
        .alias("mrr")
    )
    outcomes = _events(("f", 10, "churn"), ("g", 12, "churn"), ("b", 20, "churn"))
    table = score_backtest(pl.concat([history, later]), outcomes, d(30), horizons=(30,), outcome_kinds=("churn",))

    def v(metric: str, band: str | None = None) -> float | None:
        return _value(table, d(0), 30, "churn", "score", metric, band)

    assert (v("n_accounts"), v("n_positive"), v("base_rate")) == (8, 3, 3 / 8)
    # < 25: f, g, h, i -> 2 of 4 churned; >= 75: a, b -> 1 of 2
    assert v("lift_bottom") == pytest.approx((2 / 4) / (3 / 8))
    assert v("lift_top") == pytest.approx((1 / 2) / (3 / 8))
    assert [v("band_accounts", b) for b in ("75+", "50-74", "25-49", "<25")] == [2, 1, 1, 4]
    assert [v("band_rate", b) for b in ("75+", "50-74", "25-49", "<25")] == [0.5, 0.0, 0.0, 0.5]
    # AUC of -score: churners f(20), g(10), b(80) against a, c, e, h, i
    # -20 beats -90,-60,-40 and loses to -5,-15 -> 3; -10 beats -90,-60,-40,-15 -> 4; -80 beats -90 -> 1
    assert v("auc") == pytest.approx((3 + 4 + 1) / 15)
    scores = [90, 80, 60, 40, 20, 10, 5, 15]
    changes = [200, 0, 0, 0, -100, -100, 0, 0]
    mean_s, mean_c = sum(scores) / 8, sum(changes) / 8
    cov = sum((s - mean_s) * (c - mean_c) for s, c in zip(scores, changes, strict=True))
    r = cov / math.sqrt(sum((s - mean_s) ** 2 for s in scores) * sum((c - mean_c) ** 2 for c in changes))
    assert v("mrr_change_corr") == pytest.approx(r)
    assert table.filter(pl.col("as_of_date") == d(30)).height == 0  # its horizon is not observed yet


def test_risk_predictor_uses_quintiles_and_empty_population_keeps_its_rows() -> None:
    rows = [{"id": f"a{i}", "score": 50.0, "risk": i / 10, "plan": "pro"} for i in range(10)]
    history = _history(rows, range(1))
    outcomes = _events(("a9", 5, "churn"), ("a8", 5, "churn"), ("a0", 5, "churn"))
    table = score_backtest(history, outcomes, d(30), horizons=(30,), predictors=("churn_risk",))

    def v(outcome: str, metric: str) -> float | None:
        return _value(table, d(0), 30, outcome, "churn_risk", metric)

    # quintile cut-offs 0.18 and 0.72: bottom a0, a1 (1 of 2 churned), top a8, a9 (2 of 2); base 3/10
    assert v("churn", "lift_bottom") == pytest.approx(0.5 / 0.3)
    assert v("churn", "lift_top") == pytest.approx(1.0 / 0.3)
    assert table.filter(pl.col("metric").str.starts_with("band_")).height == 0  # not on the score scale
    # nobody is unpaid: conversion still has its rows, with 0 accounts and undefined metrics
    assert v("conversion", "n_accounts") == 0 and v("conversion", "auc") is None
    assert v("conversion", "base_rate") is None


def test_summarize_and_compare_weights() -> None:
    history = _history(ACCOUNTS, range(10))
    outcomes = _events(("vlow", 12, "churn"))
    table = score_backtest(history, outcomes, d(40), horizons=(5, 30), outcome_kinds=("churn",))
    summary = summarize_backtest(table)
    assert summary.schema == pl.Schema(SUMMARY_SCHEMA)
    rows = {
        (r["horizon_days"], r["outcome"], r["predictor"]): (r["mean_auc"], r["days"])
        for r in summary.iter_rows(named=True)
    }
    # horizon 5: only as-of days 7..9 see the churn on day 12; horizon 30: all 10 days
    assert rows == {(5, "churn", "score"): (1.0, 3), (30, "churn", "score"): (1.0, 10)}
    assert summarize_backtest(table.clear()).height == 0

    worse = history.with_columns((100 - pl.col("score")).alias("score"))
    result = compare_weights(history, worse, outcomes, d(40))
    assert result.row(0, named=True) == {
        "outcome": "churn",
        "horizon_days": 30,
        "predictor": "score",
        "days": 10,
        "configured_auc": 1.0,
        "suggested_auc": 0.0,
        "winner": "configured",
    }
    assert compare_weights(worse, history, outcomes, d(40))["winner"].item() == "suggested"
    assert compare_weights(history, history, outcomes, d(40))["winner"].item() == "tie"
    none = compare_weights(history, worse, _events(), d(40))
    assert none["days"].item() == 0 and none["winner"].item() is None
