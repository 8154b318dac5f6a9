"""Go-to-market exports for one as-of day: ICP, look-alike audiences, lists with reasons.

What a day's folder holds (`<exports>/<YYYY-MM-DD>/`):

- `lookalike_google.csv`, `lookalike_meta.csv`: the seed users (see `seed_users`), normalized
  and hashed by `audiences`; `lookalike_linkedin_companies.csv`: the top accounts as companies.
  A file under its platform's minimum is still written, and the manifest warns.
- `icp_profile.csv`: each firmographic value's share among the top accounts vs the pool they
  were drawn from, with lift; `icp_summary.md`: the same in plain sentences.
- `pql_accounts.csv`, `at_risk_accounts.csv`, `expansion_accounts.csv`,
  `case_study_candidates.csv`, `feature_adoption_gaps.csv`: account id and name first, then
  the reasons. User-level detail in them is user ids and job titles only.
- `manifest.json`: every file with its row count (lines for the markdown file), size and
  SHA-256, the model version, the selection used, audience figures and warnings.

A day's folder is written under a hidden temporary name and renamed into place when
every file and the manifest are complete, so a reader never sees half a day; `latest`
is a symlink swapped atomically, and only ever forward. Files carry no timestamps and
every list has a total order, so re-running a day gives byte-identical files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from engagement_pipeline.core.config import Config
from engagement_pipeline.exports.audiences import platforms as audiences

PLATFORM_MINIMUMS = {"lookalike_google.csv": 100, "lookalike_meta.csv": 100, "lookalike_linkedin_companies.csv": 300}
ICP_SUMMARY = "icp_summary.md"
EXPORT_FILES = (
    "lookalike_google.csv", "lookalike_meta.csv", "lookalike_linkedin_companies.csv", "icp_profile.csv",
    ICP_SUMMARY, "pql_accounts.csv", "at_risk_accounts.csv", "expansion_accounts.csv",
    "case_study_candidates.csv", "feature_adoption_gaps.csv",
)
TEXT_FILES = frozenset({ICP_SUMMARY})
HASHED_COLUMNS = {spec.file: spec.hashed for spec in audiences.FILES.values() if spec.hashed}
ICP_HEADER = ("attribute", "value", "share_top", "share_all", "lift", "top_accounts", "all_accounts", "low_sample")
LIST_HEADERS: dict[str, tuple[str, ...]] = {
    "pql_accounts.csv": (
        "account_id", "name", "pql_reason", "main_users", "plan", "score", "activation_pct", "activated_at",
        "days_to_activation", "active_days", "active_users", "total_users", "trend", "last_active_date",
    ),
    "at_risk_accounts.csv": (
        "account_id", "name", "health_reason", "what_dropped", "since", "since_basis", "mrr_at_risk",
        "churn_risk", "mrr", "score", "previous_score", "trend_delta", "last_active_date", "active_users",
        "total_users", "plan", "main_users",
    ),
    "expansion_accounts.csv": (
        "account_id", "name", "health_reason", "score", "trend", "trend_delta", "active_users", "total_users",
        "pct_active", "adoption_rate", "plan", "mrr", "main_users",
    ),
    "case_study_candidates.csv": (
        "account_id", "name", "reason", "score", "tenure_days", "trend", "active_users", "total_users",
        "activation_pct", "plan", "mrr", "industry", "main_users",
    ),
    "feature_adoption_gaps.csv": (
        "account_id", "name", "never_used", "never_used_features", "next_nudge", "missing_count",
        "activation_pct", "score", "active_users", "plan",
    ),
}
EXACT_HEADERS: dict[str, tuple[str, ...]] = {
    **{spec.file: spec.header for spec in audiences.FILES.values()},
    "icp_profile.csv": ICP_HEADER,
    **LIST_HEADERS,
}
MANIFEST = "manifest.json"
LATEST = "latest"

# ICP: the firmographic attributes (plan is profiled too, but it is an outcome, not a fit signal).
FIRMOGRAPHIC_ATTRIBUTES = ("segment", "industry", "employee_band", "country")
ICP_ATTRIBUTES = (*FIRMOGRAPHIC_ATTRIBUTES, "plan")
SEGMENT_SEPARATOR = " | "
MIN_SIGNAL_LIFT = 1.2  # the summary calls a value a signal from this lift up
SUMMARY_SIGNALS = 5
CASE_STUDY_LIMIT = 25
CASE_STUDY_MIN_TENURE_DAYS = 90

_EMAIL_RE = r"[^\s@,;:<>()\[\]\"']+@[^\s@,;:<>()\[\]\"']+\.[A-Za-z]{2,}"  # for polars (linear-time engine)
# Python's backtracking `re` needs the local part anchored at a separator: without the
# lookbehind a long run with no separator (a base64 image) costs quadratic time to reject.
_EMAIL_SCAN = re.compile(r"(?<![^\s@,;:<>()\[\]\"'])" + _EMAIL_RE)
_PHONE_RE = r"\+?\d(?:[\s().-]*\d){8,}"  # nine or more digits in a phone-like run


@dataclass
class ExportBundle:
    """Every file of a day. `files`: name -> frame; the markdown summary is held as a one-column
    frame `line` (one row per line), so every file has a row count the manifest can carry."""

    day: dt.date
    files: dict[str, pl.DataFrame]
    warnings: list[str] = field(default_factory=list)
    audience_stats: dict[str, dict[str, object]] = field(default_factory=dict)
    selection: dict[str, object] = field(default_factory=dict)
    # Report page and charts written beside the files above (name -> bytes); listed in
    # the manifest with their checksum and `rows: null`.
    attachments: dict[str, bytes] = field(default_factory=dict)

    def text(self, name: str) -> str:
        return _text_of(self.files[name])


def employee_band(employees: pl.Expr) -> pl.Expr:
    """The employee bands of the demo generator and of common firmographic providers."""
    return (
        pl.when(employees.is_null()).then(pl.lit("unknown"))
        .when(employees <= 10).then(pl.lit("1-10"))
        .when(employees <= 50).then(pl.lit("11-50"))
        .when(employees <= 200).then(pl.lit("51-200"))
        .when(employees <= 1000).then(pl.lit("201-1000"))
        .when(employees <= 5000).then(pl.lit("1001-5000"))
        .otherwise(pl.lit("5001+"))
    )


# --------------------------------------------------------------------------------------
# Top accounts and the ICP
# --------------------------------------------------------------------------------------


def eligible_accounts(scores: pl.DataFrame, config: Config) -> pl.DataFrame:
    """The pool top accounts are drawn from (and the ICP's baseline): active in the window, not
    churned, and paying / old enough when `exports.paid_only` / `exports.min_tenure_days` say so."""
    e = config.exports
    eligible = scores.filter((pl.col("active_users") > 0) & (pl.col("health") != "churned").fill_null(True))
    if e.paid_only:
        eligible = eligible.filter(pl.col("is_paying").fill_null(False))
    if e.min_tenure_days:
        eligible = eligible.filter(
            (pl.col("as_of_date") - pl.col("created_date")).dt.total_days() >= e.min_tenure_days
        )
    return eligible


def top_accounts(scores: pl.DataFrame, config: Config) -> pl.DataFrame:
    """The most engaged accounts: the top `exports.top_account_share` of the eligible ones by score
    (at least one when any is eligible); ties broken by account id."""
    eligible = eligible_accounts(scores, config)
    n = max(1, round(eligible.height * config.exports.top_account_share)) if eligible.height else 0
    return eligible.sort(["score", "account_id"], descending=[True, False]).head(n)


def _with_segment(frame: pl.DataFrame) -> pl.DataFrame:
    if "segment" in frame.columns or not {"industry", "employee_band"} <= set(frame.columns):
        return frame
    return frame.with_columns(
        pl.concat_str([pl.col("industry").fill_null("unknown"), pl.col("employee_band").fill_null("unknown")],
                      separator=SEGMENT_SEPARATOR).alias("segment")
    )


def icp_profile(
    firmographics: pl.DataFrame,
    top_ids: pl.Series,
    min_accounts: int,
    attributes: Sequence[str] = ICP_ATTRIBUTES,
) -> pl.DataFrame:
    """Share of each firmographic value among top accounts vs all of `firmographics`, with lift.

    `firmographics`: one row per account of the pool (account_id plus any of industry,
    employee_band, country, plan; `segment` = "industry | employee_band" is derived when absent).
    lift = share_top / share_all, from the counts (then rounded). A value held by fewer than
    `min_accounts` top accounts is flagged `low_sample`, never dropped. Order: well-sampled values
    first, then by lift, top accounts, attribute (in `attributes` order: on a tie the combined
    segment, which says more, comes first) and value, so the best-fit segment leads and the
    order is total (identical input, identical file).
    """
    frame = _with_segment(firmographics).with_columns(
        pl.col("account_id").is_in(top_ids.implode()).alias("_top")
    )
    n_all, n_top = frame.height, int(frame["_top"].sum())
    rows = []
    for attribute in (a for a in attributes if a in frame.columns):
        grouped = frame.group_by(pl.col(attribute).cast(pl.String).fill_null("unknown").alias("value")).agg(
            pl.col("_top").sum().cast(pl.Int64).alias("top_accounts"), pl.len().cast(pl.Int64).alias("all_accounts")
        )
        rows.append(grouped.with_columns(pl.lit(attribute).alias("attribute")))
    schema = {"attribute": pl.String, "value": pl.String, "top_accounts": pl.Int64, "all_accounts": pl.Int64}
    out = pl.concat(rows, how="diagonal") if rows else pl.DataFrame(schema=schema)
    share_top = pl.col("top_accounts") / max(n_top, 1)
    share_all = pl.col("all_accounts") / max(n_all, 1)
    out = out.with_columns(
        share_top.round(4).alias("share_top"),
        share_all.round(4).alias("share_all"),
        pl.when(pl.col("all_accounts") > 0).then(share_top / share_all).otherwise(None).alias("_lift"),
        (pl.col("top_accounts") < min_accounts).alias("low_sample"),
    ).with_columns(
        pl.col("_lift").round(3).alias("lift"),
        pl.col("attribute").replace_strict(list(attributes), list(range(len(attributes))), default=len(attributes),
                                           return_dtype=pl.Int64).alias("_rank"),
    )
    return out.sort(
        ["low_sample", "_lift", "top_accounts", "_rank", "attribute", "value"],
        descending=[False, True, True, False, False, False], nulls_last=True,
    ).select(*ICP_HEADER)


def _md(text: object) -> str:
    """Plain text safe inside markdown: one line, markup characters escaped."""
    clean = re.sub(r"\s+", " ", str(text)).strip()
    return re.sub(r"([\\`*_\[\]<>|#~!])", r"\\\1", clean)


def _percent(share: float) -> str:
    pct = share * 100
    if pct and pct < 1:
        return "under 1%"
    return f"{pct:.0f}%"


def _likely_to(attribute: str, value: str) -> str:
    if attribute == "segment" and SEGMENT_SEPARATOR in value:
        industry, band = value.split(SEGMENT_SEPARATOR, 1)
        return f"be {_md(industry)} companies with {_md(band)} employees"
    if attribute == "industry":
        return f"be {_md(value)} companies"
    if attribute == "employee_band":
        return f"have {_md(value)} employees"
    if attribute == "country":
        return f"be based in {_md(value)}"
    if attribute == "plan":
        return f"be on the {_md(value)} plan"
    return f"have {_md(attribute)} {_md(value)}"


def icp_sentence(row: dict[str, object], top_count: int, pool_count: int, pool_label: str = "active accounts") -> str:
    """'Top accounts are 2.1x as likely to be Software companies (10 of 22 top accounts vs 32% of
    all 230 active accounts).' for one icp_profile row."""
    lift = float(row["lift"] or 0.0)  # type: ignore[arg-type]
    text = (
        f"Top accounts are {lift:.1f}x as likely to {_likely_to(str(row['attribute']), str(row['value']))} "
        f"({row['top_accounts']} of {top_count} top accounts vs {_percent(float(row['share_all']))} "  # type: ignore[arg-type]
        f"of all {pool_count} {pool_label})."
    )
    return text


