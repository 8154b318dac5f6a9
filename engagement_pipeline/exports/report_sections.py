"""The report's sections as plain data: what each template of `exports/templates/` renders.

`render_report` (`exports/report.py`) calls these with the day's frames; each returns dicts
and lists of plain values (numbers, str, dates, None), formatted later by the templates'
filters. Frames are first conformed to the columns the page reads (absent ones null), so
empty or partial frames never raise; every list is in a total order, so the same tables
give the same page.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

import polars as pl

from engagement_pipeline.accounts.health import is_active_account, mover
from engagement_pipeline.core.vocab import Health, Trend

TREND_DAYS = 14

Row = dict[str, Any]

# The account_scores columns the page reads (absent ones are treated as unknown).
SCORE_COLUMNS: dict[str, pl.DataType] = {
    "as_of_date": pl.Date(),
    "account_id": pl.String(),
    "name": pl.String(),
    "score": pl.Float64(),
    "previous_score": pl.Float64(),
    "trend": pl.String(),
    "trend_delta": pl.Float64(),
    "active_users": pl.Int64(),
    "total_users": pl.Int64(),
    "activation_pct": pl.Float64(),
    "activated_at": pl.Date(),
    "created_date": pl.Date(),
    "plan": pl.String(),
    "status": pl.String(),
    "mrr": pl.Float64(),
    "health": pl.String(),
    "health_reason": pl.String(),
    "is_pql": pl.Boolean(),
    "pql_reason": pl.String(),
    "churn_risk": pl.Float64(),
    "change_drivers": pl.String(),
}
AT_RISK_COLUMNS: dict[str, pl.DataType] = {
    "account_id": pl.String(),
    "name": pl.String(),
    "health_reason": pl.String(),
    "what_dropped": pl.String(),
    "since": pl.Date(),
    "churn_risk": pl.Float64(),
    "mrr": pl.Float64(),
    "mrr_at_risk": pl.Float64(),
    "plan": pl.String(),
}
DAILY_COLUMNS: dict[str, pl.DataType] = {
    "date": pl.Date(),
    "product_score": pl.Float64(),
    "active_accounts": pl.Int64(),
    "total_accounts": pl.Int64(),
    "active_users": pl.Int64(),
    "total_users": pl.Int64(),
    "new_accounts_30d": pl.Int64(),
    "activated_new_accounts_30d": pl.Int64(),
    "activation_rate_30d": pl.Float64(),
    "heating_accounts": pl.Int64(),
    "cooling_accounts": pl.Int64(),
    "at_risk_accounts": pl.Int64(),
    "pql_accounts": pl.Int64(),
}
STEP_COLUMNS: dict[str, pl.DataType] = {
    "as_of_date": pl.Date(),
    "account_id": pl.String(),
    "step": pl.String(),
    "first_done": pl.Date(),
}


# --------------------------------------------------------------------------------------
# Frames: conform to the columns the page reads, whatever the caller passed
# --------------------------------------------------------------------------------------


def conform(frame: pl.DataFrame | None, columns: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """The frame with every column of `columns` (absent ones null) cast to its type, other columns kept."""
    if frame is None or not frame.width:
        return pl.DataFrame(schema=dict(columns))
    return frame.with_columns(
        (pl.col(name).cast(dtype, strict=False) if name in frame.columns else pl.lit(None, dtype=dtype)).alias(name)
        for name, dtype in columns.items()
    )


def of_day(frame: pl.DataFrame, column: str, day: dt.date) -> pl.DataFrame:
    """The rows of `day` (all rows when the frame does not say its day)."""
    if frame.height and frame[column].null_count() < frame.height:
        return frame.filter(pl.col(column) == day)
    return frame


def product_history(product_daily: pl.DataFrame | None, day: dt.date) -> pl.DataFrame:
    frame = conform(product_daily, DAILY_COLUMNS)
    return frame.filter(pl.col("date").is_not_null() & (pl.col("date") <= day)).unique("date", keep="last").sort("date")


# --------------------------------------------------------------------------------------
# Sections: what each template renders
# --------------------------------------------------------------------------------------


def kpis_section(
    day: dt.date, accounts: pl.DataFrame, history: pl.DataFrame, at_stake: float | None, lookback_days: int = 30
) -> Row:
    """The tiles' figures: the `product_daily` row of the day, else computed from the accounts."""
    today = history.filter(pl.col("date") == day)
    known: Row = today.row(0, named=True) if today.height else {}
    earlier = history.filter(pl.col("date") < day)
    before: Row = earlier.row(-1, named=True) if earlier.height else {}
    active = accounts.filter(is_active_account())

    def pick(key: str, fallback: object) -> Any:
        value = known.get(key)
        return fallback if value is None else value

    product_score = pick("product_score", round(float(active["score"].mean()), 2) if active.height else None)  # type: ignore[arg-type]
    if known.get("new_accounts_30d") is not None:
        new, activated, rate = (
            known["new_accounts_30d"],
            known.get("activated_new_accounts_30d"),
            known.get("activation_rate_30d"),
        )
    else:  # as snapshots.product_daily counts them: created in the last 30 days, and of those activated
        created = accounts.filter(pl.col("created_date").is_between(day - dt.timedelta(days=29), day))
        new, activated = created.height, created.filter(pl.col("activated_at").is_not_null()).height
        rate = round(activated / new * 100, 1) if new else None
    previous = before.get("product_score")
    change = None if previous is None or product_score is None else round(float(product_score) - previous, 1)
    pqls = accounts.filter(pl.col("is_pql").fill_null(False))
    plans = (
        pqls.group_by(pl.col("plan").fill_null("unknown plan")).len().sort(["len", "plan"], descending=[True, False])
    )
    return {
        "pql_plans": [(str(p), int(n)) for p, n in plans.iter_rows()],  # plan labels as they are: trial, free
        "product_score": product_score,
        "change": change,
        "since": before.get("date"),
        "active_accounts": pick("active_accounts", active.height),
        "total_accounts": pick("total_accounts", accounts.height),
        "pqls": pick("pql_accounts", pqls.height),
        "at_risk": pick("at_risk_accounts", accounts.filter(pl.col("health") == Health.AT_RISK).height),
        "at_stake": at_stake,
        "heating": pick("heating_accounts", accounts.filter(mover(Trend.HEATING, lookback_days)).height),
        "cooling": pick("cooling_accounts", accounts.filter(mover(Trend.COOLING, lookback_days)).height),
        "new": new,
        "activated": activated,
        "rate": rate,
    }


