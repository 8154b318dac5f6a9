"""`engagement-pipeline init`: a commented engagement.yaml proposed from a sample of the landed events.

Every event name seen gets a weight (rarer weighs more, as `suggest-weights`) and a proposed
feature (the object of Segment's "Object Action" naming), so `run` scores every event seen
without editing the file; the activation checklist is the events most new accounts did in
their first weeks; the traits found for plan, status, seats, industry, size and country are
listed with the plan and status values seen. The file is validated as `run` will read it
before it is written, and an existing file is never replaced without `--force`.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import yaml

from engagement_pipeline.core.config import parse_config
from engagement_pipeline.core.errors import PipelineError
from engagement_pipeline.core.vocab import UNPAID_PLANS, Status, values
from engagement_pipeline.ops.profiling import MODEL_TRAITS, Profile, profile, sample_days
from engagement_pipeline.scores.weights import event_line, yaml_key


def feature_of(event: str) -> str | None:
    """The object of an "Object Action" event name ("Invoice Paid" -> "Invoice"); None for one word."""
    words = event.replace("_", " ").split()
    return " ".join(words[:-1]) if len(words) > 1 else None


def _path_text(path: Path, folder: Path) -> str:
    """A path as written in the config: relative to the config's folder when inside it."""
    try:
        return str(path.resolve().relative_to(folder.resolve()))
    except ValueError:
        return str(path.resolve())


def _trait_notes(p: Profile) -> list[str]:
    notes = []
    for name, found in p.traits.items():
        used = "" if name in MODEL_TRAITS else " (listed only: the model does not read it yet)"
        if found:
            seen = p.values.get(name)
            shown = ", ".join(f"{v} {n}" for v, n in list(seen.items())[:8]) if seen else ""
            notes.append(f"#   {name}: {found} of {p.accounts} accounts{'; values: ' + shown if shown else ''}{used}")
        else:
            notes.append(f"#   {name}: never sent{used}")
    known = set(values(Status))
    odd = [v for v in p.values.get("status", {}) if v not in known]
    if odd:
        notes.append(
            f"#   status values the model does not know: {', '.join(odd[:5])} (it reads {', '.join(sorted(known))}; "
            "map them upstream or send them in a billing input)"
        )
    unpaid = [v for v in p.values.get("plan", {}) if v in UNPAID_PLANS]
    notes.append(
        f"#   unpaid plans (PQL candidates): {', '.join(unpaid) or 'none seen'}; every other plan counts as paid"
    )
    if not p.traits.get("plan") or not p.traits.get("status"):
        notes.append(
            "#   without plan and status traits (or paths.billing), PQLs, paying accounts and churn cannot be told"
        )
    return notes


def render(p: Profile, config_file: Path, when: dt.date) -> str:
    """The commented engagement.yaml for a profile."""
    folder = config_file.parent
    width = max((len(yaml_key(e)) for e in p.events["event"]), default=10)
    span = f"{p.days[0]} .. {p.days[-1]}" if p.days else "no days"
    out = [
        f"# Proposed by `engagement-pipeline init` on {when} from a sample of {p.landing}",
        f"# ({len(p.days)} day(s), {span}: {p.lines:,} lines, {p.accepted:,} accepted, "
        f"{p.quarantined:,} would be quarantined, the rest repeated messageIds).",
        "# Read it, change what you know better, then `engagement-pipeline run`.",
        "# Every key is documented in the README (Configuration); relative paths are relative to this file.",
        "#",
        "# Message types seen: " + ", ".join(f"{t} {n:,}" for t, n in p.types.items()),
        "#",
        f"# Account traits found (latest group call of each of {p.accounts} accounts):",
        *_trait_notes(p),
        "",
        f"start_date: {p.days[0] if p.days else when}          # first daily partition: the first landed day",
        "",
        "paths:",
        f"  landing: {yaml_key(_path_text(p.landing, folder))}",
        "  warehouse: data/warehouse.duckdb",
        "  exports: data/exports",
        "",
        "model:",
        "  window_days: 30                # the window for as-of day D is event dates D-29 .. D",
        "  events:                        # every track event seen; weight 1..10 (rarer weighs more),",
        "                                 # feature = the event's object; a comment gives events, users, accounts",
    ]
    for row in p.events.iter_rows(named=True):
        line = event_line(row["event"], row["weight"], feature_of(row["event"]), width)
        out.append(
            f"    {line}  # {row['events']:,} events ({row['share']:.1%}), {row['users']} users, "
            f"{row['accounts']} accounts"
        )
    out += [
        "  activation:",
        f"    steps:                       # what most of the {p.new_accounts} new accounts did in their first "
        "two weeks; order does not matter",
    ]
    for event, share in p.activation:
        out.append(f"      - {{name: {yaml_key(event)}, event: {yaml_key(event)}}}  # {share:.0%} of new accounts")
    return "\n".join(out) + "\n"


def cmd_init(config_file: Path, landing: str | None, force: bool) -> Path:
    """Profile the landing folder and write the proposal to `config_file`; returns the path written."""
    if config_file.exists() and not force:
        raise PipelineError(
            f"{config_file} already exists: pass --force to replace it, or --config NEW.yaml to write another file."
        )
    where = landing or str(config_file.parent / "data" / "landing")
    if "://" in where:
        raise PipelineError(
            f"init reads local folders only ({where} is a URL): copy a few days into a local folder "
            "(<folder>/<YYYY-MM-DD>/) and pass it as --landing."
        )
    folder = Path(where).expanduser().resolve()
    if not folder.is_dir():
        raise PipelineError(f"landing folder {folder} does not exist: pass --landing DIR (its day folders YYYY-MM-DD).")
    days = sample_days(folder)
    if not days:
        raise PipelineError(f"landing folder {folder} has no day folders (YYYY-MM-DD): land some data first.")
    found = profile(folder, days)
    if found.events.is_empty():
        raise PipelineError(
            f"no track call in {folder} ({found.lines:,} lines over {len(days)} day(s)): the model scores track "
            "events, so land some before running init."
        )
    if not found.activation:
        first = str(found.events.sort("share", descending=True)["event"][0])
        found.activation = [(first, 0.0)]
    text = render(found, config_file, dt.datetime.now(dt.UTC).date())
    parse_config(yaml.safe_load(text), config_file)  # what `run` will read: a bad proposal is a bug here
    config_file.parent.mkdir(parents=True, exist_ok=True)
    temporary = config_file.with_name(config_file.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, config_file)
    return config_file
