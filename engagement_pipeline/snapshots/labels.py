"""Backtest labels: who could have each outcome on an as-of day, who then had it, and which way predictors point.

`label_history` joins the account history to the as-of day x horizon pairs and marks, per outcome
kind, whether the account had an event of that kind in (as-of, as-of + horizon], plus its MRR
change over the horizon; `populations` says which rows can have each outcome at all (from the
as-of day's status, plan and MRR); `resolve_direction` fixes, per outcome and predictor, whether a
higher value means the outcome is more (+1) or less (-1) likely. `backtest.score_backtest` measures
the predictors on these labels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from engagement_pipeline.core.vocab import UNPAID_PLANS, Status

# Which way a predictor points, per outcome: +1 = a higher value means the outcome is more
# likely, -1 = a lower value does. AUC is computed on direction x value, so 1.0 is always
# a perfect prediction. A pairing not listed here is an error rather than a guess.
DEFAULT_DIRECTION: dict[str, dict[str, int]] = {
    "churn": {"score": -1, "churn_risk": +1},
    "conversion": {"score": +1, "churn_risk": -1},
    "expansion": {"score": +1, "churn_risk": -1},
    "contraction": {"score": -1, "churn_risk": +1},
}


def resolve_direction(
    direction: Mapping[str, Mapping[str, int]] | None, outcomes: Sequence[str], predictors: Sequence[str]
) -> dict[tuple[str, str], int]:
    table = DEFAULT_DIRECTION if direction is None else direction
    out: dict[tuple[str, str], int] = {}
    for kind in outcomes:
        for predictor in predictors:
            sign = table.get(kind, {}).get(predictor)
            if sign not in (1, -1):
                raise ValueError(
                    f"no direction (+1 or -1) for predictor {predictor!r} and outcome {kind!r}: pass "
                    f"direction={{{kind!r}: {{{predictor!r}: +1 or -1}}}} (+1 = higher means the outcome)"
                )
            out[(kind, predictor)] = sign
    return out


def populations(frame: pl.DataFrame) -> dict[str, pl.Expr]:
    """Who can have each outcome at the as-of day (status, plan and MRR of that day).

    churn: not churned. conversion: not churned and unpaid (status trial or plan free /
    trial; without a plan column, status trial or active with no MRR). expansion and
    contraction: paying (status active on a paid plan; without a plan column, MRR > 0).
    A null status counts as alive.
    """
    status = pl.col("status").str.to_lowercase()
    alive = (status != Status.CHURNED).fill_null(True)
    mrr = pl.col("mrr") if "mrr" in frame.columns else pl.lit(None, dtype=pl.Float64)
    if "plan" in frame.columns:
        unpaid_plan = pl.col("plan").str.to_lowercase().is_in(UNPAID_PLANS).fill_null(False)
        unpaid = (status == Status.TRIAL).fill_null(False) | unpaid_plan
        paying = (status == Status.ACTIVE).fill_null(False) & ~unpaid_plan & pl.col("plan").is_not_null()
    else:
        free_active = (status == Status.ACTIVE) & (mrr.fill_null(0.0) <= 0)
        unpaid = (status == Status.TRIAL).fill_null(False) | free_active.fill_null(False)
        paying = ((status == Status.ACTIVE) & (mrr > 0)).fill_null(False)
    return {
        "churn": alive,
        "conversion": alive & unpaid,
        "expansion": alive & paying,
        "contraction": alive & paying,
    }


def label_history(
    history: pl.DataFrame,
    outcomes: pl.DataFrame,
    pairs: pl.DataFrame,
    kinds: Sequence[str],
) -> pl.DataFrame:
    """History rows of the eligible as-of days x horizons, with `_end`, one `_y_<kind>`
    per outcome (an event in (as-of, as-of + horizon]) and `_mrr_change` over the horizon."""
    base = (
        history.join(pairs, on="date", how="inner")
        .with_columns(
            (pl.col("date") + pl.duration(days=pl.col("horizon_days"))).alias("_end"),
            (pl.col("date") + pl.duration(days=1)).alias("_after"),
        )
        .sort("_after")
    )
    for kind in kinds:
        events = (
            outcomes.filter(pl.col("kind") == kind)
            .select("account_id", pl.col("date").alias("_next"))
            .unique()
            .sort("_next")
        )
        base = (
            base.join_asof(
                events, left_on="_after", right_on="_next", by="account_id", strategy="forward", check_sortedness=False
            )
            .with_columns((pl.col("_next").is_not_null() & (pl.col("_next") <= pl.col("_end"))).alias(f"_y_{kind}"))
            .drop("_next")
        )
    if "mrr" in history.columns:
        later = history.select("account_id", pl.col("date").alias("_later_date"), pl.col("mrr").alias("_mrr_end")).sort(
            "_later_date"
        )
        base = (
            base.sort("_end")
            .join_asof(
                later,
                left_on="_end",
                right_on="_later_date",
                by="account_id",
                strategy="backward",
                check_sortedness=False,
            )
            .with_columns((pl.col("_mrr_end") - pl.col("mrr")).alias("_mrr_change"))
        )
    else:
        base = base.with_columns(pl.lit(None, dtype=pl.Float64).alias("_mrr_change"))
    return base
