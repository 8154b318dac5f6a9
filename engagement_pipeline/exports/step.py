"""exports, one day: build the files, draw the charts and report, publish the folder.

The only module of the layer that reads or writes the warehouse.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from engagement_pipeline.accounts.step import first_used
from engagement_pipeline.core.config import Config
from engagement_pipeline.core.warehouse import (
    EXPORT_RUNS,
    replace_rows,
    transaction,
)
from engagement_pipeline.exports.bundle import build_exports
from engagement_pipeline.exports.files import MANIFEST, ExportBundle
from engagement_pipeline.exports.privacy import mask_names
from engagement_pipeline.exports.publish import (
    ExportRejected,
    clean_stale_temporaries,
    sha256_file,
    write_export_folder,
)
from engagement_pipeline.exports.report import render_report


def day_charts(con: duckdb.DuckDBPyConnection, day: dt.date, config: Config) -> dict[str, bytes]:
    """The day's PNG charts, by file name: product trend, score distribution, churn by band,
    activation funnel, cohorts by plan type, churn_risk calibration.

    matplotlib is imported here, when a day's charts are drawn (the newest day of a run), not when
    the definitions load: it is a third of their import time, paid by every command and the UI."""
    from engagement_pipeline.exports import charts

    product = con.execute("SELECT * FROM snapshots.product_daily WHERE date <= ? ORDER BY date", [day]).pl()
    scores = con.execute("SELECT * FROM accounts.account_scores WHERE as_of_date = ?", [day]).pl()
    backtest = con.execute("SELECT * FROM snapshots.score_backtest WHERE evaluated_on <= ?", [day]).pl()
    steps = con.execute("SELECT * FROM accounts.activation_steps WHERE as_of_date = ?", [day]).pl()
    cohorts = con.execute("SELECT * FROM snapshots.cohort_daily WHERE date <= ? ORDER BY date", [day]).pl()
    calibrated = charts.calibration_table(backtest)
    return {
        "chart_product_score.png": charts.product_score_chart(product),
        "chart_score_distribution.png": charts.score_distribution_chart(scores),
        "chart_churn_by_band.png": charts.churn_by_band_chart(backtest),
        "chart_activation_funnel.png": charts.activation_funnel_chart(
            steps, scores.height, [s.name for s in config.model.activation.steps]
        ),
        "chart_cohorts_plan_type.png": charts.cohort_chart(cohorts, "plan_type"),
        "chart_churn_risk_calibration.png": charts.calibration_chart(calibrated if calibrated.height else None),
    }


@dataclass
class ExportedDay:
    folder: Path | None  # None when verification refused the folder (see `problems`)
    bundle: ExportBundle
    problems: list[str]


def run(con: duckdb.DuckDBPyConnection, day: dt.date, config: Config) -> ExportedDay:
    # Names are free text: an email or phone number in one is masked before any file is built.
    scores = mask_names(con.execute("SELECT * FROM accounts.account_scores WHERE as_of_date = ?", [day]).pl())
    user_scores = con.execute("SELECT * FROM scores.user_scores WHERE as_of_date = ?", [day]).pl()
    accounts = mask_names(con.execute("SELECT * FROM staging.accounts").pl())
    users = con.execute("SELECT * FROM staging.users").pl()
    history = con.execute(
        "SELECT date, account_id, score, health, status, churn_risk, mrr FROM snapshots.account_history "
        "WHERE date BETWEEN ? AND ?",
        [day - dt.timedelta(days=config.model.trend_lookback_days + 1), day - dt.timedelta(days=1)],
    ).pl()
    bundle = build_exports(
        day, scores, accounts, users, user_scores, first_used(con, day, config), config, history=history
    )
    # Charts cost about a second a day: they are drawn for the newest landed day, the one
    # people open; an older day (a backfill) gets its report with the inline trend only.
    landed = con.execute("SELECT max(received_date) FROM raw.landed_lines").fetchone()
    newest = landed[0] if landed else None
    pictures = day_charts(con, day, config) if newest is None or day >= newest else {}
    product = con.execute("SELECT * FROM snapshots.product_daily WHERE date <= ? ORDER BY date", [day]).pl()
    steps = con.execute("SELECT * FROM accounts.activation_steps WHERE as_of_date = ?", [day]).pl()
    page = render_report(
        day,
        product,
        scores,
        bundle.files["at_risk_accounts.csv"],
        pictures,
        activation_steps=steps,
        currency=config.exports.currency,
        files=bundle.files,
        lookback_days=config.model.trend_lookback_days,
    )
    bundle.attachments = {**pictures, "report.html": page.encode("utf-8")}
    root = config.paths.exports
    clean_stale_temporaries(root)
    try:
        folder = write_export_folder(root, bundle, config.model_version)
    except ExportRejected as rejected:  # verified before publishing: nothing of it is visible
        return ExportedDay(None, bundle, rejected.problems)
    manifest_sha = sha256_file(folder / MANIFEST)
    row = pl.DataFrame(
        [
            {
                "as_of_date": day,
                "folder": str(folder),
                "model_version": config.model_version,
                "files": len(bundle.files) + 1,
                "manifest_sha256": manifest_sha,
                "warnings": len(bundle.warnings),
                "written_at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
            }
        ]
    )
    with transaction(con):
        replace_rows(con, EXPORT_RUNS, row, "as_of_date = ?", [day])
    return ExportedDay(folder, bundle, [])