def _known(frame: pl.DataFrame) -> pl.DataFrame:
    unknown = pl.col("value").str.split(SEGMENT_SEPARATOR).list.contains("unknown")
    return frame.filter(pl.col("attribute").is_in(FIRMOGRAPHIC_ATTRIBUTES) & ~unknown
                        & (pl.col("lift") >= MIN_SIGNAL_LIFT))


def icp_summary(
    day: dt.date,
    profile: pl.DataFrame,
    top_count: int,
    pool_count: int,
    min_accounts: int,
    pool_label: str = "active accounts",
    audience_stats: dict[str, dict[str, object]] | None = None,
) -> list[str]:
    """The ICP in plain sentences (markdown lines, no personal data, no timestamp).

    Best-fit segment: the industry x employee-band segment with the highest lift (at least 1.2)
    among those with at least `min_accounts` top accounts. Other signals: up to five more
    firmographic values (segment, industry, employee band, country; known values only) with a
    lift of at least 1.2 and enough top accounts. Low-sample values with such a lift and at least two top accounts are listed
    separately, flagged, never hidden.
    """
    lines = [f"# Ideal customer profile, {day.isoformat()}", ""]
    if not top_count:
        lines += ["No account was active on this day, so there are no top accounts and no profile.", ""]
        return lines
    lines += [
        f"Top accounts: the {top_count} most engaged of {pool_count} {pool_label} by engagement score. "
        f"A value needs at least {min_accounts} top accounts to count as a signal; rarer values are "
        f"listed as low sample.",
        "",
    ]
    signals = _known(profile)
    solid, small = signals.filter(~pl.col("low_sample")), signals.filter(pl.col("low_sample"))
    segments = solid.filter(pl.col("attribute") == "segment")
    lines += ["## Best-fit segment", ""]
    if segments.height:
        best = segments.row(0, named=True)
        lines += [icp_sentence(best, top_count, pool_count, pool_label), ""]
        solid = solid.filter((pl.col("attribute") != "segment") | (pl.col("value") != best["value"]))
    else:
        lines += [f"No industry x employee-band segment has {min_accounts} or more top accounts with a lift "
                  f"of {MIN_SIGNAL_LIFT}x or more.", ""]
    lines += ["## Other signals", ""]
    if solid.height:
        lines += [f"- {icp_sentence(r, top_count, pool_count, pool_label)}"
                  for r in solid.head(SUMMARY_SIGNALS).iter_rows(named=True)]
    else:
        lines += [f"No other firmographic value has {min_accounts} or more top accounts with a lift of "
                  f"{MIN_SIGNAL_LIFT}x or more."]
    lines.append("")
    small = small.filter(pl.col("top_accounts") >= 2)
    if small.height:
        lines += [f"## Low sample (fewer than {min_accounts} top accounts: read with care)", ""]
        lines += [f"- {icp_sentence(r, top_count, pool_count, pool_label)} Low sample."
                  for r in small.head(SUMMARY_SIGNALS).iter_rows(named=True)]
        lines.append("")
    if audience_stats:
        lines += ["## Look-alike seeds", ""]
        labels = {"lookalike_google.csv": "Google Customer Match", "lookalike_meta.csv": "Meta customer list",
                  "lookalike_linkedin_companies.csv": "LinkedIn company list"}
        for name, label in labels.items():
            stats = audience_stats.get(name)
            if stats is None:
                continue
            rows, minimum = int(stats["rows"]), int(stats["platform_minimum"])  # type: ignore[call-overload]
            unit = "companies" if "companies" in name else "people"
            note = f", below the platform minimum of {minimum}" if rows < minimum else ""
            lines.append(f"- {label}: {rows} {unit}{note}.")
        lines.append("")
    lines += ["Full table: icp_profile.csv (share_top, share_all, lift, counts, low_sample)."]
    return lines


