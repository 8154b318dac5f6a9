"""exports' asset through `dagster.materialize` on a temporary warehouse (upstream run with the steps)."""

from __future__ import annotations

import os

from checks import exports as checks
from engagement_pipeline.exports.publish import verify_export_folder
from tests.conftest import Handful, check_outcomes, materialize_layer, read_warehouse, run_days


def test_daily_exports_writes_a_verified_folder_and_its_blocking_check_passes(handful: Handful) -> None:
    config, days = handful.config, handful.days
    # Both days landed, the first exported: charts are drawn for the newest landed day only, so
    # this run skips them (seconds) and still writes and verifies every file.
    run_days(config.paths.warehouse, days, config, through="raw")
    run_days(config.paths.warehouse, days[:1], config, start="staging", through="snapshots")
    result = materialize_layer("exports", config, days[0])
    assert result.success
    assert read_warehouse(config, "SELECT as_of_date FROM exports.export_runs") == [(days[0],)]
    folder = config.paths.exports / days[0].isoformat()
    assert verify_export_folder(folder) == []
    assert os.readlink(config.paths.exports / "latest") == days[0].isoformat()
    outcomes = check_outcomes(result)
    assert set(outcomes) == set(checks.CHECKS)
    assert outcomes["files_valid"] == (True, "ERROR")
    # Three users are far below every platform's minimum audience: the non-blocking check warns.
    assert outcomes["audience_sizes"] == (False, "WARN")
