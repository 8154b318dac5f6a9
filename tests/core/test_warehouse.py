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