# --------------------------------------------------------------------------------------
# Look-alike seeds
# --------------------------------------------------------------------------------------


def seed_users(
    user_scores: pl.DataFrame,
    users: pl.DataFrame,
    top_ids: pl.Series,
    min_user_score: float,
    title_keywords: Sequence[str] = (),
) -> pl.DataFrame:
    """The look-alike seed: users of the top accounts who are worth looking like.

    A user qualifies when their account (in `scores.user_scores`, the account where they
    earned most points) is a top account, they were active in the window (score > 0), their
    score is at least `min_user_score` (`exports.min_user_score`), they have not unsubscribed,
    and - when `title_keywords` is given - their job title contains one of the keywords
    (case-insensitive; users without a title are then left out).

    What would be configurable with more config keys (config.py is fixed for now):
    `exports.seed_title_keywords` (the keywords above, e.g. [founder, head, vp, manager]),
    `exports.seed_active_only` (the score > 0 rule), `exports.seed_max_users_per_account`
    (so one big account cannot dominate the seed). Sorted by user id so the audience builders,
    which keep the first of duplicate identifiers, see the same order on every run.
    """
    chosen = user_scores.filter(
        pl.col("account_id").is_in(top_ids.implode()) & (pl.col("score") > 0) & (pl.col("score") >= min_user_score)
    ).select("user_id").unique()
    seed = chosen.join(users, on="user_id", how="inner").filter(~pl.col("unsubscribed").fill_null(False))
    # An opt-out belongs to the person, not to one user record: drop every seed sharing a
    # normalized email or phone with any user who unsubscribed (a second signup, a merge).
    opted_out = users.filter(pl.col("unsubscribed").fill_null(False))
    blocked_emails = {e for e in (audiences.normalize_email(v) for v in opted_out["email"].to_list()) if e}
    blocked_phones = {p for p in (audiences.normalize_phone_e164(v, c) for v, c in
                                  zip(opted_out["phone"].to_list(), opted_out["country"].to_list())) if p}
    if blocked_emails or blocked_phones:
        seed = seed.filter(~pl.struct("email", "phone", "country").map_elements(
            lambda r: (audiences.normalize_email(r["email"]) in blocked_emails)
            or (audiences.normalize_phone_e164(r["phone"], r["country"]) in blocked_phones),
            return_dtype=pl.Boolean))
    keywords = [k.strip().lower() for k in title_keywords if k and k.strip()]
    if keywords:
        title = pl.col("title").fill_null("").str.to_lowercase()
        seed = seed.filter(pl.any_horizontal([title.str.contains(k, literal=True) for k in keywords]))
    return seed.sort("user_id", "email", "phone", "first_name", "last_name", nulls_last=True)


