"""The look-alike seed: the users whose likes the ad platforms should find."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from engagement_pipeline.exports.audiences.normalize import normalize_email
from engagement_pipeline.exports.audiences.phones import normalize_phone_e164


def seed_users(
    user_scores: pl.DataFrame,
    users: pl.DataFrame,
    top_ids: pl.Series,
    min_user_score: float,
    title_keywords: Sequence[str] = (),
) -> pl.DataFrame:
    """The look-alike seed: users of the top accounts who are worth looking like.

    A user qualifies when their account (in `scores.user_scores`, the account where they
    earned most points) is a top account, they were active in the window (score > 0), their
    score is at least `min_user_score` (`exports.min_user_score`), they have not unsubscribed,
    and - when `title_keywords` is given - their job title contains one of the keywords
    (case-insensitive; users without a title are then left out).

    What would be configurable with more config keys (config.py is fixed for now):
    `exports.seed_title_keywords` (the keywords above, e.g. [founder, head, vp, manager]),
    `exports.seed_active_only` (the score > 0 rule), `exports.seed_max_users_per_account`
    (so one big account cannot dominate the seed). Sorted by user id so the audience builders,
    which keep the first of duplicate identifiers, see the same order on every run.
    """
    chosen = (
        user_scores.filter(
            pl.col("account_id").is_in(top_ids.implode()) & (pl.col("score") > 0) & (pl.col("score") >= min_user_score)
        )
        .select("user_id")
        .unique()
    )
    seed = chosen.join(users, on="user_id", how="inner").filter(~pl.col("unsubscribed").fill_null(False))
    # An opt-out belongs to the person, not to one user record: drop every seed sharing a
    # normalized email or phone with any user who unsubscribed (a second signup, a merge).
    opted_out = users.filter(pl.col("unsubscribed").fill_null(False))
    blocked_emails = {e for e in (normalize_email(v) for v in opted_out["email"].to_list()) if e}
    blocked_phones = {
        p
        for p in (
            normalize_phone_e164(v, c) for v, c in zip(opted_out["phone"].to_list(), opted_out["country"].to_list())
        )
        if p
    }
    if blocked_emails or blocked_phones:
        seed = seed.filter(
            ~pl.struct("email", "phone", "country").map_elements(
                lambda r: (
                    (normalize_email(r["email"]) in blocked_emails)
                    or (normalize_phone_e164(r["phone"], r["country"]) in blocked_phones)
                ),
                return_dtype=pl.Boolean,
            )
        )
    keywords = [k.strip().lower() for k in title_keywords if k and k.strip()]
    if keywords:
        title = pl.col("title").fill_null("").str.to_lowercase()
        seed = seed.filter(pl.any_horizontal([title.str.contains(k, literal=True) for k in keywords]))
    return seed.sort("user_id", "email", "phone", "first_name", "last_name", nulls_last=True)
