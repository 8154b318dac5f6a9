"""`engagement-pipeline rescore --start D --end D`: recompute scores and everything after them for those
as-of days under the current model, as a new model version, and show what moved.

1. The days' `accounts.account_scores` rows are kept in `accounts.account_score_versions` with their
   model version (rows from before versions were recorded are `unversioned`): the contract table
   keeps one row per account and day, of the current version.
2. The model job (scores, accounts, snapshots, exports, destinations) runs for each day that has
   scores, through the Dagster instance as `run` does, with its checks.
3. The comparison (`compare`): the account-days whose score band, health or PQL flag changed, and
   the churn backtest of the old and the new rows side by side (`snapshots.backtest`: ROC AUC of
   the score and of churn_risk for churn within 14 and `model.churn.horizon_days` days, over the
   as-of days whose horizon the data has closed). Written to `<exports>/rescore/<start>_<end>_<old>_to_<new>/`
   (`comparison.md`, `moved_accounts.csv`, `backtest.csv`), with a short summary on the terminal.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from engagement_pipeline.core.config import Config
from engagement_pipeline.core.errors import DestinationsDownError, PipelineError
from engagement_pipeline.core.warehouse import ACCOUNT_SCORE_VERSIONS, connect, transaction
from engagement_pipeline.snapshots.backtest import score_backtest, summarize_backtest
from engagement_pipeline.snapshots.history import score_band
from engagement_pipeline.staging.lifecycle import known_outcomes

UNVERSIONED = "unversioned"
COMPARED = ("band", "health", "is_pql")
MOVED_COLUMNS = (
    "as_of_date",
    "account_id",
    "name",
    "changed",
    "old_score",
    "new_score",
    "old_band",
    "new_band",
    "old_health",
    "new_health",
    "old_is_pql",
    "new_is_pql",
)


@dataclass(frozen=True)
class Comparison:
    old_version: str
    new_version: str
    days: int
    account_days: int
    moved: pl.DataFrame  # MOVED_COLUMNS
    backtest: pl.DataFrame  # horizon_days, predictor, old_auc, new_auc, old_days, new_days

    def counts(self) -> dict[str, int]:
        return {c: self.moved.filter(pl.col("changed").str.contains(c)).height for c in COMPARED}


def scored_days(con: duckdb.DuckDBPyConnection, start: dt.date, end: dt.date) -> list[dt.date]:
    rows = con.execute(
        "SELECT DISTINCT as_of_date FROM accounts.account_scores WHERE as_of_date BETWEEN ? AND ? ORDER BY 1",
        [start, end],
    ).fetchall()
    return [r[0] for r in rows]


def keep_prior_rows(con: duckdb.DuckDBPyConnection, days: list[dt.date]) -> pl.DataFrame:
    """Copy the days' account score rows into `accounts.account_score_versions` (a re-run of the same
    version replaces its earlier copy) and return them."""
    start, end = days[0], days[-1]
    old = con.execute("SELECT * FROM accounts.account_scores WHERE as_of_date BETWEEN ? AND ?", [start, end]).pl()
    old = old.with_columns(pl.col("model_version").fill_null(UNVERSIONED))
    table = ACCOUNT_SCORE_VERSIONS.qualified
    with transaction(con):
        con.execute(
            f"DELETE FROM {table} WHERE as_of_date BETWEEN ? AND ? AND model_version IN "
            "(SELECT DISTINCT coalesce(model_version, ?) FROM accounts.account_scores WHERE as_of_date BETWEEN ? AND ?)",
            [start, end, UNVERSIONED, start, end],
        )
        con.execute(
            f"INSERT INTO {table} BY NAME SELECT * REPLACE (coalesce(model_version, ?) AS model_version), "
            "now()::TIMESTAMP AS replaced_at FROM accounts.account_scores WHERE as_of_date BETWEEN ? AND ?",
            [UNVERSIONED, start, end],
        )
    return old


def _as_history(scores: pl.DataFrame) -> pl.DataFrame:
    return scores.select(
        pl.col("as_of_date").alias("date"), "account_id", "status", "plan", "mrr", "score", "churn_risk"
    ).with_columns(pl.col("churn_risk").cast(pl.Float64), pl.col("score").cast(pl.Float64))


def backtest_side_by_side(
    old: pl.DataFrame, new: pl.DataFrame, outcomes: pl.DataFrame, last_observed: dt.date, horizons: tuple[int, ...]
) -> pl.DataFrame:
    """Mean churn AUC of score and churn_risk per horizon, old rows beside new rows."""

    def summary(rows: pl.DataFrame, name: str) -> pl.DataFrame:
        table = score_backtest(
            _as_history(rows),
            outcomes,
            last_observed,
            horizons=horizons,
            predictors=("score", "churn_risk"),
            outcome_kinds=("churn",),
            score_scale=("score",),
        )
        return summarize_backtest(table).select(
            "horizon_days", "predictor", pl.col("mean_auc").alias(f"{name}_auc"), pl.col("days").alias(f"{name}_days")
        )

    return summary(old, "old").join(summary(new, "new"), on=["horizon_days", "predictor"], how="full", coalesce=True)


def compare(
    old: pl.DataFrame, new: pl.DataFrame, outcomes: pl.DataFrame, last_observed: dt.date, horizon_days: int
) -> Comparison:
    """What moved between the old and the new rows of the same as-of days (see the module docstring)."""

    def side(rows: pl.DataFrame, prefix: str) -> pl.DataFrame:
        return rows.select(
            "as_of_date",
            "account_id",
            *(["name"] if prefix == "new" else []),
            pl.col("score").alias(f"{prefix}_score"),
            score_band(pl.col("score")).alias(f"{prefix}_band"),
            pl.col("health").alias(f"{prefix}_health"),
            pl.col("is_pql").fill_null(False).alias(f"{prefix}_is_pql"),
        )

    both = side(new, "new").join(side(old, "old"), on=["as_of_date", "account_id"], how="inner")
    changed = pl.concat_str(
        [pl.when(pl.col(f"old_{c}") != pl.col(f"new_{c}")).then(pl.lit(c)) for c in COMPARED],
        separator=", ",
        ignore_nulls=True,
    )
    moved = (
        both.with_columns(changed.alias("changed"))
        .filter(pl.col("changed") != "")
        .sort("as_of_date", "account_id")
        .select(*MOVED_COLUMNS)
    )
    versions = old["model_version"].drop_nulls().unique().sort().to_list()
    return Comparison(
        old_version=", ".join(versions) or UNVERSIONED,
        new_version=str(new["model_version"][0]) if new.height else "",
        days=new["as_of_date"].n_unique(),
        account_days=both.height,
        moved=moved,
        backtest=backtest_side_by_side(old, new, outcomes, last_observed, tuple(sorted({14, horizon_days}))),
    )


def _auc(value: object) -> str:
    return "n/a (horizon not closed)" if value is None else f"{float(value):.3f}"  # type: ignore[arg-type]


def report_lines(result: Comparison, start: dt.date, end: dt.date) -> list[str]:
    counts = result.counts()
    lines = [
        f"# Rescore {start} .. {end}: model {result.old_version} -> {result.new_version}",
        "",
        f"{result.days} as-of days, {result.account_days} account-days compared; "
        f"{result.moved.height} account-days moved: {counts['band']} changed score band, "
        f"{counts['health']} changed health, {counts['is_pql']} changed PQL flag (moved_accounts.csv lists them).",
        "",
        "## Churn backtest, old vs new (mean ROC AUC over the as-of days whose horizon is closed)",
        "",
        "| horizon (days) | predictor | old AUC | new AUC | days (old / new) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in result.backtest.sort("horizon_days", "predictor").iter_rows(named=True):
        lines.append(
            f"| {r['horizon_days']} | {r['predictor']} | {_auc(r['old_auc'])} | {_auc(r['new_auc'])} | "
            f"{r['old_days'] or 0} / {r['new_days'] or 0} |"
        )
    return lines


def write_report(result: Comparison, root: Path, start: dt.date, end: dt.date) -> Path:
    """The comparison folder, written whole (a temporary folder renamed into place)."""
    old = result.old_version.replace(", ", "+")
    folder = root / "rescore" / f"{start}_{end}_{old}_to_{result.new_version}"
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    (partial / "comparison.md").write_text("\n".join(report_lines(result, start, end)) + "\n", encoding="utf-8")
    result.moved.write_csv(partial / "moved_accounts.csv")
    result.backtest.write_csv(partial / "backtest.csv")
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    return folder


def cmd_rescore(config: Config, start: dt.date, end: dt.date) -> Comparison:
    """Rescore the as-of days from `start` to `end` that have scores; print a summary and the report's folder."""
    from engagement_pipeline.ops.commands import console
    from engagement_pipeline.ops.runner import run_days

    if end < start:
        raise PipelineError(f"--end {end} is before --start {start}: swap them.")
    warehouse = config.paths.warehouse
    missing = (
        f"the warehouse holds no account scores from {start} to {end}: run those days first "
        f"(`engagement-pipeline run --start {start} --end {end}`), then rescore them."
    )
    if not Path(warehouse).exists():
        raise PipelineError(missing)
    con = connect(warehouse)
    try:
        days = scored_days(con, start, end)
        if not days:
            raise PipelineError(missing)
        old = keep_prior_rows(con, days)
    finally:
        con.close()
    # A destination that is down does not stop the rescore (as in `run`): its sentence ends the command
    # after the comparison is written.
    down: DestinationsDownError | None = None
    try:
        run_days(config, days, model_only=True, source="rescore")
    except DestinationsDownError as error:
        down = error
    con = connect(warehouse)
    try:
        new = con.execute(
            "SELECT * FROM accounts.account_scores WHERE as_of_date BETWEEN ? AND ?", [days[0], days[-1]]
        ).pl()
        outcomes = known_outcomes(con)
        observed = con.execute("SELECT max(as_of_date) FROM accounts.account_scores").fetchone()
    finally:
        con.close()
    last_observed = observed[0] if observed and observed[0] else days[-1]
    result = compare(old, new, outcomes, last_observed, config.model.churn.horizon_days)
    folder = write_report(result, Path(config.paths.exports), start, end)
    counts = result.counts()
    skipped = (end - start).days + 1 - len(days)
    console.print(
        f"Rescored {len(days)} day{'s' if len(days) != 1 else ''} ({days[0]} .. {days[-1]}"
        + (f"; {skipped} without scores skipped" if skipped else "")
        + f"): model {result.old_version} -> {result.new_version}; {result.moved.height} of {result.account_days} "
        f"account-days moved ({counts['band']} band, {counts['health']} health, {counts['is_pql']} PQL flag).",
        soft_wrap=True,
    )
    for r in result.backtest.filter(pl.col("horizon_days") == config.model.churn.horizon_days).iter_rows(named=True):
        console.print(
            f"  churn within {r['horizon_days']} days, {r['predictor']} AUC: old {_auc(r['old_auc'])}, "
            f"new {_auc(r['new_auc'])}",
            soft_wrap=True,
        )
    console.print(f"Comparison: {folder / 'comparison.md'}", soft_wrap=True)
    if down is not None:
        raise PipelineError(f"{down.problem}; the scores and exports of every day were rescored.")
    return result
