"""The Dagster UI and the day's report, as a person sees them in a browser (headless Chromium).

One small demo (4 days, 30 accounts) is built through the CLI, `dagster-webserver` is
started on a free localhost port against the same instance, and Chromium, driven over the
DevTools protocol (`tests/e2e/browser.py`), reads what the pages show: the lineage of the seven
groups (seven), the recorded runs, the check results of `staging/events`, and the report page.
Screenshots go to `test-artifacts/browser/` (kept by CI as artifacts).

Skipped only when Chromium is missing (`apt-get install chromium`).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance

from engagement_pipeline.core.config import Config, load_config
from engagement_pipeline.exports.report import REPORT_FILE
from engagement_pipeline.ops.cli import main
from engagement_pipeline.ops.instance import ui_environment
from tests.conftest import REPO, base_config, write_config
from tests.e2e.browser import CHROMIUM, Browser, Page, has_exited, kill_process_group

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason=f"the browser test needs Chromium at {CHROMIUM} (apt-get install chromium)"
    ),
]

DAYS = 4
# The demo's days end yesterday, as `make demo`'s do: every partition of the UI is then filled.
LAST = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
START = LAST - dt.timedelta(days=DAYS - 1)
LAYERS = ["raw", "staging", "scores", "accounts", "snapshots", "exports", "destinations"]
ARTIFACTS = REPO / "test-artifacts" / "browser"
SERVER_START_SECONDS = 120  # about 10 s on an idle 2-core machine; generous for a loaded CI runner
# What a broken page shows: Dagster's error boundaries and load failures, the browser's own error pages.
ERROR_PHRASES = (
    "Something went wrong",
    "could not load",
    "Could not load",
    "Unable to load",
    "unexpected error",
    "Error loading",
    "Failed to fetch",
    "PythonError",
    "This site can’t be reached",
    "ERR_",
)
NUX = "Join the Dagster community"
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # localhost, never via an http_proxy
# The "Join the Dagster community" dialog stays away once this localStorage key holds "1"
# (what its Skip button stores; see dagster-webserver's CommunityNux component).
DISMISS_NUX = "try { localStorage.setItem('communityNux', JSON.stringify('1')); } catch (e) {}"


# --------------------------------------------------------------------------------------
# Fixtures: the demo warehouse, the webserver on it, one browser tab
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Config:
    folder = tmp_path_factory.mktemp("ui-demo")
    write_config(folder, base_config(START.isoformat()))
    old = Path.cwd()
    os.chdir(folder)
    try:
        assert main(["demo", "--days", str(DAYS), "--accounts", "30", "--seed", "3"]) == 0
    finally:
        os.chdir(old)
    return load_config(folder / "engagement.yaml")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _log_tail(path: Path, limit: int = 3000) -> str:
    try:
        return path.read_bytes()[-limit:].decode("utf-8", "replace")
    except OSError:
        return ""


@pytest.fixture(scope="module")
def ui(demo: Config) -> Iterator[str]:
    """`dagster-webserver` on the demo's instance; yields its base URL; its process group is ended after."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    webserver = shutil.which("dagster-webserver", path=str(Path(sys.executable).parent)) or "dagster-webserver"
    log_path = demo.paths.dagster_home.parent / "webserver.log"  # type: ignore[union-attr]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [webserver, "-w", str(REPO / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)],
            cwd=REPO,
            env=ui_environment(demo),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + SERVER_START_SECONDS
            while True:
                if has_exited(process):  # (not reaped: kill_process_group still ends its code server)
                    pytest.fail(f"dagster-webserver exited:\n{_log_tail(log_path)}")
                try:
                    with DIRECT.open(f"{base}/server_info", timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"dagster-webserver did not answer within {SERVER_START_SECONDS} s:\n{_log_tail(log_path)}"
                    )
                time.sleep(0.3)
            yield base
        finally:
            kill_process_group(process)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with Browser(width=1440, height=900, timeout=30) as b:
        yield b


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    tab = browser.new_page()
    tab.add_init_script(DISMISS_NUX)
    try:
        yield tab
    finally:
        tab.close()


@contextmanager
def screenshot_on_failure(page: Page, name: str) -> Iterator[None]:
    """Keep a picture of the page as it was when an assertion failed."""
    try:
        yield
    except BaseException:
        with suppress(Exception):
            page.screenshot(ARTIFACTS / f"{name}-FAILED.png")
        raise


