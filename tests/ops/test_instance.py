"""The Dagster instance folder: created for the CLI and `make ui`, readable by its owner only."""

from __future__ import annotations

import stat
from pathlib import Path

from engagement_pipeline.core.config import load_config
from engagement_pipeline.ops.instance import instance_home
from tests.conftest import write_config


def test_the_instance_folder_is_owner_only_even_when_it_existed_world_readable(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path))
    assert config.paths.dagster_home is not None
    config.paths.dagster_home.mkdir(parents=True)
    config.paths.dagster_home.chmod(0o755)
    home = instance_home(config)
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert (home / "dagster.yaml").read_text(encoding="utf-8").startswith("# Written by engagement-pipeline")
