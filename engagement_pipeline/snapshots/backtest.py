"""Backtest: did the score predict what then happened to the account?

The engagement model (README): engagement is worth something only if it correlates with retention,
expansion and revenue - this module measures that on our own history.

- outcomes (churn, conversion, expansion, contraction) come from
  `staging.outcomes.outcome_events`, facts of billing and traits; `labels.py` says who could
  have each on an as-of day, who then had it, and which way each predictor points.
- `score_backtest`: for every as-of day whose horizon has fully passed, how well each
  predictor (the score, churn_risk, ...) ranked the accounts that then had each outcome:
  ROC AUC, base rate, lift of the low and high bands, outcome rate per score band and
  the correlation with the MRR change, in long format.
- `summarize_backtest`, `compare_weights`: the small summaries on top (and in
  `metrics.py`: `roc_auc`, `precision_at_k`, `calibration`).

Every rate in this module is a fraction 0..1 (not a percentage).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import polars as pl

from engagement_pipeline.snapshots.history import score_band
from engagement_pipeline.snapshots.labels import label_history, populations, resolve_direction
from engagement_pipeline.snapshots.metrics import auc_expr
from engagement_pipeline.staging.outcomes import OUTCOME_KINDS

SCORE_BANDS: tuple[str, ...] = ("75+", "50-74", "25-49", "<25")

BACKTEST_SCHEMA: dict[str, pl.DataType] = {
    "as_of_date": pl.Date(),
    "horizon_days": pl.Int64(),
    "outcome": pl.String(),
    "predictor": pl.String(),
    "metric": pl.String(),
    "band": pl.String(),
    "value": pl.Float64(),
}
SUMMARY_SCHEMA: dict[str, pl.DataType] = {
    "horizon_days": pl.Int64(),
    "outcome": pl.String(),
    "predictor": pl.String(),
    "mean_auc": pl.Float64(),
    "days": pl.Int64(),
}
COMPARE_SCHEMA: dict[str, pl.DataType] = {
    "outcome": pl.String(),
    "horizon_days": pl.Int64(),
    "predictor": pl.String(),
    "days": pl.Int64(),
    "configured_auc": pl.Float64(),
    "suggested_auc": pl.Float64(),
    "winner": pl.String(),
}

# Metric order in the long table (per as-of day, horizon, outcome, predictor).
METRICS: tuple[str, ...] = (
    "auc",
    "n_accounts",
    "n_positive",
    "base_rate",
    "lift_bottom",
    "lift_top",
    "mrr_change_corr",
    "band_accounts",
    "band_rate",
)


def score_backtest(
    history: pl.DataFrame,
    outcomes: pl.DataFrame,
    last_observed: dt.date,
    horizons: Sequence[int] = (30, 60, 90),
    predictors: Sequence[str] = ("score",),
    direction: Mapping[str, Mapping[str, int]] | None = None,
    outcome_kinds: Sequence[str] = ("churn", "conversion", "expansion"),
    score_scale: Sequence[str] = ("score",),
) -> pl.DataFrame:
    """How well each predictor ranked the accounts that then had each outcome, per as-of day.

    `history`: account x day rows (`date, account_id, status`, the predictor columns, and
    `mrr`, optionally `plan`) - e.g. `snapshots.account_history`. `outcomes`: from
    `outcome_events`. An as-of day counts for a horizon only when its whole horizon has
    been observed (as-of + horizon <= `last_observed`); an account had the outcome when it
    has an event of that kind in (as-of, as-of + horizon].

    Population per outcome, from the as-of day's state (see `labels.populations`): churn - the
    accounts not churned on the as-of day (an account already churned cannot churn);
    conversion - the unpaid ones; expansion / contraction - the paying ones. Rows with a
    null predictor are left out.

    Long format, columns as_of_date, horizon_days, outcome, predictor, metric, band, value
    (band is null except for the band metrics). Metrics:

    - `auc`: ROC AUC of direction x predictor (`direction[outcome][predictor]`, default
      `labels.DEFAULT_DIRECTION`: for churn a LOW score and a HIGH churn_risk point to churn);
      null without positives or without negatives.
    - `n_accounts`, `n_positive`, `base_rate` (n_positive / n_accounts).
    - `lift_bottom` / `lift_top`: outcome rate in the low / high values of the predictor
      over the base rate; low = score < 25 and high = score >= 75 for predictors on the
      score scale (`score_scale`), else the lowest / highest quintile (value <= 20th /
      >= 80th percentile). The bands are on the raw value, not direction-adjusted: for
      churn the score's telling lift is `lift_bottom`, churn_risk's is `lift_top`. Null
      when the band is empty or the base rate is 0.
    - `mrr_change_corr`: Pearson correlation of the raw predictor with the MRR change
      over the horizon (MRR at the last history row on or before as-of + horizon, minus
      MRR on the as-of day), within the population; null when undefined (fewer than two
      accounts, no variance, no MRR).
    - `band_accounts` and `band_rate` per score band (75+, 50-74, 25-49, <25; score-scale
      predictors only): accounts in the band and the share that had the outcome (null
      for an empty band).
    """
    kinds = list(dict.fromkeys(outcome_kinds))
    predictors = list(dict.fromkeys(predictors))
    unknown = [k for k in kinds if k not in OUTCOME_KINDS]
    if unknown:
        raise ValueError(f"unknown outcome kinds {unknown}; known: {list(OUTCOME_KINDS)}")
    signs = resolve_direction(direction, kinds, predictors)
    required = ["date", "account_id", "status", *predictors]
    missing = [c for c in required if c not in history.columns]
    if missing:
        raise ValueError(f"history lacks columns {missing}")
    keep = ["date", "account_id", "status", *(c for c in ("plan", "mrr") if c in history.columns), *predictors]
    hist = history.select(list(dict.fromkeys(keep))).with_columns(
        pl.col("date").cast(pl.Date), pl.col("account_id").cast(pl.String), pl.col("status").cast(pl.String)
    )
    if "mrr" in hist.columns:
        hist = hist.with_columns(pl.col("mrr").cast(pl.Float64))
    eligible = sorted(
        {
            (d, int(h))
            for d in hist["date"].unique().drop_nulls().to_list()
            for h in horizons
            if d + dt.timedelta(days=int(h)) <= last_observed
        }
    )
    if not eligible:
        return pl.DataFrame(schema=BACKTEST_SCHEMA)
    pairs = pl.DataFrame(eligible, schema={"date": pl.Date, "horizon_days": pl.Int64}, orient="row")
    outs = outcomes.select(pl.col("account_id").cast(pl.String), pl.col("date").cast(pl.Date), "kind")
    labelled = label_history(hist, outs, pairs, kinds)
    eligible_rows = populations(labelled)

    long_parts = []
    for kind in kinds:
        for predictor in predictors:
            scaled = predictor in score_scale
            long_parts.append(
                labelled.filter(
                    eligible_rows[kind]
                    & pl.col(predictor).cast(pl.Float64).is_not_null()
                    & pl.col(predictor).cast(pl.Float64).is_not_nan()
                ).select(
                    pl.col("date").alias("as_of_date"),
                    "horizon_days",
                    pl.lit(kind).alias("outcome"),
                    pl.lit(predictor).alias("predictor"),
                    pl.lit(scaled).alias("_on_scale"),
                    pl.col(predictor).cast(pl.Float64).alias("x"),
                    (pl.col(predictor).cast(pl.Float64) * signs[(kind, predictor)]).alias("_xd"),
                    pl.col(f"_y_{kind}").alias("y"),
                    pl.col("_mrr_change").cast(pl.Float64).alias("_dmrr"),
                )
            )
    rows = pl.concat(long_parts)
    keys = ["as_of_date", "horizon_days", "outcome", "predictor"]
    q20, q80 = pl.col("x").quantile(0.2, "linear"), pl.col("x").quantile(0.8, "linear")
    on_scale = pl.col("_on_scale").first()
    low = pl.when(on_scale).then(pl.col("x") < 25).otherwise(pl.col("x") <= q20)
    high = pl.when(on_scale).then(pl.col("x") >= 75).otherwise(pl.col("x") >= q80)
    base_rate = pl.col("y").cast(pl.Float64).mean()
    has_mrr = pl.col("_dmrr").is_not_null()
    corr = pl.corr(pl.col("x").filter(has_mrr), pl.col("_dmrr").filter(has_mrr))
    # Every (as-of day, horizon, outcome, predictor) gets its rows, even with an empty
    # population (n_accounts 0, the rest null), so tables and charts keep one shape.
    grid = pairs.rename({"date": "as_of_date"}).join(
        pl.DataFrame(
            [(k, p, p in score_scale) for k in kinds for p in predictors],
            schema={"outcome": pl.String, "predictor": pl.String, "_on_scale": pl.Boolean},
            orient="row",
        ),
        how="cross",
    )
    stats = (
        grid.select(keys)
        .join(
            rows.group_by(keys).agg(
                auc_expr(pl.col("_xd"), pl.col("y")).alias("auc"),
                pl.len().cast(pl.Float64).alias("n_accounts"),
                pl.col("y").cast(pl.Float64).sum().alias("n_positive"),
                base_rate.alias("base_rate"),
                (pl.col("y").filter(low).cast(pl.Float64).mean() / base_rate).alias("lift_bottom"),
                (pl.col("y").filter(high).cast(pl.Float64).mean() / base_rate).alias("lift_top"),
                pl.when(has_mrr.sum() >= 2).then(corr).otherwise(None).alias("mrr_change_corr"),
            ),
            on=keys,
            how="left",
        )
        .with_columns(pl.col("n_accounts", "n_positive").fill_null(0.0))
    )
    metric_cols = ["auc", "n_accounts", "n_positive", "base_rate", "lift_bottom", "lift_top", "mrr_change_corr"]
    summary = stats.unpivot(index=keys, on=metric_cols, variable_name="metric", value_name="value").with_columns(
        pl.lit(None, dtype=pl.String).alias("band")
    )
    banded = rows.filter(pl.col("_on_scale")).with_columns(score_band(pl.col("x")).alias("band"))
    bands = pl.DataFrame({"band": list(SCORE_BANDS)})
    per_band = (
        grid.filter(pl.col("_on_scale"))
        .select(keys)
        .join(bands, how="cross")
        .join(
            banded.group_by([*keys, "band"]).agg(
                pl.len().cast(pl.Float64).alias("band_accounts"), pl.col("y").cast(pl.Float64).mean().alias("band_rate")
            ),
            on=[*keys, "band"],
            how="left",
        )
        .with_columns(pl.col("band_accounts").fill_null(0.0))
        .unpivot(index=[*keys, "band"], on=["band_accounts", "band_rate"], variable_name="metric", value_name="value")
    )
    conformed = [f.select([pl.col(c).cast(t) for c, t in BACKTEST_SCHEMA.items()]) for f in (summary, per_band)]
    # NaN / inf (0/0, or x/0 from a zero base rate) mean "undefined": null.
    table = pl.concat(conformed).with_columns(
        pl.when(pl.col("value").is_finite()).then(pl.col("value")).otherwise(None).alias("value")
    )
    kind_rank = pl.col("outcome").replace_strict({k: i for i, k in enumerate(OUTCOME_KINDS)}, return_dtype=pl.Int64)
    pred_rank = pl.col("predictor").replace_strict({p: i for i, p in enumerate(predictors)}, return_dtype=pl.Int64)
    metric_rank = pl.col("metric").replace_strict({m: i for i, m in enumerate(METRICS)}, return_dtype=pl.Int64)
    band_rank = pl.col("band").replace_strict(
        {b: i for i, b in enumerate(SCORE_BANDS)}, default=-1, return_dtype=pl.Int64
    )
    return table.sort(
        pl.col("as_of_date"), pl.col("horizon_days"), kind_rank, pred_rank, metric_rank, band_rank
    ).select([pl.col(c).cast(t) for c, t in BACKTEST_SCHEMA.items()])


def summarize_backtest(table: pl.DataFrame) -> pl.DataFrame:
    """Per (horizon_days, outcome, predictor): mean AUC over the as-of days that have one, and how many.

    `days` counts only as-of days with a defined AUC (both classes present), so a
    mean over 2 days reads differently from one over 40; mean_auc is null when 0.
    """
    if table.height == 0:
        return pl.DataFrame(schema=SUMMARY_SCHEMA)
    kind_rank = pl.col("outcome").replace_strict(
        {k: i for i, k in enumerate(OUTCOME_KINDS)}, default=99, return_dtype=pl.Int64
    )
    return (
        table.filter(pl.col("metric") == "auc")
        .group_by("horizon_days", "outcome", "predictor")
        .agg(pl.col("value").mean().alias("mean_auc"), pl.col("value").is_not_null().sum().cast(pl.Int64).alias("days"))
        .sort(pl.col("horizon_days"), kind_rank, pl.col("predictor"))
        .select([pl.col(c).cast(t) for c, t in SUMMARY_SCHEMA.items()])
    )


def compare_weights(
    configured: pl.DataFrame,
    suggested: pl.DataFrame,
    outcomes: pl.DataFrame,
    last_observed: dt.date,
    horizon_days: int = 30,
    outcome: str = "churn",
    predictor: str = "score",
    direction: Mapping[str, Mapping[str, int]] | None = None,
) -> pl.DataFrame:
    """Which weights' score predicted `outcome` within `horizon_days` better: one row.

    `configured` and `suggested` are history frames with the same columns (scores from
    the configured and from the suggested event weights). Both are backtested and the
    mean AUC compared over the as-of days where BOTH have an AUC, so neither wins on
    days the other could not be measured. Columns: outcome, horizon_days, predictor,
    days, configured_auc, suggested_auc, winner (`configured`, `suggested`, `tie`, or
    null when no day could be compared).
    """

    def aucs(history: pl.DataFrame, name: str) -> pl.DataFrame:
        table = score_backtest(
            history,
            outcomes,
            last_observed,
            horizons=(horizon_days,),
            predictors=(predictor,),
            direction=direction,
            outcome_kinds=(outcome,),
        )
        return table.filter((pl.col("metric") == "auc") & pl.col("value").is_not_null()).select(
            "as_of_date", pl.col("value").alias(name)
        )

    both = aucs(configured, "configured").join(aucs(suggested, "suggested"), on="as_of_date", how="inner")
    days = both.height
    conf = float(both["configured"].mean()) if days else None  # type: ignore[arg-type]
    sugg = float(both["suggested"].mean()) if days else None  # type: ignore[arg-type]
    winner: str | None = None
    if conf is not None and sugg is not None:
        winner = "tie" if abs(conf - sugg) < 1e-12 else ("configured" if conf > sugg else "suggested")
    return pl.DataFrame(
        [
            {
                "outcome": outcome,
                "horizon_days": horizon_days,
                "predictor": predictor,
                "days": days,
                "configured_auc": conf,
                "suggested_auc": sugg,
                "winner": winner,
            }
        ],
        schema=COMPARE_SCHEMA,
    )
