"""The daily digest for customer success: a Slack-compatible message (incoming-webhook JSON:
`text` plus `blocks`) with the new PQLs, the accounts that turned at risk with the MRR at
stake, and the heating and cooling accounts.

Accounts are named by their account name and id only: no user, email or person appears.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from engagement_pipeline.accounts.health import mover, with_list_columns
from engagement_pipeline.core.config_destinations import DigestDestination
from engagement_pipeline.core.vocab import Health, Trend

SECTION_LIMIT = 2900  # Slack refuses a section text over 3,000 characters


def escape(text: str) -> str:
    """Slack's three control characters, escaped as its docs ask (names come from the data)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _name(row: dict[str, Any]) -> str:
    name = row.get("name") or row["account_id"]
    return f"*{escape(str(name))}* (`{escape(str(row['account_id']))}`)"


def _money(value: float | None, currency: str) -> str:
    return "unknown MRR" if value is None else f"{currency}{value:,.0f}"


def transitions(
    today: pl.DataFrame, yesterday: pl.DataFrame | None, lookback_days: int = 30
) -> dict[str, pl.DataFrame]:
    """The day's news: PQLs that were not PQLs the day before, accounts that turned at risk, heating and
    cooling accounts (the lists' rule, `accounts.health.mover`: old enough for the trend look-back
    `lookback_days`, not churned). With no day before (the first digest), every current PQL and at-risk
    account is new."""
    before = (
        yesterday.select("account_id", pl.col("is_pql").alias("_was_pql"), pl.col("health").alias("_was_health"))
        if yesterday is not None and yesterday.height
        else pl.DataFrame(schema={"account_id": pl.String, "_was_pql": pl.Boolean, "_was_health": pl.String})
    )
    frame = with_list_columns(today).join(before, on="account_id", how="left")
    new_pql = frame.filter(pl.col("is_pql").fill_null(False) & ~pl.col("_was_pql").fill_null(False))
    at_risk = frame.filter(
        (pl.col("health") == Health.AT_RISK) & (pl.col("_was_health").fill_null("") != Health.AT_RISK)
    ).with_columns((pl.col("churn_risk") * pl.col("mrr")).alias("mrr_at_stake"))
    return {
        "new_pql": new_pql.sort(["score", "account_id"], descending=[True, False], nulls_last=True),
        "at_risk": at_risk.sort(["mrr", "account_id"], descending=[True, False], nulls_last=True),
        "heating": frame.filter(mover(Trend.HEATING, lookback_days)).sort(
            ["trend_delta", "account_id"], descending=[True, False], nulls_last=True
        ),
        "cooling": frame.filter(mover(Trend.COOLING, lookback_days)).sort(
            ["trend_delta", "account_id"], nulls_last=True
        ),
    }


def _lines(frame: pl.DataFrame, line: Any, limit: int) -> str:
    rows = list(frame.head(limit).iter_rows(named=True))
    text = "\n".join(f"• {line(row)}" for row in rows) or "_none today_"
    if frame.height > limit:
        text += f"\n_… and {frame.height - limit} more (see the day's export folder)_"
    return text[:SECTION_LIMIT]


def _score(value: Any) -> str:
    return "?" if value is None else f"{value:.0f}"


def build_digest(
    day: dt.date,
    today: pl.DataFrame,
    yesterday: pl.DataFrame | None,
    digest: DigestDestination,
    lookback_days: int = 30,
) -> dict[str, Any]:
    """The webhook body for the day (`today`: the day's `accounts.account_scores` rows; `yesterday`: the day
    before's `snapshots.account_history` rows, None when there is none)."""
    news = transitions(today, yesterday, lookback_days)
    cur, limit = digest.currency, digest.max_accounts
    at_stake = news["at_risk"]["mrr"].drop_nulls().sum() if news["at_risk"].height else 0.0
    sections = [
        (
            f"New PQLs ({news['new_pql'].height})",
            _lines(
                news["new_pql"],
                lambda r: f"{_name(r)}: score {_score(r['score'])}, activation {_score(r['activation_pct'])}%",
                limit,
            ),
        ),
        (
            f"Turned at risk ({news['at_risk'].height}, {_money(float(at_stake), cur)} MRR at stake)",
            _lines(
                news["at_risk"],
                lambda r: (
                    f"{_name(r)}: {_money(r['mrr'], cur)} MRR, churn risk {_score((r['churn_risk'] or 0) * 100)}%"
                    + ("" if r["mrr_at_stake"] is None else f" ({_money(r['mrr_at_stake'], cur)} expected loss)")
                ),
                limit,
            ),
        ),
        (
            f"Heating ({news['heating'].height})",
            _lines(
                news["heating"],
                lambda r: f"{_name(r)}: score {_score(r['previous_score'])} → {_score(r['score'])}",
                limit,
            ),
        ),
        (
            f"Cooling ({news['cooling'].height})",
            _lines(
                news["cooling"],
                lambda r: f"{_name(r)}: score {_score(r['previous_score'])} → {_score(r['score'])}",
                limit,
            ),
        ),
    ]
    first = " (first digest: every current PQL and at-risk account is listed)" if yesterday is None else ""
    summary = (
        f"Engagement digest for {day.isoformat()}: {news['new_pql'].height} new PQLs, "
        f"{news['at_risk'].height} accounts turned at risk ({_money(float(at_stake), cur)} MRR at stake), "
        f"{news['heating'].height} heating, {news['cooling'].height} cooling{first}."
    )
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"Engagement digest {day.isoformat()}"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": escape(summary)}},
    ]
    for title, body in sections:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*{escape(title)}*\n{body}"}})
    return {"text": summary, "blocks": blocks}
