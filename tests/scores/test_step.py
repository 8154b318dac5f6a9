from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from engagement_pipeline.accounts import step as accounts_step
from engagement_pipeline.core.config import load_config
from engagement_pipeline.core.warehouse import connect
from engagement_pipeline.ops.cli import main
from engagement_pipeline.raw import step as raw_step
from engagement_pipeline.scores import step as scores_step
from engagement_pipeline.snapshots import step as snapshots_step
from engagement_pipeline.staging import step as staging_step
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
            raw_step.run(con, day, config)
            staging_step.run(con, day, config)
        scores_step.run(con, D[-1], config)
        windows = dict(
            ((w, u), (raw, active))
            for w, u, raw, active in con.execute(
                "SELECT window_days, user_id, raw_score, active_days FROM scores.user_window_scores"
            ).fetchall()
        )
        personal = dict(con.execute("SELECT user_id, activation_pct FROM scores.user_scores").fetchall())
    finally:
        con.close()
    assert windows[(1, "u1")] == (5.0, 1) and windows[(7, "u1")] == (35.0, 7)
    assert windows[(1, "u2")] == (1.0, 1)
    assert personal == {"u1": 50.0, "u2": 0.0}  # u1 did 2 of the 4 checklist steps
    assert main(["suggest-weights", "--config", str(tmp_path / "engagement.yaml")]) == 0
    out = capsys.readouterr().out
    assert "Document Created:" in out and "Teammate Invited:" in out and "{weight: 10}" in out


@pytest.mark.slow  # about 25 s: several layers over many generated days
def test_compact_scoring_counts_give_the_same_scores_as_the_full_aggregate(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """`scoring_counts` and `account_event_totals` hand scoring users and days, not user-event-days:
    every score, usage, contribution and backtest row must equal what the event-level daily
    aggregate gives when polars weights and totals it, on days with a full history
    (windows shortened so 45 days of demo data cover the whole span the account layer reads)."""
    from engagement_pipeline.demo.generator import generate_demo
    from tests.conftest import base_config

    start = dt.date(2026, 1, 1)
    generate_demo(tmp_path / "landing", start, 45, accounts=30, seed=5, billing_dir=tmp_path / "billing")
    data = base_config()
    data["paths"]["landing"] = str(tmp_path / "landing")
    data["paths"]["billing"] = str(tmp_path / "billing")
    data["model"].update(window_days=10, total_users_days=20, extra_windows=[1, 7])
    config = load_config(write_config(tmp_path, data))
    con = connect(config.paths.warehouse)

    def full(con, weights, scored_start, day, seen_start, seen_ends):  # type: ignore[no-untyped-def]
        """The event-level daily aggregate over the whole span, summed over received days."""
        return con.execute(
            """SELECT event_date, user_id, account_id, type, event, sum(event_count)::BIGINT AS event_count
               FROM staging.daily_event_counts WHERE event_date BETWEEN ? AND ? GROUP BY ALL""",
            [min(scored_start, seen_start), day],
        ).pl()

    try:
        days = [start + dt.timedelta(days=i) for i in range(45)]
        for day in days:
            raw_step.run(con, day, config)
            staging_step.run(con, day, config)
        for day in days[-12:]:
            compact = (
                scores_step.run(con, day, config).scores,
                accounts_step.run(con, day, config),
                snapshots_step.run(con, day, config).backtest,
            )
            with monkeypatch.context() as m:
                for module in (scores_step, accounts_step, snapshots_step):
                    m.setattr(module, "scoring_counts", full)  # event-level rows, weighted in polars
                m.setattr(accounts_step, "account_event_totals", lambda *args: None)  # totals computed in polars
                reference = (
                    scores_step.run(con, day, config).scores,
                    accounts_step.run(con, day, config),
                    snapshots_step.run(con, day, config).backtest,
                )
            assert compact[0].equals(reference[0]), day
            for name in ("scores", "usage", "contributions"):
                assert getattr(compact[1], name).equals(getattr(reference[1], name)), (day, name)
            assert compact[2].sort(pl.all()).equals(reference[2].sort(pl.all())), day
            assert compact[1].scores.filter(pl.col("active_users") > 0).height > 10
    finally:
        con.close()
