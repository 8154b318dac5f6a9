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


def test_audience_sizes_warns_with_why_it_is_expected_on_small_data() -> None:
    from checks import exports as checks

    assert "Expected on small data" in checks.CHECKS["audience_sizes"].description
    assert not checks.CHECKS["audience_sizes"].blocking
    warned = checks.audience_sizes(
        ["lookalike_linkedin_contacts.csv has 40 rows, below the platform minimum of 300: the platform may refuse"],
        {"lookalike_linkedin_contacts.csv": {"rows": 40}},
    )
    assert not warned.passed and str(warned.severity).endswith("WARN")
    assert "expected with small data" in str(warned.metadata["problems"].value)
    assert warned.description is not None and "as expected with small data" in warned.description
    assert checks.audience_sizes([], {"lookalike_google.csv": {"rows": 500}}).passed
