"""`engagement-pipeline demo` and `generate`: demo events, then every day run, then the summary.

Everything the demo writes is claimed in a manifest in its landing folder before it is
written, and only what the manifest claims is ever removed.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engagement_pipeline.core.config import Config, apart_problem
from engagement_pipeline.core.errors import PipelineError
from engagement_pipeline.ops.commands import cmd_run, console, print_summary

if TYPE_CHECKING:
    from engagement_pipeline.demo.generator import GenerationSummary


# The demo's manifest, in the landing folder it created: the paths it claimed, the files it generated.
DEMO_MARKER = ".engagement-demo"


GROUND_TRUTH = "ground truth"  # the demo's answer key, `ground_truth/` beside the landing folder


def generate_events(
    landing: Path,
    start: dt.date,
    days: int,
    accounts: int,
    seed: int,
    billing: Path | None,
    truth: Path | None = None,
    spec_events: bool = False,
) -> GenerationSummary:
    from engagement_pipeline.demo.generator import generate_demo

    started = time.perf_counter()
    summary = generate_demo(
        landing,
        start,
        days,
        accounts=accounts,
        seed=seed,
        billing_dir=billing,
        truth_dir=truth,
        spec_events=spec_events,
    )
    console.print(
        f"Generated {summary.lines:,} lines ({summary.track_events:,} track events, {summary.duplicates:,} duplicates, "
        f"{summary.malformed:,} malformed, {summary.late:,} late) for {summary.accounts} accounts and "
        f"{summary.users} users over {days} days into {landing} in {time.perf_counter() - started:.1f} s."
    )
    return summary


def demo_landing(config: Config) -> Path:
    """The local folder the demo writes its events into: paths.landing, when it is a folder and
    no `sources:` list replaces it (the demo never writes into a bucket or someone's sources)."""
    landing = config.paths.landing
    if config.sources is not None or not isinstance(landing, Path):
        where = "a `sources:` list" if config.sources is not None else f"paths.landing {landing}"
        raise PipelineError(
            f"the demo writes generated events into a local folder, and the config reads {where}: run the demo "
            f"with a config whose paths.landing is a local folder (like the repository's engagement.yaml)."
        )
    return landing


def _demo_outputs(config: Config) -> dict[str, Path]:
    """Every path the demo writes, by the config key that names it."""
    landing = demo_landing(config)
    outputs = {
        "paths.landing": landing,
        GROUND_TRUTH: landing.parent / "ground_truth",
        "paths.warehouse": config.paths.warehouse,
        "paths.exports": config.paths.exports,
    }
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
    landing = demo_landing(config)
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
        _write_manifest(
            landing,
            {
                "written_by": "engagement-pipeline demo",
                "claims": {key: str(path) for key, path in outputs.items()},
                "files": {},
            },
        )
    return outputs


def _list_generated(outputs: dict[str, Path]) -> None:
    """Record in the manifest the files the generator wrote, so a later demo can tell a stranger among them."""
    landing = outputs["paths.landing"]
    manifest = _read_manifest(landing) or {"claims": {}, "files": {}}
    for key in ("paths.landing", GROUND_TRUTH, "paths.billing"):
        folder = outputs.get(key)
        if folder is not None and folder.is_dir():
            manifest["files"][key] = sorted(
                p.relative_to(folder).as_posix()
                for p in folder.rglob("*")
                if not (p.is_dir() and not p.is_symlink()) and not p.name.startswith(DEMO_MARKER)
            )
    _write_manifest(landing, manifest)


def cmd_demo(config: Config, days: int | None, accounts: int | None, seed: int | None) -> None:
    days = days or config.demo.days
    accounts = accounts or config.demo.accounts
    seed = config.demo.seed if seed is None else seed
    outputs = _prepare_demo_outputs(config)
    started = time.perf_counter()
    generate_events(
        demo_landing(config),
        config.start_date,
        days,
        accounts,
        seed,
        config.paths.billing,
        truth=outputs[GROUND_TRUTH],
        spec_events=config.demo.spec_events,
    )
    _list_generated(outputs)
    end = config.start_date + dt.timedelta(days=days - 1)
    # Day by day, one run each, as the daily schedule would have run them: the history shows
    # what was known each day (late events join the days after they land), and it is fast.
    cmd_run(config, None, config.start_date, end, restate=False, stage_first=False)
    print_summary(config, end)
    console.print(f"Demo finished in {time.perf_counter() - started:.0f} s.")
