"""Constant names and descriptions of every check, so the UI and the code agree."""

from __future__ import annotations

from dagster import AssetCheckSpec, AssetKey

RAW_LINES = AssetKey(["raw", "landed_lines"])
EVENTS = AssetKey(["staging", "events"])
QUARANTINE = AssetKey(["staging", "quarantine"])
DAILY_COUNTS = AssetKey(["staging", "daily_event_counts"])
USER_SCORES = AssetKey(["scores", "user_scores"])
ACCOUNT_SCORES = AssetKey(["accounts", "account_scores"])
ACCOUNT_HISTORY = AssetKey(["snapshots", "account_history"])
PRODUCT_DAILY = AssetKey(["snapshots", "product_daily"])
EXPORTS = AssetKey(["exports", "daily_exports"])

CHECK_DESCRIPTIONS = {
    "lines_have_position": "Every landed line has its source file and a unique 1-based line number.",
    "lines_reconcile": "Lines landed = accepted + duplicates + quarantined, exactly, for the day.",
    "quarantine_share": "WARN when the day's quarantined share passes staging.quarantine_warn_share.",
    "unresolved_account_share": "WARN when the share of accepted events without an account passes "
                                "staging.unresolved_account_warn_share.",
    "gx_staging_events": "Great Expectations suite on the day's staging.events: keys not null and "
                         "unique, value sets, dates in range.",
    "gx_staging_quarantine": "Great Expectations suite on the day's staging.quarantine: known reasons, "
                             "positions unique, payload kept.",
    "gx_daily_event_counts": "Great Expectations suite on the day's staging.daily_event_counts: counts "
                             ">= 1, one row per event day, user, account and event.",
    "scores_in_range": "Scores are 0..100, 0 exactly when the raw score is 0, and one row per user.",
    "gx_user_scores": "Great Expectations suite on the day's scores.user_scores.",
    "one_row_per_account": "Exactly one row per account, with valid trend, health and 0..100 scores.",
    "consistent_with_users": "Every active user in scores.user_scores is counted active in their account.",
    "score_distribution_shift": "WARN when the median or p90 account score moves more than 10 / 15 points "
                                "from the previous day (a model, data or tracking change).",
    "gx_account_scores": "Great Expectations suite on the day's accounts.account_scores: one row per "
                         "account, scores, trends, health states and probabilities in range.",
    "history_matches_accounts": "The day's history has exactly the accounts of accounts.account_scores.",
    "one_product_row": "snapshots.product_daily has exactly one row for the day.",
    "files_valid": "Export headers exact, hashed values SHA-256 hex, no duplicate identifiers, "
                   "row counts and checksums match the manifest.",
    "audience_sizes": "WARN when a look-alike audience is below its platform's minimum size.",
}


def spec(name: str, asset: AssetKey, blocking: bool = True) -> AssetCheckSpec:
    return AssetCheckSpec(name, asset=asset, blocking=blocking, description=CHECK_DESCRIPTIONS[name])
