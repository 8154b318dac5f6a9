"""The engagement model against the generator's ground truth: does the score see what happened?"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from engagement_pipeline.core.config import load_config
from engagement_pipeline.core.warehouse import connect
from engagement_pipeline.demo.generator import generate_demo
from engagement_pipeline.snapshots.backtest import score_backtest, summarize_backtest
from engagement_pipeline.staging.outcomes import outcome_events
from tests.conftest import base_config, day_range, run_days, write_config

pytestmark = pytest.mark.slow  # every test here reads 45 generated days of 120 accounts, scored day by day

START = dt.date(2026, 1, 1)
DAYS = 45


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pl.DataFrame]:
    root = tmp_path_factory.mktemp("model")
    generate_demo(root / "landing", START, DAYS, accounts=120, seed=5, billing_dir=root / "billing")
    data = base_config()
    data["paths"].update(landing=str(root / "landing"), billing=str(root / "billing"))
    config = load_config(write_config(root, data))
    con = connect(config.paths.warehouse)
    days = day_range(START, DAYS)
    try:
        run_days(con, days, config, through="staging")
        history = [r.scores for r in run_days(con, days, config, through="accounts", start="scores")["accounts"]]
        outcomes = outcome_events(con.execute("SELECT * FROM staging.billing").pl(), None)
    finally:
        con.close()
    truth = pl.read_csv(root / "ground_truth" / "accounts.csv", try_parse_dates=True)
    every_day = pl.concat(history)
    backtest = score_backtest(
        every_day.rename({"as_of_date": "date"}),
        outcomes,
        days[-1],
        horizons=(14, 30),
        predictors=("score", "churn_risk"),
        outcome_kinds=("churn",),
    )
    return {
        "history": every_day.filter(pl.col("as_of_date") >= days[-21]),
        "truth": truth,
        "backtest": summarize_backtest(backtest),
    }


def _agreement(outcome: dict[str, pl.DataFrame], trajectory: str, condition: pl.Expr) -> tuple[float, int]:
    last = outcome["history"].filter(pl.col("as_of_date") == pl.col("as_of_date").max())
    ids = outcome["truth"].filter(pl.col("trajectory") == trajectory)["account_id"]
    rows = last.filter(pl.col("account_id").is_in(ids.implode()))
    return rows.filter(condition).height / max(rows.height, 1), rows.height


def test_growing_accounts_are_mostly_heating(outcome) -> None:  # type: ignore[no-untyped-def]
    share, n = _agreement(outcome, "growing", pl.col("trend") == "heating")
    print(f"growing -> heating: {share:.0%} of {n}")
    assert n >= 5 and share >= 0.6


def test_declining_accounts_are_mostly_cooling(outcome) -> None:  # type: ignore[no-untyped-def]
    share, n = _agreement(outcome, "declining", pl.col("trend") == "cooling")
    print(f"declining -> cooling: {share:.0%} of {n}")
    assert n >= 5 and share >= 0.6


def test_converting_trials_are_mostly_pqls_before_they_convert(outcome) -> None:  # type: ignore[no-untyped-def]
    truth = outcome["truth"].filter(pl.col("trajectory") == "trial_converting")
    history = outcome["history"].join(truth.select("account_id", "converted_date"), on="account_id")
    window_start = outcome["history"]["as_of_date"].min()
    observable = truth.filter(pl.col("converted_date") > window_start)  # a PQL flag could be seen in the window
    flagged = history.filter(pl.col("is_pql") & (pl.col("as_of_date") < pl.col("converted_date")))
    share = flagged["account_id"].n_unique() / max(observable.height, 1)
    fizzled = (
        outcome["history"]
        .filter(pl.col("is_pql"))
        .join(outcome["truth"].filter(pl.col("trajectory") == "trial_not_converting"), on="account_id", how="semi")
    )
    print(
        f"converting trials flagged PQL before converting: {share:.0%} of {observable.height}; "
        f"non-converting trials ever PQL: {fizzled['account_id'].n_unique()}"
    )
    assert observable.height >= 3 and share >= 0.6


def test_churning_accounts_are_not_called_healthy(outcome) -> None:  # type: ignore[no-untyped-def]
    share, n = _agreement(outcome, "churning", pl.col("health").is_in(["at_risk", "churned", "inactive"]))
    print(f"churning -> at_risk / churned / inactive: {share:.0%} of {n}")
    assert n >= 3 and share >= 0.7


def test_churn_risk_beats_the_plain_score_on_churn_auc(outcome) -> None:  # type: ignore[no-untyped-def]
    thirty = {r["predictor"]: r for r in outcome["backtest"].filter(pl.col("horizon_days") == 30).to_dicts()}
    summary = {r["predictor"]: r for r in outcome["backtest"].filter(pl.col("horizon_days") == 14).to_dicts()}
    score_auc, risk_auc = summary["score"]["mean_auc"], summary["churn_risk"]["mean_auc"]
    print(
        f"churn within 30 days, mean AUC over {thirty['score']['days']} as-of days: "
        f"score {thirty['score']['mean_auc']:.3f}, churn_risk {thirty['churn_risk']['mean_auc']:.3f}; "
        f"churn within 14 days, mean AUC over {summary['score']['days']} as-of days: "
        f"score {score_auc:.3f}, churn_risk {risk_auc:.3f}"
    )
    # The 30-day as-of days of a 45-day world are its first 15: no account has the 4 usual weeks
    # the calendar-aware signals compare with yet, and a fifth of its churn (`sudden`) gives no
    # warning; the 30-day figures on a world long enough are tests/e2e/test_churn_on_demo.py's.
    assert thirty["churn_risk"]["mean_auc"] >= 0.5
    assert score_auc >= 0.55  # the score alone barely separates churners from the rest
    assert risk_auc >= 0.75  # the fall below its own normal separates them better
    assert risk_auc > score_auc
