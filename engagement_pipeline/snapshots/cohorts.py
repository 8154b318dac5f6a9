"""Cohorts: the day's account engagement split by who the accounts are.

The engagement model (README) asks to compare cohorts (new vs established, free vs paid) because
engagement is only worth something if it differs where revenue does. `cohort_daily`
turns one day of `accounts.account_scores` (plus firmographics from `staging.accounts`)
into one row per (date, dimension, cohort) with the same figures for every cohort, so a
chart or a table can put cohorts of one dimension side by side over time.

Dimensions and their cohorts (a missing value is the cohort `unknown`):

- `tenure`: `new` (created fewer than `new_account_days` days before the day) or
  `established`.
- `plan_type`: `churned` (status churned, whatever the plan), `trial` (plan or status
  trial), `free` (plan free), `paid` (any other plan with status active); an account
  matching none of these (e.g. a paid plan with no status yet) is `unknown`.
- `plan`: the plan value as given.
- `industry`: the industry trait.
- `company_size`: employee bands 1-10, 11-50, 51-200, 201-1000, 1001-5000, 5001+
  (`unknown` when missing or below 1).
- `signup_month`: YYYY-MM of `created_date`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from engagement_pipeline.accounts.health import is_active_account
from engagement_pipeline.core.vocab import Health, Plan, Status

DIMENSIONS: tuple[str, ...] = ("tenure", "plan_type", "plan", "industry", "company_size", "signup_month")

# Employee bands: (upper bound, label); the last band has no upper bound.
SIZE_BANDS: tuple[tuple[int | None, str], ...] = (
    (10, "1-10"),
    (50, "11-50"),
    (200, "51-200"),
    (1000, "201-1000"),
    (5000, "1001-5000"),
    (None, "5001+"),
)

COHORT_DAILY_SCHEMA: dict[str, pl.DataType] = {
    "date": pl.Date(),
    "dimension": pl.String(),
    "cohort": pl.String(),
    "accounts": pl.Int64(),
    "active_accounts": pl.Int64(),
    "mean_score": pl.Float64(),
    "median_score": pl.Float64(),
    "activation_rate": pl.Float64(),
    "median_days_to_activation": pl.Float64(),
    "pql_accounts": pl.Int64(),
    "at_risk_accounts": pl.Int64(),
    "mrr": pl.Float64(),
}

UNKNOWN = "unknown"

# Cohorts with a natural order are listed in it; others sort alphabetically, `unknown` last.
_COHORT_ORDER: dict[str, tuple[str, ...]] = {
    "tenure": ("new", "established"),
    "plan_type": ("free", "trial", "paid", "churned"),
    "company_size": tuple(label for _, label in SIZE_BANDS),
}

_SCORE_COLUMNS = (
    "account_id",
    "score",
    "active_users",
    "created_date",
    "activated_at",
    "days_to_activation",
    "plan",
    "status",
    "mrr",
    "health",
    "is_pql",
)


def _plan_type() -> pl.Expr:
    plan, status = pl.col("plan").str.to_lowercase(), pl.col("status").str.to_lowercase()
    return (
        pl.when(status == Status.CHURNED)
        .then(pl.lit("churned"))
        .when((plan == Plan.TRIAL) | (status == Status.TRIAL))
        .then(pl.lit("trial"))
        .when(plan == Plan.FREE)
        .then(pl.lit("free"))
        .when(status == Status.ACTIVE)
        .then(pl.lit("paid"))
        .otherwise(pl.lit(UNKNOWN))
    )


def _company_size() -> pl.Expr:
    employees = pl.col("employees")
    expr: Any = pl.when(employees.is_null() | (employees < 1)).then(pl.lit(UNKNOWN))  # Then, then ChainedThen
    for high, label in SIZE_BANDS[:-1]:
        expr = expr.when(employees <= high).then(pl.lit(label))
    return expr.otherwise(pl.lit(SIZE_BANDS[-1][1]))


def _cohort_exprs(day: dt.date, new_account_days: int) -> dict[str, pl.Expr]:
    age = (pl.lit(day) - pl.col("created_date")).dt.total_days()
    return {
        "tenure": pl.when(pl.col("created_date").is_null())
        .then(pl.lit(UNKNOWN))
        .when(age < new_account_days)
        .then(pl.lit("new"))
        .otherwise(pl.lit("established")),
        "plan_type": _plan_type(),
        "plan": pl.col("plan").fill_null(UNKNOWN),
        "industry": pl.col("industry").fill_null(UNKNOWN),
        "company_size": _company_size(),
        "signup_month": pl.col("created_date").dt.strftime("%Y-%m").fill_null(UNKNOWN),
    }


def empty_cohort_daily() -> pl.DataFrame:
    return pl.DataFrame(schema=COHORT_DAILY_SCHEMA)


def cohort_daily(
    account_scores: pl.DataFrame, accounts: pl.DataFrame, day: dt.date, new_account_days: int = 90
) -> pl.DataFrame:
    """One row per (date, dimension, cohort) for `day`: accounts, engagement, activation, PQLs, risk, MRR.

    `account_scores`: `accounts.account_scores` rows (only those with `as_of_date == day`
    are used when the column is there). `accounts`: `staging.accounts` (account_id,
    industry, employees; other columns are ignored - plan and status come from the
    day's scores, which are point-in-time).

    Figures per cohort: `accounts`; `active_accounts` (an active user in the window);
    `mean_score` / `median_score` over the ACTIVE accounts only, like the product score
    (an inactive account scores 0 and would otherwise measure inactivity twice), null
    when none is active; `activation_rate` the % (0..100) of all accounts with
    `activated_at`; `median_days_to_activation` over accounts where it is known;
    `pql_accounts`; `at_risk_accounts` (health `at_risk`); `mrr` summed. Only cohorts
    with at least one account get a row. Ordered by dimension (as in `DIMENSIONS`), then
    cohort (natural order where there is one, else alphabetical, `unknown` last).
    """
    scores = account_scores
    if "as_of_date" in scores.columns:
        scores = scores.filter(pl.col("as_of_date") == day)
    if scores.height == 0:
        return empty_cohort_daily()
    missing = [c for c in _SCORE_COLUMNS if c not in scores.columns]
    if missing:
        raise ValueError(f"account_scores lacks columns {missing}")
    firmo = accounts.select(
        pl.col("account_id").cast(pl.String),
        (pl.col("industry") if "industry" in accounts.columns else pl.lit(None)).cast(pl.String).alias("industry"),
        (pl.col("employees") if "employees" in accounts.columns else pl.lit(None))
        .cast(pl.Int64, strict=False)
        .alias("employees"),
    ).unique(subset="account_id", keep="first", maintain_order=True)
    base = (
        scores.select(_SCORE_COLUMNS)
        .with_columns(pl.col("account_id").cast(pl.String), pl.col("created_date").cast(pl.Date))
        .join(firmo, on="account_id", how="left")
    )
    exprs = _cohort_exprs(day, new_account_days)
    long = pl.concat(
        [base.with_columns(pl.lit(dim).alias("dimension"), exprs[dim].alias("cohort")) for dim in DIMENSIONS]
    )
    active = is_active_account()
    out = long.group_by("dimension", "cohort").agg(
        pl.len().cast(pl.Int64).alias("accounts"),
        active.sum().cast(pl.Int64).alias("active_accounts"),
        pl.col("score").filter(active).mean().round(2).alias("mean_score"),
        pl.col("score").filter(active).median().round(2).alias("median_score"),
        (pl.col("activated_at").is_not_null().mean() * 100).round(1).alias("activation_rate"),
        pl.col("days_to_activation").median().cast(pl.Float64).alias("median_days_to_activation"),
        pl.col("is_pql").fill_null(False).sum().cast(pl.Int64).alias("pql_accounts"),
        (pl.col("health") == Health.AT_RISK).fill_null(False).sum().cast(pl.Int64).alias("at_risk_accounts"),
        pl.col("mrr").fill_null(0.0).sum().round(2).alias("mrr"),
    )
    dim_rank = pl.col("dimension").replace_strict({d: i for i, d in enumerate(DIMENSIONS)}, return_dtype=pl.Int64)
    order = {f"{d}\x00{c}": i for d, cohorts in _COHORT_ORDER.items() for i, c in enumerate(cohorts)}
    cohort_rank = (
        pl.when(pl.col("cohort") == UNKNOWN)
        .then(pl.lit(1_000_000))
        .otherwise(
            pl.concat_str("dimension", pl.lit("\x00"), "cohort").replace_strict(order, default=0, return_dtype=pl.Int64)
        )
    )
    return (
        out.with_columns(pl.lit(day).alias("date"))
        .sort(dim_rank, cohort_rank, pl.col("cohort"))
        .select([pl.col(c).cast(t) for c, t in COHORT_DAILY_SCHEMA.items()])
    )
