"""accounts' assets through `dagster.materialize` on a temporary warehouse (upstream run with the steps)."""

from __future__ import annotations

from checks import accounts as checks
from tests.conftest import Handful, check_outcomes, materialize_layer, read_warehouse, run_days


def test_accounts_day_scores_each_account_once_and_its_checks_pass(handful: Handful) -> None:
    config, days = handful.config, handful.days
    run_days(config.paths.warehouse, days[:1], config, through="accounts")  # the day before: the shift check's base
    run_days(config.paths.warehouse, days[1:], config, through="scores")
    result = materialize_layer("accounts", config, days[-1])
    assert result.success
    rows = read_warehouse(
        config,
        "SELECT account_id, active_users FROM accounts.account_scores WHERE as_of_date = ? ORDER BY 1",
        [days[-1]],
    )
    assert rows == [("acc_a", 2), ("acc_b", 1)]
    usage = read_warehouse(
        config, "SELECT count(DISTINCT account_id) FROM accounts.account_feature_usage WHERE as_of_date = ?", [days[-1]]
    )
    assert usage == [(2,)]
    assert check_outcomes(result) == {
        name: (True, "ERROR" if c.blocking else "WARN") for name, c in checks.CHECKS.items()
    }
