"""The `engagement-pipeline` command: demo, generate, run, suggest-weights, ui.

Every failure a user can fix ends with one sentence on stderr, never a traceback, and
an exit code that says which kind it was:

- 0: done;
- 1: a blocking data-quality check failed (downstream assets were not materialized);
- 2: anything else the user can fix: the config, a path, the input, another writer,
  a full disk (naming the folder), a damaged warehouse (naming the file and what to do);
- 130: interrupted by SIGINT (Ctrl-C);
- 143: stopped by SIGTERM (`kill`, a service manager). A stop is not a failure: both
  stop at once, the day being written is rolled back (the warehouse writes are
  transactional, export folders are published whole or not at all), the days already
  finished are kept, and running the same command again finishes the work.

The demo writes only where nothing is (or where an earlier demo wrote, as its manifest
says) and removes only what it wrote: see `_prepare_demo_outputs`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable

from engagement_pipeline.core.config import CONFIG_ENV_VAR, Config, apart_problem, load_config
from engagement_pipeline.core.errors import CheckFailedError, PipelineError, Stopped, stop_on_signals

if TYPE_CHECKING:
    from engagement_pipeline.demo.generator import GenerationSummary
    from engagement_pipeline.ops.runner import DayRun

# The demo's manifest, in the landing folder it created: the paths it claimed, the files it generated.
DEMO_MARKER = ".engagement-demo"
GROUND_TRUTH = "ground truth"  # the demo's answer key, `ground_truth/` beside the landing folder
console = Console(stderr=False, highlight=False)
err_console = Console(stderr=True, highlight=False)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date in YYYY-MM-DD form") from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", help=f"config file (default: ${CONFIG_ENV_VAR} or ./engagement.yaml)")
    parser = argparse.ArgumentParser(
        prog="engagement-pipeline",
        description="Account-level product engagement from Segment events, on Dagster and DuckDB.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", parents=[common], help="generate demo data, run every day, write the exports")
    demo.add_argument("--days", type=_positive, help="days of demo data (default: demo.days, 60)")
    demo.add_argument("--accounts", type=_positive, help="number of accounts (default: demo.accounts, 250)")
    demo.add_argument("--seed", type=int, help="random seed (default: demo.seed)")

    gen = sub.add_parser("generate", parents=[common], help="write demo events only")
    gen.add_argument("--landing", type=Path, required=True, help="landing folder to write day folders into")
    gen.add_argument("--start", type=_date, required=True, help="first day, YYYY-MM-DD")
    gen.add_argument("--days", type=_positive, required=True)
    gen.add_argument("--accounts", type=_positive, required=True)
    gen.add_argument("--seed", type=int, default=42)
    gen.add_argument("--billing", type=Path, help="billing folder (default: billing/ beside the landing folder)")

    run = sub.add_parser("run", parents=[common], help="materialize every asset for daily partitions")
    run.add_argument("--date", type=_date, help="one day")
    run.add_argument("--start", type=_date, help="first day of a range")
    run.add_argument("--end", type=_date, help="last day of a range")
    run.add_argument("--no-restate", action="store_true",
                     help="do not re-run earlier as-of days that late data in these days made stale")

    sug = sub.add_parser("suggest-weights", parents=[common],
                         help="propose event weights from the staged data (rarer events weigh more)")
    sug.add_argument("--days", type=_positive, help="only the last N days of events (default: all staged days)")

    sub.add_parser("ui", parents=[common], help="start the Dagster UI on the same instance (make ui)")
    return parser


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"), TimeElapsedColumn(), console=console, transient=False,
    )


STAGE_LABELS = {"all": "running", "staging": "staging", "model": "scoring + exports", "restate": "restating"}


def cmd_run(config: Config, date: dt.date | None, start: dt.date | None, end: dt.date | None,
            restate: bool = True, stage_first: bool = True) -> list:
    from engagement_pipeline.ops.runner import resolve_days, run_days

    days = resolve_days(config, date, start, end)
    started = time.perf_counter()
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
    restated = sorted({r.day for r in runs if r.stage == "restate"})
    note = f"; restated {len(restated)} earlier as-of day(s) made stale by late data" if restated else ""
    console.print(f"Materialized {len(days)} day(s) ({days[0]} .. {days[-1]}) in {time.perf_counter() - started:.1f} s"
                  f"{note}; runs recorded in {config.paths.dagster_home}.")
    return runs


def _generate(landing: Path, start: dt.date, days: int, accounts: int, seed: int, billing: Path | None,
              truth: Path | None = None) -> GenerationSummary:
    from engagement_pipeline.demo.generator import generate_demo

    started = time.perf_counter()
    summary = generate_demo(landing, start, days, accounts=accounts, seed=seed, billing_dir=billing, truth_dir=truth)
    console.print(
        f"Generated {summary.lines:,} lines ({summary.track_events:,} track events, {summary.duplicates:,} duplicates, "
        f"{summary.malformed:,} malformed, {summary.late:,} late) for {summary.accounts} accounts and "
        f"{summary.users} users over {days} days into {landing} in {time.perf_counter() - started:.1f} s."
    )
    return summary


def _demo_outputs(config: Config) -> dict[str, Path]:
    """Every path the demo writes, by the config key that names it."""
    outputs = {"paths.landing": config.paths.landing, GROUND_TRUTH: config.paths.landing.parent / "ground_truth",
               "paths.warehouse": config.paths.warehouse, "paths.exports": config.paths.exports}
    if config.paths.billing is not None:
        outputs["paths.billing"] = config.paths.billing
    return outputs


def _read_manifest(landing: Path) -> dict[str, Any] | None:
    marker = landing / DEMO_MARKER
    if not marker.is_file():
        return None
    try:
        manifest = json.loads(marker.read_text(encoding="utf-8"))
    except (ValueError, OSError):
        manifest = None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("claims"), dict):
        # The marker of earlier versions (a line of text): it vouched for the landing folder alone.
        return {"claims": {"paths.landing": str(landing)}, "files": {}}
    return manifest


def _write_manifest(landing: Path, manifest: dict[str, Any]) -> None:
    landing.mkdir(parents=True, exist_ok=True)
    tmp = landing / f"{DEMO_MARKER}.tmp"
    tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, landing / DEMO_MARKER)


def _present(key: str, path: Path) -> bool:
    """Whether the path holds anything (a missing path or an empty folder holds nothing)."""
    if key == "paths.warehouse":
        return path.exists() or path.is_symlink() or Path(f"{path}.wal").exists()
    if path.is_dir() and not path.is_symlink():
        return any(path.iterdir())
    return path.exists() or path.is_symlink()


def _is_day(name: str) -> bool:
    try:
        dt.date.fromisoformat(name)
    except ValueError:
        return False
    return True


def _not_written_by_demo(key: str, path: Path, manifest: dict[str, Any]) -> Path | None:
    """The first thing under a path the demo claimed that neither it nor its runs wrote, if any."""
    if key == "paths.warehouse":
        return path if path.is_dir() or path.is_symlink() else None
    if path.is_symlink() or not path.is_dir():
        return path
    if key == "paths.exports":
        # What the export step writes: `DAY` and `latest` (folders or links) and its hidden work and
        # version entries, `.DAY.*` and `.latest.*`.
        for entry in sorted(path.iterdir()):
            name = entry.name[1:].split(".", 1)[0] if entry.name.startswith(".") else entry.name
            if not (name == "latest" or _is_day(name)):
                return entry
        return None
    listed = manifest.get("files", {}).get(key)
    if listed is None:  # claimed, but the generation stopped before it listed its files: all of it is the demo's
        return None
    known = set(listed)
    for entry in sorted(path.rglob("*")):
        if entry.is_dir() and not entry.is_symlink():
            continue
        relative = entry.relative_to(path).as_posix()
        if relative not in known and not (key == "paths.landing" and relative.startswith(DEMO_MARKER)):
            return entry
    return None


def _prepare_demo_outputs(config: Config) -> dict[str, Path]:
    """Make room for the demo without touching anything it did not write; returns its outputs.

    Each path the demo writes (landing, ground truth, warehouse, exports, billing) must be missing,
    an empty folder, or claimed in the manifest an earlier demo wrote into its landing folder
    (`DEMO_MARKER`) and hold nothing else than what that demo and its runs wrote. Any other path
    that holds something makes the demo refuse, naming it, before anything is removed. Then the
    claimed paths are removed, and the new manifest claims every path before anything is written
    there, so an interrupted demo still knows what is its own. The Dagster instance is never
    removed: the demo's runs are added to its history, as every run's are.
    """
    from engagement_pipeline.ops.runner import warehouse_lock

    outputs = _demo_outputs(config)
    problem = apart_problem(outputs)
    if problem:
        raise PipelineError(f"the demo writes its ground truth beside the landing folder, and {problem}.")
    landing = config.paths.landing
    manifest = _read_manifest(landing) if landing.is_dir() else None
    claims = manifest["claims"] if manifest else {}
    owned: list[tuple[str, Path]] = []
    for key, path in outputs.items():  # every check first: a refusal touches nothing
        if not _present(key, path):
            continue
        if manifest is None or claims.get(key) != str(path):
            where = ("the ground truth beside paths.landing", "paths.landing") if key == GROUND_TRUTH else (key, key)
            raise PipelineError(
                f"{path} ({where[0]}) holds data the demo did not write: point {where[1]} at a new or empty folder "
                f"for the demo (a separate config file), or move that data away."
            )
        stray = _not_written_by_demo(key, path, manifest)
        if stray is not None:
            raise PipelineError(
                f"{stray} in {key} is a file the demo did not write, and the demo replaces that folder: move "
                f"it away (or point {key} elsewhere) and run the demo again."
            )
        owned.append((key, path))
    with warehouse_lock(config):  # not while a `run` writes the warehouse
        for key, path in owned:
            if key == "paths.warehouse":
                for suffix in ("", ".wal"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
            else:
                shutil.rmtree(path)
        _write_manifest(landing, {"written_by": "engagement-pipeline demo",
                                  "claims": {key: str(path) for key, path in outputs.items()}, "files": {}})
    return outputs


def _list_generated(outputs: dict[str, Path]) -> None:
    """Record in the manifest the files the generator wrote, so a later demo can tell a stranger among them."""
    landing = outputs["paths.landing"]
    manifest = _read_manifest(landing) or {"claims": {}, "files": {}}
    for key in ("paths.landing", GROUND_TRUTH, "paths.billing"):
        folder = outputs.get(key)
        if folder is not None and folder.is_dir():
            manifest["files"][key] = sorted(
                p.relative_to(folder).as_posix() for p in folder.rglob("*")
                if not (p.is_dir() and not p.is_symlink()) and not p.name.startswith(DEMO_MARKER))
    _write_manifest(landing, manifest)


def cmd_demo(config: Config, days: int | None, accounts: int | None, seed: int | None) -> None:
    days = days or config.demo.days
    accounts = accounts or config.demo.accounts
    seed = config.demo.seed if seed is None else seed
    outputs = _prepare_demo_outputs(config)
    started = time.perf_counter()
    _generate(config.paths.landing, config.start_date, days, accounts, seed, config.paths.billing,
              truth=outputs[GROUND_TRUTH])
    _list_generated(outputs)
    end = config.start_date + dt.timedelta(days=days - 1)
    # Day by day, one run each, as the daily schedule would have run them: the history shows
    # what was known each day (late events join the days after they land), and it is fast.
    cmd_run(config, None, config.start_date, end, restate=False, stage_first=False)
    print_summary(config, end)
    console.print(f"Demo finished in {time.perf_counter() - started:.0f} s.")


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
    table(f"Product-qualified leads ({pql.height})", pql.head(5).to_dicts(), ["account_id", "name", "score", "pql_reason"])
    at_risk = scores.filter(pl.col("health") == "at_risk").with_columns(
        (pl.col("churn_risk") * pl.col("mrr")).round(0).alias("mrr_at_risk")
    ).sort(["mrr_at_risk", "account_id"], descending=[True, False])
    table(f"At-risk accounts ({at_risk.height}), by MRR at risk", at_risk.head(5).to_dicts(),
          ["account_id", "name", "mrr", "churn_risk", "health_reason"])
    latest = config.paths.exports / "latest"
    target = os.readlink(latest) if latest.is_symlink() else "(none yet)"
    console.print(f"Exports: {latest} -> {config.paths.exports / target} (CSVs, report.html, charts, manifest.json)")
    console.print("Open the Dagster UI with `make ui` (http://127.0.0.1:3000): lineage, runs, checks, metadata.")


def cmd_suggest_weights(config: Config, days: int | None) -> None:
    from engagement_pipeline.core.warehouse import connect
    from engagement_pipeline.ops.runner import check_warehouse
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
    console.print(f"# {int(freq['events'].sum()):,} track events of {freq.height} kinds, {since if days else 'all days'} .. {last}")
    print(yaml_block(suggest_weights(freq), config.model.weights))


def cmd_ui(config: Config) -> None:
    from engagement_pipeline.ops.runner import ui_environment

    env = ui_environment(config)
    workspace = Path.cwd() / "workspace.yaml"
    if not workspace.exists():
        raise PipelineError(f"{workspace} not found: run `make ui` from the repository root.")
    dagster = shutil.which("dagster") or str(Path(sys.executable).parent / "dagster")
    os.execve(dagster, [dagster, "dev", "-w", str(workspace), "-h", os.environ.get("UI_HOST", "127.0.0.1"),
                        "-p", os.environ.get("UI_PORT", "3000")], env)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    config: Config | None = None
    try:
        with stop_on_signals():
            if args.command == "generate":
                billing = args.billing or args.landing.parent / "billing"
                _generate(args.landing.resolve(), args.start, args.days, args.accounts, args.seed, billing.resolve())
                return 0
            config = load_config(args.config)
            if args.command == "demo":
                cmd_demo(config, args.days, args.accounts, args.seed)
            elif args.command == "run":
                cmd_run(config, args.date, args.start, args.end, restate=not args.no_restate)
            elif args.command == "suggest-weights":
                cmd_suggest_weights(config, args.days)
            elif args.command == "ui":
                cmd_ui(config)
        return 0
    except CheckFailedError as exc:
        err_console.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        return 1
    except PipelineError as exc:
        err_console.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        return 2
    except (Stopped, KeyboardInterrupt) as exc:
        signum = exc.signum if isinstance(exc, Stopped) else signal.SIGINT
        word = "terminated" if signum == signal.SIGTERM else "interrupted"
        err_console.print(f"{word}: the day being written was rolled back; run the same command again.", soft_wrap=True)
        return 128 + signum
    except Exception as exc:
        # A full disk or a damaged warehouse met outside any step (Dagster's storage, the summary's reads):
        # one sentence too; anything else is a bug, and keeps its traceback.
        from engagement_pipeline.ops.runner import explain_exception

        problem = explain_exception(exc, config) if config is not None else None
        if problem is None:
            raise
        err_console.print(f"[red]error:[/red] {problem}", soft_wrap=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())