# --------------------------------------------------------------------------------------
# Lists with reasons
# --------------------------------------------------------------------------------------


def _neutralize(frame: pl.DataFrame, columns: Sequence[str] | None = None) -> pl.DataFrame:
    """Formula-neutralize text columns (all String columns by default) of a human-facing file."""
    names = [c for c, t in frame.schema.items() if t == pl.String] if columns is None else list(columns)
    return frame.with_columns(
        pl.col(c).map_elements(audiences.neutralize_formula, return_dtype=pl.String) for c in names
    )


def _scrub_emails(frame: pl.DataFrame) -> pl.DataFrame:
    """Blank out anything shaped like an email address in the text columns of a list."""
    names = [c for c, t in frame.schema.items() if t == pl.String]
    return frame.with_columns(pl.col(c).str.replace_all(_EMAIL_RE, "[email removed]") for c in names)


def _public_user_id(user_id: pl.Expr) -> pl.Expr:
    """User ids are fine in lists, unless the id is an email or a phone number: then a pseudonym
    (`user-` + the first 12 hex digits of its SHA-256) replaces it."""
    personal = user_id.str.contains("@", literal=True) | user_id.str.contains(r"^\+\d")
    digest = user_id.map_elements(lambda v: "user-" + hashlib.sha256(v.encode()).hexdigest()[:12],
                                  return_dtype=pl.String)
    return pl.when(personal).then(digest).otherwise(user_id)


