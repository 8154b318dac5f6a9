"""The people behind the actionable lists: name and email of each PQL, at-risk and
expansion-ready account's main users, for the people who work those lists.

A separate file, `list_contacts_personal_data.csv`, written only with
`exports.include_contacts: true`: the lists themselves keep user ids and titles only, and no
other file, metadata or log carries a name or an email.
"""

from __future__ import annotations

import polars as pl

from engagement_pipeline.exports.privacy import mask_personal, neutralize

CONTACTS_FILE = "list_contacts_personal_data.csv"
CONTACTS_HEADER: tuple[str, ...] = (
    "account_id",
    "name",
    "list",
    "rank",
    "first_name",
    "last_name",
    "email",
    "title",
    "user_score",
)
CONTACT_LISTS = {"pql": "pql_accounts.csv", "at_risk": "at_risk_accounts.csv", "expansion": "expansion_accounts.csv"}
# The file's identifier for the export verifier: a person appears once per list and account.
CONTACTS_KEY = pl.col("list") + pl.lit("\x00") + pl.col("account_id") + pl.lit("\x00") + pl.col("rank")


def list_contacts(
    lists: dict[str, pl.DataFrame], user_scores: pl.DataFrame, users: pl.DataFrame, n: int = 3
) -> pl.DataFrame:
    """Per list (`CONTACT_LISTS`, in the list's own order) and account, its `n` most engaged active
    users (the `main_users` rule: score, then user id) with their name, email and title (an email or
    phone number typed into a name or title is masked: only the `email` column holds one)."""
    people = (
        users.select("user_id", "first_name", "last_name", "email", "title")
        .sort("user_id", "email", nulls_last=True)
        .unique("user_id", keep="first", maintain_order=True)
    )
    ranked = (
        user_scores.filter((pl.col("score") > 0) & pl.col("account_id").is_not_null())
        .sort(["account_id", "score", "user_id"], descending=[False, True, False])
        .group_by("account_id", maintain_order=True)
        .head(n)
        .with_columns(pl.int_range(1, pl.len() + 1).over("account_id").alias("rank"))
        .join(people, on="user_id", how="left")
    )
    frames = []
    for key, file in CONTACT_LISTS.items():
        accounts = lists[file].select("account_id", "name").with_row_index("_order")
        frames.append(
            accounts.join(ranked, on="account_id", how="inner")
            .sort("_order", "rank")
            .select(
                "account_id",
                "name",
                pl.lit(key).alias("list"),
                pl.col("rank").cast(pl.Int64),
                mask_personal(pl.col("first_name")).str.strip_chars(),
                mask_personal(pl.col("last_name")).str.strip_chars(),
                pl.col("email").str.strip_chars(),
                mask_personal(pl.col("title")).str.strip_chars(),
                pl.col("score").alias("user_score"),
            )
        )
    out = pl.concat(frames) if frames else pl.DataFrame(schema=dict.fromkeys(CONTACTS_HEADER, pl.String))
    return neutralize(out.select(CONTACTS_HEADER))
