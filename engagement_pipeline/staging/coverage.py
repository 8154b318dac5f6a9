"""What the model will not see: events seen but not scored, an empty day, traits that never arrive.

Each is legal input, so nothing is quarantined; but each silently changes the scores (230 lines
renamed to "Invoice Paid" vanish from every score, an empty day looks like a quiet one, accounts
without plan or status are never PQLs nor paying). `day_coverage` counts them for a staged day;
the staging asset reports them as WARN checks and metadata, and `run` prints `summary_line`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

import polars as pl

from engagement_pipeline.core.vocab import MessageType

TOP_NAMES = 5

# The traits the model reads, by the name a user knows them by, with what is lost without them.
NEEDED_TRAITS: dict[str, str] = {
    "groupId": "no event has an account (send context.groupId or group calls)",
    "plan": "no account has a plan trait (group calls' traits.plan, or paths.billing)",
    "status": "no account has a status trait (group calls' traits.status, or paths.billing)",
}


@dataclass(frozen=True)
class Coverage:
    """One staged day: lines landed, track events whose name is not in model.events, needed traits never sent."""

    day: dt.date
    lines: int
    unscored: dict[str, int] = field(default_factory=dict)  # event name -> track events, most first
    missing_traits: tuple[str, ...] = ()

    @property
    def unscored_events(self) -> int:
        return sum(self.unscored.values())

    def as_metadata(self) -> dict[str, object]:
        return {
            "lines": self.lines,
            "unscored": self.unscored,
            "missing_traits": list(self.missing_traits),
        }

    @classmethod
    def from_metadata(cls, day: dt.date, data: dict[str, object]) -> Coverage:
        unscored = data.get("unscored") or {}
        missing = data.get("missing_traits") or []
        lines = data.get("lines") or 0
        assert isinstance(unscored, dict) and isinstance(missing, list) and isinstance(lines, int)
        return cls(day, lines, {str(k): int(v) for k, v in unscored.items()}, tuple(str(m) for m in missing))


def unscored_counts(events: pl.DataFrame, scored: Iterable[str]) -> dict[str, int]:
    """Track events of the day whose name is not a scored event, by name, most first."""
    known = list(scored)
    tracks = events.filter((pl.col("type") == MessageType.TRACK) & ~pl.col("event").is_in(known))
    counts = tracks.group_by("event").agg(pl.len().alias("n")).sort(["n", "event"], descending=[True, False])
    return {str(e): int(n) for e, n in counts.iter_rows()}


def missing_traits(accounts: int, with_plan: int, with_status: int, billing: bool) -> tuple[str, ...]:
    """The needed traits that no account has ever sent (plan and status come from billing when configured)."""
    missing = []
    if accounts == 0:
        missing.append("groupId")
    if not billing and accounts and with_plan == 0:
        missing.append("plan")
    if not billing and accounts and with_status == 0:
        missing.append("status")
    return tuple(missing)


def top_names(counts: dict[str, int], n: int = TOP_NAMES) -> str:
    shown = ", ".join(f"{name} {count:,}" for name, count in list(counts.items())[:n])
    more = len(counts) - n
    return shown + (f" and {more} more name(s)" if more > 0 else "")


def day_problems(coverage: Coverage) -> dict[str, list[str]]:
    """The sentences each WARN check reports for the day (empty list: that check passes)."""
    c = coverage
    return {
        "unscored_events": (
            [
                f"{c.unscored_events:,} track event(s) of {len(c.unscored)} name(s) not in model.events, so not "
                f"scored: {top_names(c.unscored)}; add them (`engagement-pipeline suggest-weights`) or ignore them"
            ]
            if c.unscored
            else []
        ),
        "day_has_lines": [f"no line landed for {c.day}: the day scores as if nobody used the product"]
        if c.lines == 0
        else [],
        "model_traits_arrive": [NEEDED_TRAITS[t] for t in c.missing_traits],
    }


def summary_line(coverages: Iterable[Coverage]) -> str | None:
    """One line for the end of a `run`: what was seen but not scored, empty days, traits never sent."""
    days = list(coverages)
    if not days:
        return None
    unscored: dict[str, int] = {}
    for c in days:
        for name, n in c.unscored.items():
            unscored[name] = unscored.get(name, 0) + n
    unscored = dict(sorted(unscored.items(), key=lambda kv: (-kv[1], kv[0])))
    parts = []
    if unscored:
        parts.append(
            f"{sum(unscored.values()):,} track event(s) seen but not scored (not in model.events): {top_names(unscored)}"
        )
    empty = [c.day.isoformat() for c in days if c.lines == 0]
    if empty:
        parts.append(f"{len(empty)} empty day(s): {', '.join(empty[:5])}{' ...' if len(empty) > 5 else ''}")
    missing = days[-1].missing_traits
    if missing:
        parts.append("; ".join(NEEDED_TRAITS[t] for t in missing))
    return "Warnings: " + "; ".join(parts) + "." if parts else None
