"""The demo's billing carries the seats bought, and the pipeline turns them into seats_bought and
seats_used_share for paying accounts (on the session's small demo world)."""

from __future__ import annotations

import polars as pl

from tests.conftest import DemoWorld


def test_paying_accounts_of_the_demo_have_their_billed_seats_in_account_scores(demo_world: DemoWorld) -> None:
    assert demo_world.config.paths.billing is not None
    billing = pl.read_csv(demo_world.config.paths.billing / "billing.csv")
    last = demo_world.days[-1]
    billed = dict(
        billing.filter(pl.col("date") <= last.isoformat())
        .sort("date")
        .group_by("account_id")
        .last()
        .select("account_id", "seats")
        .rows()
    )
    with demo_world.read() as con:
        scores = con.execute(
            "SELECT account_id, is_paying, active_users, seats_bought, seats_used_share "
            "FROM accounts.account_scores WHERE as_of_date = ?",
            [last],
        ).pl()
    paying = scores.filter("is_paying")
    assert paying.height >= 5
    for row in paying.iter_rows(named=True):
        assert row["seats_bought"] == billed[row["account_id"]] > 0
        assert row["seats_used_share"] == round(row["active_users"] / row["seats_bought"], 3)
    assert scores.filter(~pl.col("is_paying") & (pl.col("seats_bought") > 0)).is_empty()
