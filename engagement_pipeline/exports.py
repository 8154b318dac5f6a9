"""Go-to-market exports for one as-of day: ICP, look-alike audiences, lists with reasons.

A day's folder is written under a hidden temporary name and renamed into place when
every file and the manifest are complete, so a reader never sees half a day; `latest`
is a symlink swapped atomically, and only ever forward. Files carry no timestamps, so
re-running a day gives byte-identical files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from engagement_pipeline import audiences
from engagement_pipeline.config import Config

PLATFORM_MINIMUMS = {"lookalike_google.csv": 100, "lookalike_meta.csv": 100, "lookalike_linkedin_companies.csv": 300}
EXPORT_FILES = (
    "lookalike_google.csv", "lookalike_meta.csv", "lookalike_linkedin_companies.csv", "icp_profile.csv",
    "pql_accounts.csv", "at_risk_accounts.csv", "expansion_accounts.csv", "case_study_candidates.csv",
    "feature_adoption_gaps.csv",
)
HASHED_COLUMNS = {
    "lookalike_google.csv": ("Email", "Phone", "First Name", "Last Name"),
    "lookalike_meta.csv": audiences.META_HEADER,
}
EXACT_HEADERS = {
    "lookalike_google.csv": audiences.GOOGLE_HEADER,
    "lookalike_meta.csv": audiences.META_HEADER,
    "lookalike_linkedin_companies.csv": audiences.LINKEDIN_COMPANY_HEADER,
}
MANIFEST = "manifest.json"
LATEST = "latest"


@dataclass
class ExportBundle:
    day: dt.date
    files: dict[str, pl.DataFrame]
    warnings: list[str] = field(default_factory=list)
    audience_stats: dict[str, dict[str, object]] = field(default_factory=dict)


def employee_band(employees: pl.Expr) -> pl.Expr:
    return (
        pl.when(employees.is_null()).then(pl.lit("unknown"))
        .when(employees <= 10).then(pl.lit("1-10"))
        .when(employees <= 50).then(pl.lit("11-50"))
        .when(employees <= 200).then(pl.lit("51-200"))
        .when(employees <= 1000).then(pl.lit("201-1000"))
        .when(employees <= 5000).then(pl.lit("1001-5000"))
        .otherwise(pl.lit("5000+"))
    )


def top_accounts(scores: pl.DataFrame, config: Config) -> pl.DataFrame:
    """The most engaged accounts: the top share by score among eligible active accounts."""
    e = config.exports
    eligible = scores.filter((pl.col("active_users") > 0) & (pl.col("health") != "churned"))
    if e.paid_only:
        eligible = eligible.filter(pl.col("is_paying"))
    if e.min_tenure_days:
        eligible = eligible.filter(
            (pl.lit(scores["as_of_date"].max()) - pl.col("created_date")).dt.total_days() >= e.min_tenure_days
        )
    n = max(1, round(eligible.height * e.top_account_share)) if eligible.height else 0
    return eligible.sort(["score", "account_id"], descending=[True, False]).head(n)


def icp_profile(firmographics: pl.DataFrame, top_ids: pl.Series, min_accounts: int) -> pl.DataFrame:
    """Share of each firmographic value among top accounts vs all, with lift; small groups flagged."""
    frame = firmographics.with_columns(pl.col("account_id").is_in(top_ids.implode()).alias("_top"))
    n_all, n_top = frame.height, int(frame["_top"].sum())
    rows = []
    for attribute in ("industry", "employee_band", "country", "plan"):
        grouped = frame.group_by(pl.col(attribute).fill_null("unknown").alias("value")).agg(
            pl.col("_top").sum().alias("top_accounts"), pl.len().alias("all_accounts")
        )
        rows.append(grouped.with_columns(pl.lit(attribute).alias("attribute")))
    out = pl.concat(rows).with_columns(
        (pl.col("top_accounts") / max(n_top, 1)).round(4).alias("share_top"),
        (pl.col("all_accounts") / max(n_all, 1)).round(4).alias("share_all"),
    ).with_columns(
        pl.when(pl.col("share_all") > 0).then((pl.col("share_top") / pl.col("share_all")).round(3)).alias("lift"),
        (pl.col("top_accounts") < min_accounts).alias("low_sample"),
    )
    return out.select(
        "attribute", "value", "share_top", "share_all", "lift", "top_accounts", "all_accounts", "low_sample"
    ).sort(["low_sample", "lift", "attribute", "value"], descending=[False, True, False, False])


def _neutralize(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    return frame.with_columns(
        pl.col(c).map_elements(audiences.neutralize_formula, return_dtype=pl.String) for c in columns
    )


def _main_users(user_scores: pl.DataFrame, users: pl.DataFrame, n: int = 3) -> pl.DataFrame:
    """Per account, its n most engaged users as `user_id (title)`: ids, not personal data."""
    return (
        user_scores.filter(pl.col("score") > 0)
        .join(users.select("user_id", "title"), on="user_id", how="left")
        .sort(["account_id", "score", "user_id"], descending=[False, True, False])
        .group_by("account_id", maintain_order=True)
        .head(n)
        .group_by("account_id", maintain_order=True)
        .agg(pl.format("{} ({})", "user_id", pl.col("title").fill_null("no title")).str.join("; ").alias("main_users"))
    )


def build_exports(
    day: dt.date,
    scores: pl.DataFrame,
    accounts: pl.DataFrame,
    users: pl.DataFrame,
    user_scores: pl.DataFrame,
    first_used: pl.DataFrame,
    config: Config,
) -> ExportBundle:
    """Every export file of the day as frames, plus warnings (small audiences, rejections)."""
    firmo = accounts.select(
        "account_id", "website", "industry", "employees", "city", "state", "zip", "country"
    ).with_columns(employee_band(pl.col("employees")).alias("employee_band"))
    enriched = scores.join(firmo, on="account_id", how="left")
    top = top_accounts(enriched, config)
    bundle = ExportBundle(day=day, files={})

    profile_base = enriched.filter(pl.col("active_users") > 0)
    bundle.files["icp_profile.csv"] = icp_profile(profile_base, top["account_id"], config.exports.min_segment_accounts)

    seed_users = (
        user_scores.filter(pl.col("account_id").is_in(top["account_id"].implode())
                           & (pl.col("score") >= config.exports.min_user_score))
        .join(users, on="user_id", how="inner")
        .filter(~pl.col("unsubscribed").fill_null(False))
    )
    seed = seed_users.select("user_id", "email", "phone", "first_name", "last_name", "city", "state", "zip", "country")
    companies = top.select(
        "account_id", "name", "website", "industry", "city", "state", "zip", "country"
    )
    for name, result in (
        ("lookalike_google.csv", audiences.google_customer_match(seed)),
        ("lookalike_meta.csv", audiences.meta_customer_list(seed)),
        ("lookalike_linkedin_companies.csv", audiences.linkedin_company_list(companies)),
    ):
        bundle.files[name] = result.frame
        minimum = PLATFORM_MINIMUMS[name]
        bundle.audience_stats[name] = {
            "input_rows": result.input_rows, "rows": result.frame.height,
            "rejected": dict(sorted(result.rejected.items())), "platform_minimum": minimum,
        }
        if result.frame.height < minimum:
            bundle.warnings.append(
                f"{name} has {result.frame.height} rows, below the platform minimum of {minimum}: "
                f"the platform may refuse to serve it"
            )

    main_users = _main_users(user_scores, users)
    base = enriched.join(main_users, on="account_id", how="left")
    text_cols = ["name", "health_reason", "pql_reason", "main_users"]
    pql = base.filter(pl.col("is_pql")).sort(["score", "account_id"], descending=[True, False]).select(
        "account_id", "name", "pql_reason", "plan", "score", "activation_pct", "activated_at",
        "days_to_activation", "active_users", "total_users", "trend", "main_users",
    )
    at_risk = base.filter(pl.col("health") == "at_risk").with_columns(
        (pl.col("churn_risk") * pl.col("mrr")).round(2).alias("mrr_at_risk")
    ).sort(["mrr_at_risk", "churn_risk", "account_id"], descending=[True, True, False]).select(
        "account_id", "name", "health_reason", "churn_risk", "mrr", "mrr_at_risk", "score", "previous_score",
        "trend_delta", "last_active_date", "active_users", "total_users", "plan", "main_users",
    )
    expansion = base.filter(pl.col("health") == "expansion_ready").sort(
        ["score", "account_id"], descending=[True, False]
    ).select(
        "account_id", "name", "health_reason", "score", "trend", "active_users", "total_users", "pct_active",
        "plan", "mrr", "main_users",
    )
    tenure = (pl.lit(day) - pl.col("created_date")).dt.total_days()
    case_study = base.filter(
        pl.col("is_paying") & (pl.col("trend") != "cooling") & (pl.col("score") >= 50)
        & pl.col("health").is_in(["healthy", "expansion_ready"])
    ).with_columns(tenure.alias("tenure_days")).sort(
        ["score", "tenure_days", "account_id"], descending=[True, True, False]
    ).head(25).with_columns(
        pl.format("score {}, {} of {} users active, customer for {} days, trend {}", "score", "active_users",
                  "total_users", "tenure_days", "trend").alias("reason")
    ).select("account_id", "name", "reason", "score", "tenure_days", "plan", "mrr", "industry", "main_users")

    key_events = [name for name, spec in config.model.events.items() if spec.weight >= 5]
    used = first_used.filter(pl.col("event").is_in(key_events)).group_by("account_id").agg(pl.col("event"))
    gaps = (
        base.filter(pl.col("active_users") > 0).join(used, on="account_id", how="left")
        .with_columns(pl.col("event").fill_null(pl.lit([], dtype=pl.List(pl.String))))
        .with_columns(
            pl.lit(key_events, dtype=pl.List(pl.String)).list.set_difference(pl.col("event")).list.sort()
            .alias("_missing")
        )
        .filter(pl.col("_missing").list.len() > 0)
        .with_columns(
            pl.col("_missing").list.join("; ").alias("never_used"),
            pl.col("_missing").list.len().alias("missing_count"),
        )
        .sort(["score", "account_id"], descending=[True, False])
        .select("account_id", "name", "never_used", "missing_count", "score", "active_users", "plan")
    )
    for name, frame in (
        ("pql_accounts.csv", pql), ("at_risk_accounts.csv", at_risk), ("expansion_accounts.csv", expansion),
        ("case_study_candidates.csv", case_study), ("feature_adoption_gaps.csv", gaps),
    ):
        cols = [c for c in text_cols + ["reason", "never_used", "industry"] if c in frame.columns]
        bundle.files[name] = _neutralize(frame, cols)
    bundle.files["icp_profile.csv"] = _neutralize(bundle.files["icp_profile.csv"], ["value"])
    return bundle


def _csv_bytes(frame: pl.DataFrame) -> bytes:
    return frame.write_csv(line_terminator="\n", datetime_format="%Y-%m-%dT%H:%M:%S", float_precision=None).encode()


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_export_folder(root: Path, bundle: ExportBundle, model_version: str) -> Path:
    """Write the day's folder atomically, then move `latest` to it if it is the newest day."""
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o700)
    day = bundle.day.isoformat()
    final = root / day
    tmp = root / f".{day}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(mode=0o700)
    entries = []
    for name in EXPORT_FILES:
        data = _csv_bytes(bundle.files[name])
        path = tmp / name
        path.write_bytes(data)
        os.chmod(path, 0o600)
        entries.append({"name": name, "rows": bundle.files[name].height, "bytes": len(data),
                        "sha256": hashlib.sha256(data).hexdigest()})
    manifest = {
        "as_of_date": day,
        "model_version": model_version,
        "files": entries,
        "audiences": bundle.audience_stats,
        "warnings": bundle.warnings,
    }
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.chmod(tmp / MANIFEST, 0o600)
    for path in tmp.iterdir():
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())
    if final.exists():
        old = root / f".{day}.old-{os.getpid()}"
        final.rename(old)
        tmp.rename(final)
        shutil.rmtree(old)
    else:
        tmp.rename(final)
    _advance_latest(root, bundle.day)
    return final


