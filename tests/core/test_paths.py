"""Paths are validated against each other at load: none equal to another, none inside another.

With `paths.exports` equal to `paths.landing`, `run` deleted the landed days (issue 15, case J):
the export step prunes day folders of its root, which were the landed days. Every pair of the
landing, warehouse, exports, billing and Dagster home paths is now checked when the config loads.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from engagement_pipeline.core.config import load_config
from engagement_pipeline.core.errors import ConfigError
from engagement_pipeline.ops.cli import main
from tests.conftest import base_config, write_config, write_day
from tests.reliability import file_fingerprints


def _load(tmp_path: Path, **paths: Any) -> str | None:
    data = base_config()
    data["paths"] = {**data["paths"], **paths}
    try:
        load_config(write_config(tmp_path, data))
    except ConfigError as exc:
        return str(exc)
    return None


def test_the_repository_layout_is_accepted(tmp_path: Path) -> None:
    # The warehouse file sits in data/ beside the folders, data/dagster_home by default.
    assert _load(tmp_path) is None
    assert _load(tmp_path, billing=None) is None
    assert (
        _load(
            tmp_path,
            landing="in/landing",
            warehouse="db/warehouse.duckdb",
            exports="out/exports",
            billing="in/billing",
            dagster_home="state/dagster",
        )
        is None
    )


@pytest.mark.parametrize(
    ("paths", "first", "second", "relation"),
    [
        ({"exports": "data/landing"}, "paths.exports", "paths.landing", "same"),
        ({"exports": "data/landing/exports"}, "paths.exports", "paths.landing", "inside"),
        ({"landing": "data/exports/landing"}, "paths.landing", "paths.exports", "inside"),
        ({"exports": "./data/../data/landing/"}, "paths.exports", "paths.landing", "same"),
        ({"billing": "data/exports"}, "paths.exports", "paths.billing", "same"),
        ({"billing": "data/landing/billing"}, "paths.billing", "paths.landing", "inside"),
        ({"warehouse": "data/landing/warehouse.duckdb"}, "paths.warehouse", "paths.landing", "inside"),
        ({"warehouse": "data/exports"}, "paths.warehouse", "paths.exports", "same"),
        ({"warehouse": "data/exports/w.duckdb"}, "paths.warehouse", "paths.exports", "inside"),
        ({"dagster_home": "data/exports"}, "paths.exports", "paths.dagster_home", "same"),
        ({"dagster_home": "data/landing/.dagster"}, "paths.dagster_home", "paths.landing", "inside"),
        (
            {"warehouse": "data/dagster_home/w.duckdb", "dagster_home": "data/dagster_home"},
            "paths.warehouse",
            "paths.dagster_home",
            "inside",
        ),
        # The default Dagster home (dagster_home/ beside the warehouse) counts too.
        ({"landing": "data/dagster_home"}, "paths.landing", "paths.dagster_home", "same"),
    ],
)
def test_overlapping_paths_are_one_sentence_naming_both_keys(
    tmp_path: Path, paths: dict[str, str], first: str, second: str, relation: str
) -> None:
    message = _load(tmp_path, **paths)
    assert message is not None, f"{paths} was accepted"
    assert first in message and second in message, message
    assert ("the same" in message) if relation == "same" else ("inside" in message), message
    assert "side by side" in message, message  # the fix
    assert message.count(". ") == 0 and message.endswith("."), message  # one sentence


def test_a_symlink_to_another_path_is_the_same_path(tmp_path: Path) -> None:
    (tmp_path / "data" / "landing").mkdir(parents=True)
    (tmp_path / "alias").symlink_to(tmp_path / "data" / "landing")
    message = _load(tmp_path, exports="alias")
    assert message is not None and "paths.exports" in message and "paths.landing" in message


def test_run_with_exports_equal_to_landing_refuses_and_keeps_the_landed_days(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = base_config()
    data["paths"] = {**data["paths"], "exports": "data/landing"}
    config = write_config(tmp_path, data)
    landing = tmp_path / "data" / "landing"
    write_day(
        landing,
        dt.date(2026, 1, 1),
        [
            {
                "type": "track",
                "messageId": "m1",
                "userId": "u1",
                "event": "Logged In",
                "timestamp": "2026-01-01T10:00:00Z",
            }
        ],
    )
    before = file_fingerprints({"landing": landing})
    assert main(["run", "--config", str(config)]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and err[0].startswith("error: ") and "paths.exports" in err[0], err
    assert file_fingerprints({"landing": landing}) == before