def assert_looks_healthy(page: Page, text: str) -> None:
    """No error banner, no community dialog, no uncaught JavaScript exception."""
    shown = [p for p in ERROR_PHRASES if p in text]
    assert not shown, f"{page.url()} shows {shown}:\n{text[:3000]}"
    assert not re.search(r"\bError\b", text), f"{page.url()} shows an error:\n{text[:3000]}"
    assert NUX not in text, "the community dialog is in the way"
    assert page.exceptions() == [], f"uncaught JavaScript exceptions on {page.url()}"


# --------------------------------------------------------------------------------------
# The Dagster UI
# --------------------------------------------------------------------------------------


def test_lineage_shows_the_seven_groups_wired_in_order(ui: str, page: Page) -> None:
    with screenshot_on_failure(page, "ui-lineage"):
        page.goto(f"{ui}/asset-groups")
        page.wait_for_text("Global asset lineage", *LAYERS, timeout=30)
        # The graph's group boxes (not the sidebar list) with their horizontal positions, once the
        # edges between them are drawn (the layout is final then).
        boxes = page.wait_until(
            """(() => {
                const nodes = [...document.querySelectorAll('svg foreignObject [data-tooltip]')]
                    .map(e => [e.textContent.trim(), e.getBoundingClientRect().left])
                    .filter(([name, x]) => name);
                const svg = document.querySelector('svg foreignObject')?.ownerSVGElement;
                const edges = svg ? [...svg.querySelectorAll('path')]
                    .filter(p => (p.getAttribute('stroke') || '').includes('lineage-edge')).length : 0;
                return nodes.length >= 7 && edges >= 6 ? nodes : null;
            })()""",
            timeout=20,
            what="the seven group boxes of the lineage graph and the edges between them",
        )
        names = [name for name, _ in sorted(boxes, key=lambda b: b[1])]
        assert sorted(names) == sorted(LAYERS), boxes
        assert names == LAYERS, f"groups left to right: {names}"
        assert_looks_healthy(page, page.text())
        page.screenshot(ARTIFACTS / "ui-lineage.png")


def test_runs_page_lists_every_demo_run_as_successful(demo: Config, ui: str, page: Page) -> None:
    instance = DagsterInstance.from_config(str(demo.paths.dagster_home))
    try:
        runs = [(r.run_id, r.job_name, r.tags.get("dagster/partition"), r.status.value) for r in instance.get_runs()]
    finally:
        instance.dispose()
    assert runs and {status for *_, status in runs} == {"SUCCESS"}
    assert {partition for _, _, partition, _ in runs} == {
        (START + dt.timedelta(days=i)).isoformat() for i in range(DAYS)
    }
    with screenshot_on_failure(page, "ui-runs"):
        # The runs table is virtualized: a window tall enough for every run renders every row.
        page.set_viewport(1440, min(6000, max(900, 130 * len(runs) + 300)))
        page.goto(f"{ui}/runs")
        page.wait_for_text(*(run_id[:8] for run_id, *_ in runs), timeout=30)
        # Each run's row: from the link on its short id up to the first box that also names the job.
        rows = page.evaluate("""(() => Object.fromEntries(
            [...document.querySelectorAll('a[href^="/runs/"]')]
              .filter(a => /^[0-9a-f]{8}$/.test(a.innerText.trim()))
              .map(a => {
                  let row = a;
                  while (row.parentElement && !/partition:/.test(row.innerText)) row = row.parentElement;
                  while (row.parentElement && row.innerText.split('\\n').length < 6) row = row.parentElement;
                  return [a.getAttribute('href').split('/').pop(), row.innerText];
              })))()""")
        for run_id, job, partition, _ in runs:
            assert run_id in rows, f"run {run_id} ({job} {partition}) is not listed: {sorted(rows)}"
            row = rows[run_id]
            assert job in row and f"partition: {partition}" in row and "Success" in row, row
        text = page.text()
        assert "Failure" not in text and "Canceled" not in text
        assert_looks_healthy(page, text)
        page.screenshot(ARTIFACTS / "ui-runs.png")


