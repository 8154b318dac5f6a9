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