def main_users(user_scores: pl.DataFrame, users: pl.DataFrame, n: int = 3) -> pl.DataFrame:
    """Per account, its n most engaged active users as `user_id (title)`: ids and titles, never
    names, emails or phones (an id that is itself an email or phone is pseudonymized)."""
    titles = users.select("user_id", "title").sort("user_id", "title", nulls_last=True).unique(
        "user_id", keep="first", maintain_order=True
    ).with_columns(
        pl.col("title").str.replace_all(_EMAIL_RE, "[email removed]").str.replace_all(_PHONE_RE, "[phone removed]")
        .str.replace_all(r"\s+", " ").str.strip_chars()
    )
    ranked = (
        user_scores.filter((pl.col("score") > 0) & pl.col("account_id").is_not_null())
        .join(titles, on="user_id", how="left")
        .sort(["account_id", "score", "user_id"], descending=[False, True, False])
        .group_by("account_id", maintain_order=True)
        .head(n)
    )
    return ranked.group_by("account_id", maintain_order=True).agg(
        pl.format("{} ({})", _public_user_id(pl.col("user_id")),
                  pl.when(pl.col("title").fill_null("") == "").then(pl.lit("no title")).otherwise(pl.col("title")))
        .str.join("; ").alias("main_users")
    )


def pql_list(base: pl.DataFrame) -> pl.DataFrame:
    """Product-qualified leads, most engaged first, with why each qualifies and its main users."""
    return base.filter(pl.col("is_pql").fill_null(False)).sort(
        ["score", "account_id"], descending=[True, False]
    ).select(*LIST_HEADERS["pql_accounts.csv"])


def user_dropoff(user_scores: pl.DataFrame, day: dt.date, quiet_days: int) -> pl.DataFrame:
    """Per account: users active in the window but not in the last `quiet_days` days (`quiet_users`)
    and the earliest last-active day among them (`first_quiet_date`): when users began to drop away."""
    cutoff = day - dt.timedelta(days=quiet_days - 1)
    return user_scores.filter(
        (pl.col("score") > 0) & pl.col("account_id").is_not_null() & (pl.col("last_active_date") < cutoff)
    ).group_by("account_id").agg(
        pl.len().cast(pl.Int64).alias("quiet_users"), pl.col("last_active_date").min().alias("first_quiet_date")
    )


def at_risk_list(base: pl.DataFrame, day: dt.date, config: Config) -> pl.DataFrame:
    """At-risk accounts by MRR at stake (churn_risk x mrr, unknown MRR last), with what dropped and since when.

    One day's rows hold no score history, so `since` is the best date they support, and
    `since_basis` names it: (1) the account's last active day when it went quiet
    (`model.health.quiet_days`); else (2), when the score fell or churn risk is high and some
    users went quiet, the earliest last active day among those users (`quiet_users`,
    `first_quiet_date` from `user_dropoff`; absent, this step is skipped); else (3), when the score
    fell, the day the trend compares with (`model.trend.lookback_days` ago: the score was higher
    then, so the fall began after it); else (4), when only churn risk is high, the start of the last
    7 days (churn risk compares them with the 30 days before); else (a low, steady score) none.
    """
    quiet_days, lookback = config.model.health.quiet_days, config.model.trend_lookback_days
    if "quiet_users" not in base.columns:
        base = base.with_columns(pl.lit(0, dtype=pl.Int64).alias("quiet_users"),
                                 pl.lit(None, dtype=pl.Date).alias("first_quiet_date"))
    quiet = (pl.lit(day) - pl.col("last_active_date")).dt.total_days()
    went_quiet = quiet.fill_null(10_000) >= quiet_days
    falling = pl.col("trend_delta").fill_null(0.0) < 0
    risky = pl.col("churn_risk").fill_null(0.0) >= config.model.health.at_risk_churn_risk
    users_left = (falling | risky) & (pl.col("quiet_users").fill_null(0) > 0) & pl.col("first_quiet_date").is_not_null()
    what = pl.concat_str(
        [
            pl.when(falling).then(pl.format("score {} -> {} ({} points in {} days)", pl.col("previous_score"),
                                             pl.col("score"), pl.col("trend_delta"), pl.lit(lookback))),
            pl.when(went_quiet & pl.col("last_active_date").is_not_null())
            .then(pl.format("no activity for {} days", quiet)),
            pl.when(~went_quiet & (pl.col("quiet_users").fill_null(0) > 0))
            .then(pl.format("{} {} not active in the last {} days", pl.col("quiet_users"),
                            pl.when(pl.col("quiet_users") == 1).then(pl.lit("user")).otherwise(pl.lit("users")),
                            pl.lit(quiet_days))),
            pl.when(pl.col("pct_active").fill_null(0.0) < 0.5)
            .then(pl.format("{} of {} users active", pl.col("active_users"), pl.col("total_users"))),
            pl.when(risky & ~went_quiet).then(pl.lit("activity in the last 7 days below its 30-day baseline")),
        ],
        separator="; ", ignore_nulls=True,
    )
    since = (
        pl.when(went_quiet).then(pl.col("last_active_date"))
        .when(users_left).then(pl.col("first_quiet_date"))
        .when(falling).then(pl.lit(day - dt.timedelta(days=lookback)))
        .when(risky).then(pl.lit(day - dt.timedelta(days=6)))
        .otherwise(pl.lit(None, dtype=pl.Date))
    )
    basis = (
        pl.when(went_quiet & pl.col("last_active_date").is_not_null()).then(pl.lit("account last active"))
        .when(went_quiet).then(pl.lit("no scored event on record"))
        .when(users_left).then(pl.lit("first user to go quiet last active"))
        .when(falling).then(pl.format("score was {} then, higher than now", pl.col("previous_score")))
        .when(risky).then(pl.lit("start of the last 7 days, whose activity is below the baseline"))
        .otherwise(pl.format("score low, not falling, over {} days: no start date", pl.lit(lookback)))
    )
    return base.filter(pl.col("health") == "at_risk").with_columns(
        (pl.col("churn_risk") * pl.col("mrr")).round(2).alias("mrr_at_risk"),
        pl.when(what == "").then(pl.format("score {}", pl.col("score"))).otherwise(what).alias("what_dropped"),
        since.alias("since"),
        basis.alias("since_basis"),
    ).sort(
        ["mrr_at_risk", "churn_risk", "account_id"], descending=[True, True, False], nulls_last=True
    ).select(*LIST_HEADERS["at_risk_accounts.csv"])


