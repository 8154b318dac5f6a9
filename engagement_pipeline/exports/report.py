"""The day's account health report: one self-contained HTML page for customer-success managers.

`render_report` turns the day's tables into a page that opens from a file, offline, in
any browser: inline CSS, no script, no web font, no external resource of any kind; the
product score trend is an inline SVG drawn here, so the page needs no chart library;
charts made elsewhere (PNG or SVG bytes) are embedded as base64 `data:` URIs.

What it shows, in order: KPI tiles (product score with its change, active accounts,
PQLs, at-risk accounts with the MRR at stake, heating, cooling, activation rate of new
accounts), the product score trend, accounts heating up and cooling down with what
changed, product-qualified leads with why, at-risk accounts by MRR at stake (churn risk
x MRR) with the reason, the activation funnel, and any charts given.

Rules it keeps:
- every text value is HTML-escaped (an account called `<script>` is shown, never run);
- no personal data: account names, plans, reasons, user ids only; anything shaped like
  an email address in a text value is replaced by `[email removed]`;
- deterministic: no generation timestamp, every list in a total order and numbers in
  fixed formats, so the same tables give byte-identical pages;
- never raises on empty or partial frames: missing columns count as unknown, and a day
  without accounts gives a page that says so.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import math
import re
from collections.abc import Iterable, Mapping, Sequence

import polars as pl

REPORT_FILE = "report.html"
MAX_ROWS = 25
EMAIL_PLACEHOLDER = "[email removed]"
_EMAIL_RE = re.compile(r"[^\s@,;:<>()\[\]\"']+@[^\s@,;:<>()\[\]\"']+\.[A-Za-z]{2,}")

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

_CSS = """
:root { --ink: #1f2933; --muted: #616e7c; --line: #d9e2ec; --bg: #f5f7fa; --card: #ffffff;
        --accent: #2f6fde; --up: #1b7f4b; --down: #c23b22; --warn: #b7791f; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
       font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 48px; }
header h1 { margin: 0 0 4px; font-size: 26px; }
.lede { margin: 0 0 12px; color: var(--muted); }
nav { margin: 0 0 20px; font-size: 14px; }
nav a { color: var(--accent); margin-right: 14px; text-decoration: none; }
nav a:hover { text-decoration: underline; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px;
          margin: 0 0 18px; }
