"""`engagement-pipeline rescore`: a new model version for a range of as-of days, the old rows kept for
the comparison, one row per account and day in the contract table, and one-sentence errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest
import yaml

from engagement_pipeline.core.config import load_config
from engagement_pipeline.ops.cli import main
from engagement_pipeline.snapshots.history import score_band
from tests.conftest import DemoWorld


def _copy(demo_world: DemoWorld, tmp_path: Path) -> Path:
    folder = tmp_path / "world"
    shutil.copytree(demo_world.folder, folder)
    return folder / demo_world.config_path.name


def test_rescore_makes_a_new_version_and_shows_what_moved(
    demo_world: DemoWorld, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _copy(demo_world, tmp_path)
    old_version = load_config(path).model_version
    data = yaml.safe_load(path.read_text())
    for spec in data["model"]["events"].values():  # a different model: every weight flattened to 1 ...
        spec["weight"] = 1
    data["model"]["health"] = {"min_healthy_score": 60}  # ... and a stricter healthy
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    config = load_config(path)
    assert config.model_version != old_version
    first, last = demo_world.days[0], demo_world.days[-1]
    with duckdb.connect(str(config.paths.warehouse), read_only=True) as con:
        before = con.execute("SELECT * FROM accounts.account_scores").pl()

    assert main(["rescore", "--config", str(path), "--start", str(first), "--end", str(last)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert f"model {old_version} -> {config.model_version}" in out
    with duckdb.connect(str(config.paths.warehouse), read_only=True) as con:
        after = con.execute("SELECT * FROM accounts.account_scores").pl()
        kept = con.execute("SELECT * FROM accounts.account_score_versions").pl()
        exported = con.execute("SELECT DISTINCT model_version FROM exports.export_runs").fetchall()
    # the contract table: one row per account and day, all of the new version; the old rows kept apart
    assert after.height == before.height == after.select("as_of_date", "account_id").n_unique()
    assert set(after["model_version"]) == {config.model_version}
    assert set(kept["model_version"]) == {old_version} and kept.height == before.height
    assert exported == [(config.model_version,)]
    # what moved, recomputed here from the two versions' rows
    both = after.join(kept, on=["as_of_date", "account_id"], suffix="_old")
    moved = both.filter(
        (score_band(pl.col("score")) != score_band(pl.col("score_old")))
        | (pl.col("health") != pl.col("health_old"))
        | (pl.col("is_pql") != pl.col("is_pql_old"))
    )
    assert moved.height > 0  # a stricter healthy moves some accounts
    folder = next((config.paths.exports / "rescore").iterdir())
    report = pl.read_csv(folder / "moved_accounts.csv")
    assert report.height == moved.height
    assert f"{moved.height} of {both.height} account-days moved" in out

    text = (folder / "comparison.md").read_text()
    assert "old AUC" in text and "new AUC" in text and f"-> {config.model_version}" in text

    # rescoring again under the same model: nothing moves, the prior copy of that version is replaced
    assert main(["rescore", "--config", str(path), "--start", str(first), "--end", str(last)]) == 0
    assert "; 0 of " in " ".join(capsys.readouterr().out.split())  # "; 10 of " would not match
    with duckdb.connect(str(config.paths.warehouse), read_only=True) as con:
        versions = dict(
            con.execute("SELECT model_version, count(*) FROM accounts.account_score_versions GROUP BY 1").fetchall()
        )
    assert versions == {old_version: before.height, config.model_version: before.height}


@pytest.mark.parametrize(
    ("start", "end", "words"),
    [
        ("2020-01-01", "2020-01-05", "holds no account scores from 2020-01-01 to 2020-01-05"),
        ("2026-01-03", "2026-01-01", "--end 2026-01-01 is before --start 2026-01-03: swap them."),
    ],
)
def test_rescore_errors_are_one_sentence(
    demo_world: DemoWorld, tmp_path: Path, capsys: pytest.CaptureFixture[str], start: str, end: str, words: str
) -> None:
    path = _copy(demo_world, tmp_path)
    assert main(["rescore", "--config", str(path), "--start", start, "--end", end]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert words in err and "Traceback" not in err and err.count(". ") == 0