def expansion_list(base: pl.DataFrame) -> pl.DataFrame:
    """Expansion-ready accounts (high score and most seats active, or heating), most engaged first."""
    return base.filter(pl.col("health") == "expansion_ready").sort(
        ["score", "account_id"], descending=[True, False]
    ).select(*LIST_HEADERS["expansion_accounts.csv"])


def case_study_list(base: pl.DataFrame, day: dt.date, config: Config, limit: int = CASE_STUDY_LIMIT) -> pl.DataFrame:
    """Case-study candidates: paying, healthy or expansion-ready, not cooling, score >= 50, and
    accounts for at least a quarter (90 days, or `exports.min_tenure_days` if longer); most
    engaged, then longest tenure first; at most `limit`."""
    min_tenure = max(config.exports.min_tenure_days, CASE_STUDY_MIN_TENURE_DAYS)
    tenure = (pl.lit(day) - pl.col("created_date")).dt.total_days()
    return base.with_columns(tenure.alias("tenure_days")).filter(
        pl.col("is_paying").fill_null(False) & (pl.col("trend") != "cooling") & (pl.col("score") >= 50)
        & pl.col("health").is_in(["healthy", "expansion_ready"]) & (pl.col("tenure_days") >= min_tenure)
    ).sort(["score", "tenure_days", "account_id"], descending=[True, True, False]).head(limit).with_columns(
        pl.format("score {}, {} of {} users active, customer for {} days, trend {}", "score", "active_users",
                  "total_users", "tenure_days", "trend").alias("reason")
    ).select(*LIST_HEADERS["case_study_candidates.csv"])


def key_events(config: Config) -> list[str]:
    """The features worth a nudge: the activation checklist's events, then every event of weight 5+."""
    out = [s.event for s in config.model.activation.steps if s.event is not None]  # trait steps are no feature
    out += [name for name, spec in config.model.events.items() if spec.weight >= 5 and name not in out]
    return out


def adoption_gaps(base: pl.DataFrame, first_used: pl.DataFrame, config: Config) -> pl.DataFrame:
    """Active, not churned accounts with key events they never used (first use ever, up to the day).

    `never_used` lists the events in checklist-then-weight order, `never_used_features` their
    features, `next_nudge` the first of them (a checklist step before anything else).
    """
    events = key_events(config)
    order = {name: i for i, name in enumerate(events)}
    feature_of = {name: spec.feature or name for name, spec in config.model.events.items()}
    used = first_used.filter(pl.col("event").is_in(events)).group_by("account_id").agg(pl.col("event").unique())
    frame = (
        base.filter((pl.col("active_users") > 0) & (pl.col("health") != "churned").fill_null(True))
        .join(used, on="account_id", how="left")
        .with_columns(pl.col("event").fill_null(pl.lit([], dtype=pl.List(pl.String))))
        .with_columns(pl.lit(events, dtype=pl.List(pl.String)).list.set_difference(pl.col("event")).alias("_missing"))
        .filter(pl.col("_missing").list.len() > 0)
    )
    missing = [sorted(m, key=order.__getitem__) for m in frame["_missing"].to_list()]
    features = ["; ".join(dict.fromkeys(feature_of.get(e, e) for e in m)) for m in missing]
    return frame.with_columns(
        pl.Series("never_used", ["; ".join(m) for m in missing], dtype=pl.String),
        pl.Series("never_used_features", features, dtype=pl.String),
        pl.Series("next_nudge", [m[0] for m in missing], dtype=pl.String),
        pl.Series("missing_count", [len(m) for m in missing], dtype=pl.Int64),
    ).sort(["score", "account_id"], descending=[True, False]).select(*LIST_HEADERS["feature_adoption_gaps.csv"])


def _pool_label(config: Config) -> str:
    e = config.exports
    label = "active paying accounts" if e.paid_only else "active accounts"
    if e.min_tenure_days:
        label += f" at least {e.min_tenure_days} days old"
    return label


# --------------------------------------------------------------------------------------
# The bundle
# --------------------------------------------------------------------------------------


