"""The checks computed inside each asset from the frames it just wrote (pure functions)."""

from __future__ import annotations

import polars as pl
from dagster import AssetCheckResult, AssetCheckSeverity, AssetKey, MetadataValue

from checks import specs
from engagement_pipeline.core.metadata import markdown_table
from engagement_pipeline.staging.stage import StagingResult

HEALTH = {"at_risk", "expansion_ready", "healthy", "new", "inactive", "churned"}
TRENDS = {"heating", "cooling", "steady"}


def _result(asset: AssetKey, name: str, problems: list[str], sample: pl.DataFrame | None = None,
            warn: bool = False, **figures: int | float) -> AssetCheckResult:
    meta = {k: MetadataValue.float(float(v)) if isinstance(v, float) else MetadataValue.int(int(v))
            for k, v in figures.items()}
    if problems:
        meta["problems"] = MetadataValue.md("\n".join(f"- {p}" for p in problems))
    if sample is not None and sample.height:
        meta["failing_sample"] = MetadataValue.md(markdown_table(sample, 5))
    return AssetCheckResult(
        asset_key=asset, check_name=name, passed=not problems, metadata=meta,
        severity=AssetCheckSeverity.WARN if warn else AssetCheckSeverity.ERROR,
        description=problems[0] if problems else None,
    )


def lines_have_position(lines: pl.DataFrame) -> AssetCheckResult:
    problems = []
    missing = lines.filter(pl.col("source_file").is_null() | pl.col("line_number").is_null()).height
    if missing:
        problems.append(f"{missing} lines lack a source file or line number")
    dupes = lines.height - lines.select("source_file", "line_number").unique().height
    if dupes:
        problems.append(f"{dupes} lines repeat a (file, line number) position")
    return _result(specs.RAW_LINES, "lines_have_position", problems, lines=lines.height)


def lines_reconcile(staged: StagingResult) -> AssetCheckResult:
    r = staged
    total = r.accepted + r.duplicates.height + r.quarantine.height
    problems = [] if r.reconciles else [
        f"{r.lines} lines landed but {r.accepted} accepted + {r.duplicates.height} duplicates + "
        f"{r.quarantine.height} quarantined = {total}"
    ]
    return _result(specs.EVENTS, "lines_reconcile", problems, lines=r.lines, accepted=r.accepted,
                   duplicates=r.duplicates.height, quarantined=r.quarantine.height)


def quarantine_share(staged: StagingResult, threshold: float) -> AssetCheckResult:
    share = staged.quarantine.height / staged.lines if staged.lines else 0.0
    problems = [f"{share:.1%} of lines quarantined (threshold {threshold:.1%})"] if share > threshold else []
    sample = staged.quarantine.select("source_file", "line_number", "reason", "detail")
    return _result(specs.EVENTS, "quarantine_share", problems, sample if problems else None, warn=True,
                   share=round(share, 5), quarantined=staged.quarantine.height)


def unresolved_account_share(staged: StagingResult, threshold: float) -> AssetCheckResult:
    n = staged.accepted
    share = staged.unresolved / n if n else 0.0
    problems = [f"{share:.1%} of accepted events have no account (threshold {threshold:.1%})"] if share > threshold else []
    return _result(specs.EVENTS, "unresolved_account_share", problems, warn=True, share=round(share, 5),
                   unresolved=staged.unresolved)


def scores_in_range(scores: pl.DataFrame) -> AssetCheckResult:
    bad = scores.filter(
        (pl.col("score") < 0) | (pl.col("score") > 100) | pl.col("score").is_null()
        | ((pl.col("raw_score") > 0) & (pl.col("score") < 1)) | ((pl.col("raw_score") == 0) & (pl.col("score") != 0))
    )
    problems = [f"{bad.height} users have a score outside the rules"] if bad.height else []
    dupes = scores.height - scores["user_id"].n_unique()
    if dupes:
        problems.append(f"{dupes} users have more than one row")
    return _result(specs.USER_SCORES, "scores_in_range", problems,
                   bad.select("user_id", "raw_score", "score"), users=scores.height)


