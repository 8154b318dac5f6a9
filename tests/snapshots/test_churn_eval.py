"""AUC per churn kind, lead time, churn per band and the calibration table, on hand-made histories."""

from __future__ import annotations

import datetime as dt

import polars as pl

from engagement_pipeline.exports.charts import calibration_table
from engagement_pipeline.snapshots.churn_eval import band_churn_rates, churn_kind_backtest, lead_times

START = dt.date(2026, 1, 1)


def _history() -> pl.DataFrame:
    rows = []
    for i in range(80):
        day = START + dt.timedelta(days=i)
        for a, (risk, score) in {
            "seen": (0.1 if i < 25 else 0.9, 60.0),  # warned from day 25, churns on day 60
            "sudden": (0.1, 60.0),  # never warned, churns on day 60
            "calm1": (0.2, 80.0),
            "calm2": (0.3, 10.0),
        }.items():
            churned = a in ("seen", "sudden") and i >= 60
            rows.append(
                {
                    "date": day,
                    "account_id": a,
                    "status": "churned" if churned else "active",
                    "churn_risk": risk,
                    "score": score,
                    "health": "churned" if churned else ("at_risk" if risk >= 0.5 else "healthy"),
                }
            )
    return pl.DataFrame(rows)


CHURNS = pl.DataFrame({"account_id": ["seen", "sudden"], "date": [START + dt.timedelta(days=60)] * 2})
KINDS = pl.DataFrame(
    {"account_id": ["seen", "sudden", "calm1", "calm2"], "churn_kind": ["noisy", "sudden", None, None]}
)


def test_auc_per_kind_separates_a_warned_kind_from_a_sudden_one() -> None:
    table = churn_kind_backtest(_history(), CHURNS, KINDS, START + dt.timedelta(days=79))
    auc = dict(zip(table["churn_kind"], table["mean_auc"]))
    assert auc == {"all": 0.5, "noisy": 1.0, "sudden": 0.0}
    assert set(table["churn_kind"]) == {"all", "noisy", "sudden"}


def test_lead_time_counts_days_from_the_first_warning_to_the_churn() -> None:
    table = lead_times(_history(), CHURNS, KINDS)
    lead = {r["churn_kind"]: (r["warned"], r["median_lead_days"]) for r in table.iter_rows(named=True)}
    assert lead == {"noisy": (1, 35.0), "sudden": (0, 0.0)}


def test_band_churn_rates_are_real_counts() -> None:
    bands = band_churn_rates(_history(), CHURNS, START + dt.timedelta(days=79))
    rows = {r["band"]: (r["accounts"], r["churned"]) for r in bands.iter_rows(named=True)}
    # as-of days 0..49 (horizon closed by day 79); churners churn on day 60 = within 30 days of days 30..59
    assert rows["75+"] == (50, 0) and rows["<25"] == (50, 0)
    assert rows["50-74"] == (100, 40)


def test_the_calibration_table_pools_real_counts() -> None:
    backtest = pl.DataFrame(
        {
            "as_of_date": [START] * 3 + [START + dt.timedelta(days=1)] * 3,
            "band": ["decile 1"] * 6,
            "metric": ["calibration_predicted", "calibration_observed", "calibration_n"] * 2,
            "value": [0.1, 0.0, 30.0, 0.2, 0.5, 10.0],
        }
    )
    table = calibration_table(backtest)
    assert table.to_dicts() == [{"decile": 1, "mean_predicted": 0.125, "observed_rate": 0.125, "n": 40}]
