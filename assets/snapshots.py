"""snapshots: the daily history of every account, and one row per day for the product."""


from dagster import (
    AssetExecutionContext, AssetSpec, MaterializeResult, MetadataValue, PartitionsDefinition, multi_asset,
)
from dagster_duckdb import DuckDBResource

from checks import rules, specs
from engagement_pipeline import layers
from engagement_pipeline.metadata import markdown_table, table_metadata
from engagement_pipeline.config import Config
from engagement_pipeline.partitions import WAREHOUSE_POOL, partition_day
from engagement_pipeline.resources import EngagementConfig, open_warehouse
from engagement_pipeline.warehouse import ACCOUNT_HISTORY, PRODUCT_DAILY


def build(partitions: PartitionsDefinition, config: Config) -> list:
    @multi_asset(
        name="snapshots_day",
        specs=[
            AssetSpec(specs.ACCOUNT_HISTORY, deps=[specs.ACCOUNT_SCORES], group_name="snapshots",
                      description=ACCOUNT_HISTORY.description, kinds={"duckdb"}, owners=["team:data"]),
            AssetSpec(specs.PRODUCT_DAILY, deps=[specs.ACCOUNT_SCORES, specs.USER_SCORES], group_name="snapshots",
                      description=PRODUCT_DAILY.description, kinds={"duckdb"}, owners=["team:data"]),
        ],
        partitions_def=partitions, pool=WAREHOUSE_POOL,
        check_specs=[specs.spec("history_matches_accounts", specs.ACCOUNT_HISTORY),
                     specs.spec("one_product_row", specs.PRODUCT_DAILY)],
    )
    def snapshots_day(context: AssetExecutionContext, engagement: EngagementConfig, duckdb: DuckDBResource):
        config = engagement.load()
        day = partition_day(context)
        with open_warehouse(duckdb) as con:
            history, product = layers.snapshot_layer(con, day, config)
            accounts = con.execute("SELECT account_id FROM accounts.account_scores WHERE as_of_date = ?", [day]).pl()
        row = product.row(0, named=True)
        yield MaterializeResult(asset_key=specs.ACCOUNT_HISTORY, metadata=table_metadata(
            ACCOUNT_HISTORY, history, history.select("account_id", "name", "score", "score_band", "health")))
        yield MaterializeResult(asset_key=specs.PRODUCT_DAILY, metadata={
            **table_metadata(PRODUCT_DAILY, product),
            "product_score": MetadataValue.float(float(row["product_score"])),
            "active_accounts": MetadataValue.int(row["active_accounts"]),
            "day": MetadataValue.md(markdown_table(product.transpose(include_header=True,
                                                                     column_names=["value"]).cast(str), 30)),
        })
        yield rules.history_matches_accounts(history, accounts)
        yield rules.one_product_row(product)

    return [snapshots_day]
