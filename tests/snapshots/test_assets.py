"""snapshots' assets through `dagster.materialize` on a temporary warehouse (upstream run with the steps)."""

from __future__ import annotations

from checks import snapshots as checks
from tests.conftest import Handful, check_outcomes, materialize_layer, read_warehouse, run_days


def test_snapshots_day_writes_the_days_history_and_product_row_and_its_checks_pass(handful: Handful) -> None:
    config, days = handful.config, handful.days
    run_days(config.paths.warehouse, days, config, through="accounts")
    result = materialize_layer("snapshots", config, days[-1])
    assert result.success
    history = read_warehouse(config, "SELECT date, account_id FROM snapshots.account_history ORDER BY ALL")
    assert history == [(days[-1], "acc_a"), (days[-1], "acc_b")]
    product = read_warehouse(config, "SELECT date, active_accounts FROM snapshots.product_daily")
    assert product == [(days[-1], 2)]
    assert check_outcomes(result) == {name: (True, "ERROR") for name in checks.CHECKS}


def test_product_daily_metadata_shows_the_date_as_a_date_and_counts_as_integers(handful: Handful) -> None:
    from dagster import AssetKey, IntMetadataValue, TextMetadataValue

    config, days = handful.config, handful.days
    run_days(config.paths.warehouse, days, config, through="accounts")
    result = materialize_layer("snapshots", config, days[-1])
    [meta] = [
        m.metadata
        for m in result.asset_materializations_for_node("snapshots_day")
        if m.asset_key == AssetKey(["snapshots", "product_daily"])
    ]
    assert meta["date"] == TextMetadataValue(days[-1].isoformat())
    for count in ("active_accounts", "total_accounts", "active_users", "pql_accounts"):
        assert isinstance(meta[count], IntMetadataValue), (count, meta[count])
    day = str(meta["day"].value)
    assert f"| date | {days[-1].isoformat()} |" in day and "| active_accounts | 2 |" in day
    assert ".0 |" not in day  # no count shown as a float (the date was `20513.0`)
    schema = meta["dagster/column_schema"].value
    described = {c.name: c.description for c in schema.columns}
    assert described["date"] and described["active_accounts"]  # every column has its description
