"""The staging rules across lines, in Spark's DataFrame API: the same rules as `staging/stage.py`
(de-duplication) and `staging/identity.py` (links, stitching, account resolution), row for row.

Where Spark and polars differ by default, the order is spelled out: nulls sort first in polars
and in `asc_nulls_first`, strings compare by their UTF-8 bytes in both, and every "first" has a
total order (file, then line; timestamp, then id) so no engine picks a copy by chance. The
`as of` joins of `resolve_accounts` (polars `join_asof`) are a join on the user and a max / min
of (timestamp, group id) on either side of the message's time, which picks the same call.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from engagement_pipeline.core.vocab import AccountSource, MessageType
from engagement_pipeline.core.warehouse import DUPLICATES

ID_COLUMNS = ("type", "user_id", "anonymous_id", "previous_id", "timestamp")


def first_copies(accepted: DataFrame, window_ids: DataFrame, day: dt.date) -> tuple[DataFrame, DataFrame]:
    """(kept, duplicates): within the day the copy received first wins (by `receivedAt`, copies
    without one last, then source, file and line); a messageId staged on an earlier day of the
    look-back wins over every copy of today."""
    first = Window.partitionBy("message_id").orderBy(
        F.col("received_at").asc_nulls_last(),
        F.col("source").asc(),
        F.col("source_file").asc(),
        F.col("line_number").asc(),
    )
    earlier = (
        window_ids.where(F.col("received_date") < F.lit(day))
        .groupBy("message_id")
        .agg(F.min("received_date").alias("_earlier_date"))
    )
    judged = accepted.withColumn("_first_in_day", F.row_number().over(first) == 1).join(
        earlier, on="message_id", how="left"
    )
    is_kept = F.col("_first_in_day") & F.col("_earlier_date").isNull()
    kept = judged.where(is_kept).drop("_first_in_day", "_earlier_date")
    dupes = judged.where(~is_kept).withColumn(
        "first_received_date", F.coalesce(F.col("_earlier_date"), F.col("received_date"))
    )
    return kept, dupes.select(*DUPLICATES.column_names)


def later_copies(window_ids: DataFrame, kept: DataFrame, day: dt.date) -> DataFrame:
    """Copies staged on later days (within the look-back) of messages kept today: they become duplicates."""
    return (
        window_ids.where(F.col("received_date") > F.lit(day))
        .join(kept.select("message_id"), on="message_id", how="left_semi")
        .select("received_date", "source_file", "line_number", "message_id", "event_date")
    )


def original_ids(events: DataFrame) -> DataFrame:
    """Staged events' identity columns as they arrived (a stitched event had no userId)."""
    return events.select(
        "type",
        F.when(F.col("stitched"), F.lit(None).cast("string")).otherwise(F.col("user_id")).alias("user_id"),
        "anonymous_id",
        "previous_id",
        "timestamp",
    )


def identity_links(messages: DataFrame) -> DataFrame:
    """anonymous_id -> linked_user_id, the earliest link (by timestamp, then user id) per anonymous id."""
    direct = messages.where(F.col("anonymous_id").isNotNull() & F.col("user_id").isNotNull()).select(
        "anonymous_id", "user_id", "timestamp"
    )
    aliases = messages.where((F.col("type") == MessageType.ALIAS.value) & F.col("previous_id").isNotNull()).select(
        F.col("previous_id").alias("anonymous_id"), "user_id", "timestamp"
    )
    earliest = Window.partitionBy("anonymous_id").orderBy(F.asc_nulls_first("timestamp"), F.asc_nulls_first("user_id"))
    return (
        direct.unionByName(aliases)
        .where(F.col("anonymous_id") != F.col("user_id"))
        .withColumn("_n", F.row_number().over(earliest))
        .where(F.col("_n") == 1)
        .select("anonymous_id", F.col("user_id").alias("linked_user_id"))
    )


def stitch(messages: DataFrame, links: DataFrame) -> DataFrame:
    joined = messages.join(links, on="anonymous_id", how="left")
    return (
        joined.withColumn("stitched", F.col("user_id").isNull() & F.col("linked_user_id").isNotNull())
        .withColumn("user_id", F.coalesce(F.col("user_id"), F.col("linked_user_id")))
        .drop("linked_user_id")
    )


def resolve_accounts(messages: DataFrame, group_calls: DataFrame, fallback: str) -> DataFrame:
    """`account_id` and `account_source` for every message, as `identity.resolve_accounts`.

    Messages are keyed by message_id (unique once de-duplicated).
    """
    calls = group_calls.select("user_id", F.col("group_id").alias("_gid"), F.col("timestamp").alias("_gts")).dropna()
    is_group_call = (F.col("type") == MessageType.GROUP.value) & F.col("group_id").isNotNull()
    own_account = F.col("context_group_id").isNotNull() | is_group_call
    looking = messages.where(~F.coalesce(own_account, F.lit(False)) & F.col("user_id").isNotNull()).select(
        F.col("message_id").alias("_mid"),
        "user_id",
        F.coalesce(F.col("timestamp"), F.lit(dt.datetime(1970, 1, 1)).cast("timestamp_ntz")).alias("_ts"),
    )
    call = F.struct(F.col("_gts"), F.col("_gid"))
    if fallback == "first_joined":
        first = calls.groupBy("user_id").agg(F.min(call).getField("_gid").alias("_before"))
        candidates = looking.join(first, on="user_id", how="left").select(
            "_mid", "_before", F.lit(None).cast("string").alias("_after")
        )
    else:
        pairs = looking.join(calls, on="user_id")
        before = (
            pairs.where(F.col("_gts") <= F.col("_ts"))
            .groupBy("_mid")
            .agg(F.max(call).getField("_gid").alias("_before"))
        )
        after = (
            pairs.where(F.col("_gts") >= F.col("_ts")).groupBy("_mid").agg(F.min(call).getField("_gid").alias("_after"))
        )
        candidates = looking.select("_mid").join(before, on="_mid", how="left").join(after, on="_mid", how="left")
    resolved = messages.join(candidates, messages["message_id"] == candidates["_mid"], how="left")
    source: Column = (
        F.when(F.col("context_group_id").isNotNull(), F.lit(AccountSource.CONTEXT.value))
        .when(is_group_call, F.lit(AccountSource.GROUP_CALL.value))
        .when(F.col("_before").isNotNull(), F.lit(AccountSource.MEMBERSHIP.value))
        .when(F.col("_after").isNotNull(), F.lit(AccountSource.MEMBERSHIP_NEXT.value))
        .when(F.col("user_id").isNull(), F.lit(AccountSource.ANONYMOUS.value))
        .otherwise(F.lit(AccountSource.UNRESOLVED.value))
    )
    account = (
        F.when(F.col("account_source") == AccountSource.CONTEXT.value, F.col("context_group_id"))
        .when(F.col("account_source") == AccountSource.GROUP_CALL.value, F.col("group_id"))
        .when(F.col("account_source") == AccountSource.MEMBERSHIP.value, F.col("_before"))
        .when(F.col("account_source") == AccountSource.MEMBERSHIP_NEXT.value, F.col("_after"))
    )
    return (
        resolved.withColumn("account_source", source)
        .withColumn("account_id", account)
        .drop("_mid", "_before", "_after")
    )


def daily_counts(events: DataFrame) -> DataFrame:
    """The compact aggregate: user x account x type x event x event day -> count."""
    return (
        events.where(F.col("user_id").isNotNull())
        .groupBy("received_date", "event_date", "user_id", "account_id", "type", "event")
        .agg(F.count(F.lit(1)).cast("long").alias("event_count"))
    )
