"""PNG charts of the engagement tables, for people who would rather look than read.

Every function takes the frame as the pipeline writes it and returns PNG bytes:

- deterministic: the same input gives the same bytes (no timestamp or software version
  in the PNG metadata, matplotlib's default style rather than whatever the process set,
  the Agg renderer through an explicit canvas - no pyplot, no global figure state; all of
  it in `exports/figures.py`, which these functions share);
- never raising on empty or partial input: a frame that is empty, None or lacks the
  columns a chart needs renders a "no data yet" chart that says what is missing;
- 8 x 4.5 inches at 100 dpi (800 x 450 pixels).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib as mpl
import numpy as np
import polars as pl
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from engagement_pipeline.accounts.health import is_active_account
from engagement_pipeline.exports.figures import (
    BANDS,
    BLUE,
    DARK,
    DPI,
    FIGSIZE,
    GREY,
    PNG_SIGNATURE,
    date_axis,
    floats,
    latest,
    missing,
    no_data_chart,
    pct,
    render,
)

__all__ = [
    "BANDS",
    "DPI",
    "FIGSIZE",
    "PNG_SIGNATURE",
    "activation_funnel_chart",
    "calibration_chart",
    "churn_by_band_chart",
    "cohort_chart",
    "no_data_chart",
    "product_score_chart",
    "score_distribution_chart",
]


def product_score_chart(product_daily: pl.DataFrame | None) -> bytes:
    """Product score (line, 0..100) and active accounts (bars) per day, from snapshots.product_daily."""
    title = "Product score and active accounts"
    why = missing(product_daily, ("date", "product_score", "active_accounts"))
    if why:
        return no_data_chart(title, why)
    assert product_daily is not None
    frame = (
        product_daily.filter(pl.col("date").is_not_null()).unique("date", keep="last", maintain_order=True).sort("date")
    )
    if frame.height == 0:
        return no_data_chart(title, "no dated rows")
    # As numpy days: matplotlib's date converter draws them exactly as it draws dt.date lists.
    dates = np.asarray(frame["date"].to_list(), dtype="datetime64[D]")
    scores, active = floats(frame["product_score"]), floats(frame["active_accounts"])

    def draw(fig: Figure) -> None:
        ax = fig.add_subplot()
        bars = ax.twinx()
        bars.bar(dates, active, width=0.8, color=GREY, label="active accounts")
        bars.set_ylabel("active accounts")
        bars.grid(False)
        bars.spines["right"].set_visible(True)
        bars.set_ylim(0, max([a for a in active if not math.isnan(a)] + [1.0]) * 1.15)
        ax.set_zorder(bars.get_zorder() + 1)
        ax.patch.set_visible(False)
        ax.plot(
            dates,
            scores,
            color=BLUE,
            linewidth=2,
            marker="o" if len(dates) <= 31 else None,
            markersize=3,
            label="product score",
        )
        ax.set_ylim(0, 100)
        ax.set_ylabel("product score (mean of active accounts)")
        date_axis(ax)
        last = frame.row(-1, named=True)
        ax.set_title(
            f"{title} - {last['date']}: score {last['product_score']}, {last['active_accounts']} active accounts"
        )
        handles = ax.get_legend_handles_labels()[0] + bars.get_legend_handles_labels()[0]
        ax.legend(handles=handles, loc="upper left")

    return render(draw)


def score_distribution_chart(account_scores: pl.DataFrame | None) -> bytes:
    """Histogram of the active accounts' scores (5-point bins) over the band colours, with counts per band.

    Inactive accounts score 0 by definition; they are counted in a note rather than drawn,
    so they do not dwarf the distribution. The newest as-of day is used when there are several.
    """
    title = "Account scores"
    why = missing(account_scores, ("score",))
    if why:
        return no_data_chart(title, why)
    assert account_scores is not None
    frame, day = latest(account_scores, "as_of_date")
    frame = frame.filter(pl.col("score").is_not_null())
    if "active_users" in frame.columns:
        active = frame.filter(is_active_account())
    else:
        active = frame.filter(pl.col("score") > 0)
    inactive = frame.height - active.height
    if active.height == 0:
        return no_data_chart(title, f"no active account{f' on {day}' if day else ''} ({inactive} inactive)")
    values = floats(active["score"].clip(0, 100))

    def draw(fig: Figure) -> None:
        ax = fig.add_subplot()
        for _, low, high, colour in BANDS:
            ax.axvspan(low, high, color=colour, alpha=0.08, linewidth=0)
        for edge in (25, 50, 75):
            ax.axvline(edge, color=DARK, linewidth=0.8, linestyle="--")
        ax.hist(values, bins=list(range(0, 105, 5)), color=BLUE, edgecolor="white")
        top = ax.get_ylim()[1] * 1.12
        ax.set_ylim(0, top)
        for label, low, high, colour in BANDS:
            n = sum(1 for v in values if low <= v < high or (high == 100 and v == 100))
            ax.text(
                (low + high) / 2,
                top * 0.95,
                f"{label}: {n} ({n / len(values) * 100:.0f}%)",
                ha="center",
                va="top",
                color=colour,
                fontweight="bold",
            )
        ax.set_xlim(0, 100)
        ax.set_xlabel("account score")
        ax.set_ylabel("accounts")
        ax.set_title(f"{title}{f' on {day}' if day else ''}: {len(values)} active accounts")
        if inactive:
            ax.annotate(
                f"{inactive} inactive accounts (score 0) not shown",
                xy=(1, -0.13),
                xycoords="axes fraction",
                ha="right",
                fontsize=8,
                color="#777777",
            )

    return render(draw)


def churn_by_band_chart(
    backtest: pl.DataFrame | None, horizon_days: int = 30, outcome: str = "churn", predictor: str = "score"
) -> bytes:
    """Outcome rate per score band, from `backtest.score_backtest`'s band rows.

    Pooled over every as-of day in the table: Σ(rate x accounts) / Σ accounts per band,
    i.e. a rate over account-days; the dashed line is the pooled base rate.
    """
    title = f"{outcome.capitalize()} within {horizon_days} days by {predictor} band"
    why = missing(backtest, ("horizon_days", "outcome", "predictor", "metric", "band", "value"))
    if why:
        return no_data_chart(title, why)
    assert backtest is not None
    rows = backtest.filter(
        (pl.col("horizon_days") == horizon_days) & (pl.col("outcome") == outcome) & (pl.col("predictor") == predictor)
    )
    per_day = rows.filter(pl.col("metric").is_in(["band_accounts", "band_rate"]) & pl.col("band").is_not_null())
    index = [c for c in ("as_of_date", "band") if c in per_day.columns]
    if per_day.height == 0:
        return no_data_chart(title, "no band rows for this horizon, outcome and predictor")
    wide = per_day.pivot(on="metric", index=index, values="value", aggregate_function="first")
    if "band_accounts" not in wide.columns or "band_rate" not in wide.columns:
        return no_data_chart(title, "band rows lack accounts or rates")
    pooled = wide.group_by("band").agg(
        pl.col("band_accounts").fill_null(0).sum().alias("n"),
        (pl.col("band_rate").fill_null(0) * pl.col("band_accounts").fill_null(0)).sum().alias("hits"),
    )
    totals = {r["band"]: (r["n"], r["hits"]) for r in pooled.iter_rows(named=True)}
    if sum(n for n, _ in totals.values()) == 0:
        return no_data_chart(title, "no account in any band yet")
    days = wide["as_of_date"].n_unique() if "as_of_date" in wide.columns else 1
    labels = [b[0] for b in BANDS]
    counts = [float(totals.get(b, (0.0, 0.0))[0]) for b in labels]
    rates = [totals[b][1] / totals[b][0] * 100 if totals.get(b, (0, 0))[0] else 0.0 for b in labels]
    hits = [float(totals.get(b, (0.0, 0.0))[1]) for b in labels]
    n_all, hits_all = sum(counts), sum(hits)
    filled = [r for r, n in zip(rates, counts, strict=True) if n]
    verdict = (
        "falls as the band rises" if all(a > b for a, b in zip(filled, filled[1:])) else "does not fall band by band"
    )

    def draw(fig: Figure) -> None:
        ax = fig.add_subplot()
        ax.bar(labels, rates, color=[b[3] for b in BANDS], width=0.6)
        base = hits_all / n_all * 100
        ax.axhline(base, color=DARK, linestyle="--", linewidth=1, label=f"all bands: {pct(base)}")
        ax.legend(loc="upper right")
        for i, (rate, n, h) in enumerate(zip(rates, counts, hits, strict=True)):
            ax.text(
                i,
                rate,
                f"{pct(rate)}\n{round(h)} of {int(n)} acct-days" if n else "no accounts",
                ha="center",
                va="bottom",
                fontsize=8,
            )
        ax.set_ylim(0, max(rates + [base, 1.0]) * 1.3)
        ax.yaxis.set_major_formatter(PercentFormatter(decimals=0))
        ax.set_xlabel(f"{predictor} band on the as-of day")
        ax.set_ylabel(f"{outcome} rate")
        ax.set_title(f"{title}: {verdict} (pooled over {days} as-of day{'s' if days != 1 else ''})", fontsize=10)

    return render(draw)


def activation_funnel_chart(
    activation_steps: pl.DataFrame | None, accounts_total: int, steps: Sequence[str] | None = None
) -> bytes:
    """Share of accounts that did each checklist step (most done first), then the share fully activated.

    `activation_steps`: `accounts.activation_steps` rows (account_id, step; the newest
    as-of day is used). `accounts_total`: the accounts to divide by (e.g. the day's
    accounts). `steps`: the checklist step names; give them so a step nobody did yet shows
    as 0% and does not count as done for "fully activated" (default: the steps present).
    """
    title = "Activation checklist"
    why = missing(activation_steps, ("account_id", "step"))
    if why:
        return no_data_chart(title, why)
    if accounts_total <= 0:
        return no_data_chart(title, "no accounts to compare with")
    assert activation_steps is not None
    frame, day = latest(activation_steps, "as_of_date")
    frame = frame.filter(pl.col("account_id").is_not_null() & pl.col("step").is_not_null())
    names = list(dict.fromkeys(steps)) if steps else sorted(frame["step"].unique().to_list())
    if not names:
        return no_data_chart(title, "no checklist step done yet")
    done = frame.filter(pl.col("step").is_in(names)).select("account_id", "step").unique()
    per_step = dict(done.group_by("step").agg(pl.len()).iter_rows())
    full = (
        done.group_by("account_id").agg(pl.col("step").n_unique().alias("k")).filter(pl.col("k") == len(names)).height
    )
    ordered = sorted(names, key=lambda s: (-per_step.get(s, 0), s))
    labels = [*ordered, "Fully activated"]
    counts = [per_step.get(s, 0) for s in ordered] + [full]
    shares = [c / accounts_total * 100 for c in counts]

    def draw(fig: Figure) -> None:
        ax = fig.add_subplot()
        colours = [BLUE] * len(ordered) + ["#2ca02c"]
        positions = list(range(len(labels)))
        ax.barh(positions, shares, color=colours, height=0.6)
        ax.set_yticks(positions, labels=labels)
        ax.invert_yaxis()
        ax.set_xlim(0, 100)
        ax.xaxis.set_major_formatter(PercentFormatter(decimals=0))
        ax.grid(axis="y", visible=False)
        for y, (share, count) in enumerate(zip(shares, counts, strict=True)):
            ax.text(min(share, 100) + 1, y, f"{pct(share)} ({count})", va="center", fontsize=8)
        ax.set_xlabel(f"share of {accounts_total} accounts")
        ax.set_title(f"{title}{f' on {day}' if day else ''}: who did each step")

    return render(draw)


def cohort_chart(cohort_daily: pl.DataFrame | None, dimension: str, max_cohorts: int = 8) -> bytes:
    """Mean score over time of each cohort of one dimension, from `cohorts.cohort_daily`.

    At most `max_cohorts` lines: the cohorts with most accounts on the newest day (the
    rest are named in a note), in the table's own cohort order; the legend gives each
    cohort's accounts on that day.
    """
    title = f"Mean score by {dimension.replace('_', ' ')}"
    why = missing(cohort_daily, ("date", "dimension", "cohort", "accounts", "mean_score"))
    if why:
        return no_data_chart(title, why)
    assert cohort_daily is not None
    frame = cohort_daily.filter((pl.col("dimension") == dimension) & pl.col("date").is_not_null())
    if frame.height == 0:
        return no_data_chart(title, f"no rows for dimension '{dimension}'")
    order = list(dict.fromkeys(frame["cohort"].to_list()))
    latest_day = frame["date"].max()
    latest = dict(frame.filter(pl.col("date") == latest_day).select("cohort", "accounts").iter_rows())
    ranked = sorted(order, key=lambda c: (-(latest.get(c) or 0), order.index(c)))
    shown = [c for c in order if c in ranked[:max_cohorts]]
    hidden = len(order) - len(shown)
    dates = sorted(frame["date"].unique().to_list())
    colours = mpl.color_sequences["tab10"]

    def draw(fig: Figure) -> None:
        ax = fig.add_subplot()
        for i, cohort in enumerate(shown):
            part = frame.filter(pl.col("cohort") == cohort).sort("date")
            ax.plot(
                part["date"].to_list(),
                floats(part["mean_score"]),
                color=colours[i % len(colours)],
                linewidth=1.8,
                marker="o" if len(dates) <= 31 else None,
                markersize=3,
                label=f"{cohort} ({latest.get(cohort) or 0})",
            )
        ax.set_ylim(0, 100)
        ax.set_ylabel("mean score of active accounts")
        date_axis(ax)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), title=f"{dimension} (accounts)", title_fontsize=8)
        ax.set_title(f"{title}{f' ({hidden} smaller cohorts not shown)' if hidden else ''}")

    return render(draw)


def calibration_table(backtest: pl.DataFrame) -> pl.DataFrame:
    """decile, mean_predicted, observed_rate, n: the churn_risk calibration rows of `snapshots.score_backtest`
    pooled over their as-of days (rates weighted by each day's accounts in the decile, n summed).

    Rows written before the backtest kept `calibration_n` count each as-of day as one account."""
    rows = backtest.filter(pl.col("metric").str.starts_with("calibration_")) if backtest.height else backtest
    if rows.height == 0:
        return pl.DataFrame()
    wide = rows.pivot(on="metric", index=["as_of_date", "band"], values="value", aggregate_function="first")
    if not {"calibration_predicted", "calibration_observed"} <= set(wide.columns):
        return pl.DataFrame()
    n = pl.col("calibration_n").fill_null(1.0) if "calibration_n" in wide.columns else pl.lit(1.0)
    return (
        wide.with_columns(n.alias("_n"))
        .group_by("band")
        .agg(
            ((pl.col("calibration_predicted") * pl.col("_n")).sum() / pl.col("_n").sum()).alias("mean_predicted"),
            ((pl.col("calibration_observed") * pl.col("_n")).sum() / pl.col("_n").sum()).alias("observed_rate"),
            pl.col("_n").sum().cast(pl.Int64).alias("n"),
        )
        .select(
            pl.col("band").str.extract(r"(\d+)").cast(pl.Int64).alias("decile"), "mean_predicted", "observed_rate", "n"
        )
        .sort("decile")
    )


def calibration_chart(calibration: pl.DataFrame | None) -> bytes:
    """Predicted vs observed rate per bin, from `backtest.calibration`; on the diagonal = calibrated."""
    title = "Calibration: predicted vs observed"
    why = missing(calibration, ("mean_predicted", "observed_rate", "n"))
    if why:
        return no_data_chart(title, why)
    assert calibration is not None
    frame = calibration.drop_nulls(["mean_predicted", "observed_rate"])
    if frame.height == 0:
        return no_data_chart(title, "no bin with both a prediction and an outcome")
    frame = frame.sort("mean_predicted")
    predicted, observed = floats(frame["mean_predicted"]), floats(frame["observed_rate"])
    counts = [int(v or 0) for v in frame["n"].to_list()]
    biggest = max(counts + [1])

    def draw(fig: Figure) -> None:
        ax = fig.add_subplot()
        ax.plot([0, 1], [0, 1], color=GREY, linestyle="--", linewidth=1, label="perfectly calibrated")
        ax.plot(predicted, observed, color=BLUE, linewidth=1.2)
        ax.scatter(
            predicted,
            observed,
            s=[20 + 180 * c / biggest for c in counts],
            color=BLUE,
            zorder=3,
            label="bins (size = accounts)",
        )
        for x, y, n in zip(predicted, observed, counts, strict=True):
            ax.annotate(f"n={n}", (x, y), textcoords="offset points", xytext=(6, -10), fontsize=7)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.05)
        ax.xaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))
        ax.set_xlabel("mean predicted probability")
        ax.set_ylabel("observed rate")
        ax.legend(loc="upper left")
        ax.set_title(f"{title} ({sum(counts)} predictions in {len(counts)} bins)")

    return render(draw)
