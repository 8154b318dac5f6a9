"""scores' assets through `dagster.materialize` on a temporary warehouse (raw and staging run with their steps)."""

from __future__ import annotations

from checks import scores as checks
from tests.conftest import Handful, check_outcomes, materialize_layer, read_warehouse, run_days


def test_scores_day_scores_every_user_for_the_partition_and_its_checks_pass(handful: Handful) -> None:
    config, days = handful.config, handful.days
    run_days(config.paths.warehouse, days, config, through="staging")
    result = materialize_layer("scores", config, days[-1])
    assert result.success
    rows = read_warehouse(config, "SELECT as_of_date, user_id, score FROM scores.user_scores ORDER BY ALL")
    assert [(d, u) for d, u, _ in rows] == [(days[-1], u) for u in ("ua1", "ua2", "ub1")]  # that as-of day only
    assert all(0 < score <= 100 for _, _, score in rows)
    assert read_warehouse(config, "SELECT as_of_date FROM scores.benchmarks") == [(days[-1],)]
    assert check_outcomes(result) == {name: (True, "ERROR") for name in checks.CHECKS}
