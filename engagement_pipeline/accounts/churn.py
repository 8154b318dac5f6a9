"""Churn risk: an account falling below its own normal, not just a low score.

The absolute engagement score mixes how big and busy an account normally is with
whether that is changing; churn shows first as an account falling below its own
baseline, or as who in it is still active. The model's features (`signal_frame`, 0..1),
from the columns of `accounts.account_scores`:

- `peak_drop`: activity in the last 7 days below the account's busiest of the 8 weeks before
  (`activity_vs_peak`), net of the whole product's change that day (the median account's), so a
  holiday week every account shares is no drop;
- `drop`: activity in the last 7 days below its usual weeks, same weekdays, net of the product
  (`activity_vs_usual`, `signals.py`);
- `idle_share`: share of users not active in the window; `low_score`: 1 - score / 100;
- `falling`: score fall over one trend look-back / 50;
- `champion`: the top user went quiet for 10 days while others carry on (`champion_lost`);
  `champion_quiet`: it has been quiet for a week (`champion_quiet_days`), the earlier warning;
- `contraction`: fewer users active than in the usual week, net of the product (`active_users_change`);
- `trial`: a trial (trials lapse); `free`: a free plan, not a trial (free accounts rarely cancel).

`formula_risk` turns them into a probability with a transparent logistic formula (`FORMULA`).
Its coefficients are a logistic regression fitted on two of the demo generator's worlds (seeds 1
and 2, 500 accounts, 84 days, every kind of churn) and rounded; the README gives their figures on
other seeds. Where outcome history exists, `fit` trains a logistic regression on the deployment's
own as-of days whose outcome window has closed (labels only from outcomes dated on or before the
as-of day of the fit), and the formula is the fallback when there are too few churns to learn
from. The fit is refitted on a schedule, not every day (`fit_day`: every `model.churn.refit_days`
from start_date) or when what it learns from changes (`cached_fit`, keyed by the fit day and a
fingerprint of its inputs).
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from engagement_pipeline.accounts.signals import PRODUCT_MIN_ACCOUNTS
from engagement_pipeline.core.vocab import Status

FEATURES = (
    "peak_drop",
    "drop",
    "idle_share",
    "low_score",
    "falling",
    "champion",
    "champion_quiet",
    "contraction",
    "trial",
    "free",
)

# Transparent default: z = bias + sum(weight x feature); features are scaled to 0..1 (see the module).
FORMULA: dict[str, float] = {
    "bias": -4.5,
    "peak_drop": 1.6,  # activity below its busiest recent week, net of the product (0 = at its peak, 1 = stopped)
    "drop": 1.2,  # activity below its usual weeks (same weekdays), net of the product
    "idle_share": 0.5,  # share of users not active in the window
    "low_score": 1.4,  # 1 - score / 100
    "falling": 2.9,  # score fall over one look-back / 50, capped at 1
    "champion": 1.4,  # the top user quiet for 10 days while colleagues carry on (signals.py)
    "champion_quiet": 0.9,  # the top user quiet for a week: the earlier warning
    "contraction": 1.5,  # fewer users active than in the usual week, net of the product (0..1)
    "trial": 2.3,  # trials lapse: a trial churns more often than a paying account
    "free": -5.6,  # free accounts rarely cancel (they fizzle out: `inactive`, not churn)
}
CHAMPION_QUIET_DAYS = 7


def _product_net(ratio: pl.Expr, day: str | None) -> pl.Expr:
    """An account's activity ratio divided by the median account's that day (1 = moved as the product did).

    With fewer than `signals.PRODUCT_MIN_ACCOUNTS` accounts that day there is no discount: too few
    accounts cannot tell a product-wide dip from their own."""
    median, known = ratio.median(), ratio.is_not_null().sum()
    if day is not None:
        median, known = median.over(day), known.over(day)
    product = pl.when(known >= PRODUCT_MIN_ACCOUNTS).then(median.clip(lower_bound=0.05)).otherwise(1.0)
    return ratio / product


def signal_frame(rows: pl.DataFrame) -> pl.DataFrame:
    """Model features (0..1 scale) from the signal columns of account_scores rows (one day or many).

    The activity features are net of the product-wide change of their day (the median account's),
    so a holiday week that slows every account raises no risk.
    """
    defaults = {
        "activity_vs_usual": None,
        "activity_vs_peak": None,
        "active_users_change": None,
        "champion_lost": False,
        "champion_quiet_days": None,
    }
    rows = rows.with_columns(pl.lit(v).alias(c) for c, v in defaults.items() if c not in rows.columns)
    day = next((c for c in ("as_of_date", "date") if c in rows.columns), None)
    peak = (1 + pl.col("activity_vs_peak").cast(pl.Float64)).clip(lower_bound=0.0)
    unpaid = ~pl.col("is_paying").fill_null(False)
    trial = (pl.col("status") == Status.TRIAL).fill_null(False)
    return rows.with_columns(
        (1 - _product_net(peak, day).fill_null(1.0)).clip(0.0, 1.0).alias("peak_drop"),
        (-pl.col("activity_vs_usual").cast(pl.Float64).fill_null(0.0)).clip(0.0, 1.0).alias("drop"),
        (1.0 - pl.col("pct_active").fill_null(0.0)).clip(0.0, 1.0).alias("idle_share"),
        (1.0 - pl.col("score").cast(pl.Float64).fill_null(0.0) / 100.0).clip(0.0, 1.0).alias("low_score"),
        ((-pl.col("trend_delta").fill_null(0.0)) / 50.0).clip(0.0, 1.0).alias("falling"),
        pl.col("champion_lost").cast(pl.Boolean).fill_null(False).cast(pl.Float64).alias("champion"),
        (pl.col("champion_quiet_days").fill_null(0) >= CHAMPION_QUIET_DAYS).cast(pl.Float64).alias("champion_quiet"),
        (-pl.col("active_users_change").cast(pl.Float64).fill_null(0.0)).clip(0.0, 1.0).alias("contraction"),
        trial.cast(pl.Float64).alias("trial"),
        (unpaid & ~trial).cast(pl.Float64).alias("free"),
    )


def _logistic(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


def formula_risk(features: pl.DataFrame) -> np.ndarray:
    z = np.full(features.height, FORMULA["bias"])
    for name in FEATURES:
        z = z + FORMULA[name] * features[name].to_numpy().astype(float)
    return _logistic(z)


@dataclass(frozen=True)
class FittedModel:
    """A logistic regression on the standardized features."""

    coefficients: tuple[float, ...]
    intercept: float
    means: tuple[float, ...]
    scales: tuple[float, ...]
    trained_rows: int
    trained_churns: int
    trained_until: dt.date
    formula_share: float = 0.0  # `auto` averages the fit with the formula: a few dozen churns fit noisily

    def predict(self, features: pl.DataFrame) -> np.ndarray:
        x = _standardize(features, self.means, self.scales)
        fitted = _logistic(x @ np.asarray(self.coefficients) + self.intercept)
        if self.formula_share <= 0:
            return fitted
        return (1 - self.formula_share) * fitted + self.formula_share * formula_risk(features)


def _matrix(features: pl.DataFrame) -> np.ndarray:
    return np.column_stack([features[n].to_numpy().astype(float) for n in FEATURES])


def _standardize(features: pl.DataFrame, means: tuple[float, ...], scales: tuple[float, ...]) -> np.ndarray:
    return (_matrix(features) - np.asarray(means)) / np.asarray(scales)


def fit(
    features: pl.DataFrame, labels: np.ndarray, trained_until: dt.date, l2: float = 1.0, iterations: int = 50
) -> FittedModel:
    """L2-regularized logistic regression by Newton's method (IRLS): small, exact, no extra dependency."""
    raw = _matrix(features)
    means = raw.mean(axis=0)
    scales = raw.std(axis=0)
    scales[scales == 0] = 1.0
    x = (raw - means) / scales
    x1 = np.column_stack([np.ones(len(x)), x])
    y = labels.astype(float)
    w = np.zeros(x1.shape[1])
    penalty = np.eye(x1.shape[1]) * l2
    penalty[0, 0] = 0.0  # the intercept is not shrunk
    for _ in range(iterations):
        p = _logistic(x1 @ w)
        gradient = x1.T @ (y - p) - penalty @ w
        hessian = (x1 * (p * (1 - p))[:, None]).T @ x1 + penalty
        step = np.linalg.solve(hessian, gradient)
        w = w + step
        if np.max(np.abs(step)) < 1e-8:
            break
    return FittedModel(
        tuple(float(v) for v in w[1:]),
        float(w[0]),
        tuple(float(v) for v in means),
        tuple(float(v) for v in scales),
        len(y),
        int(y.sum()),
        trained_until,
    )


def training_set(
    history: pl.DataFrame, churn_dates: pl.DataFrame, as_of: dt.date, horizon_days: int = 30
) -> tuple[pl.DataFrame, np.ndarray]:
    """Past account-days whose outcome window closed by `as_of`, labelled churned-or-not.

    `history`: account x day rows with the signal columns (and `date`, `status`);
    `churn_dates`: account_id, date of each churn event. Only outcomes dated on or
    before `as_of` are used, so the fit never sees the future of its own as-of day.
    """
    closed = history.filter(
        (pl.col("date") <= as_of - dt.timedelta(days=horizon_days)) & (pl.col("status") != Status.CHURNED)
    )
    known = churn_dates.filter(pl.col("date") <= as_of).rename({"date": "churn_date"})
    joined = closed.join(known, on="account_id", how="left").with_columns(
        (
            pl.col("churn_date").is_not_null()
            & (pl.col("churn_date") > pl.col("date"))
            & (pl.col("churn_date") <= pl.col("date") + dt.timedelta(days=horizon_days))
        ).alias("_label")
    )
    labelled = (
        joined.group_by(["account_id", "date"])
        .agg(pl.all().exclude("_label", "churn_date").first(), pl.col("_label").any())
        .sort("account_id", "date")
    )
    return signal_frame(labelled), labelled["_label"].to_numpy()


def fit_day(day: dt.date, start: dt.date, refit_days: int) -> dt.date:
    """The last day on or before `day` on the refit grid (start, start + refit_days, ...): the model's as-of day."""
    return day - dt.timedelta(days=max((day - start).days, 0) % refit_days)


def frame_hash(frame: pl.DataFrame) -> int:
    """A content hash of a small frame (row order ignored): the cache key of what a fit learns from."""
    return int(frame.hash_rows(seed=0).sort().hash(seed=0).sum()) if frame.height else 0


_FITS: OrderedDict[tuple[object, ...], FittedModel | None] = OrderedDict()
_FITS_KEPT = 8


def cached_fit(key: tuple[object, ...], train: Callable[[], FittedModel | None]) -> FittedModel | None:
    """`train()` once per key (fit day and a fingerprint of its inputs), then the same model again.

    The fit is a pure function of its inputs (Newton's method from zero), so a cached model is the
    model a refit would give: caching changes the time taken, never a churn_risk."""
    if key in _FITS:
        _FITS.move_to_end(key)
        return _FITS[key]
    model = train()
    _FITS[key] = model
    while len(_FITS) > _FITS_KEPT:
        _FITS.popitem(last=False)
    return model


def reasons(rows: pl.DataFrame) -> list[str]:
    """The signals behind each account's risk, in plain words, strongest first."""
    out = []
    for r in rows.iter_rows(named=True):
        parts: list[tuple[float, str]] = []
        quiet = r.get("days_since_active")
        if quiet is not None and quiet >= 3:
            parts.append((min(quiet / 30, 1.0) + 0.1, f"last active {quiet} days ago"))
        total, active = r.get("total_users") or 0, r.get("active_users") or 0
        if total and active / total < 0.5:
            parts.append((1 - active / total, f"{active} of {total} users active"))
        delta = r.get("trend_delta")
        if delta is not None and delta <= -10:
            parts.append((min(-delta / 50, 1.0), f"score down {-delta:.0f} points in a window"))
        parts.sort(key=lambda p: -p[0])
        texts = [text for _, text in parts[:3]]
        signal = r.get("signal_reasons")
        out.append("; ".join([signal, *texts] if signal else texts))
    return out
