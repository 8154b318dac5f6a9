"""Prediction metrics: ROC AUC, precision at k and a calibration table.

Small, general measures of how well a value ranks or predicts a boolean outcome; the
backtest (`backtest.py`) applies them to the score history. Every rate is a fraction 0..1.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

CALIBRATION_SCHEMA: dict[str, pl.DataType] = {
    "decile": pl.Int64(),
    "mean_predicted": pl.Float64(),
    "observed_rate": pl.Float64(),
    "n": pl.Int64(),
}


def auc_expr(x: pl.Expr, y: pl.Expr) -> pl.Expr:
    """Mann-Whitney ROC AUC of x for the boolean label y, ties at half (average ranks).

    AUC = (sum of the positives' ranks - P(P+1)/2) / (P x N); null without both classes.
    Works in a group_by aggregation (ranks within the group) and on a whole frame.
    """
    p = y.cast(pl.Float64).sum()
    n = y.not_().cast(pl.Float64).sum()
    rank_sum = x.rank("average").filter(y).sum().cast(pl.Float64)
    return pl.when((p > 0) & (n > 0)).then((rank_sum - p * (p + 1) / 2) / (p * n)).otherwise(None)


def roc_auc(
    values: Sequence[float] | np.ndarray | pl.Series,
    labels: Sequence[bool] | np.ndarray | pl.Series,
) -> float | None:
    """ROC AUC by the rank (Mann-Whitney) formula, ties counted as half (average ranks).

    Pairs whose value is null or NaN, or whose label is null, are left out. Returns None
    when there is no positive or no negative: the AUC is undefined there, not 0.5.
    """
    x = pl.Series("x", values, dtype=pl.Float64, strict=False).fill_nan(None)
    y = pl.Series("y", labels, dtype=pl.Boolean, strict=False)
    if x.len() != y.len():
        raise ValueError(f"values ({x.len()}) and labels ({y.len()}) differ in length")
    frame = pl.DataFrame([x, y]).drop_nulls()
    value = frame.select(auc_expr(pl.col("x"), pl.col("y")).alias("auc")).item()
    return None if value is None else float(value)


def precision_at_k(relevant: Sequence[bool | None] | pl.Series, k: int | None = None) -> float | None:
    """Share of True among the first k items of a list already ordered best-first.

    E.g. the alive accounts ordered by churn risk, flagged True when they then churned,
    with k = the size of the at-risk list: the precision of that list. k defaults to the
    whole list and is capped at its length; null flags count as False; None for k <= 0
    or an empty list.
    """
    flags = pl.Series("r", relevant, dtype=pl.Boolean, strict=False).fill_null(False)
    size = flags.len() if k is None else min(k, flags.len())
    if size <= 0:
        return None
    return float(flags.head(size).cast(pl.Float64).mean())  # type: ignore[arg-type]


def calibration(predicted: pl.Series, observed: pl.Series, bins: int = 10) -> pl.DataFrame:
    """Reliability table: decile (bin 1 = lowest predictions), mean_predicted, observed_rate, n.

    Bins are quantiles of the predictions, of equal size as far as ties allow: equal
    predictions always share a bin (bin = floor((min rank - 1) x bins / n) + 1), so heavy
    ties can leave fewer than `bins` rows. `observed` is boolean or 0/1; pairs with a
    null on either side are left out. `decile` is named for the default of 10 bins.
    """
    if bins < 1:
        raise ValueError(f"bins must be at least 1 (got {bins})")
    frame = pl.DataFrame(
        {
            "p": pl.Series(predicted, dtype=pl.Float64, strict=False).fill_nan(None),
            "o": pl.Series(observed, strict=False).cast(pl.Float64, strict=False),
        }
    ).drop_nulls()
    if frame.height == 0:
        return pl.DataFrame(schema=CALIBRATION_SCHEMA)
    n = frame.height
    return (
        frame.with_columns(((pl.col("p").rank("min") - 1) * bins // n + 1).cast(pl.Int64).alias("decile"))
        .group_by("decile")
        .agg(
            pl.col("p").mean().alias("mean_predicted"),
            pl.col("o").mean().alias("observed_rate"),
            pl.len().cast(pl.Int64).alias("n"),
        )
        .sort("decile")
        .select([pl.col(c).cast(t) for c, t in CALIBRATION_SCHEMA.items()])
    )