h2 { margin: 0 0 4px; font-size: 19px; }
.note { margin: 0 0 10px; color: var(--muted); font-size: 13.5px; }
.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(132px, 1fr)); gap: 12px; margin-top: 10px; }
.tile { border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; background: var(--bg); }
.tile .label { color: var(--muted); font-size: 13px; }
.tile .value { font-size: 26px; font-weight: 650; line-height: 1.2; }
.tile .detail { color: var(--muted); font-size: 12.5px; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; font-size: 13px; background: var(--bg); }
td.num, th.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
.id { display: block; color: var(--muted); font-size: 12px; }
.up { color: var(--up); } .down { color: var(--down); }
.empty { color: var(--muted); font-style: italic; margin: 6px 0; }
.more { color: var(--muted); font-size: 13px; margin: 8px 0 0; }
.bar { background: var(--line); border-radius: 3px; height: 12px; min-width: 160px; }
.bar span { display: block; background: var(--accent); border-radius: 3px; height: 12px; }
svg.trend { width: 100%; max-width: 1080px; height: auto; display: block; }
svg.trend text { font: 12px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; fill: var(--muted); }
figure { margin: 0 0 16px; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 6px; }
figcaption { color: var(--muted); font-size: 13px; }
footer { color: var(--muted); font-size: 12.5px; }
@media print { body { background: #fff; } section { break-inside: avoid; } nav { display: none; } }
"""


# --------------------------------------------------------------------------------------
# Text and number formatting (every value that reaches the page goes through `_text`)
# --------------------------------------------------------------------------------------


def _text(value: object, empty: str = "") -> str:
    """A value as escaped HTML text, with email-shaped strings removed."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return html.escape(empty)
    return html.escape(_EMAIL_RE.sub(EMAIL_PLACEHOLDER, str(value)), quote=True)


def _num(value: object, decimals: int = 1, empty: str = "–") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return empty
    return f"{float(value):,.{decimals}f}"  # type: ignore[arg-type]


def _signed(value: object, decimals: int = 1) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    number = round(float(value), decimals)  # type: ignore[arg-type]
    return f"{number:+,.{decimals}f}" if number else f"{0:.{decimals}f}"


def _pct(value: object, decimals: int = 0) -> str:
    """A share 0..1 as a percentage."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{float(value) * 100:.{decimals}f}%"  # type: ignore[arg-type]


def _money(value: object) -> str:
    return _num(value, 0)


def _delta_class(value: object) -> str:
    if value is None or not isinstance(value, (int, float)) or not math.isfinite(value) or value == 0:
        return ""
    return "up" if value > 0 else "down"


def _account_cell(row: Mapping[str, object]) -> str:
    name, account_id = row.get("name"), row.get("account_id")
    label = _text(name if name not in (None, "") else account_id, "unknown account")
    ident = f'<span class="id">{_text(account_id)}</span>' if name not in (None, "") and account_id else ""
    return f"{label}{ident}"


# --------------------------------------------------------------------------------------
# Frames: conform to the columns the page reads, whatever the caller passed
# --------------------------------------------------------------------------------------


def _conform(frame: pl.DataFrame | None, columns: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """The frame with every column of `columns` (absent ones null) cast to its type, other columns kept."""
    if frame is None:
        frame = pl.DataFrame()
    return frame.with_columns(
        [
            (pl.col(name).cast(dtype, strict=False) if name in frame.columns else pl.lit(None, dtype=dtype)).alias(name)
            for name, dtype in columns.items()
        ]
    ) if frame.width else pl.DataFrame(schema=dict(columns))


def _accounts_of_day(account_scores: pl.DataFrame | None, day: dt.date) -> pl.DataFrame:
    frame = _conform(account_scores, _SCORE_COLUMNS)
    if frame.height and frame["as_of_date"].null_count() < frame.height:
        frame = frame.filter(pl.col("as_of_date") == day)
    return frame


def _history(product_daily: pl.DataFrame | None, day: dt.date) -> pl.DataFrame:
    frame = _conform(product_daily, _DAILY_COLUMNS)
    return frame.filter(pl.col("date").is_not_null() & (pl.col("date") <= day)).unique("date", keep="last").sort("date")


def _rows(frame: pl.DataFrame) -> list[dict[str, object]]:
    return frame.to_dicts()


# --------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------


def _table(headers: Sequence[tuple[str, str]], body: Iterable[Sequence[str]], total: int, shown: int,
           more_hint: str = "") -> str:
    """`headers`: (label, css class); `body`: rows of ready HTML cells."""
    head = "".join(f'<th class="{cls}" scope="col">{_text(label)}</th>' if cls else f'<th scope="col">{_text(label)}</th>'
                   for label, cls in headers)
    rows = []
    for cells in body:
        tds = "".join(f'<td class="{cls}">{cell}</td>' if cls else f"<td>{cell}</td>"
                      for (_, cls), cell in zip(headers, cells))
        rows.append(f"<tr>{tds}</tr>")
    out = (f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead>'
           f'<tbody>{"".join(rows)}</tbody></table></div>')
    if total > shown:
        out += f'<p class="more">Showing {shown} of {total}.{" " + _text(more_hint) if more_hint else ""}</p>'
    return out


def _tile(label: str, value: str, detail: str = "", klass: str = "") -> str:
    detail_html = f'<div class="detail">{detail}</div>' if detail else ""
    value_class = f"value {klass}".strip()
    return (f'<div class="tile"><div class="label">{_text(label)}</div>'
            f'<div class="{value_class}">{value}</div>{detail_html}</div>')


def _kpis(day: dt.date, accounts: pl.DataFrame, history: pl.DataFrame, at_stake: float | None) -> str:
    today = history.filter(pl.col("date") == day)
    known = today.row(0, named=True) if today.height else {}
    earlier = history.filter(pl.col("date") < day)
    before = earlier.row(-1, named=True) if earlier.height else {}
    active = accounts.filter(pl.col("active_users").fill_null(0) > 0)

    def pick(key: str, fallback: object) -> object:
        value = known.get(key)
        return fallback if value is None else value

    product_score = pick("product_score", round(float(active["score"].mean()), 2) if active.height else None)
    active_accounts = pick("active_accounts", active.height)
    total_accounts = pick("total_accounts", accounts.height)
    pqls = pick("pql_accounts", accounts.filter(pl.col("is_pql").fill_null(False)).height)
    at_risk = pick("at_risk_accounts", accounts.filter(pl.col("health") == "at_risk").height)
    heating = pick("heating_accounts", accounts.filter(pl.col("trend") == "heating").height)
    cooling = pick("cooling_accounts", accounts.filter(pl.col("trend") == "cooling").height)
    if known.get("new_accounts_30d") is not None:
        new, activated, rate = (known.get("new_accounts_30d"), known.get("activated_new_accounts_30d"),
                                known.get("activation_rate_30d"))
    else:  # as snapshots.product_daily counts them: created in the last 30 days, and of those activated
        created = accounts.filter(pl.col("created_date").is_between(day - dt.timedelta(days=29), day))
        new, activated = created.height, created.filter(pl.col("activated_at").is_not_null()).height
        rate = round(activated / new * 100, 1) if new else None

    score_detail = ""
    previous = before.get("product_score")
    if previous is not None and product_score is not None:
        change = float(product_score) - float(previous)  # type: ignore[arg-type]
        score_detail = (f'<span class="{_delta_class(round(change, 1))}">{_signed(change)}</span> '
                        f'since {_text(before["date"])}')
    tiles = [
        _tile("Product score", _num(product_score), score_detail or "average score of active accounts"),
        _tile("Active accounts", _text(active_accounts), f"of {_text(total_accounts)} accounts"),
        _tile("Product-qualified leads", _text(pqls), "trials ready for sales"),
        _tile("At risk", _text(at_risk), f"MRR at stake {_money(at_stake)}" if at_stake is not None else "paying accounts"),
        _tile("Heating up", _text(heating), "score rising", "up" if heating else ""),
        _tile("Cooling down", _text(cooling), "score falling", "down" if cooling else ""),
        _tile("Activation of new accounts",
              f"{_num(rate)}%" if rate is not None else "–",
              f"{_text(activated)} of {_text(new)} accounts created in the last 30 days" if new
              else "no account created in the last 30 days"),
    ]
    return ('<section id="kpis"><h2>At a glance</h2>'
            f'<div class="tiles">{"".join(tiles)}</div></section>')


def trend_svg(history: pl.DataFrame, width: int = 1080, height: int = 220) -> str:
    """An inline SVG line chart of product_score (0..100) over `date` (x proportional to the date, so a
    missing day shows as a longer segment); '' when there is no point."""
    points = [(r["date"], float(r["product_score"])) for r in history.iter_rows(named=True)
              if r["product_score"] is not None and math.isfinite(float(r["product_score"]))]
    if not points:
        return ""
    left, right, top, bottom = 44, 16, 14, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(points)

    span = (points[-1][0] - points[0][0]).days if n > 1 else 0

    def x(i: int) -> float:
        return left + (plot_w * (points[i][0] - points[0][0]).days / span if span else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h * (1 - min(max(v, 0.0), 100.0) / 100)

    parts = [
        f'<svg class="trend" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="Product score from {_text(points[0][0])} to {_text(points[-1][0])}">',
        f"<title>Product score, {_text(points[0][0])} to {_text(points[-1][0])}</title>",
    ]
    for level in (0, 25, 50, 75, 100):
        yy = y(level)
        parts.append(f'<line x1="{left}" y1="{yy:.1f}" x2="{width - right}" y2="{yy:.1f}" stroke="#d9e2ec" '
                     f'stroke-width="1"/>')
        parts.append(f'<text x="{left - 8}" y="{yy + 4:.1f}" text-anchor="end">{level}</text>')
    coords = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, (_, v) in enumerate(points))
    if n > 1:
        area = f"{x(0):.1f},{y(0):.1f} {coords} {x(n - 1):.1f},{y(0):.1f}"
        parts.append(f'<polygon points="{area}" fill="#2f6fde" fill-opacity="0.08"/>')
        parts.append(f'<polyline points="{coords}" fill="none" stroke="#2f6fde" stroke-width="2.5" '
                     f'stroke-linejoin="round" stroke-linecap="round"/>')
    for i, (d, v) in enumerate(points):
        radius = 4 if i == n - 1 else 2.5
        parts.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="{radius}" fill="#2f6fde">'
                     f"<title>{_text(d)}: {v:.1f}</title></circle>")
    last_d, last_v = points[-1]
    anchor = "end" if n > 1 else "middle"
    parts.append(f'<text x="{x(n - 1):.1f}" y="{max(y(last_v) - 9, 11):.1f}" text-anchor="{anchor}" '
                 f'style="fill:#1f2933;font-weight:600">{last_v:.1f}</text>')
    parts.append(f'<text x="{x(0):.1f}" y="{height - 8}" text-anchor="{"start" if n > 1 else "middle"}">'
                 f"{_text(points[0][0])}</text>")
    if n > 1:
        parts.append(f'<text x="{x(n - 1):.1f}" y="{height - 8}" text-anchor="end">{_text(last_d)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _trend_section(history: pl.DataFrame) -> str:
    svg = trend_svg(history)
    if not svg:
        body = '<p class="empty">No product history yet.</p>'
    else:
        days = history.height
        body = (f'<p class="note">Average score of the active accounts, day by day ({days} '
                f'day{"s" if days != 1 else ""}); 100 is the engagement benchmark.</p>{svg}')
    return f'<section id="trend"><h2>Product score trend</h2>{body}</section>'


def _movers(accounts: pl.DataFrame, trend: str, max_rows: int) -> str:
    heating = trend == "heating"
    title, anchor = ("Accounts heating up", "heating") if heating else ("Accounts cooling down", "cooling")
    movers = accounts.filter(pl.col("trend") == trend).sort(
        ["trend_delta", "account_id"], descending=[heating, False], nulls_last=True)
    note = ("Score rose the most since the trend look-back; what changed lists the events and users whose "
            "points moved most." if heating else
            "Score fell the most since the trend look-back; what changed lists the events and users whose "
            "points moved most.")
    if not movers.height:
        body = f'<p class="empty">No account is {"heating up" if heating else "cooling down"}.</p>'
    else:
        shown = movers.head(max_rows)
        body = _table(
            [("Account", ""), ("Score", "num"), ("Change", "num"), ("Was", "num"), ("What changed", "")],
            ([_account_cell(r), _num(r["score"]),
              f'<span class="{_delta_class(r["trend_delta"])}">{_signed(r["trend_delta"])}</span>',
              _num(r["previous_score"]), _text(r["change_drivers"], "–")] for r in _rows(shown)),
            movers.height, shown.height,
        )
    return f'<section id="{anchor}"><h2>{title} ({movers.height})</h2><p class="note">{note}</p>{body}</section>'


def _pqls(accounts: pl.DataFrame, max_rows: int) -> str:
    pqls = accounts.filter(pl.col("is_pql").fill_null(False)).sort(["score", "account_id"], descending=[True, False],
                                                                    nulls_last=True)
    if not pqls.height:
        body = '<p class="empty">No product-qualified lead today.</p>'
    else:
        shown = pqls.head(max_rows)
        body = _table(
            [("Account", ""), ("Plan", ""), ("Score", "num"), ("Why it qualifies", "")],
            ([_account_cell(r), _text(r["plan"], "–"), _num(r["score"]), _text(r["pql_reason"], "–")]
             for r in _rows(shown)),
            pqls.height, shown.height, "The full list is pql_accounts.csv.",
        )
    return ('<section id="pqls"><h2>Product-qualified leads ({n})</h2>'
            '<p class="note">Trial and free accounts that completed activation and use the product most days: '
            'ready for a sales conversation.</p>{body}</section>').format(n=pqls.height, body=body)


def at_risk_table(accounts: pl.DataFrame, at_risk: pl.DataFrame | None = None) -> pl.DataFrame:
    """The at-risk accounts with `mrr_at_stake` (churn risk x MRR), largest first.

    From `at_risk` (the export's at_risk_accounts list) when given, else the day's accounts whose
    health is `at_risk`. Order: MRR at stake (unknown last), churn risk, account id.
    """
    if at_risk is not None:
        frame = _conform(at_risk, _AT_RISK_COLUMNS)
    else:
        frame = _conform(accounts.filter(pl.col("health") == "at_risk"), _AT_RISK_COLUMNS)
    stake = pl.coalesce(pl.col("mrr_at_risk"), pl.col("churn_risk") * pl.col("mrr"))
    return frame.with_columns(stake.round(2).alias("mrr_at_stake")).sort(
        ["mrr_at_stake", "churn_risk", "account_id"], descending=[True, True, False], nulls_last=True)


def _at_risk(table: pl.DataFrame, max_rows: int) -> str:
    total = float(table["mrr_at_stake"].sum()) if table.height else 0.0
    if not table.height:
        body = '<p class="empty">No account is at risk.</p>'
    else:
        shown = table.head(max_rows)
        with_drop = table["what_dropped"].null_count() < table.height
        headers = [("Account", ""), ("Why", "")]
        if with_drop:
            headers += [("What dropped", ""), ("Since", "")]
        headers += [("Churn risk", "num"), ("MRR", "num"), ("MRR at stake", "num")]

        def cells(r: dict[str, object]) -> list[str]:
            out = [_account_cell(r), _text(r["health_reason"], "–")]
            if with_drop:
                out += [_text(r["what_dropped"], "–"), _text(r["since"], "–")]
            return out + [_pct(r["churn_risk"]), _money(r["mrr"]), f"<strong>{_money(r['mrr_at_stake'])}</strong>"]

        body = _table(headers, (cells(r) for r in _rows(shown)), table.height, shown.height,
                      "The full list is at_risk_accounts.csv.")
    return (f'<section id="at-risk"><h2>At-risk accounts ({table.height})</h2>'
            f'<p class="note">Paying accounts with a low or falling score, gone quiet, or a high churn risk; '
            f'ordered by MRR at stake = churn risk x MRR. Total MRR at stake: <strong>{_money(total)}</strong>.</p>'
            f"{body}</section>")


def funnel_levels(activation_pct: pl.Series) -> list[tuple[float, int]]:
    """(checklist share completed in %, accounts at exactly that share), lowest first.

    The quarters 0/25/50/75/100 when every value is one of them (a four-step checklist), else
    0, every value that occurs, and 100.
    """
    values = [round(float(v), 1) for v in activation_pct.fill_null(0.0).to_list()]
    quarters = {0.0, 25.0, 50.0, 75.0, 100.0}
    levels = sorted(quarters if set(values) <= quarters else {0.0, 100.0, *values})
    return [(level, sum(1 for v in values if v == level)) for level in levels]


def _bar(share: float) -> str:
    return f'<div class="bar"><span style="width:{max(0.0, min(share, 1.0)) * 100:.1f}%"></span></div>'


def _funnel(accounts: pl.DataFrame, activation_steps: pl.DataFrame | None, day: dt.date) -> str:
    total = accounts.height
    note = (f"Of the {total} accounts: how far each got through the activation checklist (an account is "
            f"activated when its users together did every step).")
    parts = []
    levels = funnel_levels(accounts["activation_pct"])
    rows = []
    for i, (level, count) in enumerate(levels):
        at_least = sum(c for _, c in levels[i:])
        share = at_least / total if total else 0.0
        rows.append([f"{level:g}%", _text(count), _text(at_least), _pct(share), _bar(share)])
    parts.append(_table([("Checklist done", ""), ("Accounts exactly here", "num"), ("At least this far", "num"),
                         ("Share", "num"), ("", "")], rows, len(rows), len(rows)))
    if activation_steps is not None:
        steps = _conform(activation_steps, _STEP_COLUMNS)
        if steps.height and steps["as_of_date"].null_count() < steps.height:
            steps = steps.filter(pl.col("as_of_date") == day)
        ids = accounts["account_id"].drop_nulls()
        steps = steps.filter(pl.col("step").is_not_null() & pl.col("first_done").is_not_null()
                             & pl.col("account_id").is_in(ids.implode()))
        per_step = steps.group_by("step").agg(pl.col("account_id").n_unique().alias("accounts")).sort(
            ["accounts", "step"], descending=[True, False])
        if per_step.height:
            step_rows = [[_text(r["step"]), _text(r["accounts"]), _pct(r["accounts"] / total if total else 0.0),
                          _bar(r["accounts"] / total if total else 0.0)] for r in _rows(per_step)]
            parts.append('<h3>By step</h3>' + _table(
                [("Step", ""), ("Accounts that did it", "num"), ("Share", "num"), ("", "")],
                step_rows, len(step_rows), len(step_rows)))
    return f'<section id="activation"><h2>Activation funnel</h2><p class="note">{note}</p>{"".join(parts)}</section>'


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


def _charts(charts: Mapping[str, bytes] | None) -> str:
    if not charts:
        return ""
    figures = []
    for key, data in charts.items():
        mime = _mime(data) if data else None
        if mime is None:
            figures.append(f'<p class="empty">Chart {_text(chart_title(key))} is not an image this page can show.</p>')
            continue
        encoded = base64.b64encode(data).decode("ascii")
        title = _text(chart_title(key))
        figures.append(f'<figure><img src="data:{mime};base64,{encoded}" alt="{title}">'
                       f"<figcaption>{title}</figcaption></figure>")
    return f'<section id="charts"><h2>Charts</h2>{"".join(figures)}</section>'


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

    - `product_daily`: `snapshots.product_daily` rows; those up to `day` draw the trend, the
      row of `day` gives the KPI tiles (computed from `account_scores` when it is missing).
    - `account_scores`: `accounts.account_scores` of the day (rows of other days are ignored).
    - `at_risk`: optional, the export's `at_risk_accounts.csv` frame (adds what dropped and
      since when); else the accounts whose health is `at_risk`.
    - `charts`: optional name -> PNG/SVG/JPEG bytes, embedded as data URIs in that order.
    - `activation_steps`: optional `accounts.activation_steps` rows: adds the funnel per step.
    - `max_rows`: longest table shown (the page says how many more there are).
    """
    accounts = _accounts_of_day(account_scores, day)
    history = _history(product_daily, day)
    risk = at_risk_table(accounts, at_risk)
    stake = float(risk["mrr_at_stake"].sum()) if risk.height else 0.0
    day_text = _text(day.isoformat())
    head = (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>Account health report {day_text}</title>\n<style>{_CSS}</style>\n</head>\n"
    )
    sections: list[str] = []
    if not accounts.height:
        lede = (f"No accounts yet for {day_text}: the pipeline has not scored any account for this day. "
                f"Land events and run the day, then open this report again.")
        sections.append(_trend_section(history))
    else:
        lede = (f"Engagement of {accounts.height} accounts as of the end of {day_text} (UTC). Scores run from "
                f"1 to 100 against the product's engagement benchmark; trends compare with the score one "
                f"look-back earlier.")
        sections += [
            _kpis(day, accounts, history, stake),
            _trend_section(history),
            _movers(accounts, "heating", max_rows),
            _movers(accounts, "cooling", max_rows),
            _pqls(accounts, max_rows),
            _at_risk(risk, max_rows),
            _funnel(accounts, activation_steps, day),
        ]
    chart_html = _charts(charts)
    if chart_html:
        sections.append(chart_html)
    links = [("kpis", "At a glance"), ("trend", "Trend"), ("heating", "Heating up"), ("cooling", "Cooling down"),
             ("pqls", "PQLs"), ("at-risk", "At risk"), ("activation", "Activation"), ("charts", "Charts")]
    present = [(a, label) for a, label in links if f'id="{a}"' in "".join(sections)]
    nav = "".join(f'<a href="#{a}">{_text(label)}</a>' for a, label in present)
    body = (
        "<body>\n<main>\n"
        f'<header><h1>Account health report, {day_text}</h1><p class="lede">{lede}</p></header>\n'
        f"<nav>{nav}</nav>\n" + "\n".join(sections) + "\n"
        '<footer><p>Made by the engagement pipeline from the warehouse tables of this day; no personal data '
        '(account names and user ids only). The CSV files beside this page hold the full lists.</p></footer>\n'
        "</main>\n</body>\n</html>\n"
    )
    return head + body


def report_from_warehouse(con: object, day: dt.date, charts: Mapping[str, bytes] | None = None,
                          at_risk: pl.DataFrame | None = None) -> str:
    """`render_report` on the day's tables read from an open DuckDB connection (read-only is enough)."""
    def frame(sql: str) -> pl.DataFrame:
        return con.execute(sql, [day]).pl()  # type: ignore[attr-defined]

    return render_report(
        day,
        frame("SELECT * FROM snapshots.product_daily WHERE date <= ? ORDER BY date"),
        frame("SELECT * FROM accounts.account_scores WHERE as_of_date = ? ORDER BY account_id"),
        at_risk,
        charts,
        activation_steps=frame("SELECT * FROM accounts.activation_steps WHERE as_of_date = ?"),
    )
