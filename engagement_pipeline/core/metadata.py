"""Standard asset metadata: row count, column schema and a small markdown preview."""

from __future__ import annotations

from typing import Any

import polars as pl
from dagster import AssetKey, MetadataValue, TableColumn, TableColumnDep, TableColumnLineage, TableSchema

from engagement_pipeline.core.privacy import shown
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
        values = (shown(c, v) for c, v in zip(head.columns, row, strict=True))
        cells = [v[:40].replace("|", "\\|").replace("\n", " ") for v in values]
        lines.append("| " + " | ".join(cells) + " |")
    if frame.height > limit:
        lines.append(f"\n_{limit} of {frame.height} rows_")
    return "\n".join(lines)


def table_metadata(table: Table, frame: pl.DataFrame, preview: pl.DataFrame | None = None) -> dict[str, Any]:
    """`dagster/row_count`, `dagster/column_schema`, the table name and an optional preview.

    Pass `preview=None` for tables that hold personal data: their rows never reach the UI.
    """
    meta: dict[str, Any] = {
        "dagster/row_count": MetadataValue.int(frame.height),
        "dagster/column_schema": TableSchema(columns=[TableColumn(name, kind) for name, kind in table.columns]),
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
