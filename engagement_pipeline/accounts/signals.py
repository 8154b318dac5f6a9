"""Churn signals that a plain score misses, each a column of `accounts.account_scores` with a reason.

Real churn rarely looks like a smooth decline: the champion who did most of the work leaves while
colleagues carry on; seats drop out one by one; usage is seasonal (weekends, a holiday week that
slows every account at once is not churn). Per account and as-of day D, from the scored events
(user x day points) of the 63 days up to D:

- `champion_share`, `champion_quiet_days`, `champion_lost`: the champion is the account's top
  user by points over the baseline weeks (D-34 .. D-7) when the account has at least two users
  then; its share of those points, the days since its last scored event, and whether it went
  quiet (no scored event for `CHAMPION_QUIET_DAYS`) while another user stayed active in the
  last 7 days and it carried at least `CHAMPION_MIN_SHARE` of the points.
- `users_for_80pct`: breadth, how many users carry 80% of the points in the window (D-29 .. D);
  1 means one person is the account.
- `active_users_change`: seat contraction, the users active in the last 7 days against the
  account's mean weekly active users of the 4 weeks before, minus 1 (-0.5 = half the usual
  users), discounted by the product's own change (see below).
- `activity_vs_usual`: the calendar-aware baseline, scored events in the last 7 days against
  the mean of the same weekdays over the 4 weeks before (each week holds every weekday once, so
  weekends compare with weekends), divided by the same ratio of the median account (with at least 20 accounts), minus 1.
  A holiday week slows every account alike: the product's ratio falls as much and the account's
  signal stays near 0, so it raises no false alarm; a churning account falls below the product.
- `mrr_change_28d` and `engagement_vs_mrr`: the MRR change over 28 days (from billing) and,
  when engagement and MRR move apart (activity_vs_usual <= -0.3 while MRR rose, or >= +0.3
  while it fell), that divergence in words.
- `seats_bought` and `seats_used_share`: the seats bought (billing's optional `seats` column, the
  latest billing row on or before D; null without it) and the share of them in use, active users
  / seats bought (null when no seats are bought). Fewer than `SEATS_USED_MIN` used is worded:
  paid-for seats nobody uses are the first to go at renewal.

`signal_reasons` words each signal that fires; `churn.py` turns the signals into risk features.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

CHAMPION_QUIET_DAYS = 10
CHAMPION_MIN_SHARE = 0.3
BREADTH_SHARE = 0.8
PRODUCT_MIN_ACCOUNTS = 20
DIVERGENCE = 0.3  # |activity_vs_usual| at which engagement and MRR moving apart is worth a word
SEATS_USED_MIN = 0.5  # seats_used_share below which the unused bought seats are worth a word
SIGNAL_COLUMNS: tuple[str, ...] = (
    "champion_share",
    "champion_quiet_days",
    "champion_lost",
    "users_for_80pct",
    "active_users_change",
    "activity_vs_usual",
    "mrr_change_28d",
    "engagement_vs_mrr",
    "signal_reasons",
    "seats_bought",
    "seats_used_share",
)


def _median_ratio(frame: pl.DataFrame, now: str, usual: str) -> float:
    """The median over accounts with a baseline of now / usual; 1.0 with fewer than PRODUCT_MIN_ACCOUNTS."""
    ratios = frame.filter(pl.col(usual) > 0).select(pl.col(now) / pl.col(usual))
    if ratios.height < PRODUCT_MIN_ACCOUNTS:
        return 1.0
    return max(float(ratios.to_series().median()), 0.05)  # type: ignore[arg-type]


def _days_ago(as_of: dt.date) -> pl.Expr:
    return (pl.lit(as_of) - pl.col("event_date")).dt.total_days()


def account_signals(scored: pl.DataFrame, as_of: dt.date, window_days: int) -> pl.DataFrame:
    """account_id and the event-based signals (see the module docstring) of every account in `scored`.

    `scored`: account_id, user_id, event_date, event_count, points rows (scored track events of
    every account, at least the 35 days up to `as_of`: the product-wide discount needs them all).
    """
    rows = scored.filter(pl.col("user_id").is_not_null()).with_columns(_days_ago(as_of).alias("_ago"))
    # The usual weeks are the whole weeks the account has history for (up to 4): an account seen
    # for the first time 17 days ago, or a history that began then, has one usual week, not four
    # weeks of which three are empty (which would read as activity far above its usual).
    rows = rows.with_columns(
        ((pl.col("_ago").max().over("account_id") - 6) // 7).clip(0, 4).alias("_weeks"),
    )
    recent = pl.col("_ago") < 7
    usual = (pl.col("_ago") >= 7) & (pl.col("_ago") <= 6 + 7 * pl.col("_weeks"))
    per_account = rows.group_by("account_id").agg(
        pl.col("event_count").filter(recent).sum().alias("_events_now"),
        pl.when(pl.col("_weeks").first() > 0)
        .then(pl.col("event_count").filter(usual).sum() / pl.col("_weeks").first())
        .alias("_events_usual"),
        pl.col("user_id").filter(recent).n_unique().alias("_wau_now"),
    )
    weekly = (
        rows.filter(usual)
        .with_columns((pl.col("_ago") // 7).alias("_week"))
        .group_by("account_id", "_week")
        .agg(pl.col("user_id").n_unique().alias("_wau"), pl.col("_weeks").first())
        .group_by("account_id")
        .agg((pl.col("_wau").sum() / pl.col("_weeks").first()).alias("_wau_usual"))
    )
    per_account = per_account.join(weekly, on="account_id", how="left").with_columns(
        pl.col("_wau_usual").fill_null(0.0)
    )
    # The product's own change over the same days, what every account shares (a holiday week): the
    # median account's ratio, so one big account's own drop does not move it. Too few accounts
    # cannot tell a product-wide dip from their own: below PRODUCT_MIN_ACCOUNTS there is no discount.
    product_events = _median_ratio(per_account, "_events_now", "_events_usual")
    product_users = _median_ratio(per_account, "_wau_now", "_wau_usual")
    per_account = per_account.with_columns(
        pl.when(pl.col("_events_usual") > 0)
        .then((pl.col("_events_now") / pl.col("_events_usual") / product_events - 1).round(3))
        .alias("activity_vs_usual"),
        pl.when(pl.col("_wau_usual") > 0)
        .then((pl.col("_wau_now") / pl.col("_wau_usual") / product_users - 1).round(3))
        .alias("active_users_change"),
    )

    by_user = rows.filter(usual).group_by("account_id", "user_id").agg(pl.col("points").sum().alias("_p"))
    champions = (
        by_user.with_columns(
            (pl.col("_p") / pl.col("_p").sum().over("account_id")).alias("_share"),
            pl.len().over("account_id").alias("_users"),
        )
        .filter(pl.col("_users") >= 2)
        .sort(["account_id", "_p", "user_id"], descending=[False, True, False])
        .group_by("account_id", maintain_order=True)
        .first()
        .select("account_id", pl.col("user_id").alias("_champion"), pl.col("_share").round(3).alias("champion_share"))
    )
    last_seen = rows.group_by("account_id", "user_id").agg(pl.col("_ago").min().alias("_quiet"))
    others_now = (
        rows.filter(recent)
        .join(champions, on="account_id")
        .filter(pl.col("user_id") != pl.col("_champion"))
        .group_by("account_id")
        .agg(pl.col("user_id").n_unique().alias("_others_now"))
    )
    champions = (
        champions.join(last_seen.rename({"user_id": "_champion"}), on=["account_id", "_champion"], how="left")
        .join(others_now, on="account_id", how="left")
        .with_columns(
            pl.col("_quiet").cast(pl.Int64).alias("champion_quiet_days"),
            (
                (pl.col("_quiet") >= CHAMPION_QUIET_DAYS)
                & (pl.col("_others_now").fill_null(0) > 0)
                & (pl.col("champion_share") >= CHAMPION_MIN_SHARE)
            ).alias("champion_lost"),
        )
        .select("account_id", "champion_share", "champion_quiet_days", "champion_lost")
    )

    in_window = rows.filter(pl.col("_ago") < window_days).group_by("account_id", "user_id").agg(pl.col("points").sum())
    breadth = (
        in_window.sort(["account_id", "points", "user_id"], descending=[False, True, False])
        .with_columns(
            (pl.col("points").cum_sum().over("account_id") / pl.col("points").sum().over("account_id")).alias("_cum")
        )
        .with_columns(pl.col("_cum").shift(1).over("account_id").fill_null(0.0).alias("_before"))
        .filter(pl.col("_before") < BREADTH_SHARE - 1e-9)
        .group_by("account_id")
        .agg(pl.len().cast(pl.Int64).alias("users_for_80pct"))
    )
    return (
        per_account.select("account_id", "activity_vs_usual", "active_users_change", "_wau_now", "_wau_usual")
        .join(champions, on="account_id", how="left")
        .join(breadth, on="account_id", how="left")
        .with_columns(pl.col("champion_lost").fill_null(False))
    )


def mrr_exprs() -> list[pl.Expr]:
    """`mrr_change_28d` and `engagement_vs_mrr` from the row's `mrr`, `_mrr_28d_ago` and activity_vs_usual."""
    change = pl.col("mrr").cast(pl.Float64) - pl.col("_mrr_28d_ago").cast(pl.Float64)
    usual = pl.col("activity_vs_usual")
    text = (
        pl.when((usual <= -DIVERGENCE) & (change > 0))
        .then(pl.format("engagement down {}% while MRR rose {} USD", (-usual * 100).round(0).cast(pl.Int64), change))
        .when((usual >= DIVERGENCE) & (change < 0))
        .then(pl.format("engagement up {}% while MRR fell {} USD", (usual * 100).round(0).cast(pl.Int64), -change))
    )
    return [change.alias("mrr_change_28d"), text.alias("engagement_vs_mrr")]


