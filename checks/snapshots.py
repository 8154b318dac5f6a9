"""snapshots: the day's history matches the day's accounts; one product row a day."""

from __future__ import annotations

import polars as pl
from dagster import AssetCheckResult

from checks.common import Check, result
from engagement_pipeline.core import keys

CHECKS = {
    c.name: c
    for c in (
        Check(
            "history_matches_accounts",
            keys.ACCOUNT_HISTORY,
            "The day's history has exactly the accounts of accounts.account_scores.",
        ),
        Check("one_product_row", keys.PRODUCT_DAILY, "snapshots.product_daily has exactly one row for the day."),
    )
}


def history_matches_accounts(history: pl.DataFrame, accounts: pl.DataFrame) -> AssetCheckResult:
    a, h = set(accounts["account_id"].to_list()), history["account_id"].to_list()
    problems = []
    if len(h) != len(set(h)):
        problems.append("the history has an account twice for the day")
    if set(h) != a:
        problems.append(f"{len(set(h) ^ a)} accounts differ between history and accounts.account_scores")
    return result(CHECKS["history_matches_accounts"], problems, rows=len(h))


def one_product_row(product: pl.DataFrame) -> AssetCheckResult:
    problems = [] if product.height == 1 else [f"{product.height} rows instead of 1"]
    return result(CHECKS["one_product_row"], problems, rows=product.height)
