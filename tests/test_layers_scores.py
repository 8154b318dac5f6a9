from __future__ import annotations

import datetime as dt
from pathlib import Path

from engagement_pipeline import layers
from engagement_pipeline.cli import main
from engagement_pipeline.config import load_config
from engagement_pipeline.warehouse import connect
from tests.conftest import track, write_config, write_day

D = [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(8)]


def test_extra_windows_personal_activation_and_suggest_weights(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    config = load_config(write_config(tmp_path))
    for i, day in enumerate(D):
        lines = [track(f"a{i}", "u1", "Document Created", f"{day}T10:00:00Z", "acc")]
        if i == 0:
            lines.append(track("inv", "u1", "Teammate Invited", f"{day}T11:00:00Z", "acc"))
        if i == len(D) - 1:
            lines.append(track("last", "u2", "Logged In", f"{day}T11:00:00Z", "acc"))
        write_day(config.paths.landing, day, lines)
    con = connect(config.paths.warehouse)
    try:
        for day in D:
            layers.land_raw(con, day, config)
            layers.stage(con, day, config)
        layers.score(con, D[-1], config)
        windows = dict(((w, u), (raw, active)) for w, u, raw, active in con.execute(
            "SELECT window_days, user_id, raw_score, active_days FROM scores.user_window_scores").fetchall())
        personal = dict(con.execute("SELECT user_id, activation_pct FROM scores.user_scores").fetchall())
    finally:
        con.close()
    assert windows[(1, "u1")] == (5.0, 1) and windows[(7, "u1")] == (35.0, 7)
    assert windows[(1, "u2")] == (1.0, 1)
    assert personal == {"u1": 50.0, "u2": 0.0}  # u1 did 2 of the 4 checklist steps
    assert main(["suggest-weights", "--config", str(tmp_path / "engagement.yaml")]) == 0
    out = capsys.readouterr().out
    assert "Document Created:" in out and "Teammate Invited:" in out and "{weight: 10}" in out
