"""Asset keys as constants: key prefix = DuckDB schema = asset group, name = table.

Assets, checks, the runner and the tests name assets through these, so a key is spelled
once.
"""

from __future__ import annotations

from dagster import AssetKey

# The layers (asset groups, DuckDB schemas) in the order data flows through them.
LAYERS = ("raw", "staging", "scores", "accounts", "snapshots", "exports", "destinations")

RAW_LINES = AssetKey(["raw", "landed_lines"])
EVENTS = AssetKey(["staging", "events"])
QUARANTINE = AssetKey(["staging", "quarantine"])
DUPLICATES = AssetKey(["staging", "duplicates"])
DAILY_COUNTS = AssetKey(["staging", "daily_event_counts"])
STAGING_ACCOUNTS = AssetKey(["staging", "accounts"])
BILLING = AssetKey(["staging", "billing"])
ACCOUNT_TRAITS_HISTORY = AssetKey(["staging", "account_traits_history"])
USER_SCORES = AssetKey(["scores", "user_scores"])
ACCOUNT_SCORES = AssetKey(["accounts", "account_scores"])
ACCOUNT_FEATURE_USAGE = AssetKey(["accounts", "account_feature_usage"])
ACCOUNT_HISTORY = AssetKey(["snapshots", "account_history"])
PRODUCT_DAILY = AssetKey(["snapshots", "product_daily"])
COHORT_DAILY = AssetKey(["snapshots", "cohort_daily"])
SCORE_BACKTEST = AssetKey(["snapshots", "score_backtest"])
EXPORTS = AssetKey(["exports", "daily_exports"])
SEGMENT_TRAITS = AssetKey(["destinations", "segment_traits"])
CS_DIGEST = AssetKey(["destinations", "cs_digest"])
# The one step that runs every destination: a failure there (a destination down) leaves the
# exports materialized, and the CLI goes on with the next day (`ops.runner`).
DESTINATIONS_STEP = "daily_destinations"


def table_key(schema: str, name: str) -> AssetKey:
    """The asset key of a warehouse table `schema.name`."""
    return AssetKey([schema, name])
