"""The commands behind `run`, `suggest-weights` and `ui`, and the summary the demo prints."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable

from engagement_pipeline.core.config import Config
from engagement_pipeline.core.errors import PipelineError

if TYPE_CHECKING:
    from engagement_pipeline.ops.runner import DayRun

console = Console(stderr=False, highlight=False)
err_console = Console(stderr=True, highlight=False)


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


STAGE_LABELS = {"all": "running", "staging": "staging", "model": "scoring + exports", "restate": "restating"}


def cmd_run(
    config: Config,
    date: dt.date | None,
    start: dt.date | None,
    end: dt.date | None,
    restate: bool = True,
    stage_first: bool = True,
) -> list:
    from engagement_pipeline.ops.runner import resolve_days, run_days

    days = resolve_days(config, date, start, end)
    started = time.perf_counter()
    if not console.is_terminal:  # a log file or a pipe: a bar's frames would show only at the end
        runs = run_days(config, days, _plain_line(started), restate=restate, stage_first=stage_first)
        _finish(config, days, runs, started)
        return runs
    with _progress() as progress:
        tasks: dict[str, TaskID] = {}

        def on_run(run: DayRun) -> None:
            if run.stage not in tasks:
                total = None if run.stage == "restate" else len(days)
                tasks[run.stage] = progress.add_task(STAGE_LABELS[run.stage], total=total, detail="")
            rate = f"  {run.lines / run.seconds:,.0f} lines/s" if run.lines and run.seconds else ""
            lines = f"  {run.lines:,} lines" if run.lines else ""
            progress.update(tasks[run.stage], advance=1, detail=f"{run.day}{lines}{rate}  {run.seconds:.1f} s")

        runs = run_days(config, days, on_run, restate=restate, stage_first=stage_first)
    _finish(config, days, runs, started)
    return runs


def plain_progress(run: DayRun, elapsed: float) -> str:
    """One line per finished day for logs: day, stage, lines, lines/s, the day's seconds, elapsed."""
    lines = f", {run.lines:,} lines, {run.lines / run.seconds:,.0f} lines/s" if run.lines and run.seconds else ""
    clock = time.strftime("%H:%M:%S", time.gmtime(elapsed))
    return f"{run.day} {STAGE_LABELS[run.stage]}{lines}, {run.seconds:.1f} s (elapsed {clock})"


def _plain_line(started: float) -> Callable[[DayRun], None]:
    def on_run(run: DayRun) -> None:
        print(plain_progress(run, time.perf_counter() - started), flush=True)

    return on_run


def _finish(config: Config, days: list[dt.date], runs: list[DayRun], started: float) -> None:
    from engagement_pipeline.staging.coverage import summary_line

    warnings = summary_line(r.coverage for r in runs if r.coverage is not None)
    if warnings:
        console.print(warnings, soft_wrap=True, markup=False)
    restated = sorted({r.day for r in runs if r.stage == "restate"})
    note = f"; restated {len(restated)} earlier as-of day(s) made stale by late data" if restated else ""
    console.print(
        f"Materialized {len(days)} day(s) ({days[0]} .. {days[-1]}) in {time.perf_counter() - started:.1f} s"
        f"{note}; runs recorded in {config.paths.dagster_home}."
    )


