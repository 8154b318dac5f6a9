"""exports: the dated folder of CSVs for marketing, sales and customer success."""

import base64
from collections.abc import Iterator
from typing import Any

from dagster import AssetExecutionContext, AssetSpec, MaterializeResult, MetadataValue, PartitionsDefinition
from dagster_duckdb import DuckDBResource

from assets.common import day_asset
from checks import exports as checks
from checks.common import specs
from engagement_pipeline.core import keys
from engagement_pipeline.core.warehouse import ACCOUNT_FEATURE_USAGE, ACCOUNT_SCORES, PRODUCT_DAILY, USER_SCORES
from engagement_pipeline.exports import step
from engagement_pipeline.ops.partitions import partition_day
from engagement_pipeline.ops.resources import EngagementConfig, open_warehouse

DESCRIPTION = (
    "`<exports>/<day>/`: look-alike audiences (Google, Meta, LinkedIn), ICP profile, PQL, at-risk, "
    "expansion, case-study and adoption-gap lists, manifest.json; `latest/` points at the newest "
    "complete day."
)


def _image(png: bytes, title: str) -> MetadataValue:
    return MetadataValue.md(f"![{title}](data:image/png;base64,{base64.b64encode(png).decode()})")


def build(partitions: PartitionsDefinition) -> list[Any]:
    spec = AssetSpec(
        keys.EXPORTS,
        group_name="exports",
        description=DESCRIPTION,
        deps=[ACCOUNT_SCORES.key, USER_SCORES.key, PRODUCT_DAILY.key, ACCOUNT_FEATURE_USAGE.key],
    )

    @day_asset("daily_exports", [spec], partitions, specs(checks.CHECKS))
    def daily_exports(
        context: AssetExecutionContext, engagement: EngagementConfig, duckdb: DuckDBResource
    ) -> Iterator[Any]:
        config = engagement.load()
        with open_warehouse(duckdb) as con:
            done = step.run(con, partition_day(context), config)
        rows = {name: frame.height for name, frame in done.bundle.files.items()}
        published = (
            {
                "folder": MetadataValue.path(str(done.folder)),
                "report": MetadataValue.path(str(done.folder / "report.html")),
            }
            if done.folder is not None
            else {"folder": MetadataValue.text("not published: the files failed verification (see files_valid)")}
        )
        metadata: dict[str, MetadataValue[Any]] = {
            **published,
            "model_version": MetadataValue.text(config.model_version),
            "rows_per_file": MetadataValue.json(rows),
            "audiences": MetadataValue.json(done.bundle.audience_stats),
            "warnings": MetadataValue.json(done.bundle.warnings),
        }
        chart = done.bundle.attachments.get("chart_product_score.png")
        if chart:
            metadata["product_score_chart"] = _image(chart, "product score over time")
        yield MaterializeResult(asset_key=keys.EXPORTS, metadata=metadata)
        yield checks.files_valid(done.problems, len(rows))
        yield checks.audience_sizes(done.bundle.warnings, done.bundle.audience_stats)

    return [daily_exports]