def seats_exprs() -> list[pl.Expr]:
    """`seats_bought` and `seats_used_share` from the row's `seats` (billing) and `active_users`."""
    bought = pl.col("seats").cast(pl.Int64)
    share = pl.when(bought > 0).then((pl.col("active_users").fill_null(0) / bought).round(3))
    return [bought.alias("seats_bought"), share.alias("seats_used_share")]


def reasons_expr() -> pl.Expr:
    """`signal_reasons`: each signal that fires, in words ('' when none)."""
    parts = [
        pl.when(pl.col("champion_lost")).then(
            pl.format(
                "top user ({}% of the points) quiet for {} days while colleagues carry on",
                (pl.col("champion_share") * 100).round(0).cast(pl.Int64),
                pl.col("champion_quiet_days"),
            )
        ),
        pl.when(pl.col("active_users_change") <= -0.3).then(
            pl.format(
                "{} users active this week against {} usually",
                pl.col("_wau_now"),
                pl.col("_wau_usual").round(1),
            )
        ),
        pl.when(pl.col("activity_vs_usual") <= -0.3).then(
            pl.format(
                "activity {}% below its usual weeks (net of the whole product's change)",
                (-pl.col("activity_vs_usual") * 100).round(0).cast(pl.Int64),
            )
        ),
        pl.when((pl.col("users_for_80pct") == 1) & (pl.col("total_users") >= 3)).then(
            pl.format("one user carries 80% of the points ({} users)", pl.col("total_users"))
        ),
        pl.col("engagement_vs_mrr"),
        pl.when(pl.col("seats_used_share") < SEATS_USED_MIN).then(
            pl.format("{} of {} bought seats used", pl.col("active_users").fill_null(0), pl.col("seats_bought"))
        ),
    ]
    return pl.concat_str(parts, separator="; ", ignore_nulls=True).fill_null("").alias("signal_reasons")