def test_staging_events_page_shows_its_check_results(demo: Config, ui: str, page: Page) -> None:
    con = duckdb.connect(str(demo.paths.warehouse), read_only=True)
    try:
        lines, accepted = con.execute(
            "SELECT (SELECT count(*) FROM raw.landed_lines WHERE received_date = $1), "
            "(SELECT count(*) FROM staging.events WHERE received_date = $1)",
            [LAST],
        ).fetchone()
    finally:
        con.close()
    with screenshot_on_failure(page, "ui-staging-events"):
        page.goto(f"{ui}/assets/staging/events")
        text = page.wait_for_text(
            "events", "Latest materialization", LAST.isoformat(), "Latest check results", timeout=30
        )
        assert_looks_healthy(page, text)
        page.screenshot(ARTIFACTS / "ui-staging-events.png")
        page.click_text("Checks")  # the asset page's tab, as a person would
        text = page.wait_for_text("lines_reconcile", "gx_staging_events", "Succeeded", timeout=20)
        assert "view=checks" in page.url()
        listed = re.findall(r"^(\w+)\n(?:\1\n)?(Succeeded|Failed|Warning|Not evaluated|Skipped|Errored)$", text, re.M)
        assert ("lines_reconcile", "Succeeded") in listed and ("gx_staging_events", "Succeeded") in listed
        assert all(state == "Succeeded" for _, state in listed), listed
        page.click_text("lines_reconcile", selector="a, button, [role=button], div")
        text = page.wait_for_text("Lines landed = accepted + duplicates + quarantined", "Passed", timeout=20)
        assert "checkDetail=lines_reconcile" in page.url()
        figures = {k: int(v) for k, v in re.findall(r"^(accepted|duplicates|lines|quarantined)\n(\d+)$", text, re.M)}
        assert figures.get("lines") == lines and figures.get("accepted") == accepted, figures
        assert figures["accepted"] + figures["duplicates"] + figures["quarantined"] == figures["lines"]
        assert_looks_healthy(page, text)
        page.screenshot(ARTIFACTS / "ui-check-lines-reconcile.png")


def test_product_daily_page_shows_dates_counts_descriptions_and_every_partition(ui: str, page: Page) -> None:
    with screenshot_on_failure(page, "ui-product-daily"):
        page.goto(f"{ui}/assets/snapshots/product_daily")
        text = page.wait_for_text(
            "Columns", "The UTC day this row describes.", "Mean account score of the active accounts.", timeout=30
        )
        assert_looks_healthy(page, text)
        page.screenshot(ARTIFACTS / "ui-product-daily.png")
        page.goto(f"{ui}/assets/snapshots/product_daily?view=partitions")
        text = page.wait_for_text(f"Materialized ({DAYS})", "Missing (0)", timeout=30)  # the demo ends yesterday
        assert_looks_healthy(page, text)
        page.screenshot(ARTIFACTS / "ui-product-daily-partitions.png")
        page.goto(f"{ui}/assets/snapshots/product_daily?view=events")
        text = page.wait_for_text("Metadata", "active_accounts", "pql_accounts", timeout=30)
        # The metadata table: each key, then its value (cells separated by tabs and new lines).
        shown = dict(re.findall(r"^(date|[a-z_]+_accounts|active_users)\s*\n\s*(\S+)\s*$", text, re.M))
        assert shown.get("date") == LAST.isoformat(), (shown, text[:3000])  # a date, not 20513.0
        for count in ("active_accounts", "total_accounts", "active_users", "pql_accounts", "at_risk_accounts"):
            assert re.fullmatch(r"\d+", shown.get(count, "")), (count, shown)  # an integer, not 30.0
        assert not re.search(r"\b\d{5}\.0\b", text), "a date shown as a day number"
        assert_looks_healthy(page, text)
        page.screenshot(ARTIFACTS / "ui-product-daily-metadata.png")


def test_account_scores_page_describes_every_column(ui: str, page: Page) -> None:
    from engagement_pipeline.core.warehouse import ACCOUNT_SCORES

    with screenshot_on_failure(page, "ui-account-scores"):
        page.goto(f"{ui}/assets/accounts/account_scores")
        wanted = [ACCOUNT_SCORES.description_of(c) for c in ("churn_risk", "health", "is_pql", "activation_pct")]
        text = page.wait_for_text("Columns", *wanted, timeout=30)
        assert_looks_healthy(page, text)
        described = page.evaluate(
            "[...document.querySelectorAll('table tbody tr')].map(r => [...r.querySelectorAll('td')]"
            ".map(td => td.innerText.trim())).filter(c => c.length >= 3)"
        )
        by_name = {cells[0]: cells[2] for cells in described}
        assert set(ACCOUNT_SCORES.column_names) <= set(by_name), sorted(set(ACCOUNT_SCORES.column_names) - set(by_name))
        assert all(by_name[c] for c in ACCOUNT_SCORES.column_names), [c for c in by_name if not by_name[c]]
        page.screenshot(ARTIFACTS / "ui-account-scores.png")
        page.goto(f"{ui}/assets/accounts/account_scores?view=partitions")
        text = page.wait_for_text(f"Materialized ({DAYS})", "Missing (0)", timeout=30)
        page.screenshot(ARTIFACTS / "ui-account-scores-partitions.png")


