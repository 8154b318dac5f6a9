"""What a landing folder holds: a sample of its days, profiled for `engagement-pipeline init`.

Lines are read with raw's readers and judged with staging's parser (the same code `run` uses),
so what `init` lists is what `run` will stage. Everything here is a plain function of frames;
`ops/init_command.py` writes the proposal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from engagement_pipeline.core.config_sources import DEFAULT_SOURCE, Source
from engagement_pipeline.core.vocab import MessageType
from engagement_pipeline.raw.files import iter_landed_file, landed_days, list_day_files
from engagement_pipeline.scores.weights import suggest_weights
from engagement_pipeline.staging.parse import parse_lines

SAMPLE_DAYS = 28  # the newest landed days read
MAX_LINES_PER_DAY = 200_000  # a day's files are read until this many lines, then the next day
FIRST_WEEKS_DAYS = 14  # "the first weeks" of an account, for the activation checklist
MAX_ACTIVATION_STEPS = 4

# Account traits init looks for, by the model's name: the trait keys (camelCase or snake_case) read.
ACCOUNT_TRAIT_PATHS: dict[str, tuple[str, ...]] = {
    "plan": ("$.plan", "$.plan_name", "$.planName"),
    "status": ("$.status", "$.subscription_status", "$.subscriptionStatus"),
    "seats": ("$.seats", "$.seat_count", "$.seatCount", "$.licenses"),
    "industry": ("$.industry",),
    "size": ("$.employees", "$.employee_count", "$.employeeCount", "$.size", "$.company_size"),
    "country": ("$.address.country", "$.country"),
}
# Which of them the model reads today (the others are listed, for the record).
MODEL_TRAITS = ("plan", "status", "industry", "size", "country")


@dataclass
class Profile:
    """A sample of landed events: event volumes, traits found, a proposed checklist."""

    landing: Path
    days: list[dt.date]
    lines: int
    accepted: int
    quarantined: int
    types: dict[str, int]
    events: pl.DataFrame  # event, events, users, accounts, share, weight (suggested)
    traits: dict[str, int]  # trait -> accounts that sent it
    accounts: int
    values: dict[str, dict[str, int]]  # plan / status -> value -> accounts
    activation: list[tuple[str, float]] = field(default_factory=list)  # event, share of new accounts
    new_accounts: int = 0


def sample_days(landing: Path, limit: int = SAMPLE_DAYS) -> list[dt.date]:
    return landed_days([Source(name=DEFAULT_SOURCE, landing=landing)])[-limit:]


def _day_lines(landing: Path, day: dt.date, cap: int) -> Iterator[pl.DataFrame]:
    read = 0
    for file in list_day_files(landing, day):
        for lines, _restart in iter_landed_file(file):
            if read >= cap:
                return
            block = lines.head(cap - read)
            read += block.height
            yield block.with_columns(pl.lit(day, dtype=pl.Date).alias("received_date"))


def read_sample(landing: Path, days: list[dt.date], cap: int = MAX_LINES_PER_DAY) -> pl.DataFrame:
    """The sample's lines parsed by staging's parser: one row per line, `reason` null when accepted."""
    con = duckdb.connect()
    try:
        parsed = [parse_lines(con, block, 100_000) for day in days for block in _day_lines(landing, day, cap)]
    finally:
        con.close()
    parsed = [p.drop("line", "properties", "context", strict=False) for p in parsed]
    return pl.concat(parsed, how="diagonal_relaxed") if parsed else pl.DataFrame()


def _trait(paths: tuple[str, ...]) -> pl.Expr:
    """A trait's text from a call's traits JSON: the first of its keys that holds a value."""
    found = [pl.col("traits").str.json_path_match(p).str.strip_chars() for p in paths]
    return pl.coalesce([pl.when(f != "").then(f) for f in found])


def account_of_events(messages: pl.DataFrame) -> pl.DataFrame:
    """Each message with `account`: its context.groupId, a group call's groupId, else the user's
    first group in the sample (as staging's membership fallback would find it, roughly)."""
    person = pl.coalesce("user_id", "anonymous_id")
    groups = (
        messages.filter(pl.col("type") == MessageType.GROUP)
        .sort("timestamp")
        .group_by(person.alias("person"))
        .agg(pl.col("group_id").first().alias("member_of"))
    )
    return (
        messages.with_columns(person.alias("person"))
        .join(groups, on="person", how="left")
        .with_columns(pl.coalesce("context_group_id", "group_id", "member_of").alias("account"))
    )


def proposed_checklist(tracks: pl.DataFrame, weights: dict[str, int]) -> tuple[list[tuple[str, float]], int]:
    """The events most new accounts do in their first weeks, as (event, share of new accounts).

    New accounts are those first seen after the sample's first day (all accounts when none is);
    events every account does in passing (weight 1: the commonest, such as logging in) are left
    out, as are events fewer than a fifth of new accounts do.
    """
    with_account = tracks.filter(pl.col("account").is_not_null())
    if with_account.is_empty():
        return [], 0
    first_seen = with_account.group_by("account").agg(pl.col("event_date").min().alias("first_seen"))
    start = first_seen["first_seen"].min()
    new = first_seen.filter(pl.col("first_seen") > start)
    if new.is_empty():
        new = first_seen
    early = with_account.join(new, on="account").filter(
        pl.col("event_date") < pl.col("first_seen") + pl.duration(days=FIRST_WEEKS_DAYS)
    )
    shares = (
        early.group_by("event")
        .agg((pl.col("account").n_unique() / new.height).alias("share"))
        .filter(pl.col("share") >= 0.2)
        .with_columns(pl.col("event").replace_strict(weights, default=1).alias("weight"))
        .sort(["share", "weight", "event"], descending=[True, True, False])
    )
    picked = shares.filter(pl.col("weight") > 1)
    if picked.is_empty():
        picked = shares
    steps = [(e, float(s)) for e, s in picked.select("event", "share").head(MAX_ACTIVATION_STEPS).iter_rows()]
    return steps, new.height


def profile(landing: Path, days: list[dt.date], cap: int = MAX_LINES_PER_DAY) -> Profile:
    """Read the days' lines (at most `cap` a day) and profile them."""
    parsed = read_sample(landing, days, cap)
    if parsed.is_empty():
        return Profile(landing, days, 0, 0, 0, {}, suggest_weights(_frequencies(pl.DataFrame())), {}, 0, {})
    accepted = parsed.filter(pl.col("reason").is_null()).unique("message_id", keep="first", maintain_order=True)
    messages = account_of_events(accepted)
    types = dict(messages["type"].value_counts(sort=True).iter_rows())
    tracks = messages.filter(pl.col("type") == MessageType.TRACK)
    events = suggest_weights(_frequencies(tracks))
    weights = dict(events.select("event", "weight").iter_rows())
    groups = (
        messages.filter(pl.col("type") == MessageType.GROUP)
        .sort("timestamp")
        .select("group_id", *[_trait(p).alias(name) for name, p in ACCOUNT_TRAIT_PATHS.items()])
        .group_by("group_id")
        .agg(pl.all().drop_nulls().last())
    )
    traits = {name: int(groups[name].is_not_null().sum()) for name in ACCOUNT_TRAIT_PATHS}
    values = {
        name: dict(groups[name].drop_nulls().str.to_lowercase().value_counts(sort=True).iter_rows())
        for name in ("plan", "status")
    }
    steps, new_accounts = proposed_checklist(tracks, weights)
    return Profile(
        landing=landing,
        days=days,
        lines=parsed.height,
        accepted=messages.height,
        quarantined=int(parsed["reason"].is_not_null().sum()),
        types=types,
        events=events,
        traits=traits,
        accounts=int(messages["account"].drop_nulls().n_unique()),
        values=values,
        activation=steps,
        new_accounts=new_accounts,
    )


def _frequencies(tracks: pl.DataFrame) -> pl.DataFrame:
    """event, events, users, accounts of the track calls."""
    if tracks.is_empty():
        return pl.DataFrame(schema={"event": pl.String, "events": pl.Int64, "users": pl.Int64, "accounts": pl.Int64})
    return tracks.group_by("event").agg(
        pl.len().cast(pl.Int64).alias("events"),
        pl.col("person").n_unique().cast(pl.Int64).alias("users"),
        pl.col("account").drop_nulls().n_unique().cast(pl.Int64).alias("accounts"),
    )
