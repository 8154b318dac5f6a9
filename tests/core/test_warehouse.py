"""Opening the warehouse: a damaged file is named as damaged, not as locked."""

from __future__ import annotations

from pathlib import Path

import pytest

from engagement_pipeline.core.errors import PipelineError
from engagement_pipeline.core.warehouse import connect


@pytest.mark.parametrize("read_only", [True, False])
def test_a_file_that_is_not_a_warehouse_is_called_damaged_not_locked(tmp_path: Path, read_only: bool) -> None:
    path = tmp_path / "warehouse.duckdb"
    path.write_bytes(b"not a duckdb file" * 1000)
    with pytest.raises(PipelineError) as error:
        connect(path, read_only=read_only, wait_seconds=0.0)
    message = str(error.value)
    assert "locked" not in message
    assert str(path) in message and "restore it" in message


def test_every_column_has_one_description_shared_by_the_ui_and_the_warehouse(tmp_path: Path) -> None:
    """The column schema Dagster shows and the DuckDB column comments come from one definition."""
    from engagement_pipeline.core.warehouse import ALL_TABLES, connect

    missing = [f"{t.qualified}.{c}" for t in ALL_TABLES for c in t.column_names if not t.description_of(c)]
    assert not missing, f"describe these columns in core/columns.py: {missing}"
    con = connect(tmp_path / "w.duckdb")
    try:
        comments = {
            (f"{s}.{t}", c): comment
            for s, t, c, comment in con.execute(
                "SELECT schema_name, table_name, column_name, comment FROM duckdb_columns()"
            ).fetchall()
        }
    finally:
        con.close()
    for table in ALL_TABLES:
        schema = {col.name: col.description for col in table.column_schema().columns}
        for column in table.column_names:
            assert comments[(table.qualified, column)] == schema[column] == table.description_of(column)