def one_row_per_account(accounts: pl.DataFrame) -> AssetCheckResult:
    problems = []
    dupes = accounts.height - accounts["account_id"].n_unique()
    if dupes:
        problems.append(f"{dupes} accounts have more than one row")
    bad = accounts.filter(
        ~pl.col("score").is_between(0, 100) | ~pl.col("trend").is_in(list(TRENDS))
        | ~pl.col("health").is_in(list(HEALTH)) | ~pl.col("churn_risk").is_between(0, 1)
        | ~pl.col("activation_pct").is_between(0, 100)
    )
    if bad.height:
        problems.append(f"{bad.height} accounts have a value outside its allowed range or set")
    return _result(specs.ACCOUNT_SCORES, "one_row_per_account", problems,
                   bad.select("account_id", "score", "trend", "health", "churn_risk"), accounts=accounts.height)


def consistent_with_users(accounts: pl.DataFrame, user_scores: pl.DataFrame) -> AssetCheckResult:
    expected = (
        user_scores.filter((pl.col("score") > 0) & pl.col("account_id").is_not_null())
        .group_by("account_id").agg(pl.len().alias("primary_active"))
    )
    joined = expected.join(accounts.select("account_id", "active_users"), on="account_id", how="left")
    bad = joined.filter(pl.col("active_users").fill_null(0) < pl.col("primary_active"))
    problems = [f"{bad.height} accounts count fewer active users than scores.user_scores attributes to them"] \
        if bad.height else []
    return _result(specs.ACCOUNT_SCORES, "consistent_with_users", problems, bad, accounts=accounts.height)


def score_distribution_shift(today: pl.DataFrame, yesterday: pl.DataFrame,
                             max_median_shift: float = 10.0, max_p90_shift: float = 15.0) -> AssetCheckResult:
    """WARN when the active accounts' median or p90 score moved sharply since the previous day."""
    def stats(frame: pl.DataFrame) -> tuple[float, float] | None:
        active = frame.filter(pl.col("active_users") > 0)["score"]
        return (float(active.median()), float(active.quantile(0.9, "linear"))) if active.len() else None

    now, before = stats(today), stats(yesterday)
    problems = []
    figures: dict[str, float] = {}
    if now and before:
        figures = {"median": now[0], "median_previous_day": before[0], "p90": now[1], "p90_previous_day": before[1]}
        if abs(now[0] - before[0]) > max_median_shift:
            problems.append(f"median account score moved {now[0] - before[0]:+.1f} points in a day")
        if abs(now[1] - before[1]) > max_p90_shift:
            problems.append(f"p90 account score moved {now[1] - before[1]:+.1f} points in a day")
    return _result(specs.ACCOUNT_SCORES, "score_distribution_shift", problems, warn=True, **figures)


def history_matches_accounts(history: pl.DataFrame, accounts: pl.DataFrame) -> AssetCheckResult:
    a, h = set(accounts["account_id"].to_list()), history["account_id"].to_list()
    problems = []
    if len(h) != len(set(h)):
        problems.append("the history has an account twice for the day")
    if set(h) != a:
        problems.append(f"{len(set(h) ^ a)} accounts differ between history and accounts.account_scores")
    return _result(specs.ACCOUNT_HISTORY, "history_matches_accounts", problems, rows=len(h))


def one_product_row(product: pl.DataFrame) -> AssetCheckResult:
    problems = [] if product.height == 1 else [f"{product.height} rows instead of 1"]
    return _result(specs.PRODUCT_DAILY, "one_product_row", problems, rows=product.height)


def files_valid(problems: list[str], files: int) -> AssetCheckResult:
    return _result(specs.EXPORTS, "files_valid", problems, files=files)


def audience_sizes(warnings: list[str], stats: dict[str, dict[str, object]]) -> AssetCheckResult:
    small = [w for w in warnings if "platform minimum" in w]
    figures = {name.removesuffix(".csv"): int(s["rows"]) for name, s in stats.items()}  # type: ignore[call-overload]
    return _result(specs.EXPORTS, "audience_sizes", small, warn=True, **figures)