def trend_section(history: pl.DataFrame, chart: Row | None, days: int = TREND_DAYS) -> Row:
    """The trend section: the chart when there is one, else the last `days` days, newest first.

    `days` is 0 when no day has a product score (the section then says there is no history).
    """
    scored = history.filter(pl.col("product_score").is_not_null() & pl.col("product_score").is_finite())
    rows = scored.with_columns(pl.col("product_score").diff().alias("change")).tail(days).reverse()
    return {
        "days": history.height if scored.height else 0,
        "chart": chart,
        "rows": rows.select("date", "product_score", "change", "active_accounts").to_dicts(),
    }


def movers_section(accounts: pl.DataFrame, trend: Trend, max_rows: int, lookback_days: int = 30) -> Row:
    """Accounts heating up (largest rise first) or cooling down (largest fall first): only those old
    enough for a look-back and not churned (`accounts.health.mover`); new accounts and churned ones
    have their own sections."""
    movers = accounts.filter(mover(trend, lookback_days)).sort(
        ["trend_delta", "account_id"], descending=[trend == Trend.HEATING, False], nulls_last=True
    )
    return {"trend": trend, "total": movers.height, "rows": movers.head(max_rows).to_dicts()}


def pqls_section(accounts: pl.DataFrame, max_rows: int) -> Row:
    pqls = accounts.filter(pl.col("is_pql").fill_null(False)).sort(
        ["score", "account_id"], descending=[True, False], nulls_last=True
    )
    return {"total": pqls.height, "rows": pqls.head(max_rows).to_dicts()}


def at_risk_table(accounts: pl.DataFrame, at_risk: pl.DataFrame | None = None) -> pl.DataFrame:
    """The at-risk accounts with `mrr_at_stake` (churn risk x MRR), largest first.

    From `at_risk` (the export's at_risk_accounts list) when given, else the day's accounts whose
    health is `at_risk`. Order: MRR at stake (unknown last), churn risk, account id.
    """
    if at_risk is not None:
        frame = conform(at_risk, AT_RISK_COLUMNS)
    else:
        frame = conform(accounts.filter(pl.col("health") == Health.AT_RISK), AT_RISK_COLUMNS)
    stake = pl.coalesce(pl.col("mrr_at_risk"), pl.col("churn_risk") * pl.col("mrr"))
    return frame.with_columns(stake.round(2).alias("mrr_at_stake")).sort(
        ["mrr_at_stake", "churn_risk", "account_id"], descending=[True, True, False], nulls_last=True
    )


