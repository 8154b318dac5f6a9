"""`init` on events the project did not generate, then `run`: every event seen is scored, and the
honest warnings fire on a day of unknown events and on an empty day."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
import yaml

from engagement_pipeline.core.config import load_config
from engagement_pipeline.ops.cli import main
from engagement_pipeline.ops.init_command import feature_of

FIXTURE = Path(__file__).parent / "own_events"
EVENTS_SEEN = {"Workspace Opened", "Card Moved", "Board Created", "Invoice Paid", "Report Downloaded", "Sprint Started"}
UNKNOWN_DAY = [
    '{"type":"track","messageId":"m-0301","userId":"u1","event":"Workspace Opened",'
    '"timestamp":"2026-03-05T08:00:00.000Z","context":{"groupId":"acme"}}',
    '{"type":"track","messageId":"m-0302","userId":"u1","event":"Webhook Fired",'
    '"timestamp":"2026-03-05T08:01:00.000Z","context":{"groupId":"acme"}}',
    '{"type":"track","messageId":"m-0303","userId":"u2","event":"Webhook Fired",'
    '"timestamp":"2026-03-05T08:02:00.000Z","context":{"groupId":"globex"}}',
]


def _landing(tmp_path: Path) -> Path:
    landing = tmp_path / "landing"
    shutil.copytree(FIXTURE, landing, ignore=shutil.ignore_patterns("*.md"))
    return landing


def test_init_proposes_every_event_traits_and_a_checklist_and_never_overwrites(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    landing = _landing(tmp_path)
    config_file = tmp_path / "engagement.yaml"
    assert main(["init", "--config", str(config_file), "--landing", str(landing)]) == 0
    text = config_file.read_text()
    config = load_config(config_file)  # valid as written
    assert set(config.model.events) == EVENTS_SEEN
    assert config.model.events["Invoice Paid"].feature == "Invoice"
    assert config.model.events["Workspace Opened"].weight == 1  # the commonest event
    assert config.model.events["Board Created"].weight > config.model.events["Card Moved"].weight
    assert config.start_date.isoformat() == "2026-03-02" and config.paths.landing == landing.resolve()
    steps = [s.event for s in config.model.activation.steps]
    assert "Board Created" in steps and "Workspace Opened" not in steps  # initech's first days, not the commonest
    # volumes, users and accounts per event; traits and the values seen for plan and status
    assert "Card Moved:" in text and "6 events" in text and "3 users, 3 accounts" in text  # the repeat not counted
    assert "plan: 3 of 3 accounts; values: " in text and "trial 1" in text and "pro 1" in text
    assert "status values the model does not know: trialing" in text
    assert "seats: 1 of 3 accounts" in text and "industry: 3 of 3" in text and "country: 3 of 3" in text
    assert "1 would be quarantined" in text  # the line that is not JSON
    # an existing file is never replaced without --force
    config_file.write_text("# mine\n")
    assert main(["init", "--config", str(config_file), "--landing", str(landing)]) == 2
    assert "already exists: pass --force" in capsys.readouterr().err
    assert config_file.read_text() == "# mine\n"
    assert main(["init", "--config", str(config_file), "--landing", str(landing), "--force"]) == 0
    assert yaml.safe_load(config_file.read_text())["model"]["events"]["Sprint Started"]["feature"] == "Sprint"


def test_init_explains_a_missing_or_empty_landing_folder(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    config_file = tmp_path / "engagement.yaml"
    assert main(["init", "--config", str(config_file), "--landing", str(tmp_path / "nowhere")]) == 2
    assert "does not exist: pass --landing DIR" in capsys.readouterr().err
    (tmp_path / "empty" / "2026-01-01").mkdir(parents=True)
    assert main(["init", "--config", str(config_file), "--landing", str(tmp_path / "empty")]) == 2
    assert "no track call" in capsys.readouterr().err
    assert not config_file.exists()


@pytest.mark.parametrize(
    ("event", "feature"), [("Invoice Paid", "Invoice"), ("Sprint Board Created", "Sprint Board"), ("signup", None)]
)
def test_feature_is_the_object_of_an_object_action_name(event: str, feature: str | None) -> None:
    assert feature_of(event) == feature


@pytest.mark.slow  # the CLI through Dagster on five days, about a minute
def test_init_then_run_scores_every_event_seen_and_warns_on_unknown_events_and_an_empty_day(
    tmp_path: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    from dagster import AssetCheckKey, AssetKey, DagsterInstance

    landing = _landing(tmp_path)
    config_file = tmp_path / "engagement.yaml"
    assert main(["init", "--config", str(config_file), "--landing", str(landing)]) == 0
    assert main(["run", "--config", str(config_file)]) == 0
    first = capsys.readouterr().out
    assert "Warnings:" not in first  # every event seen is scored, the traits arrive
    # not a terminal: one plain line per day and stage, no progress bar
    assert "2026-03-04 staging, 11 lines, " in first and "2026-03-04 scoring + exports, " in first
    assert "━" not in first
    config = load_config(config_file)
    con = duckdb.connect(str(config.paths.warehouse), read_only=True)
    try:
        used = {e for (e,) in con.execute("SELECT DISTINCT event FROM accounts.account_feature_usage").fetchall()}
        scored = con.execute(
            "SELECT count(*) FROM accounts.account_scores WHERE as_of_date = '2026-03-04' AND score > 0"
        ).fetchone()
    finally:
        con.close()
    assert used == EVENTS_SEEN and scored == (3,)

    (landing / "2026-03-05").mkdir()
    (landing / "2026-03-05" / "events.jsonl").write_text("\n".join(UNKNOWN_DAY) + "\n")
    (landing / "2026-03-06").mkdir()  # an empty day
    assert main(["run", "--config", str(config_file), "--start", "2026-03-05", "--end", "2026-03-06"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "Warnings: 2 track event(s) seen but not scored (not in model.events): Webhook Fired 2" in out
    assert "1 empty day(s): 2026-03-06" in out
    instance = DagsterInstance.from_config(str(config.paths.dagster_home))
    try:
        failed = {}
        for name in ("unscored_events", "day_has_lines", "model_traits_arrive"):
            key = AssetCheckKey(AssetKey(["staging", "events"]), name)
            for record in instance.event_log_storage.get_asset_check_execution_history(key, limit=20):
                data = record.event.dagster_event.event_specific_data if record.event else None
                if data is not None and hasattr(data, "passed") and not data.passed:
                    failed.setdefault(name, []).append((str(data.severity), data.description))
    finally:
        instance.dispose()
    assert set(failed) == {"unscored_events", "day_has_lines"}
    assert all("WARN" in severity for found in failed.values() for severity, _ in found)
    assert "Webhook Fired 2" in failed["unscored_events"][0][1]
    assert "2026-03-06" in failed["day_has_lines"][0][1]