def build_exports(
    day: dt.date,
    scores: pl.DataFrame,
    accounts: pl.DataFrame,
    users: pl.DataFrame,
    user_scores: pl.DataFrame,
    first_used: pl.DataFrame,
    config: Config,
    *,
    title_keywords: Sequence[str] = (),
) -> ExportBundle:
    """Every export file of the day as frames, plus warnings (small audiences, low-sample ICP).

    `title_keywords` narrows the look-alike seed to job titles containing one of them (see
    `seed_users`); the default keeps every qualifying user.
    """
    e = config.exports
    firmo = accounts.select(
        "account_id", "website", "industry", "employees", "city", "state", "zip", "country"
    ).sort(pl.all(), nulls_last=True).unique("account_id", keep="first", maintain_order=True).with_columns(
        employee_band(pl.col("employees")).alias("employee_band")
    )
    enriched = scores.join(firmo, on="account_id", how="left").sort("account_id")
    pool = eligible_accounts(enriched, config)
    top = top_accounts(enriched, config)
    top_ids = top["account_id"]
    bundle = ExportBundle(day=day, files={})

    profile = icp_profile(pool, top_ids, e.min_segment_accounts)
    seed = seed_users(user_scores, users, top_ids, e.min_user_score, title_keywords).select(
        "user_id", "email", "phone", "first_name", "last_name", "city", "state", "zip", "country"
    )
    companies = top.select("account_id", "name", "website", "industry", "city", "state", "zip", "country")
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
    if top.height and top.height < e.min_segment_accounts:
        bundle.warnings.append(
            f"icp_profile.csv: only {top.height} top accounts, fewer than exports.min_segment_accounts "
            f"({e.min_segment_accounts}): every ICP value is low sample"
        )
    bundle.files["icp_profile.csv"] = _neutralize(profile)
    summary = icp_summary(day, profile, top.height, pool.height, e.min_segment_accounts, _pool_label(config),
                          bundle.audience_stats)
    bundle.files[ICP_SUMMARY] = pl.DataFrame({"line": summary}, schema={"line": pl.String})
    bundle.selection = {
        "eligible_accounts": pool.height, "top_accounts": top.height, "top_account_share": e.top_account_share,
        "min_user_score": e.min_user_score, "min_tenure_days": e.min_tenure_days, "paid_only": e.paid_only,
        "seed_users": seed.height, "title_keywords": [k for k in title_keywords if k],
        "seed_rule": "users of the top accounts active in the window (score > 0) with score >= min_user_score, "
                     "not unsubscribed",
    }

    base = enriched.join(main_users(user_scores, users), on="account_id", how="left").join(
        user_dropoff(user_scores, day, config.model.health.quiet_days), on="account_id", how="left"
    )
    for name, frame in (
        ("pql_accounts.csv", pql_list(base)),
        ("at_risk_accounts.csv", at_risk_list(base, day, config)),
        ("expansion_accounts.csv", expansion_list(base)),
        ("case_study_candidates.csv", case_study_list(base, day, config)),
        ("feature_adoption_gaps.csv", adoption_gaps(base, first_used, config)),
    ):
        bundle.files[name] = _neutralize(_scrub_emails(frame))
    return bundle


# --------------------------------------------------------------------------------------
# Writing and verifying a folder
# --------------------------------------------------------------------------------------


def _text_of(frame: pl.DataFrame) -> str:
    return "".join(f"{line}\n" for line in frame["line"].to_list())


