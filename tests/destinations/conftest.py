"""Fixtures of the destinations tests: the local receiver, and a writable copy of the demo world."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from engagement_pipeline.core.config import Config
from engagement_pipeline.core.config_destinations import Destinations
from tests.conftest import DemoWorld
from tests.destinations.receiver import receiver  # noqa: F401 - the fixture, for every test here


def world_copy(world: DemoWorld, folder: Path, **destinations: Any) -> Config:
    """The demo world's config on a copy of its warehouse (exports under `folder`), with these destinations."""
    warehouse = folder / "warehouse.duckdb"
    shutil.copy(world.config.paths.warehouse, warehouse)
    paths = world.config.paths.model_copy(update={"warehouse": warehouse, "exports": folder / "exports"})
    return world.config.model_copy(update={"paths": paths, "destinations": Destinations(**destinations)})


@pytest.fixture
def segment_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("TEST_SEGMENT_WRITE_KEY", "wk_test_123")
    return "wk_test_123"
