"""Lifecycle facts (Segment's B2B SaaS spec events) in staging: each fact's effect, and the
precedence of billing, events and traits (`staging/lifecycle.py`)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import pytest

from engagement_pipeline.core.config import Config, load_config
from engagement_pipeline.core.warehouse import ensure_schema
from engagement_pipeline.staging.lifecycle import removed_members, status_history
from engagement_pipeline.staging.outcomes import outcome_events
from engagement_pipeline.staging.traits import account_attributes
from tests.conftest import group, identify, run_days, track, write_config, write_day

D1, D2, D3 = dt.date(2026, 3, 2), dt.date(2026, 3, 3), dt.date(2026, 3, 4)


def _spec(
    mid: str, user: str, event: str, day: dt.date, hour: int, account: str = "a1", **props: Any
) -> dict[str, Any]:
    msg = track(mid, user, event, f"{day}T{hour:02d}:00:00Z", account=account)
    if props:
        msg["properties"] = props
    return msg


def _stage(
    tmp_path: Path, days: dict[dt.date, list[dict[str, Any]]], billing: str | None = None
) -> tuple[Config, duckdb.DuckDBPyConnection]:
    config = load_config(write_config(tmp_path))
    for day, lines in days.items():
        write_day(config.paths.landing, day, lines)
    if billing is not None:
        assert config.paths.billing is not None
        config.paths.billing.mkdir(parents=True)
        (config.paths.billing / "billing.csv").write_text("account_id,date,plan,mrr,status\n" + billing)
    con = duckdb.connect(str(config.paths.warehouse))
    ensure_schema(con)
    run_days(con, sorted(days), config, through="staging")
    return config, con


def _attrs(con: duckdb.DuckDBPyConnection, day: dt.date, account: str = "a1") -> tuple[Any, ...]:
    row = account_attributes(con, day).filter(account_id=account).select("name", "plan", "status").row(0)
    return tuple(row)


def test_trial_ended_ends_the_trial_and_the_traits_say_what_follows(tmp_path: Path) -> None:
    _, con = _stage(
        tmp_path,
        {
            D1: [
                group("g1", "u1", "a1", f"{D1}T08:00:00Z", status="active", plan="starter"),
                _spec("t1", "u1", "Trial Started", D1, 9, trial_plan_name="Pro"),
                _spec("t2", "u1", "Trial Started", D1, 9, account="a2"),
            ],
            D2: [_spec("e1", "u1", "Trial Ended", D2, 9), _spec("e2", "u1", "Trial Ended", D2, 9, account="a2")],
        },
    )
    # During the trial the events win over the older traits; a trial without a plan name is plan `trial`.
    assert _attrs(con, D1) == ("a1 Inc", "pro", "trial")
    assert _attrs(con, D1, "a2")[1:] == ("trial", "trial")
    # After it, the group traits (a1) or nothing (a2) say the plan and status.
    assert _attrs(con, D2) == ("a1 Inc", "starter", "active")
    assert _attrs(con, D2, "a2")[1:] == (None, None)


def test_billing_wins_over_a_deletion_and_an_account_without_billing_churns(tmp_path: Path) -> None:
    _, con = _stage(
        tmp_path,
        {
            D1: [
                _spec("c1", "u1", "Account Created", D1, 9, account_name="Billed"),
                _spec("c2", "u2", "Account Created", D1, 9, account="a2"),
            ],
            D2: [
                _spec("d1", "u1", "Account Deleted", D2, 9),
                _spec("d2", "u2", "Account Deleted", D2, 9, account="a2"),
            ],
        },
        billing=f"a1,{D1},pro,99,active\n",
    )
    assert _attrs(con, D2) == ("Billed", "pro", "active")
    assert _attrs(con, D2, "a2")[2] == "churned"
    billing = con.execute("SELECT account_id, date, plan, mrr, status FROM staging.billing").pl()
    outcomes = outcome_events(billing, status_history(con))
    assert outcomes.select("account_id", "date", "kind").rows() == [("a2", D2, "churn")]


def test_account_created_after_a_deletion_brings_the_account_back(tmp_path: Path) -> None:
    _, con = _stage(
        tmp_path,
        {
            D1: [_spec("c1", "u1", "Account Created", D1, 9, account_name="Old name")],
            D2: [_spec("d1", "u1", "Account Deleted", D2, 9)],
            D3: [_spec("c2", "u1", "Account Created", D3, 9, account_name="New name")],
        },
    )
    assert [_attrs(con, d) for d in (D1, D2, D3)] == [
        ("Old name", None, None),
        ("Old name", None, "churned"),
        ("New name", None, None),
    ]


def test_traits_win_over_the_birth_events_for_names(tmp_path: Path) -> None:
    _, con = _stage(
        tmp_path,
        {
            D1: [
                _spec("c1", "u1", "Account Created", D1, 9, account_name="Initech"),
                _spec("s1", "u1", "Signed Up", D1, 9, first_name="Peter", email="Peter@initech.example", title="Eng"),
            ],
            D2: [
                group("g1", "u1", "a1", f"{D2}T08:00:00Z", name="Initech Corp"),
                identify("i1", "u1", f"{D2}T08:00:00Z", firstName="Pete"),
            ],
        },
    )
    assert _attrs(con, D1)[0] == "Initech"
    assert _attrs(con, D2)[0] == "Initech Corp"
    user = con.execute("SELECT first_name, email, title, created_at FROM staging.users").fetchone()
    assert user == ("Pete", "peter@initech.example", "Eng", dt.datetime(2026, 3, 2, 9))


def test_a_removed_member_added_again_is_a_member(tmp_path: Path) -> None:
    _, con = _stage(
        tmp_path,
        {
            D1: [_spec("a1", "u1", "Account Added User", D1, 9, role="Admin")],
            D2: [_spec("r1", "u1", "Account Removed User", D2, 9)],
            D3: [_spec("a2", "u1", "Account Added User", D3, 9, role="Viewer")],
        },
    )
    assert removed_members(con, D2).height == 0  # the day of the removal still counts the user
    assert removed_members(con, D3).height == 0  # added again that day
    con.execute("DELETE FROM staging.lifecycle_facts WHERE message_id = 'a2'")
    assert removed_members(con, D3).rows() == [("u1", "a1")]


def test_restaging_a_day_rewrites_its_facts_once(tmp_path: Path) -> None:
    config, con = _stage(tmp_path, {D1: [_spec("c1", "u1", "Account Created", D1, 9, account_name="X")]})
    run_days(con, [D1], config, through="staging")
    assert con.execute("SELECT count(*), any_value(account_name) FROM staging.lifecycle_facts").fetchone() == (1, "X")


@pytest.mark.parametrize("enabled", [True, False])
def test_lifecycle_can_be_switched_off(tmp_path: Path, enabled: bool) -> None:
    from tests.conftest import base_config

    data = base_config()
    data["lifecycle"] = {"enabled": enabled}
    config = load_config(write_config(tmp_path, data))
    write_day(config.paths.landing, D1, [_spec("c1", "u1", "Account Created", D1, 9, account_name="X")])
    con = duckdb.connect(str(config.paths.warehouse))
    ensure_schema(con)
    run_days(con, [D1], config, through="staging")
    assert con.execute("SELECT name FROM staging.accounts").fetchall() == [("X" if enabled else None,)]


def test_a_warehouse_staged_before_lifecycle_facts_gets_every_days_facts(tmp_path: Path) -> None:
    days = {
        D1: [_spec("c1", "u1", "Account Created", D1, 9, account_name="X")],
        D2: [_spec("d1", "u1", "Account Deleted", D2, 9)],
    }
    config, con = _stage(tmp_path, days)
    # As a warehouse written by a version without lifecycle facts: the table new and empty.
    con.execute("DROP TABLE staging.lifecycle_facts")
    ensure_schema(con)
    run_days(con, [D2], config, start="staging", through="staging")
    assert con.execute("SELECT kind FROM staging.lifecycle_facts ORDER BY timestamp").fetchall() == [
        ("account_created",),
        ("account_deleted",),
    ]
    # Later runs read their own day only (the facts of D1 stay).
    run_days(con, [D2], config, start="staging", through="staging")
    assert con.execute("SELECT count(*) FROM staging.lifecycle_facts").fetchone() == (2,)


def test_a_changed_mapping_reads_every_staged_day_again(tmp_path: Path) -> None:
    days = {D1: [_spec("w1", "u1", "Workspace Created", D1, 9, account_name="X")], D2: []}
    config, con = _stage(tmp_path, days)
    assert con.execute("SELECT count(*) FROM staging.lifecycle_facts").fetchone() == (0,)
    renamed = config.model_copy(
        update={"lifecycle": config.lifecycle.model_copy(update={"account_created": "Workspace Created"})}
    )
    run_days(con, [D2], renamed, start="staging", through="staging")
    assert con.execute("SELECT name FROM staging.accounts").fetchall() == [("X",)]