def print_summary(config: Config, day: dt.date) -> None:
    """Top accounts, PQLs and at-risk accounts of the day, where the CSVs are, how to open the UI."""
    from engagement_pipeline.core.warehouse import connect

    con = connect(config.paths.warehouse, read_only=True)
    try:
        product = con.execute("SELECT * FROM snapshots.product_daily WHERE date = ?", [day]).pl()
        scores = con.execute("SELECT * FROM accounts.account_scores WHERE as_of_date = ?", [day]).pl()
    finally:
        con.close()
    if product.height:
        p = product.row(0, named=True)
        console.print(
            f"\n[bold]{day}[/bold]: product score {p['product_score']}, {p['active_accounts']} of "
            f"{p['total_accounts']} accounts active, {p['active_users']} active users; "
            f"{p['heating_accounts']} heating, {p['cooling_accounts']} cooling; "
            f"{p['pql_accounts']} PQLs, {p['at_risk_accounts']} at risk."
        )

    def table(title: str, rows: list[dict], columns: list[str]) -> None:
        t = RichTable(title=title, title_justify="left")
        for c in columns:
            t.add_column(c)
        for r in rows:
            t.add_row(*["" if r[c] is None else str(r[c]) for c in columns])
        console.print(t)

    top = scores.sort(["score", "account_id"], descending=[True, False]).head(5)
    table("Top accounts", top.to_dicts(), ["account_id", "name", "score", "active_users", "trend", "health"])
    pql = scores.filter(pl.col("is_pql")).sort(["score", "account_id"], descending=[True, False])
    table(
        f"Product-qualified leads ({pql.height})", pql.head(5).to_dicts(), ["account_id", "name", "score", "pql_reason"]
    )
    at_risk = (
        scores.filter(pl.col("health") == "at_risk")
        .with_columns((pl.col("churn_risk") * pl.col("mrr")).round(0).alias("mrr_at_risk"))
        .with_columns(pl.format("{}%", (pl.col("churn_risk") * 100).round(0).cast(pl.Int64)).alias("churn_risk"))
        .sort(["mrr_at_risk", "account_id"], descending=[True, False])
    )
    table(
        f"At-risk accounts ({at_risk.height}), by MRR at risk",
        at_risk.head(5).to_dicts(),
        ["account_id", "name", "mrr", "churn_risk", "health_reason"],
    )
    latest = config.paths.exports / "latest"
    target = os.readlink(latest) if latest.is_symlink() else "(none yet)"
    console.print(f"Exports: {latest} -> {config.paths.exports / target} (CSVs, report.html, charts, manifest.json)")
    console.print("Open the Dagster UI with `make ui` (http://127.0.0.1:3000): lineage, runs, checks, metadata.")


def cmd_suggest_weights(config: Config, days: int | None) -> None:
    from engagement_pipeline.core.warehouse import connect
    from engagement_pipeline.ops.failures import check_warehouse
    from engagement_pipeline.scores.weights import suggest_weights, yaml_block

    if not config.paths.warehouse.exists():
        raise PipelineError(f"no warehouse at {config.paths.warehouse}: run `engagement-pipeline run` first.")
    check_warehouse(config.paths.warehouse, read_only=True)
    con = connect(config.paths.warehouse, read_only=True)
    try:
        row = con.execute("SELECT max(event_date) FROM staging.daily_event_counts").fetchone()
        last = row[0] if row else None
        if last is None:
            raise PipelineError("the warehouse has no staged events yet: run `engagement-pipeline run` first.")
        since = last - dt.timedelta(days=days - 1) if days else dt.date(1970, 1, 1)
        freq = con.execute(
            """SELECT event, sum(event_count)::BIGINT AS events, count(DISTINCT user_id) AS users,
                      count(DISTINCT account_id) AS accounts
               FROM staging.daily_event_counts WHERE type = 'track' AND event IS NOT NULL AND event_date >= ?
               GROUP BY event""",
            [since],
        ).pl()
    finally:
        con.close()
    console.print(
        f"# {int(freq['events'].sum()):,} track events of {freq.height} kinds, {since if days else 'all days'} .. {last}"
    )
    features = {name: spec.feature for name, spec in config.model.events.items()}
    print(yaml_block(suggest_weights(freq), config.model.weights, features))


def cmd_ui(config: Config) -> None:
    from engagement_pipeline.ops.instance import ui_environment

    env = ui_environment(config)
    workspace = Path.cwd() / "workspace.yaml"
    if not workspace.exists():
        raise PipelineError(f"{workspace} not found: run `make ui` from the repository root.")
    dagster = shutil.which("dagster") or str(Path(sys.executable).parent / "dagster")
    os.execve(
        dagster,
        [
            dagster,
            "dev",
            "-w",
            str(workspace),
            "-h",
            os.environ.get("UI_HOST", "127.0.0.1"),
            "-p",
            os.environ.get("UI_PORT", "3000"),
        ],
        env,
    )
