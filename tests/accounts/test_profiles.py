"""Scoring profiles: weights and checklist per segment, chosen by an account trait, named on every
score row with the model version (a hash of the model config, stable across runs and key order)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engagement_pipeline.core.config import ConfigError, load_config, parse_config
from tests.conftest import HANDFUL_START, base_config, day_range, land_handful, run_days, write_config

PROFILES = {
    "trait": "plan",
    "segments": [
        {
            "name": "paid",
            "when": ["pro"],
            "weights": {"Document Created": 10},
            "activation": {"steps": [{"name": "Created a document", "event": "Document Created"}]},
        }
    ],
}


def _scores(tmp_path: Path, profiles: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    data = base_config(HANDFUL_START.isoformat())
    if profiles:
        data["model"]["profiles"] = profiles
    tmp_path.mkdir(parents=True)
    config = load_config(write_config(tmp_path, data))
    days = day_range(HANDFUL_START, 2)
    land_handful(config, days)
    import duckdb

    run_days(config.paths.warehouse, days, config, through="accounts")
    with duckdb.connect(str(config.paths.warehouse), read_only=True) as con:
        rows = con.execute(
            "SELECT account_id, profile, model_version, activation_pct, activated_at, raw_score "
            "FROM accounts.account_scores WHERE as_of_date = ?",
            [days[-1]],
        ).pl()
    return {r["account_id"]: r | {"version": config.model_version} for r in rows.to_dicts()}


def test_each_account_is_scored_by_its_profile(tmp_path: Path) -> None:
    plain = _scores(tmp_path / "plain", None)
    profiled = _scores(tmp_path / "profiled", PROFILES)
    assert {r["profile"] for r in plain.values()} == {"default"}
    assert {r["profile"] for r in profiled.values()} == {"paid"}  # both handful accounts are on plan pro
    for account, row in profiled.items():
        before = plain[account]
        assert row["model_version"] == row["version"] != before["model_version"] == before["version"]
        assert before["activation_pct"] == 50.0 and before["activated_at"] is None  # 2 of the 4 default steps
        assert row["activation_pct"] == 100.0 and row["activated_at"] is not None  # the profile's one step
        assert row["raw_score"] > before["raw_score"]  # Document Created weighs 10 in the profile


def test_the_model_version_is_stable_and_follows_the_model() -> None:
    data = base_config()
    first = parse_config(data).model_version
    reordered = dict(data, model=dict(reversed(list(data["model"].items()))))
    reordered["model"]["events"] = dict(reversed(list(data["model"]["events"].items())))
    assert parse_config(reordered).model_version == first
    heavier = base_config()
    name = next(iter(heavier["model"]["events"]))
    heavier["model"]["events"][name]["weight"] = heavier["model"]["events"][name]["weight"] % 10 + 1
    assert parse_config(heavier).model_version != first
    with_profile = base_config()
    with_profile["model"]["profiles"] = PROFILES
    assert parse_config(with_profile).model_version not in {first, parse_config(heavier).model_version}


def test_a_profile_weighing_an_unknown_event_is_refused() -> None:
    data = base_config()
    data["model"]["profiles"] = {"segments": [{"name": "trial", "when": ["trial"], "weights": {"Nope": 3}}]}
    with pytest.raises((ConfigError, ValueError), match="not an event in model.events"):
        parse_config(data)
