"""An account's whole life told only in Segment's B2B SaaS spec events (no group call, no
billing), day by day through every layer; and the same account told with group traits and
billing, which must give the same account facts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest

from engagement_pipeline.core.config import Config, load_config, parse_config
from engagement_pipeline.staging.lifecycle import status_history
from engagement_pipeline.staging.outcomes import outcome_events
from tests.conftest import base_config, group, identify, run_days, track, write_config, write_day

START = dt.date(2026, 3, 2)
DAYS = [START + dt.timedelta(days=i) for i in range(14)]
REMOVED_ON = DAYS[5]  # u3 leaves the account
TRIAL_ENDS_ON = DAYS[11]  # the trial ends and the account is deleted, the same afternoon
ACTIVATION = ("Document Created", "Teammate Invited", "Integration Connected", "Document Shared")


def _ts(day: dt.date, hour: int, minute: int = 0) -> str:
    return f"{day.isoformat()}T{hour:02d}:{minute:02d}:00Z"


def _spec(mid: str, user: str, event: str, ts: str, **properties: Any) -> dict[str, Any]:
    msg = track(mid, user, event, ts, account="acme")
    if properties:
        msg["properties"] = properties
    return msg


def _usage(day: dt.date) -> list[dict[str, Any]]:
    """Every member still in the account uses the product a little each day."""
    members = ["u1"] + (["u2"] if day >= DAYS[1] else []) + (["u3"] if DAYS[1] <= day <= REMOVED_ON else [])
    out = []
    for n, user in enumerate(members):
        for k, event in enumerate(ACTIVATION if day == DAYS[2] and user == "u1" else ("Document Edited",)):
            out.append(track(f"{day}-{user}-{k}", user, event, _ts(day, 12 + n, k), account="acme"))
    return out


def _lifecycle_lines(day: dt.date) -> list[dict[str, Any]]:
    """The account's life in the spec's own events (the spec's event and property names)."""
    d = day.isoformat()
    lines = {
        DAYS[0]: [
            _spec(
                f"{d}-su1",
                "u1",
                "Signed Up",
                _ts(day, 9),
                first_name="Ada",
                last_name="Lovelace",
                email="ADA@acme.example",
                title="CTO",
            ),
            _spec(f"{d}-ac", "u1", "Account Created", _ts(day, 9, 1), account_name="Acme Robotics"),
            _spec(f"{d}-au1", "u1", "Account Added User", _ts(day, 9, 2), role="Owner"),
            _spec(
                f"{d}-ts",
                "u1",
                "Trial Started",
                _ts(day, 9, 3),
                trial_plan_name="Pro",
                trial_start_date="2026-03-02",
                trial_end_date="2026-03-16",
            ),
        ],
        DAYS[1]: [
            _spec(
                f"{d}-inv", "u1", "Invite Sent", _ts(day, 8), invitee_email="grace@acme.example", invitee_role="Member"
            ),
            _spec(
                f"{d}-su2",
                "u2",
                "Signed Up",
                _ts(day, 9),
                first_name="Grace",
                last_name="Hopper",
                email="grace@acme.example",
            ),
            _spec(f"{d}-au2", "u2", "Account Added User", _ts(day, 9, 1), role="Member"),
            _spec(f"{d}-au3", "u3", "Account Added User", _ts(day, 9, 2), role="Member"),
        ],
        REMOVED_ON: [_spec(f"{d}-ar3", "u3", "Account Removed User", _ts(day, 18))],
        TRIAL_ENDS_ON: [
            _spec(
                f"{d}-te",
                "u1",
                "Trial Ended",
                _ts(day, 16),
                trial_plan_name="Pro",
                trial_start_date="2026-03-02",
                trial_end_date="2026-03-13",
            ),
            _spec(f"{d}-ad", "u1", "Account Deleted", _ts(day, 17), account_name="Acme Robotics"),
        ],
    }
    return lines.get(day, [])


def _traits_lines(day: dt.date) -> list[dict[str, Any]]:
    """The same account with group and identify calls (its plan and status come from billing)."""
    if day == DAYS[0]:
        return [
            identify(
                f"{day}-i1",
                "u1",
                _ts(day, 9),
                email="ada@acme.example",
                firstName="Ada",
                lastName="Lovelace",
                title="CTO",
            ),
            group(f"{day}-g1", "u1", "acme", _ts(day, 9, 1), name="Acme Robotics"),
        ]
    if day == DAYS[1]:
        return [
            identify(f"{day}-i2", "u2", _ts(day, 9), email="grace@acme.example", firstName="Grace", lastName="Hopper"),
            group(f"{day}-g2", "u2", "acme", _ts(day, 9, 1), name="Acme Robotics"),
            group(f"{day}-g3", "u3", "acme", _ts(day, 9, 2), name="Acme Robotics"),
        ]
    return []


def _run(
    tmp_path: Path, told_by: str, through: str = "snapshots"
) -> tuple[Config, duckdb.DuckDBPyConnection, dict[str, list[Any]]]:
    config = load_config(write_config(tmp_path))
    for day in DAYS:
        story = _lifecycle_lines(day) if told_by == "events" else _traits_lines(day)
        write_day(config.paths.landing, day, story + _usage(day))
    if told_by == "billing":
        assert config.paths.billing is not None
        config.paths.billing.mkdir(parents=True)
        (config.paths.billing / "billing.csv").write_text(
            f"account_id,date,plan,mrr,status\nacme,{DAYS[0]},pro,0,trial\nacme,{TRIAL_ENDS_ON},pro,0,churned\n"
        )
    con = duckdb.connect(str(config.paths.warehouse))
    from engagement_pipeline.core.warehouse import ensure_schema

    ensure_schema(con)
    return config, con, run_days(con, DAYS, config, through=through)


def _scores(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    return con.execute(
        "SELECT as_of_date, name, plan, status, health, is_pql, total_users, active_users, invites_sent, health_reason "
        "FROM accounts.account_scores WHERE account_id = 'acme' ORDER BY as_of_date"
    ).pl()


@pytest.fixture(scope="module")
def told_by_events(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Config, duckdb.DuckDBPyConnection, dict[str, list[Any]]]:
    return _run(tmp_path_factory.mktemp("events"), "events")


def test_an_account_told_only_in_spec_events_day_by_day(
    told_by_events: tuple[Config, duckdb.DuckDBPyConnection, dict[str, list[Any]]],
) -> None:
    config, con, _ = told_by_events
    assert con.execute("SELECT count(*) FROM staging.events WHERE type = 'group'").fetchone() == (0,)
    scores = _scores(con)
    assert scores["as_of_date"].to_list() == DAYS
    for row in scores.iter_rows(named=True):
        day = row["as_of_date"]
        assert row["name"] == "Acme Robotics", day
        in_trial = day < TRIAL_ENDS_ON
        # The trial from Trial Started to Trial Ended; the deletion the same afternoon churns it.
        assert row["status"] == ("trial" if in_trial else "churned"), day
        assert row["plan"] == ("pro" if in_trial else None), day
        # u3 counts up to the day of its removal, not from the day after.
        expected_users = 1 if day == DAYS[0] else (3 if day <= REMOVED_ON else 2)
        assert row["total_users"] == expected_users, day
        assert row["active_users"] == expected_users, day
        assert row["invites_sent"] == (0 if day == DAYS[0] else 1), day
        if in_trial:
            assert row["health"] == "new", day
            # A trial, activated on day 3, active 4 of the last 7 days: a PQL from day 4.
            assert row["is_pql"] == (day >= DAYS[3]), day
        else:
            assert (row["health"], row["is_pql"]) == ("churned", False), day
            assert row["health_reason"] == "the account was deleted (lifecycle event)", day
    # The daily history shows the trial, then the churn.
    history = con.execute(
        "SELECT date, plan, status FROM snapshots.account_history WHERE account_id = 'acme' ORDER BY date"
    ).fetchall()
    assert history == [(d, "pro", "trial") if d < TRIAL_ENDS_ON else (d, None, "churned") for d in DAYS]


def test_spec_events_feed_users_memberships_and_churn_outcomes(
    told_by_events: tuple[Config, duckdb.DuckDBPyConnection, dict[str, list[Any]]],
) -> None:
    config, con, _ = told_by_events
    users = {r[0]: r[1:] for r in con.execute("SELECT user_id, email, first_name, title FROM staging.users").fetchall()}
    assert users["u1"] == ("ada@acme.example", "Ada", "CTO")
    assert users["u2"] == ("grace@acme.example", "Grace", None)
    members = con.execute(
        "SELECT user_id, role, added_on, removed_on FROM staging.memberships WHERE account_id = 'acme' ORDER BY 1"
    ).fetchall()
    assert members == [
        ("u1", "owner", DAYS[0], None),
        ("u2", "member", DAYS[1], None),
        ("u3", "member", DAYS[1], REMOVED_ON),
    ]
    account = con.execute("SELECT name, plan, status FROM staging.accounts WHERE account_id = 'acme'").fetchone()
    assert account == ("Acme Robotics", None, "churned")
    outcomes = outcome_events(None, status_history(con))
    assert outcomes.select("account_id", "date", "kind").rows() == [("acme", TRIAL_ENDS_ON, "churn")]
    # Personal data is kept from Signed Up only: not the invitee's email (an invitee is not a user yet).
    kept = con.execute("SELECT kind FROM staging.lifecycle_facts WHERE email IS NOT NULL ORDER BY 1").fetchall()
    assert kept == [("signed_up",), ("signed_up",)]


def test_a_deleted_account_leaves_every_list(
    told_by_events: tuple[Config, duckdb.DuckDBPyConnection, dict[str, list[Any]]],
) -> None:
    """The exports of the days where something changes: before the PQL, its first day, the last
    day of the trial, the deletion day and after. (Every day's `is_pql` and health: above.)"""
    config, con, _ = told_by_events
    for day in (DAYS[2], DAYS[3], DAYS[10], DAYS[11], DAYS[13]):
        done = run_days(con, [day], config, start="exports", through="exports")["exports"][0]
        files = done.bundle.files
        alive = day < TRIAL_ENDS_ON
        pql = ["acme"] if DAYS[3] <= day < TRIAL_ENDS_ON else []
        assert files["pql_accounts.csv"]["account_id"].to_list() == pql, day
        for name in ("at_risk_accounts.csv", "expansion_accounts.csv", "case_study_candidates.csv"):
            assert files[name].height == 0, (day, name)
        assert ("acme" in files["feature_adoption_gaps.csv"]["account_id"].to_list()) == alive, day
        if not alive:  # no top account left: no ICP seeds, no look-alike audience
            assert done.bundle.selection["top_accounts"] == 0, day
            assert files["lookalike_google.csv"].height == 0, day


def test_the_same_account_told_with_group_traits_and_billing_gives_the_same_facts(
    tmp_path: Path, told_by_events: tuple[Config, duckdb.DuckDBPyConnection, dict[str, list[Any]]]
) -> None:
    _, events_con, _ = told_by_events
    _, con, _ = _run(tmp_path, "billing")
    by_events, by_billing = _scores(events_con), _scores(con)
    facts = ["as_of_date", "name", "status", "health", "is_pql"]
    in_trial = pl.col("as_of_date") < TRIAL_ENDS_ON
    assert by_billing.filter(~in_trial)["health_reason"].unique().to_list() == ["billing status is churned"]
    assert by_billing.select(facts).equals(by_events.select(facts))
    # The plan of the trial; after it the billing keeps its last plan, the events state none.
    assert by_billing.filter(in_trial)["plan"].equals(by_events.filter(in_trial)["plan"])
    billing = con.execute("SELECT account_id, date, plan, mrr, status FROM staging.billing").pl()
    told = [
        outcome_events(b, status_history(c)).select("account_id", "date", "kind")
        for b, c in ((billing, con), (None, events_con))
    ]
    assert told[0].rows() == told[1].rows() == [("acme", TRIAL_ENDS_ON, "churn")]


def test_a_team_maps_its_own_event_names(tmp_path: Path) -> None:
    data = base_config()
    data["lifecycle"] = {"account_created": "Workspace Created", "properties": {"account_name": "workspace"}}
    config = load_config(write_config(tmp_path, data))
    day = DAYS[0]
    write_day(
        config.paths.landing,
        day,
        [
            _spec("w1", "u1", "Workspace Created", _ts(day, 9), workspace="Initech"),
            _spec("w2", "u1", "Account Created", _ts(day, 10), account_name="Not this one"),
        ],
    )
    con = duckdb.connect(str(config.paths.warehouse))
    from engagement_pipeline.core.warehouse import ensure_schema

    ensure_schema(con)
    run_days(con, [day], config, through="staging")
    assert con.execute("SELECT name FROM staging.accounts").fetchall() == [("Initech",)]


def test_a_lifecycle_mapping_that_names_one_event_twice_is_refused() -> None:
    data = base_config()
    data["lifecycle"] = {"trial_started": "Trial", "trial_ended": "Trial"}
    with pytest.raises(Exception, match="mapped to two lifecycle facts"):
        parse_config(data)
