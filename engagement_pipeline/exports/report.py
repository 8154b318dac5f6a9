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

The HTML is in Jinja templates (`exports/templates/`); `exports/report_sections.py`
prepares plain dicts and lists for them, and this module holds the template engine (its
filters and `finalize` hook) and puts the page together. Rules they keep:
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

import datetime as dt
import functools
import math
from collections.abc import Mapping

import jinja2
import polars as pl
from markupsafe import Markup

from engagement_pipeline.core.privacy import EMAIL_SCAN
from engagement_pipeline.core.vocab import Trend
from engagement_pipeline.exports.report_sections import (
    SCORE_COLUMNS,
    TREND_DAYS,
    Row,
    at_risk_section,
    at_risk_table,
    chart_entry,
    chart_title,
    conform,
    files_section,
    funnel_levels,
    funnel_section,
    is_trend_chart,
    kpis_section,
    list_section,
    movers_section,
    of_day,
    pqls_section,
    product_history,
    trend_section,
)

__all__ = [
    "EMAIL_PLACEHOLDER",
    "MAX_ROWS",
    "REPORT_FILE",
    "TREND_CHART",
    "TREND_DAYS",
    "at_risk_table",
    "chart_title",
    "environment",
    "funnel_levels",
    "is_trend_chart",
    "render_report",
    "scrub",
]

REPORT_FILE = "report.html"
TREND_CHART = "chart_product_score.png"
MAX_ROWS = 25
EMAIL_PLACEHOLDER = "[email removed]"

# The sections' anchors and navigation labels, in page order.
_NAV = (
    ("kpis", "At a glance"),
    ("trend", "Trend"),
    (Trend.HEATING, "Heating up"),
    (Trend.COOLING, "Cooling down"),
    ("new-ramping", "New and ramping"),
    ("churned", "Churned"),
    ("pqls", "PQLs"),
    ("at-risk", "At risk"),
    ("expansion", "Expansion"),
    ("case-studies", "Case studies"),
    ("activation", "Activation"),
    ("charts", "Charts"),
    ("files", "Files"),
)


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


def money(value: object, currency: str = "") -> str:
    """An amount without decimals, after its currency code when one is given ('USD 1,250')."""
    shown = num(value, 0)
    return f"{currency} {shown}" if currency and shown != "–" else shown


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
        autoescape=jinja2.select_autoescape(("html", "htm", "xml", "html.j2"), default_for_string=True, default=True),
        undefined=jinja2.StrictUndefined,
        finalize=scrub,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        text=text, num=num, signed=signed, pct=pct, money=money, delta_class=delta_class, bar_width=bar_width
    )
    env.globals.update(Trend=Trend)
    return env


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
    currency: str = "USD",
    files: Mapping[str, pl.DataFrame] | None = None,
    lookback_days: int = 30,
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
    - `currency`: the code shown with every amount (`exports.currency`).
    - `lookback_days`: the trend look-back (`model.trend.lookback_days`): heating and cooling list
      only the accounts old enough for it, and not churned (`accounts.health.mover`).
    - `files`: the export folder's files by name: the expansion-ready, case-study, new-and-ramping
      and churned-this-period lists become sections, and every CSV gets a link (the page sits beside them in `<exports>/<day>/`).
    """
    accounts = of_day(conform(account_scores, SCORE_COLUMNS), "as_of_date", day)
    history = product_history(product_daily, day)
    trend_charts = [chart_entry(k, v) for k, v in (charts or {}).items() if is_trend_chart(k)]
    other_charts = [chart_entry(k, v) for k, v in (charts or {}).items() if not is_trend_chart(k)]
    context: Row = {
        "day": day.isoformat(),
        "accounts": accounts.height,
        "trend": trend_section(history, trend_charts[-1] if trend_charts else None),
        "charts": other_charts,
        "currency": currency,
        "files": files_section(files),
    }
    sections = {"trend", "charts"} if other_charts else {"trend"}
    if context["files"]:
        sections.add("files")
    if accounts.height:
        risk = at_risk_table(accounts, at_risk)
        context |= {
            "kpis": kpis_section(
                day, accounts, history, float(risk["mrr_at_stake"].sum()) if risk.height else 0.0, lookback_days
            ),
            "heating": movers_section(accounts, Trend.HEATING, max_rows, lookback_days),
            "cooling": movers_section(accounts, Trend.COOLING, max_rows, lookback_days),
            "pqls": pqls_section(accounts, max_rows),
            "at_risk": at_risk_section(risk, max_rows),
            "funnel": funnel_section(accounts, activation_steps, day),
        }
        sections |= {"kpis", Trend.HEATING, Trend.COOLING, "pqls", "at-risk", "activation"}
        if files is not None:
            context |= {
                "expansion": list_section(files.get("expansion_accounts.csv"), max_rows),
                "case_studies": list_section(files.get("case_study_candidates.csv"), max_rows),
                "new_ramping": list_section(files.get("new_and_ramping_accounts.csv"), max_rows),
                "churned": list_section(files.get("churned_accounts.csv"), max_rows),
                "lookback_days": lookback_days,
            }
            sections |= {"expansion", "case-studies", "new-ramping", "churned"}
    context["nav"] = [(anchor, label) for anchor, label in _NAV if anchor in sections]
    return environment().get_template("report.html.j2").render(context)
