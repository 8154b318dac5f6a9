from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engagement_pipeline.accounts.model import account_day
from engagement_pipeline.core.config import parse_config
from tests.conftest import base_config

DAY = dt.date(2026, 3, 31)


def _config(**model):  # type: ignore[no-untyped-def]
    data = base_config()
    data["model"].update(model)
    return parse_config(data)


def _counts(rows):  # type: ignore[no-untyped-def]
    return pl.DataFrame(
        [
            {"event_date": d, "user_id": u, "account_id": a, "type": "track", "event": e, "event_count": n}
            for d, u, a, e, n in rows
        ],
        schema={
            "event_date": pl.Date,
            "user_id": pl.String,
            "account_id": pl.String,
            "type": pl.String,
            "event": pl.String,
            "event_count": pl.Int64,
        },
    )


def _first_used(counts: pl.DataFrame) -> pl.DataFrame:
    return counts.group_by("account_id", "event").agg(pl.col("event_date").min().alias("first_used"))


def _attributes(*rows):  # type: ignore[no-untyped-def]
    return pl.DataFrame(
        [
            {"account_id": a, "name": f"{a} Inc", "plan": p, "status": s, "mrr": m, "created_date": c}
            for a, p, s, m, c in rows
        ],
        schema={
            "account_id": pl.String,
            "name": pl.String,
            "plan": pl.String,
            "status": pl.String,
            "mrr": pl.Float64,
            "created_date": pl.Date,
        },
    )


def test_hand_made_account_aggregates() -> None:
    d = DAY
    counts = _counts(
        [
            (d, "u1", "acme", "Document Created", 1),
            (d, "u2", "acme", "Document Created", 1),
            (d, "u3", "acme", "File Uploaded", 3),
            (d, "u1", "acme", "Document Edited", 3),
            (d, "u2", "acme", "Document Edited", 2),
            (d, "u3", "acme", "Document Edited", 1),
        ]
    )
    day = account_day(
        counts, _first_used(counts), _attributes(("acme", "pro", "active", 500.0, dt.date(2025, 1, 1))), d, _config()
    )
    scores, usage = day.scores, day.usage
    row = scores.row(0, named=True)
    totals = dict(usage.select("event", "event_count").iter_rows())
    assert totals == {"Document Created": 2, "File Uploaded": 3, "Document Edited": 6}
    users = dict(usage.select("event", "user_count").iter_rows())
    assert users == {"Document Created": 2, "File Uploaded": 1, "Document Edited": 3}
    assert row["active_users"] == 3 and row["total_users"] == 3
    # raw = 2x5 + 3x3 + 6x2 = 31 points in the account
    assert row["raw_score"] == 31.0
    assert row["adoption_rate"] == pytest.approx(3 / 10, abs=1e-3)


def test_activation_needs_every_step_and_counts_several_users() -> None:
    d = DAY
    rows = [
        (d - dt.timedelta(days=10), "u1", "acme", "Document Created", 1),
        (d - dt.timedelta(days=8), "u2", "acme", "Teammate Invited", 1),
        (d - dt.timedelta(days=5), "u3", "acme", "Integration Connected", 1),
        (d - dt.timedelta(days=10), "v1", "solo", "Document Created", 1),
    ]
    counts = _counts(rows)
    attrs = _attributes(
        ("acme", "trial", "trial", 0.0, d - dt.timedelta(days=12)),
        ("solo", "trial", "trial", 0.0, d - dt.timedelta(days=12)),
    )
    scores = account_day(counts, _first_used(counts), attrs, d, _config()).scores
    by = {r["account_id"]: r for r in scores.to_dicts()}
    assert by["acme"]["activation_pct"] == 75.0 and by["acme"]["activated_at"] is None
    counts = _counts(rows + [(d - dt.timedelta(days=3), "u1", "acme", "Document Shared", 1)])
    scores = account_day(counts, _first_used(counts), attrs, d, _config()).scores
    by = {r["account_id"]: r for r in scores.to_dicts()}
    assert by["acme"]["activation_pct"] == 100.0
    assert by["acme"]["activated_at"] == d - dt.timedelta(days=3)
    assert by["acme"]["days_to_activation"] == 9
    assert by["solo"]["activation_pct"] == 25.0


