"""What the model will not see: events not scored, empty days, traits that never arrive."""

from __future__ import annotations

import datetime as dt

import polars as pl

from engagement_pipeline.staging.coverage import Coverage, day_problems, missing_traits, summary_line, unscored_counts

D = dt.date(2026, 3, 5)


def test_unscored_counts_only_track_events_outside_the_model() -> None:
    events = pl.DataFrame(
        {
            "type": ["track", "track", "track", "page", "track", "identify"],
            "event": ["Invoice Paid", "Invoice Paid", "Logged In", None, "Webhook Fired", None],
        }
    )
    assert unscored_counts(events, ["Logged In"]) == {"Invoice Paid": 2, "Webhook Fired": 1}
    assert unscored_counts(events, ["Logged In", "Invoice Paid", "Webhook Fired"]) == {}


def test_missing_traits_ask_billing_only_when_there_is_none() -> None:
    assert missing_traits(0, 0, 0, billing=False) == ("groupId",)
    assert missing_traits(5, 0, 3, billing=False) == ("plan",)
    assert missing_traits(5, 0, 0, billing=True) == ()
    assert missing_traits(5, 5, 5, billing=False) == ()


def test_each_warning_names_what_is_lost_and_the_summary_adds_days_up() -> None:
    quiet = Coverage(D, 0)
    unknown = Coverage(D - dt.timedelta(days=1), 40, {"Invoice Paid": 230, "Webhook Fired": 2}, ("status",))
    problems = day_problems(unknown)
    assert "232 track event(s) of 2 name(s)" in problems["unscored_events"][0]
    assert "Invoice Paid 230" in problems["unscored_events"][0]
    assert problems["day_has_lines"] == [] and day_problems(quiet)["day_has_lines"]
    assert "status" in problems["model_traits_arrive"][0]
    line = summary_line([unknown, Coverage(D, 3, {"Invoice Paid": 1}), quiet])
    assert line is not None
    assert "233 track event(s) seen but not scored" in line and "Invoice Paid 231" in line
    assert "1 empty day(s): 2026-03-05" in line
    assert summary_line([Coverage(D, 3)]) is None
    assert Coverage.from_metadata(D, unknown.as_metadata()) == Coverage(D, 40, unknown.unscored, ("status",))
