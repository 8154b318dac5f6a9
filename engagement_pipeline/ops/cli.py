"""The `engagement-pipeline` command: init, demo, generate, run, suggest-weights, ui, rescore, collect.

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
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from engagement_pipeline.core.config import CONFIG_ENV_VAR, Config, config_path, load_config
from engagement_pipeline.core.errors import CheckFailedError, PipelineError, Stopped, stop_on_signals
from engagement_pipeline.ops.commands import cmd_run, cmd_suggest_weights, cmd_ui, err_console
from engagement_pipeline.ops.demo_command import cmd_demo, generate_events
from engagement_pipeline.ops.init_command import cmd_init

if TYPE_CHECKING:
    pass


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

    def command(name: str, example: str, **kwargs: object) -> argparse.ArgumentParser:
        """A subcommand whose --help ends with an example."""
        epilog = f"example:\n  engagement-pipeline {name} {example}".rstrip()
        return sub.add_parser(name, epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs)  # type: ignore[arg-type]

    init = command(
        "init",
        "--landing data/landing",
        parents=[common],
        help="write a commented engagement.yaml proposed from a sample of the landed events",
    )
    init.add_argument("--landing", help="landing folder with YYYY-MM-DD day folders (default: data/landing)")
    init.add_argument("--force", action="store_true", help="replace the config file if it exists")

    demo = command(
        "demo",
        "--days 30 --accounts 100",
        parents=[common],
        help="generate demo data, run every day, write the exports",
    )
    demo.add_argument("--days", type=_positive, help="days of demo data (default: demo.days, 60)")
    demo.add_argument("--accounts", type=_positive, help="number of accounts (default: demo.accounts, 250)")
    demo.add_argument("--seed", type=int, help="random seed (default: demo.seed)")

    gen = command(
        "generate", "--landing /tmp/landing --start 2026-01-01 --days 3 --accounts 20", help="write demo events only"
    )
    gen.add_argument("--landing", type=Path, required=True, help="landing folder to write day folders into")
    gen.add_argument("--start", type=_date, required=True, help="first day, YYYY-MM-DD")
    gen.add_argument("--days", type=_positive, required=True, help="number of days")
    gen.add_argument("--accounts", type=_positive, required=True, help="number of accounts")
    gen.add_argument("--seed", type=int, default=42, help="random seed (default: 42)")
    gen.add_argument("--billing", type=Path, help="billing folder (default: billing/ beside the landing folder)")

    run = command(
        "run",
        "--start 2026-01-01 --end 2026-01-07",
        parents=[common],
        help="materialize every asset for daily partitions",
    )
    run.add_argument("--date", type=_date, help="one day")
    run.add_argument("--start", type=_date, help="first day of a range")
    run.add_argument("--end", type=_date, help="last day of a range")
    run.add_argument(
        "--no-restate",
        action="store_true",
        help="do not re-run earlier as-of days that late data in these days made stale",
    )

    sug = command(
        "suggest-weights",
        "--days 30",
        parents=[common],
        help="propose event weights from the staged data (rarer events weigh more)",
    )
    sug.add_argument("--days", type=_positive, help="only the last N days of events (default: all staged days)")

    command("ui", "", parents=[common], help="start the Dagster UI on the same instance (make ui)")

    res = command(
        "rescore",
        "--start 2026-01-01 --end 2026-01-31",
        parents=[common],
        help="recompute scores and everything after them for those days under the current model, and compare",
    )
    res.add_argument("--start", type=_date, required=True, help="first as-of day, YYYY-MM-DD")
    res.add_argument("--end", type=_date, required=True, help="last as-of day, YYYY-MM-DD")

    col = sub.add_parser("collect", parents=[common], help="receive events over Segment's tracking API")
    col.add_argument("--host", help="address to listen on (default: collector.host, 127.0.0.1)")
    col.add_argument("--port", type=int, help="port (default: collector.port, 8088; 0: any free port)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "run" and args.date is not None and (args.start is not None or args.end is not None):
        parser.error("run: --date cannot be combined with --start or --end: give one day, or a range.")
    config: Config | None = None
    try:
        with stop_on_signals():
            if args.command == "generate":
                billing = args.billing or args.landing.parent / "billing"
                generate_events(
                    args.landing.resolve(), args.start, args.days, args.accounts, args.seed, billing.resolve()
                )
                return 0
            if args.command == "init":
                written = cmd_init(config_path(args.config), args.landing, args.force)
                print(f"Wrote {written}: read it, then `engagement-pipeline run --config {written}`.")
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
            elif args.command == "rescore":
                from engagement_pipeline.ops.rescore import cmd_rescore

                cmd_rescore(config, args.start, args.end)
            elif args.command == "collect":
                from engagement_pipeline.collector.server import cmd_collect

                cmd_collect(config, args.host, args.port)
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
        from engagement_pipeline.ops.failures import explain_exception

        problem = explain_exception(exc, config) if config is not None else None
        if problem is None:
            raise
        err_console.print(f"[red]error:[/red] {problem}", soft_wrap=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())