def _daily(account: str, users: list[str], start: dt.date, end: dt.date, per_day: int):  # type: ignore[no-untyped-def]
    rows, d = [], start
    while d <= end:
        for u in users:
            rows.append((d, u, account, "Document Created", per_day))
        d += dt.timedelta(days=1)
    return rows


def test_heating_and_cooling_against_one_window_earlier() -> None:
    d = DAY
    early_start, early_end = d - dt.timedelta(days=59), d - dt.timedelta(days=30)
    late_start = d - dt.timedelta(days=29)
    rows = (
        _daily("grow", ["g1"], early_start, early_end, 1)
        + _daily("grow", ["g1", "g2", "g3"], late_start, d, 5)
        + _daily("fall", ["f1", "f2", "f3"], early_start, early_end, 5)
        + _daily("fall", ["f1"], late_start, d - dt.timedelta(days=20), 1)
        + _daily("flat", ["s1", "s2"], early_start, d, 3)
    )
    counts = _counts(rows)
    attrs = _attributes(*[(a, "pro", "active", 100.0, dt.date(2025, 1, 1)) for a in ("grow", "fall", "flat")])
    scores = account_day(counts, _first_used(counts), attrs, d, _config()).scores
    by = {r["account_id"]: r for r in scores.to_dicts()}
    assert by["grow"]["trend"] == "heating" and by["grow"]["trend_delta"] >= 10
    assert by["fall"]["trend"] == "cooling" and by["fall"]["trend_delta"] <= -10
    assert by["flat"]["trend"] == "steady"
    assert by["fall"]["health"] == "at_risk"
    assert by["fall"]["churn_risk"] > by["flat"]["churn_risk"]


def test_pql_rules() -> None:
    d = DAY
    steps = ["Document Created", "Teammate Invited", "Integration Connected", "Document Shared"]
    rows = []
    for account in ("trial_ok", "trial_idle", "paid_ok", "trial_unactivated"):
        events = steps if account != "trial_unactivated" else steps[:2]
        for e in events:
            rows.append((d - dt.timedelta(days=20), "u_" + account, account, e, 1))
        if account != "trial_idle":
            rows += _daily(account, ["u_" + account], d - dt.timedelta(days=6), d, 2)
    counts = _counts(rows)
    attrs = _attributes(
        ("trial_ok", "trial", "trial", 0.0, d - dt.timedelta(days=25)),
        ("trial_idle", "trial", "trial", 0.0, d - dt.timedelta(days=25)),
        ("paid_ok", "pro", "active", 300.0, d - dt.timedelta(days=25)),
        ("trial_unactivated", "free", "active", 0.0, d - dt.timedelta(days=25)),
    )
    scores = account_day(counts, _first_used(counts), attrs, d, _config()).scores
    pql = {r["account_id"]: r["is_pql"] for r in scores.to_dicts()}
    assert pql == {"trial_ok": True, "trial_idle": False, "paid_ok": False, "trial_unactivated": False}
    reason = scores.filter(pl.col("account_id") == "trial_ok")["pql_reason"][0]
    assert "activated" in reason and "7 of the last 7 days" in reason


def test_inactive_and_churned_health() -> None:
    d = DAY
    counts = _counts(
        [
            (d - dt.timedelta(days=45), "u", "old", "Logged In", 3),
            (d - dt.timedelta(days=2), "w", "gone", "Logged In", 3),
        ]
    )
    attrs = _attributes(
        ("old", "pro", "active", 100.0, dt.date(2025, 1, 1)), ("gone", "pro", "churned", 0.0, dt.date(2025, 1, 1))
    )
    scores = account_day(counts, _first_used(counts), attrs, d, _config()).scores
    health = {r["account_id"]: r["health"] for r in scores.to_dicts()}
    assert health == {"old": "inactive", "gone": "churned"}


def test_explanations_name_what_moved_the_score() -> None:
    d = DAY
    early = _daily("acme", ["u1", "u2"], d - dt.timedelta(days=59), d - dt.timedelta(days=30), 4)
    late = _daily("acme", ["u1"], d - dt.timedelta(days=29), d, 4)  # u2 stopped
    counts = _counts(early + late)
    day = account_day(
        counts, _first_used(counts), _attributes(("acme", "pro", "active", 100.0, dt.date(2025, 1, 1))), d, _config()
    )
    row = day.scores.row(0, named=True)
    assert "u2 -600 pts" in row["change_drivers"]  # the user who stopped is named with the drop
    assert "Document Created 100%" in row["top_contributors"]
    users = day.contributions.filter(pl.col("kind") == "user").sort("key")
    assert users["delta"].to_list() == [0.0, -600.0]  # u1 steady, u2 lost 30 days x 4 x 5 points


