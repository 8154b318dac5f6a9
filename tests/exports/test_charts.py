"""Charts: PNG bytes, byte-identical for identical input, and a "no data yet" chart instead of an error."""

from __future__ import annotations

import datetime as dt
import io
import struct
from collections.abc import Callable

import polars as pl
import pytest

from engagement_pipeline.exports import charts
from engagement_pipeline.snapshots.backtest import score_backtest
from engagement_pipeline.snapshots.cohorts import COHORT_DAILY_SCHEMA
from engagement_pipeline.snapshots.metrics import calibration

D0 = dt.date(2026, 1, 1)
DAYS = [D0 + dt.timedelta(days=n) for n in range(12)]


def _size(png: bytes) -> tuple[int, int]:
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk follows the signature
    return width, height


def _product_daily() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "date": DAYS,
            "product_score": [40 + n * 1.5 for n in range(12)],
            "active_accounts": [20 + n for n in range(12)],
        }
    )


def _account_scores() -> pl.DataFrame:
    scores = [0.0, 0.0, 3.0, 12.0, 24.9, 25.0, 33.0, 49.0, 50.0, 61.0, 74.9, 75.0, 88.0, 100.0]
    return pl.DataFrame(
        {
            "as_of_date": [DAYS[-1]] * len(scores),
            "account_id": [f"a{i}" for i in range(len(scores))],
            "score": scores,
            "active_users": [0 if s == 0 else 2 for s in scores],
        }
    )


def _backtest() -> pl.DataFrame:
    history = pl.DataFrame(
        {
            "date": [D0] * 8,
            "account_id": list("abcdefgh"),
            "score": [90.0, 80.0, 60.0, 40.0, 20.0, 10.0, 5.0, 30.0],
            "status": ["active"] * 8,
            "mrr": [100.0] * 8,
        }
    )
    outcomes = pl.DataFrame(
        {
            "account_id": ["e", "f", "b"],
            "date": [D0 + dt.timedelta(days=5)] * 3,
            "kind": ["churn"] * 3,
            "mrr_before": [100.0] * 3,
            "mrr_after": [0.0] * 3,
        }
    )
    return score_backtest(history, outcomes, D0 + dt.timedelta(days=30), horizons=(30,), outcome_kinds=("churn",))


def _activation_steps() -> pl.DataFrame:
    rows = [
        ("a", "Created a document"),
        ("a", "Invited a teammate"),
        ("b", "Created a document"),
        ("c", "Created a document"),
        ("c", "Invited a teammate"),
    ]
    return pl.DataFrame(
        {
            "as_of_date": [DAYS[-1]] * len(rows),
            "account_id": [a for a, _ in rows],
            "step": [s for _, s in rows],
            "first_done": [D0] * len(rows),
        }
    )


def _cohort_daily() -> pl.DataFrame:
    rows = []
    for n, day in enumerate(DAYS):
        for cohort, base, size in (("new", 30, 5), ("established", 55, 20)):
            rows.append(
                {
                    "date": day,
                    "dimension": "tenure",
                    "cohort": cohort,
                    "accounts": size,
                    "active_accounts": size - 1,
                    "mean_score": base + n,
                    "median_score": base + n,
                    "activation_rate": 50.0,
                    "median_days_to_activation": 4.0,
                    "pql_accounts": 1,
                    "at_risk_accounts": 0,
                    "mrr": 1000.0,
                }
            )
    return pl.DataFrame(rows, schema=COHORT_DAILY_SCHEMA)


def _calibration() -> pl.DataFrame:
    predicted = pl.Series([i / 50 for i in range(50)])
    observed = pl.Series([(i % 7) < (i / 50) * 7 for i in range(50)])
    return calibration(predicted, observed)


CHARTS: dict[str, Callable[[], bytes]] = {
    "product_score": lambda: charts.product_score_chart(_product_daily()),
    "score_distribution": lambda: charts.score_distribution_chart(_account_scores()),
    "churn_by_band": lambda: charts.churn_by_band_chart(_backtest()),
    "activation_funnel": lambda: charts.activation_funnel_chart(
        _activation_steps(), 4, steps=["Created a document", "Invited a teammate", "Connected an integration"]
    ),
    "cohort": lambda: charts.cohort_chart(_cohort_daily(), "tenure"),
    "calibration": lambda: charts.calibration_chart(_calibration()),
}

EMPTY: dict[str, Callable[[], bytes]] = {
    "product_score": lambda: charts.product_score_chart(_product_daily().clear()),
    "product_score_none": lambda: charts.product_score_chart(None),
    "product_score_missing_column": lambda: charts.product_score_chart(_product_daily().drop("active_accounts")),
    "score_distribution": lambda: charts.score_distribution_chart(_account_scores().clear()),
    "score_distribution_all_inactive": lambda: charts.score_distribution_chart(
        _account_scores().with_columns(pl.lit(0).alias("active_users"))
    ),
    "churn_by_band": lambda: charts.churn_by_band_chart(_backtest().clear()),
    "churn_by_band_other_horizon": lambda: charts.churn_by_band_chart(_backtest(), horizon_days=90),
    "activation_funnel": lambda: charts.activation_funnel_chart(_activation_steps().clear(), 10),
    "activation_funnel_no_accounts": lambda: charts.activation_funnel_chart(_activation_steps(), 0),
    "cohort": lambda: charts.cohort_chart(pl.DataFrame(schema=COHORT_DAILY_SCHEMA), "tenure"),
    "cohort_unknown_dimension": lambda: charts.cohort_chart(_cohort_daily(), "industry"),
    "calibration": lambda: charts.calibration_chart(_calibration().clear()),
}


@pytest.mark.parametrize("name", sorted(CHARTS))
def test_chart_is_a_deterministic_png_of_the_fixed_size(name: str) -> None:
    first, second = CHARTS[name](), CHARTS[name]()
    assert first.startswith(charts.PNG_SIGNATURE)
    assert _size(first) == (800, 450)
    assert first == second
    assert b"Software" not in first and b"Matplotlib" not in first


@pytest.mark.parametrize("name", sorted(EMPTY))
def test_empty_or_unusable_input_renders_a_no_data_chart(name: str) -> None:
    png = EMPTY[name]()
    assert png.startswith(charts.PNG_SIGNATURE) and _size(png) == (800, 450)
    assert png == EMPTY[name]()


def test_charts_differ_with_their_data() -> None:
    assert charts.product_score_chart(_product_daily()) != charts.product_score_chart(_product_daily().head(6))
    assert charts.product_score_chart(_product_daily().clear()) != charts.product_score_chart(_product_daily())


def test_chart_bytes_do_not_depend_on_the_process_style() -> None:
    import matplotlib as mpl

    before = charts.calibration_chart(_calibration())
    with mpl.rc_context({"font.size": 20, "axes.facecolor": "black", "lines.linewidth": 6}):
        during = charts.calibration_chart(_calibration())
    assert before == during


def test_png_decodes() -> None:
    from PIL import Image

    image = Image.open(io.BytesIO(CHARTS["cohort"]()))
    image.load()
    assert image.size == (800, 450)
