"""Suggested event weights from the staged data: rarer events weigh more.

weight = 1 + 9 x (log(f_max) - log(f)) / (log(f_max) - log(f_min)), rounded, where f is
an event's share of all scored-candidate events. The most frequent event gets 1, the
rarest 10, and the log scale keeps a long tail of rare events from collapsing onto 10.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping

import polars as pl
import yaml


def suggest_weights(frequencies: pl.DataFrame) -> pl.DataFrame:
    """event, events, users, accounts -> the same with `share` and a suggested `weight` 1..10."""
    freq = frequencies.filter(pl.col("events") > 0)
    if freq.is_empty():
        return freq.with_columns(
            pl.lit(None, dtype=pl.Float64).alias("share"), pl.lit(None, dtype=pl.Int64).alias("weight")
        )
    total = float(freq["events"].sum())
    freq = freq.with_columns((pl.col("events") / total).alias("share"))
    hi, lo = math.log(float(freq["share"].max())), math.log(float(freq["share"].min()))  # type: ignore[arg-type]
    span = hi - lo
    weight = pl.lit(1.0) if span == 0 else 1.0 + 9.0 * (hi - pl.col("share").log()) / span
    return freq.with_columns(weight.round(0).clip(1, 10).cast(pl.Int64).alias("weight")).sort(
        ["weight", "event"], descending=[False, False]
    )


def yaml_key(text: str) -> str:
    """A YAML scalar for an event or feature name: bare when plain words, else double-quoted.

    JSON string syntax is valid YAML double-quoted syntax, so `json.dumps` escapes exactly.
    """
    plain = text.replace(" ", "").replace("-", "").replace("_", "").isalnum() and text == text.strip()
    if plain and yaml.safe_load(f"{text}: 1") == {text: 1}:  # not a YAML word such as yes, null or 12
        return text
    return json.dumps(text, ensure_ascii=False)


def event_line(name: str, weight: int, feature: str | None, width: int) -> str:
    """`Name: {weight: N, feature: F}` padded to line up the flow mappings."""
    spec = f"{{weight: {weight}" + (f", feature: {yaml_key(feature)}" if feature else "") + "}"
    return f"{yaml_key(name) + ':':<{width + 1}} {spec}"


def yaml_block(
    suggested: pl.DataFrame, current: dict[str, int], features: Mapping[str, str | None] | None = None
) -> str:
    """The `model.events` block, ready to paste, each line commented with its frequency.

    `features` keeps each event's `feature:` mapping (the feature-adoption gaps read it):
    pasting the block must not drop them.
    """
    lines = ["  events:                        # suggested from staged data: rarer events weigh more"]
    width = max((len(yaml_key(e)) for e in suggested["event"]), default=10)
    for row in suggested.iter_rows(named=True):
        now = current.get(row["event"])
        note = f"now {now}" if now is not None else "not scored now"
        lines.append(
            f"    {event_line(row['event'], row['weight'], (features or {}).get(row['event']), width)}  "
            f"# {row['share']:.2%} of events, {row['users']} users, {row['accounts']} accounts; {note}"
        )
    return "\n".join(lines)
