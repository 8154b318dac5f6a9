"""Account outcomes (churn, conversion, expansion, contraction) as dated facts.

They come from an account's billing changes, or when it has no billing rows, from its
lifecycle events and the plan / status traits of its group calls (`lifecycle.status_history`): staging facts that the accounts layer (churn labels for the
fitted churn model) and the snapshots layer (backtests) both read.
"""

from __future__ import annotations

import polars as pl

from engagement_pipeline.core.vocab import UNPAID_PLANS, Status

OUTCOME_KINDS: tuple[str, ...] = ("churn", "conversion", "expansion", "contraction")
OUTCOME_SCHEMA: dict[str, pl.DataType] = {
    "account_id": pl.String(),
    "date": pl.Date(),
    "kind": pl.String(),
    "mrr_before": pl.Float64(),
    "mrr_after": pl.Float64(),
}


def _events_from_states(states: pl.DataFrame) -> pl.DataFrame:
    """Events from consecutive states (account_id, date, plan, status, mrr) of each account.

    The first state of an account has nothing before it and yields no event.
    """
    plan, status, mrr = pl.col("plan"), pl.col("status"), pl.col("mrr")
    p_plan, p_status, p_mrr = (pl.col(c).shift(1).over("account_id") for c in ("plan", "status", "mrr"))
    s = (
        states.sort("account_id", "date", maintain_order=True)
        .with_columns(
            p_plan.alias("_p_plan"),
            p_status.alias("_p_status"),
            p_mrr.alias("_p_mrr"),
            pl.int_range(pl.len()).over("account_id").alias("_i"),
        )
        .filter(pl.col("_i") > 0)
    )
    was_unpaid = (pl.col("_p_status") == Status.TRIAL) | pl.col("_p_plan").is_in(UNPAID_PLANS)
    paid_now = (status == Status.ACTIVE) & ~plan.is_in(UNPAID_PLANS) & plan.is_not_null()
    # An unknown status before (an account whose status no one stated, say told by lifecycle events
    # up to its deletion) is not churned: becoming churned from it is a churn.
    churn = (status == Status.CHURNED) & pl.col("_p_status").ne_missing(Status.CHURNED)
    conversion = was_unpaid.fill_null(False) & paid_now & (pl.col("_p_status") != Status.CHURNED)
    # A conversion also raises MRR; it is counted once, as the conversion.
    active_both = (pl.col("_p_status") == Status.ACTIVE) & (status == Status.ACTIVE) & ~conversion.fill_null(False)
    expansion = active_both & (mrr > pl.col("_p_mrr"))
    contraction = active_both & (mrr < pl.col("_p_mrr"))
    frames = [
        s.filter(cond.fill_null(False)).select(
            "account_id",
            "date",
            pl.lit(kind).alias("kind"),
            pl.col("_p_mrr").alias("mrr_before"),
            mrr.alias("mrr_after"),
        )
        for kind, cond in (
            ("churn", churn),
            ("conversion", conversion),
            ("expansion", expansion),
            ("contraction", contraction),
        )
    ]
    kind_rank = pl.col("kind").replace_strict({k: i for i, k in enumerate(OUTCOME_KINDS)}, return_dtype=pl.Int64)
    return pl.concat([f.select([pl.col(c).cast(t) for c, t in OUTCOME_SCHEMA.items()]) for f in frames]).sort(
        pl.col("account_id"), pl.col("date"), kind_rank
    )


def outcome_events(billing: pl.DataFrame | None, status_history: pl.DataFrame | None) -> pl.DataFrame:
    """Churn, conversion, expansion and contraction events: account_id, date, kind, mrr_before, mrr_after.

    From consecutive billing rows of an account (`account_id, date, plan, mrr, status`, one
    per change day; the last row of a day wins when there are several):

    - churn: the status becomes `churned`;
    - conversion: from trial (status trial, or plan trial or free) to status active on
      another (paid) plan;
    - expansion / contraction: MRR goes up / down while the status stays active (and it
      is not a conversion).

    An account without billing rows is read from `status_history` (account_id, valid_from,
    plan, status: `lifecycle.status_history`, the lifecycle events over the group traits) the
    same way, by the last state of each day, with null MRR (so no expansion or contraction). Plan and status are compared in
    lowercase and carried forward over rows where they are missing.
    """
    frames = []
    if billing is not None and billing.height:
        frames.append(
            billing.select(
                pl.col("account_id").cast(pl.String),
                pl.col("date").cast(pl.Date),
                pl.col("plan").cast(pl.String),
                pl.col("status").cast(pl.String),
                pl.col("mrr").cast(pl.Float64),
            ).with_columns(pl.col("date").cast(pl.Datetime("us")).alias("_at"))
        )
    if status_history is not None and status_history.height:
        traits = status_history.select(
            pl.col("account_id").cast(pl.String),
            pl.col("valid_from").cast(pl.Datetime("us")).alias("_at"),
            pl.col("plan").cast(pl.String),
            pl.col("status").cast(pl.String),
            pl.lit(None, dtype=pl.Float64).alias("mrr"),
        ).with_columns(pl.col("_at").dt.date().alias("date"))
        if frames:  # an account with billing rows is read from billing only
            traits = traits.join(frames[0].select("account_id").unique(), on="account_id", how="anti")
        frames.append(traits)
    if not frames:
        return pl.DataFrame(schema=OUTCOME_SCHEMA)
    states = pl.concat([f.select("account_id", "date", "_at", "plan", "status", "mrr") for f in frames])
    order = ["account_id", "_at"]
    states = (
        states.filter(pl.col("account_id").is_not_null() & pl.col("date").is_not_null())
        .sort(order, maintain_order=True)
        .with_columns(
            pl.col("plan").str.to_lowercase().forward_fill().over("account_id"),
            pl.col("status").str.to_lowercase().forward_fill().over("account_id"),
        )
        .group_by("account_id", "date", maintain_order=True)
        .last()
        .select("account_id", "date", "plan", "status", "mrr")
    )
    return _events_from_states(states)
