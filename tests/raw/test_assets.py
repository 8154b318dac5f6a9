"""raw's assets through `dagster.materialize` on a temporary warehouse: the day's lines land, the check passes."""

from __future__ import annotations

from checks import raw as checks
from tests.conftest import Handful, check_outcomes, materialize_layer, read_warehouse


def test_landed_lines_materializes_the_partitions_lines_and_its_check_passes(handful: Handful) -> None:
    day = handful.days[0]
    result = materialize_layer("raw", handful.config, day)
    assert result.success
    rows = read_warehouse(handful.config, "SELECT received_date, count(*) FROM raw.landed_lines GROUP BY 1")
    assert dict(rows) == {day: handful.landed[day]}  # the partition's day only, every line of it
    assert check_outcomes(result) == {name: (True, "ERROR") for name in checks.CHECKS}
