"""staging: lines reconcile, and the day's events, quarantine and daily aggregate hold their shape."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from dagster import AssetCheckResult

from checks.common import Check, day_number, result
from engagement_pipeline.core import keys
from engagement_pipeline.core.vocab import AccountSource, MessageType, values
from engagement_pipeline.staging.coverage import Coverage, day_problems
from engagement_pipeline.staging.stage import StagingResult

if TYPE_CHECKING:  # Great Expectations takes seconds to import: only when a suite runs
    import great_expectations as gx

CHECKS = {
    c.name: c
    for c in (
        Check(
            "lines_reconcile", keys.EVENTS, "Lines landed = accepted + duplicates + quarantined, exactly, for the day."
        ),
        Check(
            "gx_staging_events",
            keys.EVENTS,
            "Great Expectations suite on the day's staging.events: keys not null "
            "and unique, value sets, dates in range.",
        ),
        Check(
            "gx_staging_quarantine",
            keys.QUARANTINE,
            "Great Expectations suite on the day's staging.quarantine: known reasons, positions unique, payload kept.",
        ),
        Check(
            "gx_daily_event_counts",
            keys.DAILY_COUNTS,
            "Great Expectations suite on the day's "
            "staging.daily_event_counts: counts >= 1, one row per event day, user, account and event.",
        ),
        Check(
            "quarantine_share",
            keys.EVENTS,
            "WARN when the day's quarantined share passes staging.quarantine_warn_share.",
            blocking=False,
        ),
        Check(
            "unscored_events",
            keys.EVENTS,
            "WARN when the day has track events whose name is not in model.events: they count in no score "
            "(the names and counts are in the result).",
            blocking=False,
        ),
        Check(
            "day_has_lines",
            keys.EVENTS,
            "WARN when no line landed for the day: an empty day scores as if nobody used the product.",
            blocking=False,
        ),
        Check(
            "model_traits_arrive",
            keys.EVENTS,
            "WARN when a trait the model needs never arrived: no groupId (no account), no plan or no status on "
            "any account (without a billing input): PQLs, paying accounts and churn cannot be told.",
            blocking=False,
        ),
        Check(
            "unresolved_account_share",
            keys.EVENTS,
            "WARN when the share of accepted events without an account passes staging.unresolved_account_warn_share.",
            blocking=False,
        ),
    )
}


def lines_reconcile(staged: StagingResult) -> AssetCheckResult:
    r = staged
    total = r.accepted + r.duplicates.height + r.quarantine.height
    problems = (
        []
        if r.reconciles
        else [
            f"{r.lines} lines landed but {r.accepted} accepted + {r.duplicates.height} duplicates + "
            f"{r.quarantine.height} quarantined = {total}"
        ]
    )
    return result(
        CHECKS["lines_reconcile"],
        problems,
        lines=r.lines,
        accepted=r.accepted,
        duplicates=r.duplicates.height,
        quarantined=r.quarantine.height,
    )


def quarantine_share(staged: StagingResult, threshold: float) -> AssetCheckResult:
    share = staged.quarantine.height / staged.lines if staged.lines else 0.0
    problems = [f"{share:.1%} of lines quarantined (threshold {threshold:.1%})"] if share > threshold else []
    sample = staged.quarantine.select("source_file", "line_number", "reason", "detail")
    return result(
        CHECKS["quarantine_share"],
        problems,
        sample if problems else None,
        share=round(share, 5),
        quarantined=staged.quarantine.height,
    )


def unresolved_account_share(staged: StagingResult, threshold: float) -> AssetCheckResult:
    n = staged.accepted
    share = staged.unresolved / n if n else 0.0
    problems = (
        [f"{share:.1%} of accepted events have no account (threshold {threshold:.1%})"] if share > threshold else []
    )
    return result(CHECKS["unresolved_account_share"], problems, share=round(share, 5), unresolved=staged.unresolved)


def coverage_checks(coverage: Coverage) -> list[AssetCheckResult]:
    """The three WARN checks of what the model will not see (`staging/coverage.py`)."""
    problems = day_problems(coverage)
    figures = {
        "unscored_events": {"unscored_events": coverage.unscored_events, "unscored_names": len(coverage.unscored)},
        "day_has_lines": {"lines": coverage.lines},
        "model_traits_arrive": {"missing_traits": len(coverage.missing_traits)},
    }
    return [result(CHECKS[name], found, **figures[name]) for name, found in problems.items()]


def events_suite(day: dt.date) -> gx.ExpectationSuite:
    import great_expectations as gx

    e = gx.expectations
    return gx.ExpectationSuite(
        name="staging_events",
        expectations=[
            e.ExpectColumnValuesToNotBeNull(column="message_id"),
            e.ExpectColumnValuesToBeUnique(column="message_id"),
            e.ExpectColumnValuesToNotBeNull(column="type"),
            e.ExpectColumnValuesToBeInSet(column="type", value_set=values(MessageType)),
            e.ExpectColumnValuesToNotBeNull(column="timestamp"),
            e.ExpectColumnValuesToNotBeNull(column="event_date"),
            e.ExpectColumnValuesToBeBetween(
                column="event_date",
                min_value=day_number(dt.date(2000, 1, 1)),
                max_value=day_number(day + dt.timedelta(days=1)),
            ),
            e.ExpectColumnValuesToBeBetween(
                column="received_date", min_value=day_number(day), max_value=day_number(day)
            ),
            e.ExpectColumnValuesToBeInSet(column="account_source", value_set=values(AccountSource)),
            e.ExpectColumnValueLengthsToBeBetween(column="message_id", min_value=1, max_value=10_000),
        ],
    )


def quarantine_suite(day: dt.date, reasons: list[str]) -> gx.ExpectationSuite:
    import great_expectations as gx

    e = gx.expectations
    return gx.ExpectationSuite(
        name="staging_quarantine",
        expectations=[
            e.ExpectColumnValuesToBeInSet(column="reason", value_set=reasons),
            e.ExpectColumnValuesToNotBeNull(column="source_file"),
            e.ExpectColumnValuesToNotBeNull(column="line_number"),
            e.ExpectColumnValuesToBeBetween(column="line_number", min_value=1),
            e.ExpectColumnValuesToNotBeNull(column="payload"),
            e.ExpectColumnValuesToBeInSet(column="encoding", value_set=["utf-8", "base64"]),
            e.ExpectCompoundColumnsToBeUnique(column_list=["source_file", "line_number"]),
            e.ExpectColumnValuesToBeBetween(
                column="received_date", min_value=day_number(day), max_value=day_number(day)
            ),
        ],
    )


def daily_counts_suite(day: dt.date) -> gx.ExpectationSuite:
    import great_expectations as gx

    e = gx.expectations
    return gx.ExpectationSuite(
        name="staging_daily_event_counts",
        expectations=[
            e.ExpectColumnValuesToNotBeNull(column="user_id"),
            e.ExpectColumnValuesToNotBeNull(column="event_date"),
            e.ExpectColumnValuesToBeBetween(column="event_count", min_value=1),
            e.ExpectColumnValuesToBeBetween(
                column="event_date",
                min_value=day_number(dt.date(2000, 1, 1)),
                max_value=day_number(day + dt.timedelta(days=1)),
            ),
            e.ExpectCompoundColumnsToBeUnique(column_list=["event_date", "user_id", "account_id", "type", "event"]),
        ],
    )