def test_trait_activation_step_and_segments() -> None:
    data = base_config()
    data["model"]["activation"]["steps"].append({"name": "Added a logo", "trait": "logo_url"})
    config = parse_config(data)
    d = DAY
    rows = [
        (d - dt.timedelta(days=2), u, "acme", e, 1)
        for u, e in (
            ("u1", "Document Created"),
            ("u2", "Teammate Invited"),
            ("u1", "Integration Connected"),
            ("u2", "Document Shared"),
        )
    ]
    counts = _counts(rows)
    first = _first_used(counts)
    attrs = _attributes(("acme", "trial", "trial", 0.0, d - dt.timedelta(days=3)))
    before = account_day(counts, first, attrs, d, config).scores.row(0, named=True)
    assert before["activation_pct"] == 80.0 and before["activated_at"] is None
    with_trait = pl.concat(
        [
            first,
            pl.DataFrame(
                {"account_id": ["acme"], "event": ["trait:logo_url"], "first_used": [d - dt.timedelta(days=1)]}
            ),
        ]
    )
    after = account_day(counts, with_trait, attrs, d, config).scores.row(0, named=True)
    assert after["activation_pct"] == 100.0 and after["activated_at"] == d - dt.timedelta(days=1)
    assert "new" in after["segments"] and "multi-user" in after["segments"]
    assert after["never_used_key_events"] == "Report Exported"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a1", "a2", "a3"]),
            st.sampled_from(["u1", "u2", "u3", "u4"]),
            st.sampled_from(["Logged In", "Document Created", "Teammate Invited", "Not Scored"]),
            st.integers(0, 40),
            st.integers(1, 50),
        ),
        min_size=1,
        max_size=40,
    ),
    st.sampled_from(["average", "total", "size_aware"]),
)
def test_account_aggregation_properties(rows, method) -> None:  # type: ignore[no-untyped-def]
    d = DAY
    counts = _counts([(d - dt.timedelta(days=ago), u, a, e, n) for a, u, e, ago, n in rows])
    config = _config(account_score=method)
    scores = account_day(counts, _first_used(counts), _attributes(), d, config).scores
    assert scores["account_id"].n_unique() == scores.height
    assert scores["score"].is_between(0, 100).all()
    assert (scores["active_users"] <= scores["total_users"]).all()
    assert ((scores["score"] > 0) == (scores["active_users"] > 0)).all()
    weights = config.model.weights
    in_window = [(a, n * weights[e]) for a, _, e, ago, n in rows if e in weights and ago < 30]
    for account in scores["account_id"]:
        raw = scores.filter(pl.col("account_id") == account)["raw_score"][0]
        assert raw == pytest.approx(sum(p for a, p in in_window if a == account))


def test_seats_bought_come_from_the_attributes_and_are_compared_with_the_active_users() -> None:
    d = DAY
    counts = _counts([(d, f"u{i}", a, "Document Created", 1) for a in ("acme", "full", "old") for i in range(3)])
    attrs = _attributes(*[(a, "pro", "active", 290.0, dt.date(2025, 1, 1)) for a in ("acme", "full", "old")])
    with_seats = attrs.with_columns(pl.Series("seats", [10, 4, None], dtype=pl.Int64))
    by = {
        r["account_id"]: r for r in account_day(counts, _first_used(counts), with_seats, d, _config()).scores.to_dicts()
    }
    assert (by["acme"]["seats_bought"], by["acme"]["seats_used_share"]) == (10, 0.3)
    assert "3 of 10 bought seats used" in by["acme"]["signal_reasons"]
    assert (by["full"]["seats_bought"], by["full"]["seats_used_share"]) == (4, 0.75)
    assert "bought seats" not in by["full"]["signal_reasons"]
    assert (by["old"]["seats_bought"], by["old"]["seats_used_share"]) == (None, None)
    assert "seats" not in by["acme"]  # the attribute became seats_bought
    # Attributes without seats (billing without the column, or none): both columns null, no reason.
    scores = account_day(counts, _first_used(counts), attrs, d, _config()).scores
    assert scores["seats_bought"].null_count() == scores["seats_used_share"].null_count() == 3
