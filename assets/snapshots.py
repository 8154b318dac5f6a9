"""snapshots: daily account history, the product as a whole, cohorts, and the score backtest."""

import base64

from dagster import (
    AssetExecutionContext, AssetSpec, MaterializeResult, MetadataValue, PartitionsDefinition, multi_asset,
)
from dagster_duckdb import DuckDBResource

from checks import rules, specs
from engagement_pipeline.exports import charts
from engagement_pipeline.snapshots import step as snapshots_step
from engagement_pipeline.core.config import Config
from engagement_pipeline.core.metadata import markdown_table, table_metadata
from engagement_pipeline.ops.partitions import WAREHOUSE_POOL, partition_day
from engagement_pipeline.ops.resources import EngagementConfig, open_warehouse
from engagement_pipeline.core.warehouse import ACCOUNT_HISTORY, COHORT_DAILY, PRODUCT_DAILY, SCORE_BACKTEST


def _image(png: bytes, title: str) -> MetadataValue:
    return MetadataValue.md(f"![{title}](data:image/png;base64,{base64.b64encode(png).decode()})")


def build(partitions: PartitionsDefinition, config: Config) -> list:
    @multi_asset(
        name="snapshots_day",
        specs=[
            AssetSpec(specs.ACCOUNT_HISTORY, deps=[specs.ACCOUNT_SCORES], group_name="snapshots",
                      description=ACCOUNT_HISTORY.description, kinds={"duckdb"}, owners=["team:data"]),
            AssetSpec(specs.PRODUCT_DAILY, deps=[specs.ACCOUNT_SCORES, specs.USER_SCORES], group_name="snapshots",
                      description=PRODUCT_DAILY.description, kinds={"duckdb"}, owners=["team:data"]),
            AssetSpec(["snapshots", "cohort_daily"], deps=[specs.ACCOUNT_SCORES, ["staging", "accounts"]],
                      group_name="snapshots", description=COHORT_DAILY.description, kinds={"duckdb", "polars"},
                      owners=["team:data"]),
            AssetSpec(["snapshots", "score_backtest"], deps=[specs.ACCOUNT_HISTORY, ["staging", "billing"]],
                      group_name="snapshots", description=SCORE_BACKTEST.description, kinds={"duckdb", "polars"},
                      owners=["team:data"]),
        ],
        partitions_def=partitions, pool=WAREHOUSE_POOL,
        check_specs=[specs.spec("history_matches_accounts", specs.ACCOUNT_HISTORY),
                     specs.spec("one_product_row", specs.PRODUCT_DAILY)],
    )
    def snapshots_day(context: AssetExecutionContext, engagement: EngagementConfig, duckdb: DuckDBResource):
        config = engagement.load()
        day = partition_day(context)
        with open_warehouse(duckdb) as con:
            snap = snapshots_step.run(con, day, config)
            accounts = con.execute("SELECT account_id FROM accounts.account_scores WHERE as_of_date = ?", [day]).pl()
            product_history = con.execute(
                "SELECT * FROM snapshots.product_daily WHERE date <= ? ORDER BY date", [day]).pl()
            summary = snapshots_step.backtest_summary(con, day)
        row = snap.product.row(0, named=True)
        yield MaterializeResult(asset_key=specs.ACCOUNT_HISTORY, metadata=table_metadata(
            ACCOUNT_HISTORY, snap.history, snap.history.select("account_id", "name", "score", "score_band", "health")))
        yield MaterializeResult(asset_key=specs.PRODUCT_DAILY, metadata={
            **table_metadata(PRODUCT_DAILY, snap.product),
            "product_score": MetadataValue.float(float(row["product_score"])),
            "active_accounts": MetadataValue.int(row["active_accounts"]),
            "day": MetadataValue.md(markdown_table(snap.product.transpose(
                include_header=True, column_names=["value"]).cast(str), 30)),
            "product_score_chart": _image(charts.product_score_chart(product_history), "product score over time"),
        })
        yield MaterializeResult(asset_key=["snapshots", "cohort_daily"], metadata={
            **table_metadata(COHORT_DAILY, snap.cohorts, snap.cohorts.filter(
                snap.cohorts["dimension"] == "plan_type")),
        })
        auc = {}
        if summary.height:
            for r in summary.filter(summary["horizon_days"] == 30).iter_rows(named=True):
                if r["mean_auc"] is not None:
                    auc[f"{r['outcome']}_30d_auc_{r['predictor']}"] = round(float(r["mean_auc"]), 3)
        verdict = "not enough closed 30-day windows yet"
        configured, suggested = auc.get("churn_30d_auc_score"), auc.get("churn_30d_auc_score_suggested_weights")
        if configured is not None and suggested is not None:
            better = "configured" if configured >= suggested else "suggested (rarity)"
            verdict = (f"the {better} weights predict churn within 30 days better: AUC {configured:.3f} with the "
                       f"configured weights, {suggested:.3f} with the suggested ones")
        yield MaterializeResult(asset_key=["snapshots", "score_backtest"], metadata={
            **table_metadata(SCORE_BACKTEST, snap.backtest),
            "mean_auc_so_far": MetadataValue.json(auc),
            "weights_verdict": MetadataValue.text(verdict),
            "summary": MetadataValue.md(markdown_table(summary, 30) if summary.height else "_no as-of day old enough yet_"),
        })
        yield rules.history_matches_accounts(snap.history, accounts)
        yield rules.one_product_row(snap.product)

    return [snapshots_day]
