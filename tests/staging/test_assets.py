"""staging's assets through `dagster.materialize` on a temporary warehouse (raw landed with its step)."""

from __future__ import annotations

from checks import staging as checks
from engagement_pipeline.core.warehouse import EVENTS
from tests.conftest import Handful, check_outcomes, materialize_layer, read_warehouse, run_days


def test_staging_day_stages_the_partitions_lines_and_every_check_passes(handful: Handful) -> None:
    config, day = handful.config, handful.days[0]
    run_days(config.paths.warehouse, [day], config, through="raw")
    result = materialize_layer("staging", config, day)
    assert result.success
    events = read_warehouse(config, "SELECT received_date, count(*) FROM staging.events GROUP BY 1")
    assert dict(events) == {day: handful.landed[day]}  # clean lines: every one accepted, none elsewhere
    assert read_warehouse(config, "SELECT count(*) FROM staging.quarantine")[0][0] == 0
    members = read_warehouse(config, "SELECT account_id, count(*) FROM staging.memberships GROUP BY 1 ORDER BY 1")
    assert members == [("acc_a", 2), ("acc_b", 1)]
    [events_meta] = [
        e.materialization.metadata for e in result.get_asset_materialization_events() if e.asset_key == EVENTS.key
    ]
    assert events_meta["engine"].value == "duckdb"  # the UI says which engine staged the day
    assert check_outcomes(result) == {
        name: (True, "ERROR" if c.blocking else "WARN") for name, c in checks.CHECKS.items()
    }
