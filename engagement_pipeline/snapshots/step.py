"""snapshots, one day: account history, product score, cohorts and the score backtest.

The only module of the layer that reads or writes the warehouse.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import polars as pl

from engagement_pipeline.accounts import model as acc
from engagement_pipeline.core.config import Config
from engagement_pipeline.core.vocab import Health, MessageType, Status
from engagement_pipeline.core.warehouse import (
    ACCOUNT_HISTORY,
    COHORT_DAILY,
    PRODUCT_DAILY,
    SCORE_BACKTEST,
    replace_rows,
    transaction,
)
from engagement_pipeline.scores.scoring import window_bounds
from engagement_pipeline.scores.step import scoring_counts
from engagement_pipeline.scores.weights import suggest_weights
from engagement_pipeline.snapshots import history as snap
from engagement_pipeline.snapshots.backtest import score_backtest, summarize_backtest
from engagement_pipeline.snapshots.cohorts import cohort_daily
from engagement_pipeline.snapshots.metrics import calibration, precision_at_k
from engagement_pipeline.staging.lifecycle import known_outcomes


@dataclass
class SnapshotDay:
    history: pl.DataFrame
    product: pl.DataFrame
    cohorts: pl.DataFrame
    backtest: pl.DataFrame


HORIZONS = (30, 60, 90)
PREDICTORS = ("score", "churn_risk")


def suggested_weights_scores(con: duckdb.DuckDBPyConnection, as_of: dt.date, config: Config) -> pl.DataFrame:
    """Account scores of `as_of` under the rarity weights `suggest-weights` would have proposed
    from the data up to that day (same events, same method): to compare with the configured ones."""
    m = config.model
    span = m.total_users_days + m.trend_lookback_days + 40
    freq = con.execute(
        f"""SELECT event, sum(event_count)::BIGINT AS events, count(DISTINCT user_id)::BIGINT AS users,
                   count(DISTINCT account_id)::BIGINT AS accounts
            FROM staging.daily_event_counts
            WHERE event_date BETWEEN ? AND ? AND type = '{MessageType.TRACK}' AND list_contains(?, event)
            GROUP BY event""",
        [as_of - dt.timedelta(days=span), as_of, list(m.events)],
    ).pl()
    suggested = dict(suggest_weights(freq).select("event", "weight").iter_rows())
    if not suggested:
        return pl.DataFrame(schema={"account_id": pl.String, "score": pl.Float64})
    events = {
        name: spec.model_copy(update={"weight": suggested.get(name, spec.weight)}) for name, spec in m.events.items()
    }
    alternative = config.model_copy(update={"model": m.model_copy(update={"events": events})})
    counts = scoring_counts(
        con,
        alternative.model.weights,
        window_bounds(as_of, m.window_days)[0],
        as_of,
        window_bounds(as_of, m.total_users_days)[0],
        [as_of],
    )
    scores, _ = acc.score_accounts_at(counts, as_of, alternative)
    return scores.select("account_id", "score")


def backtest_day(con: duckdb.DuckDBPyConnection, day: dt.date, config: Config) -> pl.DataFrame:
    """Backtest rows of the as-of days whose 30/60/90-day outcome window closes on `day`.

    Beside the category metrics (AUC, lifts, churn per score band, MRR correlation),
    for churn within 30 days: precision of the at-risk list at its size, and the
    calibration of churn_risk by decile.
    """
    dates = [day - dt.timedelta(days=h) for h in HORIZONS] + [day]
    history = con.execute(
        "SELECT date, account_id, score, churn_risk, health, plan, status, mrr FROM snapshots.account_history "
        "WHERE list_contains(?, date)",
        [dates],
    ).pl()
    outcomes = known_outcomes(con)
    table = score_backtest(history, outcomes, day, HORIZONS, PREDICTORS)
    table = table.filter(pl.col("as_of_date") + pl.duration(days=pl.col("horizon_days")) == pl.lit(day))
    extra = []
    as_of = day - dt.timedelta(days=30)
    at_as_of = history.filter(pl.col("date") == as_of)
    if at_as_of.height:
        alternative = (
            at_as_of.drop("score")
            .join(suggested_weights_scores(con, as_of, config), on="account_id", how="left")
            .with_columns(pl.col("score").fill_null(0.0))
        )
        rival = score_backtest(
            pl.concat([alternative, history.filter(pl.col("date") == day)], how="diagonal_relaxed"),
            outcomes,
            day,
            (30,),
            ("score",),
            outcome_kinds=("churn",),
        )
        table = pl.concat(
            [
                table,
                rival.filter(pl.col("as_of_date") == as_of).with_columns(
                    pl.lit("score_suggested_weights").alias("predictor")
                ),
            ],
            how="diagonal_relaxed",
        )
    start = history.filter((pl.col("date") == as_of) & (pl.col("status") != Status.CHURNED).fill_null(True))
    if start.height:
        churned = outcomes.filter((pl.col("kind") == "churn") & pl.col("date").is_between(as_of, day, closed="right"))
        labelled = start.with_columns(pl.col("account_id").is_in(churned["account_id"].implode()).alias("_churned"))
        flagged = labelled.filter(pl.col("health") == Health.AT_RISK)
        base = dict(as_of_date=as_of, horizon_days=30, outcome="churn")
        extra.append(
            {
                **base,
                "predictor": "health",
                "metric": "at_risk_precision",
                "band": None,
                "value": precision_at_k(flagged["_churned"]) if flagged.height else None,
            }
        )
        extra.append(
            {**base, "predictor": "health", "metric": "at_risk_accounts", "band": None, "value": float(flagged.height)}
        )
        for row in calibration(labelled["churn_risk"], labelled["_churned"]).iter_rows(named=True):
            band = f"decile {row['decile']}"
            extra += [
                {
                    **base,
                    "predictor": "churn_risk",
                    "metric": "calibration_predicted",
                    "band": band,
                    "value": row["mean_predicted"],
                },
                {
                    **base,
                    "predictor": "churn_risk",
                    "metric": "calibration_observed",
                    "band": band,
                    "value": row["observed_rate"],
                },
                {**base, "predictor": "churn_risk", "metric": "calibration_n", "band": band, "value": float(row["n"])},
            ]
    if extra:
        table = pl.concat(
            [
                table,
                pl.DataFrame(
                    extra,
                    schema=table.select(
                        "as_of_date", "horizon_days", "outcome", "predictor", "metric", "band", "value"
                    ).schema,
                ),
            ],
            how="diagonal_relaxed",
        )
    return table.with_columns(pl.lit(day).alias("evaluated_on"))


def run(con: duckdb.DuckDBPyConnection, day: dt.date, config: Config) -> SnapshotDay:
    scores = con.execute("SELECT * FROM accounts.account_scores WHERE as_of_date = ?", [day]).pl()
    users = con.execute("SELECT * FROM scores.user_scores WHERE as_of_date = ?", [day]).pl()
    bench = con.execute("SELECT benchmark_raw FROM scores.benchmarks WHERE as_of_date = ?", [day]).fetchone()
    history = snap.account_history(scores.drop("name"), scores.select("account_id", "name"))
    product = snap.product_daily(
        scores, users, bench[0] if bench else None, day, config.model.window_days, config.model.trend_lookback_days
    )
    cohorts = cohort_daily(
        scores, con.execute("SELECT account_id, industry, employees FROM staging.accounts").pl(), day
    )
    with transaction(con):
        replace_rows(con, ACCOUNT_HISTORY, history, "date = ?", [day])
        replace_rows(con, PRODUCT_DAILY, product, "date = ?", [day])
        replace_rows(con, COHORT_DAILY, cohorts, "date = ?", [day])
    backtest = backtest_day(con, day, config)
    with transaction(con):
        replace_rows(con, SCORE_BACKTEST, backtest, "evaluated_on = ?", [day])
    return SnapshotDay(history, product, cohorts, backtest)


def backtest_summary(con: duckdb.DuckDBPyConnection, until: dt.date) -> pl.DataFrame:
    """Mean AUC per horizon, outcome and predictor over every as-of day evaluated so far."""
    table = con.execute("SELECT * FROM snapshots.score_backtest WHERE evaluated_on <= ?", [until]).pl()
    return summarize_backtest(table) if table.height else pl.DataFrame()


def day_accounts(con: duckdb.DuckDBPyConnection, day: dt.date) -> pl.DataFrame:
    """The accounts scored on `day` (what the day's history must hold)."""
    return con.execute("SELECT account_id FROM accounts.account_scores WHERE as_of_date = ?", [day]).pl()


@dataclass
class WeightsVerdict:
    auc: dict[str, float]
    text: str


def weights_verdict(summary: pl.DataFrame) -> WeightsVerdict:
    """Mean 30-day AUCs so far, and whether the configured or the suggested (rarity) weights
    predict churn within 30 days better."""
    auc: dict[str, float] = {}
    if summary.height:
        for r in summary.filter(pl.col("horizon_days") == 30).iter_rows(named=True):
            if r["mean_auc"] is not None:
                auc[f"{r['outcome']}_30d_auc_{r['predictor']}"] = round(float(r["mean_auc"]), 3)
    text = "not enough closed 30-day windows yet"
    configured, suggested = auc.get("churn_30d_auc_score"), auc.get("churn_30d_auc_score_suggested_weights")
    if configured is not None and suggested is not None:
        better = "configured" if configured >= suggested else "suggested (rarity)"
        text = (
            f"the {better} weights predict churn within 30 days better: AUC {configured:.3f} with the "
            f"configured weights, {suggested:.3f} with the suggested ones"
        )
    return WeightsVerdict(auc, text)