def test_audience_sizes_warns_with_its_explanation(ui: str, page: Page) -> None:
    with screenshot_on_failure(page, "ui-audience-sizes"):
        page.goto(f"{ui}/assets/exports/daily_exports?view=checks")
        text = page.wait_for_text("audience_sizes", "files_valid", timeout=30)
        page.click_text("audience_sizes", selector="a, button, [role=button], div")
        # Dagster labels a failed WARN check "Failed" beside a yellow warning sign (an ERROR one is red):
        # the check is non-blocking, and what it shows first is why this is expected on small data.
        text = page.wait_for_text(
            "This is a non-blocking asset check", "Expected on small data", "as expected with small data", timeout=20
        )
        icons = page.evaluate(
            "[...document.querySelectorAll('[role=img][aria-label]')].map(e => e.getAttribute('aria-label'))"
        )
        assert any(i.startswith("warning") for i in icons), icons  # the yellow sign of a WARN check
        assert_looks_healthy(page, text)
        page.screenshot(ARTIFACTS / "ui-audience-sizes.png")


# --------------------------------------------------------------------------------------
# The report page
# --------------------------------------------------------------------------------------


def test_report_page_reads_well_in_a_browser(demo: Config, page: Page, tmp_path: Path) -> None:
    con = duckdb.connect(str(demo.paths.warehouse), read_only=True)
    try:
        top, pql = con.execute(
            "SELECT (SELECT name FROM accounts.account_scores WHERE as_of_date = $1 AND trend = 'heating' "
            "        ORDER BY trend_delta DESC, account_id LIMIT 1), "
            "       (SELECT name FROM accounts.account_scores WHERE as_of_date = $1 AND is_pql "
            "        ORDER BY score DESC, account_id LIMIT 1)",
            [LAST],
        ).fetchone()
    finally:
        con.close()
    assert top, "the demo should have an account heating up"
    # The page the export layer wrote, opened where it is: beside the CSVs it links to.
    folder = (demo.paths.exports / "latest").resolve()
    path = folder / REPORT_FILE
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, ARTIFACTS / REPORT_FILE)
    with screenshot_on_failure(page, "report"):
        page.goto(path.as_uri())
        headings = [
            f"Account health report, {LAST.isoformat()}",
            "At a glance",
            "Product score trend",
            "Accounts heating up",
            "Accounts cooling down",
            "Product-qualified leads",
            "At-risk accounts",
            "Expansion-ready accounts",
            "Case-study candidates",
            "Activation funnel",
            "Files",
        ]
        text = page.wait_for_text(*headings, top, timeout=10)
        assert page.evaluate("[...document.querySelectorAll('h1, h2')].map(h => h.innerText)")[:2] == [
            headings[0],
            "At a glance",
        ]
        if pql:
            assert pql in text
        # One unit for churn risk (a percentage, in the table and in the reasons), amounts with their
        # currency, plans as they are in the PQL tile, and a working link to every CSV beside the page.
        risks = page.evaluate(
            "[...document.querySelectorAll('#at-risk tbody tr')].map(r => r.querySelectorAll('td.num')[0].innerText)"
        )
        assert all(re.fullmatch(r"\d+%", r) for r in risks), risks
        assert not re.search(r"churn risk 0\.\d", text), "churn risk shown as a fraction somewhere"
        assert "Amounts are in USD" in text and "MRR at stake USD" in text
        tile = page.evaluate("document.querySelector('#kpis').innerText")
        assert "trials ready for sales" not in tile and ("ready for sales: " in tile or "trial or free" in tile)
        links = page.evaluate("[...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href'))")
        files = sorted(h for h in links if not h.startswith("#"))
        assert files == sorted(p.name for p in folder.glob("*.csv")), files
        assert all((folder / name).is_file() for name in files)
        # The trend (the product score chart, or the table of the last days when the page has
        # no charts) is laid out, and nothing was fetched from anywhere.
        width = page.evaluate(
            "(() => { const s = document.querySelector('#trend table, #trend img'); "
            "return s ? s.getBoundingClientRect().width : 0; })()"
        )
        assert width > 300
        fetched = page.evaluate(
            "performance.getEntriesByType('resource').map(e => e.name).filter(n => !n.startsWith('data:'))"
        )
        assert fetched == []
        assert page.exceptions() == []
        page.screenshot(ARTIFACTS / "report.png", full_page=True)
