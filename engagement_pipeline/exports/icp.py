"""The ideal customer profile: top accounts, each firmographic value's lift among them, and
the same in plain sentences (`icp_profile.csv`, `icp_summary.md`)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

import polars as pl

from engagement_pipeline.accounts.health import is_active_account
from engagement_pipeline.core.config import Config
from engagement_pipeline.core.vocab import Health

ICP_HEADER = ("attribute", "value", "share_top", "share_all", "lift", "top_accounts", "all_accounts", "low_sample")
# The firmographic attributes (plan is profiled too, but it is an outcome, not a fit signal).
FIRMOGRAPHIC_ATTRIBUTES = ("segment", "industry", "employee_band", "country")
ICP_ATTRIBUTES = (*FIRMOGRAPHIC_ATTRIBUTES, "plan")
SEGMENT_SEPARATOR = " | "
MIN_SIGNAL_LIFT = 1.2  # the summary calls a value a signal from this lift up
SUMMARY_SIGNALS = 5


def employee_band(employees: pl.Expr) -> pl.Expr:
    """The employee bands of the demo generator and of common firmographic providers."""
    return (
        pl.when(employees.is_null())
        .then(pl.lit("unknown"))
        .when(employees <= 10)
        .then(pl.lit("1-10"))
        .when(employees <= 50)
        .then(pl.lit("11-50"))
        .when(employees <= 200)
        .then(pl.lit("51-200"))
        .when(employees <= 1000)
        .then(pl.lit("201-1000"))
        .when(employees <= 5000)
        .then(pl.lit("1001-5000"))
        .otherwise(pl.lit("5001+"))
    )


def eligible_accounts(scores: pl.DataFrame, config: Config) -> pl.DataFrame:
    """The pool top accounts are drawn from (and the ICP's baseline): active in the window, not
    churned, and paying / old enough when `exports.paid_only` / `exports.min_tenure_days` say so."""
    e = config.exports
    eligible = scores.filter(is_active_account() & (pl.col("health") != Health.CHURNED).fill_null(True))
    if e.paid_only:
        eligible = eligible.filter(pl.col("is_paying").fill_null(False))
    if e.min_tenure_days:
        eligible = eligible.filter((pl.col("as_of_date") - pl.col("created_date")).dt.total_days() >= e.min_tenure_days)
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
        pl.concat_str(
            [pl.col("industry").fill_null("unknown"), pl.col("employee_band").fill_null("unknown")],
            separator=SEGMENT_SEPARATOR,
        ).alias("segment")
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
    frame = _with_segment(firmographics).with_columns(pl.col("account_id").is_in(top_ids.implode()).alias("_top"))
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
        pl.col("attribute")
        .replace_strict(list(attributes), list(range(len(attributes))), default=len(attributes), return_dtype=pl.Int64)
        .alias("_rank"),
    )
    return out.sort(
        ["low_sample", "_lift", "top_accounts", "_rank", "attribute", "value"],
        descending=[False, True, True, False, False, False],
        nulls_last=True,
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
    return frame.filter(
        pl.col("attribute").is_in(FIRMOGRAPHIC_ATTRIBUTES) & ~unknown & (pl.col("lift") >= MIN_SIGNAL_LIFT)
    )


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
        lines += [
            f"No industry x employee-band segment has {min_accounts} or more top accounts with a lift "
            f"of {MIN_SIGNAL_LIFT}x or more.",
            "",
        ]
    lines += ["## Other signals", ""]
    if solid.height:
        lines += [
            f"- {icp_sentence(r, top_count, pool_count, pool_label)}"
            for r in solid.head(SUMMARY_SIGNALS).iter_rows(named=True)
        ]
    else:
        lines += [
            f"No other firmographic value has {min_accounts} or more top accounts with a lift of "
            f"{MIN_SIGNAL_LIFT}x or more."
        ]
    lines.append("")
    small = small.filter(pl.col("top_accounts") >= 2)
    if small.height:
        lines += [f"## Low sample (fewer than {min_accounts} top accounts: read with care)", ""]
        lines += [
            f"- {icp_sentence(r, top_count, pool_count, pool_label)} Low sample."
            for r in small.head(SUMMARY_SIGNALS).iter_rows(named=True)
        ]
        lines.append("")
    if audience_stats:
        lines += ["## Look-alike seeds", ""]
        labels = {
            "lookalike_google.csv": "Google Customer Match",
            "lookalike_meta.csv": "Meta customer list",
            "lookalike_linkedin_companies.csv": "LinkedIn company list",
        }
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


def pool_label(config: Config) -> str:
    e = config.exports
    # Churned accounts are left out of the pool: say so, so its count is not read as "active accounts"
    # (which counts them, as the CLI, the report and product_daily do).
    label = "active paying accounts" if e.paid_only else "active accounts that have not churned"
    if e.min_tenure_days:
        label += f" at least {e.min_tenure_days} days old"
    return label