def _advance_latest(root: Path, day: dt.date) -> None:
    latest = root / LATEST
    if latest.is_symlink():
        try:
            current = dt.date.fromisoformat(os.readlink(latest))
            if current > day and (root / current.isoformat() / MANIFEST).exists():
                return
        except ValueError:
            pass
    elif latest.exists():
        shutil.rmtree(latest)
    link = root / f".latest.tmp-{os.getpid()}"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(day.isoformat(), target_is_directory=True)
    os.replace(link, latest)


def clean_stale_temporaries(root: Path) -> list[str]:
    """Remove folders left by a crashed export (hidden `.DAY.tmp-*` / `.DAY.old-*`)."""
    removed = []
    if root.exists():
        for path in root.iterdir():
            if path.name.startswith(".") and (".tmp-" in path.name or ".old-" in path.name):
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink()
                removed.append(path.name)
    return removed


def verify_export_folder(folder: Path) -> list[str]:
    """Problems with a written folder: headers, hashes, duplicates, manifest counts and checksums."""
    problems: list[str] = []
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    for entry in manifest["files"]:
        path = folder / entry["name"]
        if not path.exists():
            problems.append(f"{entry['name']} is listed in the manifest but missing")
            continue
        if sha256_file(path) != entry["sha256"]:
            problems.append(f"{entry['name']} does not match its manifest checksum")
        frame = pl.read_csv(path, infer_schema=False)
        if frame.height != entry["rows"]:
            problems.append(f"{entry['name']} has {frame.height} rows, manifest says {entry['rows']}")
        header = EXACT_HEADERS.get(entry["name"])
        if header is not None and tuple(frame.columns) != header:
            problems.append(f"{entry['name']} header is {','.join(frame.columns)}, expected {','.join(header)}")
        for column in HASHED_COLUMNS.get(entry["name"], ()):
            values = frame[column].drop_nulls()
            values = values.filter(values != "")
            bad = values.filter(~values.str.contains(r"^[0-9a-f]{64}$")).len()
            if bad:
                problems.append(f"{entry['name']}: {bad} values in {column} are not SHA-256 hex")
        if entry["name"] in HASHED_COLUMNS and frame.height:
            key = frame.columns[0]
            nonempty = frame.filter(pl.col(key).is_not_null() & (pl.col(key) != ""))
            if nonempty[key].n_unique() != nonempty.height:
                problems.append(f"{entry['name']}: duplicate {key} values")
    return problems
