"""The day's account health report: one self-contained HTML page for customer-success managers.

`render_report` turns the day's tables into a page that opens from a file, offline, in
any browser: inline CSS, no script, no web font, no external resource of any kind; charts
(PNG or SVG bytes drawn by `exports/charts.py`) are embedded as base64 `data:` URIs.

What it shows, in order: KPI tiles (product score with its change, active accounts,
PQLs, at-risk accounts with the MRR at stake, heating, cooling, activation rate of new
accounts), the product score trend, accounts heating up and cooling down with what
changed, product-qualified leads with why, at-risk accounts by MRR at stake (churn risk
x MRR) with the reason, the activation funnel, and the other charts given.

The product score trend is the product score chart (`chart_product_score.png`) when the
caller gives it. Charts are drawn only for the newest day (see `exports/step.py`); a page
without that chart shows the last days' product score as a small table instead of drawing
a chart here, so rendering stays cheap, pure and independent of matplotlib.

The HTML is in Jinja templates (`exports/templates/`); this module prepares plain dicts
and lists for them. Rules it keeps:
- every value is HTML-escaped by the template engine (autoescape; nothing is marked safe),
  so an account called `<script>` is shown, never run;
- no personal data: account names, plans, reasons, user ids only; anything shaped like an
  email address in a value is replaced by `[email removed]` (the engine's `finalize` hook,
  so no template can forget it);
- deterministic: no generation timestamp, every list in a total order and numbers in
  fixed formats, so the same tables give byte-identical pages;
- never raises on empty or partial frames: missing columns count as unknown, and a day
  without accounts gives a page that says so.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import math
import re
from collections.abc import Mapping
from typing import Any

import jinja2
import polars as pl
from markupsafe import Markup

from engagement_pipeline.core.vocab import Health, Trend
from engagement_pipeline.exports.privacy import EMAIL_SCAN

REPORT_FILE = "report.html"
TREND_CHART = "chart_product_score.png"
MAX_ROWS = 25
TREND_DAYS = 14
EMAIL_PLACEHOLDER = "[email removed]"

Row = dict[str, Any]

# The account_scores columns the page reads (absent ones are treated as unknown).
_SCORE_COLUMNS: dict[str, pl.DataType] = {
    "as_of_date": pl.Date(), "account_id": pl.String(), "name": pl.String(), "score": pl.Float64(),
    "previous_score": pl.Float64(), "trend": pl.String(), "trend_delta": pl.Float64(),
    "active_users": pl.Int64(), "total_users": pl.Int64(), "activation_pct": pl.Float64(),
    "activated_at": pl.Date(), "created_date": pl.Date(), "plan": pl.String(), "status": pl.String(),
    "mrr": pl.Float64(), "health": pl.String(), "health_reason": pl.String(), "is_pql": pl.Boolean(),
    "pql_reason": pl.String(), "churn_risk": pl.Float64(), "change_drivers": pl.String(),
}
_AT_RISK_COLUMNS: dict[str, pl.DataType] = {
    "account_id": pl.String(), "name": pl.String(), "health_reason": pl.String(), "what_dropped": pl.String(),
    "since": pl.Date(), "churn_risk": pl.Float64(), "mrr": pl.Float64(), "mrr_at_risk": pl.Float64(),
    "plan": pl.String(),
}
_DAILY_COLUMNS: dict[str, pl.DataType] = {
    "date": pl.Date(), "product_score": pl.Float64(), "active_accounts": pl.Int64(), "total_accounts": pl.Int64(),
    "active_users": pl.Int64(), "total_users": pl.Int64(), "new_accounts_30d": pl.Int64(),
    "activated_new_accounts_30d": pl.Int64(), "activation_rate_30d": pl.Float64(),
    "heating_accounts": pl.Int64(), "cooling_accounts": pl.Int64(), "at_risk_accounts": pl.Int64(),
    "pql_accounts": pl.Int64(),
}
_STEP_COLUMNS: dict[str, pl.DataType] = {
    "as_of_date": pl.Date(), "account_id": pl.String(), "step": pl.String(), "first_done": pl.Date(),
}
# The sections' anchors and navigation labels, in page order.
_NAV = (("kpis", "At a glance"), ("trend", "Trend"), (Trend.HEATING, "Heating up"), (Trend.COOLING, "Cooling down"),
        ("pqls", "PQLs"), ("at-risk", "At risk"), ("activation", "Activation"), ("charts", "Charts"))


# --------------------------------------------------------------------------------------
# Formatting: the templates' filters, and the hook every printed value goes through
# --------------------------------------------------------------------------------------


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def scrub(value: object) -> object:
    """The engine's `finalize`: None and NaN print as nothing, email-shaped text as the placeholder.

    Markup (the output of the templates' own macros, already escaped and scrubbed) is
    passed through unchanged; everything else is returned as a plain str for the engine
    to escape.
    """
    if isinstance(value, Markup):
        return value
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    # EMAIL_SCAN, not a plain pattern: a base64 chart is one long run without a separator, which a
    # backtracking regex rejects in quadratic time (15 s for a 53 KB image).
    return EMAIL_SCAN.sub(EMAIL_PLACEHOLDER, str(value))


def text(value: object, empty: str = "") -> object:
    """`empty` for a missing value (None, NaN), else the value."""
    return empty if value is None or (isinstance(value, float) and math.isnan(value)) else value


def num(value: object, decimals: int = 1, empty: str = "–") -> str:
    """A number with thousands separators and fixed decimals."""
    return empty if _missing(value) else f"{float(value):,.{decimals}f}"  # type: ignore[arg-type]


def signed(value: object, decimals: int = 1) -> str:
    """A change with its sign ('+2.5', '-18.0'; zero unsigned)."""
    if _missing(value):
        return "–"
    number = round(float(value), decimals)  # type: ignore[arg-type]
    return f"{number:+,.{decimals}f}" if number else f"{0:.{decimals}f}"


def pct(value: object, decimals: int = 0) -> str:
    """A share 0..1 as a percentage."""
    return "–" if _missing(value) else f"{float(value) * 100:.{decimals}f}%"  # type: ignore[arg-type]


def money(value: object) -> str:
    return num(value, 0)


def delta_class(value: object) -> str:
    """The CSS class of a change: 'up', 'down' or '' (zero or unknown)."""
    if not isinstance(value, (int, float)) or not math.isfinite(value) or value == 0:
        return ""
    return "up" if value > 0 else "down"


def bar_width(share: float) -> str:
    return f"{max(0.0, min(share, 1.0)) * 100:.1f}%"


@functools.cache
def environment() -> jinja2.Environment:
    """The templates' environment: autoescape on for every template, strict about undefined names."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("engagement_pipeline.exports", "templates"),
        autoescape=jinja2.select_autoescape(("html", "htm", "xml", "html.j2"), default_for_string=True,
                                            default=True),
        undefined=jinja2.StrictUndefined, finalize=scrub, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(text=text, num=num, signed=signed, pct=pct, money=money, delta_class=delta_class,
                       bar_width=bar_width)
    env.globals.update(Trend=Trend)
    return env


# --------------------------------------------------------------------------------------
# Frames: conform to the columns the page reads, whatever the caller passed
# --------------------------------------------------------------------------------------


def _conform(frame: pl.DataFrame | None, columns: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """The frame with every column of `columns` (absent ones null) cast to its type, other columns kept."""
    if frame is None or not frame.width:
        return pl.DataFrame(schema=dict(columns))
    return frame.with_columns(
        (pl.col(name).cast(dtype, strict=False) if name in frame.columns else pl.lit(None, dtype=dtype)).alias(name)
        for name, dtype in columns.items()
    )


def _of_day(frame: pl.DataFrame, column: str, day: dt.date) -> pl.DataFrame:
    """The rows of `day` (all rows when the frame does not say its day)."""
    if frame.height and frame[column].null_count() < frame.height:
        return frame.filter(pl.col(column) == day)
    return frame


def _history(product_daily: pl.DataFrame | None, day: dt.date) -> pl.DataFrame:
    frame = _conform(product_daily, _DAILY_COLUMNS)
    return frame.filter(pl.col("date").is_not_null() & (pl.col("date") <= day)).unique("date", keep="last").sort("date")


# --------------------------------------------------------------------------------------
# Sections: what each template renders
# --------------------------------------------------------------------------------------


def _kpis(day: dt.date, accounts: pl.DataFrame, history: pl.DataFrame, at_stake: float | None) -> Row:
    """The tiles' figures: the `product_daily` row of the day, else computed from the accounts."""
    today = history.filter(pl.col("date") == day)
    known: Row = today.row(0, named=True) if today.height else {}
    earlier = history.filter(pl.col("date") < day)
    before: Row = earlier.row(-1, named=True) if earlier.height else {}
    active = accounts.filter(pl.col("active_users").fill_null(0) > 0)

    def pick(key: str, fallback: object) -> Any:
        value = known.get(key)
        return fallback if value is None else value

    product_score = pick("product_score", round(float(active["score"].mean()), 2) if active.height else None)  # type: ignore[arg-type]
    if known.get("new_accounts_30d") is not None:
        new, activated, rate = (known["new_accounts_30d"], known.get("activated_new_accounts_30d"),
                                known.get("activation_rate_30d"))
    else:  # as snapshots.product_daily counts them: created in the last 30 days, and of those activated
        created = accounts.filter(pl.col("created_date").is_between(day - dt.timedelta(days=29), day))
        new, activated = created.height, created.filter(pl.col("activated_at").is_not_null()).height
        rate = round(activated / new * 100, 1) if new else None
    previous = before.get("product_score")
    change = None if previous is None or product_score is None else round(float(product_score) - previous, 1)
    return {
        "product_score": product_score, "change": change, "since": before.get("date"),
        "active_accounts": pick("active_accounts", active.height),
        "total_accounts": pick("total_accounts", accounts.height),
        "pqls": pick("pql_accounts", accounts.filter(pl.col("is_pql").fill_null(False)).height),
        "at_risk": pick("at_risk_accounts", accounts.filter(pl.col("health") == Health.AT_RISK).height),
        "at_stake": at_stake,
        "heating": pick("heating_accounts", accounts.filter(pl.col("trend") == Trend.HEATING).height),
        "cooling": pick("cooling_accounts", accounts.filter(pl.col("trend") == Trend.COOLING).height),
        "new": new, "activated": activated, "rate": rate,
    }


def _trend(history: pl.DataFrame, chart: Row | None, days: int = TREND_DAYS) -> Row:
    """The trend section: the chart when there is one, else the last `days` days, newest first.

    `days` is 0 when no day has a product score (the section then says there is no history).
    """
    scored = history.filter(pl.col("product_score").is_not_null() & pl.col("product_score").is_finite())
    rows = scored.with_columns(pl.col("product_score").diff().alias("change")).tail(days).reverse()
    return {"days": history.height if scored.height else 0, "chart": chart,
            "rows": rows.select("date", "product_score", "change", "active_accounts").to_dicts()}


def _movers(accounts: pl.DataFrame, trend: Trend, max_rows: int) -> Row:
    """Accounts heating up (largest rise first) or cooling down (largest fall first)."""
    movers = accounts.filter(pl.col("trend") == trend).sort(
        ["trend_delta", "account_id"], descending=[trend == Trend.HEATING, False], nulls_last=True)
    return {"trend": trend, "total": movers.height, "rows": movers.head(max_rows).to_dicts()}


def _pqls(accounts: pl.DataFrame, max_rows: int) -> Row:
    pqls = accounts.filter(pl.col("is_pql").fill_null(False)).sort(
        ["score", "account_id"], descending=[True, False], nulls_last=True)
    return {"total": pqls.height, "rows": pqls.head(max_rows).to_dicts()}


def at_risk_table(accounts: pl.DataFrame, at_risk: pl.DataFrame | None = None) -> pl.DataFrame:
    """The at-risk accounts with `mrr_at_stake` (churn risk x MRR), largest first.

    From `at_risk` (the export's at_risk_accounts list) when given, else the day's accounts whose
    health is `at_risk`. Order: MRR at stake (unknown last), churn risk, account id.
    """
    if at_risk is not None:
        frame = _conform(at_risk, _AT_RISK_COLUMNS)
    else:
        frame = _conform(accounts.filter(pl.col("health") == Health.AT_RISK), _AT_RISK_COLUMNS)
    stake = pl.coalesce(pl.col("mrr_at_risk"), pl.col("churn_risk") * pl.col("mrr"))
    return frame.with_columns(stake.round(2).alias("mrr_at_stake")).sort(
        ["mrr_at_stake", "churn_risk", "account_id"], descending=[True, True, False], nulls_last=True)


def _at_risk(table: pl.DataFrame, max_rows: int) -> Row:
    """The at-risk rows; the 'what dropped' and 'since' columns only when the list has them."""
    return {"total": table.height, "stake": float(table["mrr_at_stake"].sum()) if table.height else 0.0,
            "with_drop": table["what_dropped"].null_count() < table.height, "rows": table.head(max_rows).to_dicts()}


def funnel_levels(activation_pct: pl.Series) -> list[tuple[float, int]]:
    """(checklist share completed in %, accounts at exactly that share), lowest first.

    The quarters 0/25/50/75/100 when every value is one of them (a four-step checklist), else
    0, every value that occurs, and 100.
    """
    values = [round(float(v), 1) for v in activation_pct.fill_null(0.0).to_list()]
    quarters = {0.0, 25.0, 50.0, 75.0, 100.0}
    levels = sorted(quarters if set(values) <= quarters else {0.0, 100.0, *values})
    return [(level, sum(1 for v in values if v == level)) for level in levels]


def _funnel(accounts: pl.DataFrame, activation_steps: pl.DataFrame | None, day: dt.date) -> Row:
    """Accounts per checklist share (with how many got at least that far), and per step when given."""
    total = accounts.height
    levels = funnel_levels(accounts["activation_pct"])
    rows = []
    for i, (level, count) in enumerate(levels):
        at_least = sum(c for _, c in levels[i:])
        rows.append({"level": level, "count": count, "at_least": at_least, "share": at_least / total if total else 0.0})
    steps: list[Row] = []
    if activation_steps is not None:
        done = _of_day(_conform(activation_steps, _STEP_COLUMNS), "as_of_date", day).filter(
            pl.col("step").is_not_null() & pl.col("first_done").is_not_null()
            & pl.col("account_id").is_in(accounts["account_id"].drop_nulls().implode()))
        per_step = done.group_by("step").agg(pl.col("account_id").n_unique().alias("accounts")).sort(
            ["accounts", "step"], descending=[True, False])
        steps = [{**r, "share": r["accounts"] / total if total else 0.0} for r in per_step.to_dicts()]
    return {"total": total, "levels": rows, "steps": steps}


def _mime(data: bytes) -> str | None:
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


def _chart(key: str, data: bytes) -> Row:
    """A chart to embed: its title, and its MIME type and base64 bytes (mime None: not an image)."""
    mime = _mime(data) if data else None
    return {"title": chart_title(key), "mime": mime, "data": base64.b64encode(data).decode("ascii") if mime else ""}


# --------------------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------------------


def render_report(
    day: dt.date,
    product_daily: pl.DataFrame | None,
    account_scores: pl.DataFrame | None,
    at_risk: pl.DataFrame | None = None,
    charts: Mapping[str, bytes] | None = None,
    *,
    activation_steps: pl.DataFrame | None = None,
    max_rows: int = MAX_ROWS,
) -> str:
    """The account health report of `day` as one self-contained HTML page (a str; write it as UTF-8).

    - `product_daily`: `snapshots.product_daily` rows; those up to `day` make the trend, the
      row of `day` gives the KPI tiles (computed from `account_scores` when it is missing).
    - `account_scores`: `accounts.account_scores` of the day (rows of other days are ignored).
    - `at_risk`: optional, the export's `at_risk_accounts.csv` frame (adds what dropped and
      since when); else the accounts whose health is `at_risk`.
    - `charts`: optional name -> PNG/SVG/JPEG bytes. The product score chart (`TREND_CHART`)
      is the trend section's picture (without it the trend is a table of the last days);
      the others are embedded in the charts section in the order given.
    - `activation_steps`: optional `accounts.activation_steps` rows: adds the funnel per step.
    - `max_rows`: longest table shown (the page says how many more there are).
    """
    accounts = _of_day(_conform(account_scores, _SCORE_COLUMNS), "as_of_date", day)
    history = _history(product_daily, day)
    trend_charts = [_chart(k, v) for k, v in (charts or {}).items() if is_trend_chart(k)]
    other_charts = [_chart(k, v) for k, v in (charts or {}).items() if not is_trend_chart(k)]
    context: Row = {"day": day.isoformat(), "accounts": accounts.height,
                    "trend": _trend(history, trend_charts[-1] if trend_charts else None), "charts": other_charts}
    sections = {"trend", "charts"} if other_charts else {"trend"}
    if accounts.height:
        risk = at_risk_table(accounts, at_risk)
        context |= {
            "kpis": _kpis(day, accounts, history, float(risk["mrr_at_stake"].sum()) if risk.height else 0.0),
            "heating": _movers(accounts, Trend.HEATING, max_rows), "cooling": _movers(accounts, Trend.COOLING, max_rows),
            "pqls": _pqls(accounts, max_rows), "at_risk": _at_risk(risk, max_rows),
            "funnel": _funnel(accounts, activation_steps, day),
        }
        sections |= {"kpis", Trend.HEATING, Trend.COOLING, "pqls", "at-risk", "activation"}
    context["nav"] = [(anchor, label) for anchor, label in _NAV if anchor in sections]
    return environment().get_template("report.html.j2").render(context)
