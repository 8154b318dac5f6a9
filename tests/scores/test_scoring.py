from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engagement_pipeline.scores.scoring import benchmark, normalize, score_users

PUBLISHED = [475, 89, 101, 7, 3, 21, 2, 149, 223, 1, 13, 9, 37]


def test_published_example_benchmark_is_208_2() -> None:
    assert benchmark(PUBLISHED, 0.90) == pytest.approx(208.2)


@pytest.mark.parametrize(("raw", "expected"), [(101, 48.5), (223, 100.0), (475, 100.0), (1, 1.0), (149, 71.6)])
def test_published_example_linear_scores(raw: float, expected: float) -> None:
    scores = normalize([raw], benchmark(PUBLISHED, 0.90), "linear")
    assert scores[0] == expected


@pytest.mark.parametrize("method", ["linear", "exponential"])
def test_benchmark_maps_to_100_inactive_to_0_active_to_at_least_1(method: str) -> None:
    bench = benchmark(PUBLISHED, 0.90)
    scores = normalize([0, 0.001, 1, bench, bench * 3], bench, method)  # type: ignore[arg-type]
    assert scores.to_list()[0] == 0.0
    assert scores.to_list()[1] >= 1.0 and scores.to_list()[2] >= 1.0
    assert scores.to_list()[3:] == [100.0, 100.0]


def test_exponential_lifts_the_heavy_tail_up_the_scale() -> None:
    bench = 100.0
    exp = normalize([10, 20, 50, 80, 90], bench, "exponential").to_list()
    lin = normalize([10, 20, 50, 80, 90], bench, "linear").to_list()
    assert exp == sorted(exp)
    assert all(e > li for e, li in zip(exp, lin))  # every user below the benchmark scores higher
    assert exp[1] == 48.0  # a fifth of the benchmark: 48, not 20
    assert (exp[1] - exp[0]) > (exp[4] - exp[3])  # steps at the bottom are spread, the top compressed


@settings(max_examples=200, deadline=None)
@given(
    raws=st.lists(st.floats(min_value=0, max_value=1e7, allow_nan=False), min_size=1, max_size=60),
    method=st.sampled_from(["linear", "exponential"]),
    percentile=st.floats(min_value=0.5, max_value=0.99),
)
def test_normalization_is_monotone_and_bounded(raws: list[float], method: str, percentile: float) -> None:
    bench = benchmark(raws, percentile)
    ordered = sorted(raws)
    scores = normalize(ordered, bench, method).to_list()  # type: ignore[arg-type]
    assert all(a <= b for a, b in zip(scores, scores[1:]))
    for raw, score in zip(ordered, scores):
        assert 0 <= score <= 100
        assert (score == 0) == (raw <= 0 or bench == 0)
        if raw > 0 and bench > 0:
            assert score >= 1
        if bench > 0 and raw >= bench:
            assert score == 100


def test_benchmark_matches_numpy_linear_interpolation() -> None:
    values = np.random.default_rng(3).lognormal(3, 1.5, 500)
    assert benchmark(values, 0.9) == pytest.approx(float(np.quantile(values, 0.9)))


def _counts(rows: list[tuple[str, str, str, str, int]]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "event_date": dt.date.fromisoformat(d),
                "user_id": u,
                "account_id": a,
                "type": "track",
                "event": e,
                "event_count": n,
            }
            for d, u, a, e, n in rows
        ]
    )


def test_score_users_window_weights_and_primary_account() -> None:
    counts = _counts(
        [
            ("2026-01-30", "u1", "a1", "Document Created", 2),  # 2 x 5
            ("2026-01-01", "u1", "a1", "Document Created", 100),  # outside a 29-day window ending 01-30? no: inside
            ("2025-12-31", "u1", "a1", "Document Created", 100),  # outside the 30-day window
            ("2026-01-30", "u2", "a2", "Logged In", 3),  # 3 x 1
            ("2026-01-30", "u2", "a1", "Teammate Invited", 1),  # 1 x 8: u2 earns most in a1
            ("2026-01-30", "u3", "a2", "Not Scored", 50),  # known user, no scored event
        ]
    )
    weights = {"Document Created": 5, "Logged In": 1, "Teammate Invited": 8}
    day = score_users(counts, weights, dt.date(2026, 1, 30), 30, 90, "linear", 0.9, 2.0)
    s = {r["user_id"]: r for r in day.scores.to_dicts()}
    assert s["u1"]["raw_score"] == 510.0 and s["u1"]["active_days"] == 2
    assert s["u2"]["raw_score"] == 11.0 and s["u2"]["account_id"] == "a1"
    assert s["u3"]["raw_score"] == 0.0 and s["u3"]["score"] == 0.0 and s["u3"]["account_id"] == "a2"
    assert set(s) == {"u1", "u2", "u3"}