def _file_bytes(name: str, frame: pl.DataFrame) -> bytes:
    if name in TEXT_FILES:
        return _text_of(frame).encode("utf-8")
    return frame.write_csv(line_terminator="\n", datetime_format="%Y-%m-%dT%H:%M:%S", float_precision=None).encode()


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_export_folder(root: Path, bundle: ExportBundle, model_version: str) -> Path:
    """Write the day's folder atomically, then move `latest` to it if it is the newest day.

    Files go to a hidden `.DAY.tmp-PID` folder, are fsynced with the manifest, and the folder is
    renamed to `DAY` (an existing `DAY` is first renamed aside and removed after), so readers see
    the old day or the new one; the manifest's `rows` is the line count for the markdown file.
    """
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
        data = _file_bytes(name, bundle.files[name])
        path = tmp / name
        path.write_bytes(data)
        os.chmod(path, 0o600)
        entries.append({"name": name, "rows": bundle.files[name].height, "bytes": len(data),
                        "sha256": hashlib.sha256(data).hexdigest()})
    for name, data in sorted(bundle.attachments.items()):
        if "/" in name or name.startswith(".") or name in EXPORT_FILES or name == MANIFEST:
            raise ValueError(f"attachment name {name!r} is not a plain new file name")
        (tmp / name).write_bytes(data)
        os.chmod(tmp / name, 0o600)
        entries.append({"name": name, "rows": None, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    manifest = {
        "as_of_date": day,
        "model_version": model_version,
        "files": entries,
        "selection": bundle.selection,
        "audiences": bundle.audience_stats,
        "warnings": bundle.warnings,
    }
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.chmod(tmp / MANIFEST, 0o600)
    for path in tmp.iterdir():
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())
    _fsync_dir(tmp)
    # `DAY` is a symlink to a hidden, versioned folder; replacing a symlink is one atomic
    # os.replace, so a crash at any point leaves the previous complete day or the new one.
    version = root / f".{day}.v-{hashlib.sha256((tmp / MANIFEST).read_bytes()).hexdigest()[:16]}"
    if version.exists():
        shutil.rmtree(tmp)  # the same content was exported before: keep that copy
    else:
        tmp.rename(version)
    if final.exists() and not final.is_symlink():  # a folder written by an older version
        final.rename(root / f".{day}.old-{os.getpid()}")
    link = root / f".{day}.link-{os.getpid()}"
    if link.is_symlink():
        link.unlink()
    link.symlink_to(version.name, target_is_directory=True)
    os.replace(link, final)
    _fsync_dir(root)
    for stale in root.glob(f".{day}.v-*"):
        if stale.name != version.name:
            shutil.rmtree(stale)
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
    """Remove what a crashed export left: hidden `.DAY.tmp-*`, `.DAY.old-*`, `.DAY.link-*`
    entries, and versioned `.DAY.v-*` folders that no `DAY` link points at."""
    removed = []
    if root.exists():
        live = {os.readlink(p) for p in root.iterdir() if p.is_symlink() and not p.name.startswith(".")}
        for path in root.iterdir():
            unlinked_version = ".v-" in path.name and path.name not in live
            if path.name.startswith(".") and (".tmp-" in path.name or ".old-" in path.name or ".link-" in path.name
                                              or unlinked_version):
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink()
                removed.append(path.name)
    return removed


def _identifier(name: str, frame: pl.DataFrame) -> pl.Expr | None:
    """What must be unique in each file (the audiences' own dedupe keys for the platform files)."""
    if name in audiences.FILES:
        return audiences.FILES[name].dedupe_key
    if name == "icp_profile.csv":
        return pl.col("attribute") + pl.lit("\x00") + pl.col("value")
    if "account_id" in frame.columns:
        return pl.col("account_id")
    return None


def _check_csv(name: str, path: Path, rows: object) -> list[str]:
    problems: list[str] = []
    try:
        frame = pl.read_csv(path, infer_schema=False)
    except Exception as exc:  # a tampered or truncated file is a finding, not a crash
        return [f"{name} cannot be read as CSV: {type(exc).__name__}"]
    if frame.height != rows:
        problems.append(f"{name} has {frame.height} rows, manifest says {rows}")
    header = EXACT_HEADERS.get(name)
    if header is not None and tuple(frame.columns) != header:
        problems.append(f"{name} header is {','.join(frame.columns)}, expected {','.join(header)}")
        return problems
    frame = frame.with_columns(pl.col(c).fill_null("") for c in frame.columns)
    for column in HASHED_COLUMNS.get(name, ()):
        values = frame[column].filter(frame[column] != "")
        bad = values.filter(~values.str.contains(r"^[0-9a-f]{64}$")).len()
        if bad:
            problems.append(f"{name}: {bad} values in {column} are not SHA-256 hex (64 lowercase hex digits)")
    hashed = set(HASHED_COLUMNS.get(name, ()))
    for column in (c for c in frame.columns if c not in hashed):
        leaks = frame[column].str.contains(_EMAIL_RE).sum()
        if leaks:
            problems.append(f"{name}: {leaks} values in {column} look like clear-text email addresses")
    key = _identifier(name, frame)
    if key is not None and frame.height:
        keys = frame.select(key.alias("_key"))["_key"]
        duplicates = keys.len() - keys.n_unique()
        if duplicates:
            problems.append(f"{name}: {duplicates} duplicate identifiers")
    return problems


def verify_export_folder(folder: Path) -> list[str]:
    """Problems with a written folder, as sentences (empty when it is sound).

    Checks: a readable manifest listing every export file; every listed file present with its
    checksum and row count; no file in the folder the manifest does not list; exact headers
    (platform files as each platform requires, our lists and ICP as declared); hashed columns
    64 lowercase hex; no clear-text email in any unhashed column or the summary; no duplicate
    identifier within a file.
    """
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        entries = list(manifest["files"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return [f"{MANIFEST} is missing or unreadable ({type(exc).__name__})"]
    problems: list[str] = []
    listed = [str(entry.get("name")) for entry in entries]
    for name in EXPORT_FILES:
        if name not in listed:
            problems.append(f"{name} is missing from the manifest")
    on_disk = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    for name in on_disk:
        if name != MANIFEST and name not in listed:
            problems.append(f"{name} is in the folder but not listed in the manifest")
    for entry in entries:
        name = str(entry.get("name"))
        path = folder / name
        if not path.is_file():
            problems.append(f"{name} is listed in the manifest but missing")
            continue
        if sha256_file(path) != entry.get("sha256"):
            problems.append(f"{name} does not match its manifest checksum")
        if entry.get("rows") is None:  # an attachment: report page or chart
            page = re.sub(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=]+", "", path.read_bytes().decode("utf-8", "replace"))
            if name.endswith(".html") and _EMAIL_SCAN.search(page):
                problems.append(f"{name} contains something that looks like a clear-text email address")
        elif name in TEXT_FILES:
            text = path.read_bytes().decode("utf-8", errors="replace")
            if text.count("\n") != entry.get("rows"):
                problems.append(f"{name} has {text.count(chr(10))} lines, manifest says {entry.get('rows')}")
            if _EMAIL_SCAN.search(text):
                problems.append(f"{name} contains something that looks like a clear-text email address")
        else:
            problems.extend(_check_csv(name, path, entry.get("rows")))
    return problems
