"""Standard asset metadata: row count, column schema and a small markdown preview."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
from dagster import AssetKey, MetadataValue, TableColumnDep, TableColumnLineage

from engagement_pipeline.core import privacy
from engagement_pipeline.core.warehouse import Table


def markdown_table(frame: pl.DataFrame, limit: int = 8) -> str:
    """A frame's first rows as a markdown table (values shortened to keep the UI readable).

    Person ids are pseudonyms and contact data is hidden (`core.privacy.shown`): the Dagster
    run storage is read by everyone with the UI, and user ids are often emails."""
    head = frame.head(limit)
    if not head.columns:
        return "_empty_"
    lines = ["| " + " | ".join(head.columns) + " |", "|" + "---|" * len(head.columns)]
    for row in head.iter_rows():
        cells = [
            _cell(c, v)[:40].replace("|", "\\|").replace("\n", " ") for c, v in zip(head.columns, row, strict=True)
        ]
        lines.append("| " + " | ".join(cells) + " |")
    if frame.height > limit:
        lines.append(f"\n_{limit} of {frame.height} rows_")
    return "\n".join(lines)


def _cell(column: str, value: Any) -> str:
    """A preview cell: text and person columns through the privacy rule, numbers and dates as shown."""
    if isinstance(value, str) or column in privacy.PERSON_ID_COLUMNS | privacy.HIDDEN_COLUMNS:
        return privacy.shown(column, value)
    return shown(value)


def shown(value: Any) -> str:
    """A value as the UI shows it: dates as YYYY-MM-DD, whole numbers without `.0`, others rounded."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value == value and abs(value) != float("inf"):
        if value.is_integer():
            return str(int(value))
        return f"{value:.4g}" if abs(value) < 1 else f"{value:.2f}".rstrip("0").rstrip(".")
    return str(value)


def typed_value(value: Any) -> MetadataValue[Any]:
    """A value as metadata of its own kind: a date as text YYYY-MM-DD, an integer as an integer (even when
    a float holds it, as a count read through a float column does), a float as a float."""
    if isinstance(value, dt.date):
        return MetadataValue.text(shown(value))
    if isinstance(value, bool) or value is None:
        return MetadataValue.text(shown(value))
    if isinstance(value, int):
        return MetadataValue.int(value)
    if isinstance(value, float):
        return MetadataValue.int(int(value)) if value.is_integer() else MetadataValue.float(value)
    return MetadataValue.text(str(value))


def record_markdown(row: dict[str, Any]) -> MetadataValue[Any]:
    """One row as a two-column markdown table (field, value), each value shown by its own type.

    Transposing a one-row frame casts every value to one type: the date became `20513.0` and
    every count a float in the UI."""
    lines = ["| field | value |", "|---|---|"] + [f"| {k} | {shown(v)} |" for k, v in row.items()]
    return MetadataValue.md("\n".join(lines))


def table_metadata(table: Table, frame: pl.DataFrame, preview: pl.DataFrame | None = None) -> dict[str, Any]:
    """`dagster/row_count`, `dagster/column_schema`, the table name and an optional preview.

    Pass `preview=None` for tables that hold personal data: their rows never reach the UI.
    """
    meta: dict[str, Any] = {
        "dagster/row_count": MetadataValue.int(frame.height),
        "dagster/column_schema": table.column_schema(),
        "dagster/table_name": MetadataValue.text(f"warehouse.{table.qualified}"),
    }
    if preview is not None:
        meta["preview"] = MetadataValue.md(markdown_table(preview))
    return meta


def counts_markdown(counts: dict[str, int], key: str = "reason", value: str = "lines") -> MetadataValue:
    if not counts:
        return MetadataValue.md("_none_")
    rows = [f"| {key} | {value} |", "|---|---|"] + [f"| {k} | {v} |" for k, v in counts.items()]
    return MetadataValue.md("\n".join(rows))


def column_lineage(deps: dict[str, list[tuple[str, str]]]) -> dict[str, TableColumnLineage]:
    """`dagster/column_lineage` from {column: [("schema.table", "column"), ...]}."""
    return {
        "dagster/column_lineage": TableColumnLineage(
            deps_by_column={
                column: [
                    TableColumnDep(asset_key=AssetKey(table.split(".")), column_name=source)
                    for table, source in sources
                ]
                for column, sources in deps.items()
            }
        )
    }


COUNTS = "staging.daily_event_counts"
LIFECYCLE = "staging.lifecycle_facts"
USER_SCORES_LINEAGE = column_lineage(
    {
        "raw_score": [(COUNTS, "event_count"), (COUNTS, "event")],
        "score": [(COUNTS, "event_count"), (COUNTS, "event")],
        "active_days": [(COUNTS, "event_date")],
        "account_id": [(COUNTS, "account_id")],
        "user_id": [(COUNTS, "user_id")],
    }
)
ACCOUNT_SCORES_LINEAGE = column_lineage(
    {
        "score": [("scores.user_scores", "score"), (COUNTS, "event_count")],
        "raw_score": [(COUNTS, "event_count"), (COUNTS, "event")],
        "active_users": [(COUNTS, "user_id"), (LIFECYCLE, "kind")],
        "total_users": [(COUNTS, "user_id"), (LIFECYCLE, "kind")],
        "activation_pct": [(COUNTS, "event")],
        "plan": [("staging.billing", "plan"), (LIFECYCLE, "plan"), ("staging.account_traits_history", "plan")],
        "status": [("staging.billing", "status"), (LIFECYCLE, "kind"), ("staging.account_traits_history", "status")],
        "mrr": [("staging.billing", "mrr")],
        "name": [("staging.accounts", "name")],
        "invites_sent": [(COUNTS, "event")],
    }
)
