"""Identity stitching and account resolution of staged messages.

1. Stitching: an anonymousId is linked to a userId by any message carrying both
   (identify, usually) or by an alias call (previousId -> userId); the earliest link wins.
   Staging reads the links found today and in the staged days within
   `staging.stitching_lookback_days` on either side.
2. Account resolution (first that applies, recorded in `account_source`, see
   `core.vocab.AccountSource`): `context` - the message's own `context.groupId`;
   `group_call` - a group call's `groupId`; `membership` - the user's latest group call at
   or before the message; `membership_next` - the user's first group call after it
   (activity before the group call that made them a member, as in a signup flow);
   otherwise the account stays null (`unresolved`, or `anonymous` when no user is known)
   and is counted.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from engagement_pipeline.core.vocab import AccountSource, MessageType


def identity_links(messages: pl.DataFrame) -> pl.DataFrame:
    """anonymous_id -> user_id links, the earliest per anonymous id."""
    direct = messages.filter(pl.col("anonymous_id").is_not_null() & pl.col("user_id").is_not_null()).select(
        "anonymous_id", "user_id", "timestamp"
    )
    aliases = messages.filter((pl.col("type") == MessageType.ALIAS) & pl.col("previous_id").is_not_null()).select(
        pl.col("previous_id").alias("anonymous_id"), "user_id", "timestamp"
    )
    return (
        pl.concat([direct, aliases])
        .filter(pl.col("anonymous_id") != pl.col("user_id"))
        .sort("timestamp", "user_id")
        .unique("anonymous_id", keep="first", maintain_order=True)
        .select("anonymous_id", pl.col("user_id").alias("linked_user_id"))
    )


def stitch(messages: pl.DataFrame, links: pl.DataFrame) -> pl.DataFrame:
    joined = messages.join(links, on="anonymous_id", how="left")
    return joined.with_columns(
        (pl.col("user_id").is_null() & pl.col("linked_user_id").is_not_null()).alias("stitched"),
        pl.coalesce("user_id", "linked_user_id").alias("user_id"),
    ).drop("linked_user_id")


def resolve_accounts(
    messages: pl.DataFrame, group_calls: pl.DataFrame, fallback: str = "latest_before"
) -> pl.DataFrame:
    """Attach `account_id` and `account_source` to every message (see the module docstring).

    `fallback` decides the account of a message without `context.groupId` (users in
    several accounts): `latest_before` - the latest group call at or before it, else the
    first after it; `first_joined` - the first account the user ever joined.
    """
    calls = (
        group_calls.select("user_id", pl.col("group_id").alias("_gid"), pl.col("timestamp").alias("_gts"))
        .drop_nulls()
        .sort("_gts", "_gid")
    )
    indexed = messages.with_row_index("_row")
    # Only a message without its own account (no context.groupId, not a group call) of a known
    # user looks for a membership: with context on most events, a small share of the day.
    is_group_call = (pl.col("type") == MessageType.GROUP) & pl.col("group_id").is_not_null()
    own_account = pl.col("context_group_id").is_not_null() | is_group_call
    looking = (
        indexed.filter(~own_account.fill_null(False) & pl.col("user_id").is_not_null())
        .select("_row", "user_id", pl.col("timestamp").fill_null(dt.datetime(1970, 1, 1)).alias("_ts"))
        .sort("_ts")
    )
    if fallback == "first_joined":
        first = calls.unique("user_id", keep="first", maintain_order=True).select(
            "user_id", pl.col("_gid").alias("_first")
        )
        candidates = looking.join(first, on="user_id", how="left").select(
            "_row", pl.col("_first").alias("_before"), pl.lit(None, dtype=pl.String).alias("_after")
        )
    else:
        backward = looking.join_asof(
            calls, left_on="_ts", right_on="_gts", by="user_id", strategy="backward", check_sortedness=False
        ).select("_row", pl.col("_gid").alias("_before"))
        forward = looking.join_asof(
            calls, left_on="_ts", right_on="_gts", by="user_id", strategy="forward", check_sortedness=False
        ).select("_row", pl.col("_gid").alias("_after"))
        candidates = backward.join(forward, on="_row", how="left")
    return (
        indexed.join(candidates, on="_row", how="left", maintain_order="left")
        .with_columns(
            pl.when(pl.col("context_group_id").is_not_null())
            .then(pl.lit(AccountSource.CONTEXT))
            .when(is_group_call)
            .then(pl.lit(AccountSource.GROUP_CALL))
            .when(pl.col("_before").is_not_null())
            .then(pl.lit(AccountSource.MEMBERSHIP))
            .when(pl.col("_after").is_not_null())
            .then(pl.lit(AccountSource.MEMBERSHIP_NEXT))
            .when(pl.col("user_id").is_null())
            .then(pl.lit(AccountSource.ANONYMOUS))
            .otherwise(pl.lit(AccountSource.UNRESOLVED))
            .alias("account_source"),
        )
        .with_columns(
            pl.when(pl.col("account_source") == AccountSource.CONTEXT)
            .then(pl.col("context_group_id"))
            .when(pl.col("account_source") == AccountSource.GROUP_CALL)
            .then(pl.col("group_id"))
            .when(pl.col("account_source") == AccountSource.MEMBERSHIP)
            .then(pl.col("_before"))
            .when(pl.col("account_source") == AccountSource.MEMBERSHIP_NEXT)
            .then(pl.col("_after"))
            .alias("account_id")
        )
        .drop("_row", "_before", "_after")
    )