def at_risk_section(table: pl.DataFrame, max_rows: int) -> Row:
    """The at-risk rows; the 'what dropped' and 'since' columns only when the list has them."""
    return {
        "total": table.height,
        "stake": float(table["mrr_at_stake"].sum()) if table.height else 0.0,
        "with_drop": table["what_dropped"].null_count() < table.height,
        "rows": table.head(max_rows).to_dicts(),
    }


def funnel_levels(activation_pct: pl.Series) -> list[tuple[float, int]]:
    """(checklist share completed in %, accounts at exactly that share), lowest first.

    The quarters 0/25/50/75/100 when every value is one of them (a four-step checklist), else
    0, every value that occurs, and 100.
    """
    values = [round(float(v), 1) for v in activation_pct.fill_null(0.0).to_list()]
    quarters = {0.0, 25.0, 50.0, 75.0, 100.0}
    levels = sorted(quarters if set(values) <= quarters else {0.0, 100.0, *values})
    return [(level, sum(1 for v in values if v == level)) for level in levels]


def funnel_section(accounts: pl.DataFrame, activation_steps: pl.DataFrame | None, day: dt.date) -> Row:
    """Accounts per checklist share (with how many got at least that far), and per step when given."""
    total = accounts.height
    levels = funnel_levels(accounts["activation_pct"])
    rows = []
    for i, (level, count) in enumerate(levels):
        at_least = sum(c for _, c in levels[i:])
        rows.append({"level": level, "count": count, "at_least": at_least, "share": at_least / total if total else 0.0})
    steps: list[Row] = []
    if activation_steps is not None:
        done = of_day(conform(activation_steps, STEP_COLUMNS), "as_of_date", day).filter(
            pl.col("step").is_not_null()
            & pl.col("first_done").is_not_null()
            & pl.col("account_id").is_in(accounts["account_id"].drop_nulls().implode())
        )
        per_step = (
            done.group_by("step")
            .agg(pl.col("account_id").n_unique().alias("accounts"))
            .sort(["accounts", "step"], descending=[True, False])
        )
        steps = [{**r, "share": r["accounts"] / total if total else 0.0} for r in per_step.to_dicts()]
    return {"total": total, "levels": rows, "steps": steps}


def mime_type(data: bytes) -> str | None:
    head = data[:256].lstrip()
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith((b"<svg", b"<?xml")) and b"<svg" in data[:4096]:
        return "image/svg+xml"
    return None


def chart_title(key: str) -> str:
    """'product_score' -> 'Product score'."""
    words = re.sub(r"[_\-]+", " ", re.sub(r"\.(png|svg|jpe?g|gif|webp)$", "", key)).strip()
    return words[:1].upper() + words[1:] if words else "Chart"


def is_trend_chart(key: str) -> bool:
    """Whether a chart is the product score chart ('chart_product_score.png', or 'product_score' and the like)."""
    return re.sub(r"^chart_", "", re.sub(r"\.(png|svg|jpe?g|gif|webp)$", "", key)) == "product_score"


def chart_entry(key: str, data: bytes) -> Row:
    """A chart to embed: its title, and its MIME type and base64 bytes (mime None: not an image)."""
    mime = mime_type(data) if data else None
    return {"title": chart_title(key), "mime": mime, "data": base64.b64encode(data).decode("ascii") if mime else ""}


def list_section(frame: pl.DataFrame | None, max_rows: int) -> Row:
    """An export list shown on the page (expansion-ready accounts, case-study candidates): its
    first rows in the list's own order, and how many there are."""
    rows = frame if frame is not None else pl.DataFrame()
    return {"total": rows.height, "rows": rows.head(max_rows).to_dicts()}


def files_section(files: Mapping[str, pl.DataFrame] | None) -> list[Row]:
    """Every CSV of the export folder, with its rows: the page links to each (they sit beside it)."""
    return [
        {"name": name, "rows": frame.height} for name, frame in sorted((files or {}).items()) if name.endswith(".csv")
    ]
