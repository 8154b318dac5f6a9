"""The account health report page: escaping, ordering, empty input, determinism, self-containment."""

from __future__ import annotations

import base64
import datetime as dt
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from markupsafe import escape

from engagement_pipeline.core.warehouse import ACCOUNT_SCORES, ACTIVATION_STEPS, PRODUCT_DAILY
from engagement_pipeline.exports import report
from engagement_pipeline.exports.report import TREND_CHART, at_risk_table, funnel_levels, render_report

DAY = dt.date(2026, 3, 10)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
HOSTILE = '<script>alert("x")</script> & "Co" <img src=x onerror=alert(1)>'


def account(account_id: str, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {c: None for c in ACCOUNT_SCORES.column_names}
    row |= {
        "as_of_date": DAY,
        "account_id": account_id,
        "name": f"Account {account_id}",
        "created_date": dt.date(2025, 1, 1),
        "score": 50.0,
        "previous_score": 48.0,
        "trend": "steady",
        "trend_delta": 2.0,
        "active_users": 3,
        "total_users": 4,
        "activation_pct": 50.0,
        "plan": "pro",
        "status": "active",
        "mrr": 100.0,
        "is_paying": True,
        "health": "healthy",
        "health_reason": "score 50.0",
        "is_pql": False,
        "churn_risk": 0.1,
        "change_drivers": "usr_1 +5 pts",
    }
    return row | values


def scores(*rows: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=ACCOUNT_SCORES.polars_schema())


def daily(*rows: dict[str, Any]) -> pl.DataFrame:
    base = {c: None for c in PRODUCT_DAILY.column_names}
    return pl.DataFrame([base | r for r in rows], schema=PRODUCT_DAILY.polars_schema())


def product_row(day: dt.date, score: float, **values: Any) -> dict[str, Any]:
    return {"date": day, "product_score": score, **values}


class _Text(HTMLParser):
    """The text a reader sees (no style, no markup)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "title"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "title"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(page: str) -> str:
    parser = _Text()
    parser.feed(page)
    return re.sub(r"\s+", " ", " ".join(parser.parts))


def section(page: str, anchor: str) -> str:
    match = re.search(rf'<section id="{anchor}">(.*?)</section>', page, re.S)
    assert match, f"no section {anchor}"
    return match.group(1)


def tiles(page: str) -> dict[str, str]:
    """KPI tile label -> value text."""
    found = re.findall(r'<div class="label">(.*?)</div><div class="value[^"]*">(.*?)</div>', section(page, "kpis"))
    return {label: re.sub(r"<[^>]+>", "", value) for label, value in found}


def busy_day() -> tuple[pl.DataFrame, pl.DataFrame]:
    accounts = scores(
        account(
            "a1",
            name="Acme",
            trend="heating",
            trend_delta=22.5,
            previous_score=40.0,
            score=62.5,
            change_drivers="usr_7 +40 pts, Document Created +12 pts",
        ),
        account(
            "a2",
            name="Birch",
            trend="cooling",
            trend_delta=-18.0,
            previous_score=48.0,
            score=30.0,
            health="at_risk",
            health_reason="score fell 18.0 points in 30 days",
            churn_risk=0.6,
            mrr=500.0,
        ),
        account(
            "a3",
            name="Cedar",
            plan="trial",
            status="trial",
            is_paying=False,
            is_pql=True,
            mrr=0.0,
            pql_reason="trial plan; activated 2026-03-01; active 5 of the last 7 days",
            activation_pct=100.0,
            activated_at=dt.date(2026, 3, 1),
            created_date=dt.date(2026, 2, 20),
        ),
        account("a4", name="Dune", active_users=0, score=0.0, activation_pct=0.0, health="inactive"),
    )
    history = daily(
        product_row(DAY - dt.timedelta(days=2), 50.0),
        product_row(DAY - dt.timedelta(days=1), 52.0),
        product_row(
            DAY,
            54.5,
            active_accounts=3,
            total_accounts=4,
            pql_accounts=1,
            at_risk_accounts=1,
            heating_accounts=1,
            cooling_accounts=1,
            new_accounts_30d=1,
            activated_new_accounts_30d=1,
            activation_rate_30d=100.0,
        ),
        product_row(DAY + dt.timedelta(days=1), 99.0),  # a later day: not part of this day's report
    )
    return history, accounts


def test_kpi_tiles_show_the_days_product_figures() -> None:
    history, accounts = busy_day()
    page = render_report(DAY, history, accounts)
    assert tiles(page) == {
        "Product score": "54.5",
        "Active accounts": "3",
        "Product-qualified leads": "1",
        "At risk": "1",
        "Heating up": "1",
        "Cooling down": "1",
        "Activation of new accounts": "100.0%",
    }
    text = visible_text(page)
    assert "+2.5 since 2026-03-09" in text and "of 4 accounts" in text
    assert "MRR at stake USD 300" in text  # 0.6 x 500, in the default currency
    assert "1 of 1 accounts created in the last 30 days" in text
    assert "<h1>Account health report, 2026-03-10</h1>" in page
    assert "<title>Account health report 2026-03-10</title>" in page


def test_kpis_fall_back_to_the_accounts_when_the_day_has_no_product_row() -> None:
    _, accounts = busy_day()
    page = render_report(DAY, pl.DataFrame(), accounts)
    assert tiles(page) == {
        "Product score": "47.5",
        "Active accounts": "3",
        "Product-qualified leads": "1",
        "At risk": "1",
        "Heating up": "1",
        "Cooling down": "1",
        "Activation of new accounts": "100.0%",
    }


def test_tables_list_movers_pqls_and_at_risk_with_their_reasons() -> None:
    history, accounts = busy_day()
    page = render_report(DAY, history, accounts)
    heating, cooling = visible_text(section(page, "heating")), visible_text(section(page, "cooling"))
    assert "Acme" in heating and "+22.5" in heating and "usr_7 +40 pts, Document Created +12 pts" in heating
    assert "Birch" in cooling and "-18.0" in cooling and "Acme" not in cooling
    pqls = visible_text(section(page, "pqls"))
    assert "Cedar" in pqls and "trial" in pqls and "active 5 of the last 7 days" in pqls
    risk = visible_text(section(page, "at-risk"))
    assert "Birch" in risk and "score fell 18.0 points" in risk and "60%" in risk and "500" in risk and "300" in risk


def test_trend_without_a_chart_is_a_table_of_the_last_days_newest_first() -> None:
    history, accounts = busy_day()
    trend = section(render_report(DAY, history, accounts), "trend")
    assert "<svg" not in trend and "<img" not in trend
    rows = [visible_text(r).strip() for r in re.findall(r"<tr>(.*?)</tr>", trend)]
    assert rows == [
        "Day Product score Change Active accounts",
        "2026-03-10 54.5 +2.5 3",
        "2026-03-09 52.0 +2.0 –",
        "2026-03-08 50.0 – –",
    ]  # 2026-03-11 is after the report's day
    longer = daily(*[product_row(DAY - dt.timedelta(days=n), 40.0 + n) for n in range(30)])
    trend = section(render_report(DAY, longer, accounts), "trend")
    assert trend.count("<tr>") == 1 + 14 and "(30 days; the last 14 below, newest first)" in visible_text(trend)


def test_trend_with_the_product_score_chart_shows_the_chart_once() -> None:
    history, accounts = busy_day()
    product, other = PNG + b"product", PNG + b"other"
    page = render_report(DAY, history, accounts, charts={TREND_CHART: product, "chart_score_distribution.png": other})
    trend, charts = section(page, "trend"), section(page, "charts")
    assert base64.b64encode(product).decode() in trend and "<table" not in trend
    assert base64.b64encode(product).decode() not in charts and base64.b64encode(other).decode() in charts
    assert "(3 days); 100 is the engagement benchmark." in visible_text(trend)
    # No product history: the section says so (the chart would only say "No data yet").
    empty = section(render_report(DAY, None, accounts, charts={TREND_CHART: product}), "trend")
    assert "No product history yet" in visible_text(empty) and "<img" not in empty


def test_hostile_names_and_reasons_are_escaped() -> None:
    history, _ = busy_day()
    accounts = scores(
        account("x1", name=HOSTILE, trend="heating", trend_delta=30.0, change_drivers="<b>bold</b> +3 pts"),
        account("x2", name=HOSTILE, health="at_risk", health_reason="</td><script>steal()</script>", churn_risk=0.9),
        account("x3", name=HOSTILE, is_pql=True, pql_reason="<iframe src=//evil>", plan="<svg onload=alert(1)>"),
    )
    chart_name = '"><script>alert(1)</script>'
    charts = {chart_name: PNG}
    page = render_report(DAY, history, accounts, charts=charts)
    assert "<script" not in page.lower() and "<iframe" not in page and "<img src=x" not in page
    assert "<svg onload" not in page and "<b>bold" not in page
    assert str(escape(HOSTILE)) in page
    assert page.count(str(escape('<script>alert("x")'))) == 3  # each table shows the name, as text
    assert "&lt;/td&gt;&lt;script&gt;steal()&lt;/script&gt;" in page
    # Only the page's own tags: every <img is the embedded chart.
    assert re.findall(r"<img [^>]*", page) == [
        f'<img src="data:image/png;base64,{base64.b64encode(PNG).decode()}" alt="{escape(chart_name)}"'
    ]
    assert HOSTILE in visible_text(page)  # a reader sees the name as it is


def test_at_risk_accounts_are_sorted_by_mrr_at_stake() -> None:
    accounts = scores(
        account("r1", name="Small stake", health="at_risk", mrr=100.0, churn_risk=0.6),  # 60
        account("r2", name="Big MRR", health="at_risk", mrr=1000.0, churn_risk=0.2),  # 200
        account("r3", name="Very risky", health="at_risk", mrr=500.0, churn_risk=0.9),  # 450
        account("r4", name="Unknown MRR", health="at_risk", mrr=None, churn_risk=0.99),  # unknown: last
        account("r5", name="Healthy one", health="healthy", mrr=9000.0, churn_risk=0.1),  # not at risk
    )
    table = at_risk_table(accounts)
    assert table["account_id"].to_list() == ["r3", "r2", "r1", "r4"]
    assert table["mrr_at_stake"].to_list() == [450.0, 200.0, 60.0, None]
    risk = visible_text(section(render_report(DAY, pl.DataFrame(), accounts), "at-risk"))
    positions = [risk.index(name) for name in ("Very risky", "Big MRR", "Small stake", "Unknown MRR")]
    assert positions == sorted(positions) and "Healthy one" not in risk
    assert "Total MRR at stake: USD 710" in risk


def test_at_risk_list_from_the_export_keeps_its_stake_and_shows_what_dropped() -> None:
    _, accounts = busy_day()
    export = pl.DataFrame(
        {
            "account_id": ["e1", "e2"],
            "name": ["Elm", "Fir"],
            "health_reason": ["quiet", "low score"],
            "what_dropped": ["no activity for 9 days", "score 40.0 -> 20.0 (-20.0 points in 30 days)"],
            "since": [dt.date(2026, 3, 1), dt.date(2026, 2, 8)],
            "mrr_at_risk": [50.0, 800.0],
            "churn_risk": [0.5, 0.8],
            "mrr": [100.0, 1000.0],
            "main_users": ["usr_1 (CEO)", "usr_2 (CTO)"],
        }
    )
    risk = visible_text(section(render_report(DAY, pl.DataFrame(), accounts, at_risk=export), "at-risk"))
    assert risk.index("Fir") < risk.index("Elm") and "Birch" not in risk
    assert "What dropped" in risk and "no activity for 9 days" in risk and "2026-02-08" in risk
    assert "usr_1 (CEO)" not in risk  # main users are not part of the page


@pytest.mark.parametrize(
    "product_daily, account_scores",
    [
        (pl.DataFrame(), pl.DataFrame()),
        (None, None),
        (pl.DataFrame(schema=PRODUCT_DAILY.polars_schema()), pl.DataFrame(schema=ACCOUNT_SCORES.polars_schema())),
    ],
)
def test_empty_input_gives_a_page_that_says_no_accounts_yet(product_daily, account_scores) -> None:  # type: ignore[no-untyped-def]
    page = render_report(DAY, product_daily, account_scores)
    text = visible_text(page)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "Account health report, 2026-03-10" in text and "No accounts yet for 2026-03-10" in text
    assert "No product history yet" in text


def test_accounts_of_other_days_are_not_counted() -> None:
    history, accounts = busy_day()
    other = scores(
        account("z9", as_of_date=DAY - dt.timedelta(days=1), name="Yesterday only", trend="heating", trend_delta=50.0)
    )
    page = render_report(DAY, history, pl.concat([accounts, other]))
    assert "Yesterday only" not in page and "Engagement of 4 accounts" in page
    assert "No accounts yet" in render_report(DAY + dt.timedelta(days=5), history, accounts)


def test_output_is_byte_identical_and_independent_of_row_order() -> None:
    history, accounts = busy_day()
    many = pl.concat(
        [
            accounts,
            scores(
                *[
                    account(
                        f"t{i:02d}",
                        name=f"Tie {i:02d}",
                        trend="heating",
                        trend_delta=15.0,
                        score=60.0,
                        is_pql=True,
                        health="at_risk",
                        churn_risk=0.5,
                        mrr=200.0,
                    )
                    for i in range(30)
                ]
            ),
        ]
    )
    steps = pl.DataFrame(
        [
            {
                "as_of_date": DAY,
                "account_id": a,
                "step": s,
                "step_key": s,
                "first_done": DAY,
                "first_user_id": "u",
                "users_done": 1,
            }
            for a in ("a1", "a3", "t01")
            for s in ("Created a document", "Invited a teammate")
        ],
        schema=ACTIVATION_STEPS.polars_schema(),
    )
    charts = {"product_score": PNG}
    first = render_report(DAY, history, many, charts=charts, activation_steps=steps)
    assert render_report(DAY, history, many, charts=charts, activation_steps=steps).encode() == first.encode()
    shuffled = render_report(
        DAY,
        history.sample(fraction=1.0, shuffle=True, seed=1),
        many.sample(fraction=1.0, shuffle=True, seed=2),
        charts=charts,
        activation_steps=steps.sample(fraction=1.0, shuffle=True, seed=3),
    )
    assert shuffled == first
    assert "Showing 25 of 31." in visible_text(section(first, "heating"))  # ties broken by account id
    assert re.search(r"\d{2}:\d{2}:\d{2}", first) is None  # no generation time


def test_page_is_self_contained() -> None:
    history, accounts = busy_day()
    page = render_report(DAY, history, accounts, charts={"product_score": PNG, "bands.svg": b"<svg></svg>"})
    assert "http://" not in page and "https://" not in page
    refs = re.findall(r'(?:src|href|xlink:href|action|poster)\s*=\s*"([^"]*)"', page)
    assert refs and all(r.startswith(("data:", "#")) for r in refs), refs
    assert not re.search(r"<(script|link|iframe|object|embed|base)\b", page, re.I)
    assert "@import" not in page and "url(" not in page and "@font-face" not in page
    assert 'src="data:image/png;base64,' in page and 'src="data:image/svg+xml;base64,' in page


def test_no_personal_data_on_the_page() -> None:
    accounts = scores(
        account(
            "p1",
            name="Plain Name",
            is_pql=True,
            pql_reason="ask jane.doe@example.com",
            trend="heating",
            trend_delta=12.0,
            change_drivers="bob@example.org +12 pts, usr_9 +3 pts",
        ),
    )
    page = render_report(DAY, pl.DataFrame(), accounts)
    assert "@example" not in page and "[email removed]" in page and "usr_9 +3 pts" in page


def test_activation_funnel_counts_accounts_per_level_and_per_step() -> None:
    assert funnel_levels(pl.Series([0.0, 25.0, 25.0, 100.0, None])) == [
        (0.0, 2),
        (25.0, 2),
        (50.0, 0),
        (75.0, 0),
        (100.0, 1),
    ]
    assert funnel_levels(pl.Series([33.3, 66.7, 100.0])) == [(0.0, 0), (33.3, 1), (66.7, 1), (100.0, 1)]
    _, accounts = busy_day()  # activation 50, 50, 100, 0
    steps = pl.DataFrame(
        [
            {"as_of_date": DAY, "account_id": "a3", "step": "Invited a teammate", "first_done": DAY},
            {"as_of_date": DAY, "account_id": "a3", "step": "Created a document", "first_done": DAY},
            {"as_of_date": DAY, "account_id": "a1", "step": "Created a document", "first_done": DAY},
            {"as_of_date": DAY, "account_id": "gone", "step": "Created a document", "first_done": DAY},
        ],
    )
    funnel = visible_text(section(render_report(DAY, pl.DataFrame(), accounts, activation_steps=steps), "activation"))
    assert "0% 1 4 100%" in funnel and "50% 2 3 75%" in funnel and "100% 1 1 25%" in funnel
    assert "Created a document 2 50%" in funnel and "Invited a teammate 1 25%" in funnel


def test_templates_escape_everything_and_ship_as_package_data() -> None:
    folder = Path(report.__file__).parent / "templates"
    files = sorted(folder.iterdir())
    # pyproject ships `exports/templates/*.j2`: no sub-folder, no other suffix.
    assert files and all(f.is_file() and f.suffix == ".j2" for f in files), files
    for file in files:
        assert not re.search(r"\|\s*safe\b|Markup|autoescape\s+false", file.read_text()), file.name
    env = report.environment()
    assert callable(env.autoescape) and all(env.autoescape(f.name) for f in files)
    assert env.from_string("{{ x }}").render(x="<b>a@b.com</b>") == "&lt;b&gt;[email removed]&lt;/b&gt;"


def test_currency_plan_labels_expansion_case_studies_and_a_link_to_each_csv() -> None:
    history, accounts = busy_day()
    accounts = pl.concat(
        [
            accounts,
            accounts.filter(pl.col("is_pql")).with_columns(
                account_id=pl.lit("free1"), name=pl.lit("Free One"), plan=pl.lit("free")
            ),
        ],
        how="diagonal_relaxed",
    )
    expansion = pl.DataFrame(
        {
            "account_id": ["x1"],
            "name": ["Grower"],
            "health_reason": ["score 88, 9 of 10 users active"],
            "score": [88.0],
            "active_users": [9],
            "total_users": [10],
            "plan": ["pro"],
            "mrr": [1200.0],
        }
    )
    cases = pl.DataFrame(
        {
            "account_id": ["c1"],
            "name": ["Loyal"],
            "reason": ["score 80, customer for 400 days"],
            "score": [80.0],
            "tenure_days": [400],
            "plan": ["pro"],
            "industry": ["Retail"],
        }
    )
    files = {
        "expansion_accounts.csv": expansion,
        "case_study_candidates.csv": cases,
        "pql_accounts.csv": pl.DataFrame({"account_id": ["a"]}),
        "manifest.json": pl.DataFrame(),
    }
    page = render_report(DAY, history, accounts, currency="EUR", files=files)
    text = visible_text(page)
    assert "MRR at stake EUR 300" in text and "Amounts are in EUR" in text and "USD" not in text
    pql_tile = visible_text(section(page, "kpis"))
    assert "ready for sales: 1 free, 1 trial" in pql_tile, pql_tile  # plans as they are, not all "trials"
    expansion_text = visible_text(section(page, "expansion"))
    assert (
        "Expansion-ready accounts (1)" in expansion_text
        and "Grower" in expansion_text
        and "EUR 1,200" in expansion_text
    )
    case_text = visible_text(section(page, "case-studies"))
    assert "Case-study candidates (1)" in case_text and "Loyal" in case_text and "400 days" in case_text
    links = re.findall(r'<a href="([^"#]+)"', page)
    assert links == ["case_study_candidates.csv", "expansion_accounts.csv", "pql_accounts.csv"]
    assert 'href="#expansion"' in page and 'href="#files"' in page
