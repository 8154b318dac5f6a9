"""Churn, judged per kind: AUC per churn kind, lead time, churn per score band, calibration counts.

`backtest.score_backtest` asks whether a predictor ranked the churners first; churn is not one
thing, so these break it down (the demo's ground truth names each churner's kind; a real
deployment can pass any account -> kind table, e.g. a CRM's churn reason):

- `churn_kind_backtest`: per kind, the mean over as-of days of the ROC AUC of the predictor
  for churn within the horizon, the churners of that kind against every account that did not
  churn (the other kinds' churners left out); kind `all` is every churner.
- `lead_times`: per churned account, how many days before its churn it first turned
  `at_risk` (or `inactive`; a trial: its churn risk over the at-risk threshold) in the 45 days
  before it, 0 when it never did; median per kind.
- `band_churn_rates`: accounts and churners within the horizon per score band, pooled over
  the as-of days whose horizon has closed (real counts, for the chart and the report).

Every rate is a fraction 0..1.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from engagement_pipeline.core.vocab import Health, Status
from engagement_pipeline.snapshots.history import score_band
from engagement_pipeline.snapshots.metrics import auc_expr

WARNED: tuple[str, ...] = (Health.AT_RISK, Health.INACTIVE)
BANDS: tuple[str, ...] = ("<25", "25-49", "50-74", "75+")
LEAD_LOOKBACK_DAYS = 45


def labelled_days(
    history: pl.DataFrame, churns: pl.DataFrame, last_observed: dt.date, horizon_days: int
) -> pl.DataFrame:
    """History rows of the as-of days whose horizon closed, alive that day, with `churned` (a churn
    in (as-of, as-of + horizon]) and `churn_date` (the account's first churn after the as-of day)."""
    rows = history.filter(
        (pl.col("date") + pl.duration(days=horizon_days) <= pl.lit(last_observed))
        & (pl.col("status") != Status.CHURNED).fill_null(True)
    ).sort("date")
    events = churns.select("account_id", pl.col("date").alias("churn_date")).unique().sort("churn_date")
    return (
        rows.with_columns((pl.col("date") + pl.duration(days=1)).alias("_after"))
        .join_asof(
            events, left_on="_after", right_on="churn_date", by="account_id", strategy="forward", check_sortedness=False
        )
        .with_columns(
            (
                pl.col("churn_date").is_not_null()
                & (pl.col("churn_date") <= pl.col("date") + pl.duration(days=horizon_days))
            ).alias("churned")
        )
        .drop("_after")
    )


def churn_kind_backtest(
    history: pl.DataFrame,
    churns: pl.DataFrame,
    kinds: pl.DataFrame,
    last_observed: dt.date,
    horizon_days: int = 30,
    predictor: str = "churn_risk",
) -> pl.DataFrame:
    """churn_kind, mean_auc, days (as-of days with an AUC), churners (distinct accounts); see the module."""
    rows = labelled_days(history, churns, last_observed, horizon_days).join(kinds, on="account_id", how="left")
    out = []
    names = sorted(kinds["churn_kind"].drop_nulls().unique().to_list())
    for kind in ["all", *names]:
        positive = pl.col("churned") if kind == "all" else pl.col("churned") & (pl.col("churn_kind") == kind)
        part = rows.filter(~pl.col("churned") | positive)
        per_day = part.group_by("date").agg(auc_expr(pl.col(predictor).cast(pl.Float64), pl.col("churned")).alias("a"))
        aucs = per_day["a"].drop_nulls()
        out.append(
            {
                "churn_kind": kind,
                "mean_auc": round(float(aucs.mean()), 3) if aucs.len() else None,  # type: ignore[arg-type]
                "days": aucs.len(),
                "churners": part.filter(pl.col("churned"))["account_id"].n_unique(),
            }
        )
    return pl.DataFrame(
        out, schema={"churn_kind": pl.String, "mean_auc": pl.Float64, "days": pl.Int64, "churners": pl.Int64}
    )


def lead_times(
    history: pl.DataFrame,
    churns: pl.DataFrame,
    kinds: pl.DataFrame,
    lookback_days: int = LEAD_LOOKBACK_DAYS,
    trial_risk: float | None = None,
) -> pl.DataFrame:
    """churn_kind, accounts, warned (accounts at risk at least once in the look-back), median_lead_days.

    The lead of a churned account is the number of days from the first day it was `at_risk` (or
    `inactive`) in the `lookback_days` before its churn to the churn, 0 when it never was. Only
    churns with the whole look-back in the history count (an account cannot be warned about
    before the pipeline has seen it). A trial cannot be `at_risk` (the contract keeps it for paying
    accounts): with `trial_risk` (`model.health.at_risk_churn_risk`) a trial counts as warned on the
    first day its churn risk reached it."""
    first_day = history["date"].min()
    events = churns.group_by("account_id").agg(pl.col("date").min().alias("churn_date"))
    if first_day is not None:
        events = events.filter(pl.col("churn_date") >= pl.lit(first_day) + pl.duration(days=lookback_days))
    warned = (
        history.join(events, on="account_id")
        .filter(
            (pl.col("date") < pl.col("churn_date"))
            & (pl.col("date") >= pl.col("churn_date") - pl.duration(days=lookback_days))
            & (pl.col("health").is_in(WARNED) | _trial_warned(trial_risk))
        )
        .group_by("account_id")
        .agg(pl.col("date").min().alias("first_warned"))
    )
    per_account = (
        events.join(warned, on="account_id", how="left")
        .with_columns((pl.col("churn_date") - pl.col("first_warned")).dt.total_days().fill_null(0).alias("lead_days"))
        .join(kinds, on="account_id", how="left")
        .with_columns(pl.col("churn_kind").fill_null("unknown"))
    )
    return (
        per_account.group_by("churn_kind")
        .agg(
            pl.len().cast(pl.Int64).alias("accounts"),
            pl.col("first_warned").is_not_null().sum().cast(pl.Int64).alias("warned"),
            pl.col("lead_days").median().alias("median_lead_days"),
        )
        .sort("churn_kind")
    )


def _trial_warned(trial_risk: float | None) -> pl.Expr:
    if trial_risk is None:
        return pl.lit(False)
    return ((pl.col("status") == Status.TRIAL) & (pl.col("churn_risk") >= trial_risk)).fill_null(False)


def band_churn_rates(
    history: pl.DataFrame, churns: pl.DataFrame, last_observed: dt.date, horizon_days: int = 30
) -> pl.DataFrame:
    """band, accounts (account-days), churned, churn_rate per score band, lowest band first."""
    rows = labelled_days(history, churns, last_observed, horizon_days).with_columns(
        score_band(pl.col("score")).alias("band")
    )
    counts = rows.group_by("band").agg(
        pl.len().cast(pl.Int64).alias("accounts"), pl.col("churned").sum().cast(pl.Int64).alias("churned")
    )
    return (
        pl.DataFrame({"band": list(BANDS)})
        .join(counts, on="band", how="left")
        .with_columns(pl.col("accounts", "churned").fill_null(0))
        .with_columns(pl.when(pl.col("accounts") > 0).then(pl.col("churned") / pl.col("accounts")).alias("churn_rate"))
    )
