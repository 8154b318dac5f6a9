"""The demo told in Segment's B2B SaaS spec (`demo.spec_events`): the lifecycle events it writes
are read back as the same facts its group calls and billing tell."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from engagement_pipeline.core.config import load_config
from engagement_pipeline.core.warehouse import ensure_schema
from engagement_pipeline.demo.generator import generate_demo
from tests.conftest import run_days, write_config

START = dt.date(2026, 1, 1)


def test_the_demo_speaks_the_spec_and_the_facts_agree_with_its_traits_and_billing(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path))
    assert config.paths.billing is not None
    summary = generate_demo(
        config.paths.landing, START, 20, accounts=30, seed=5, billing_dir=config.paths.billing, spec_events=True
    )
    assert summary.lines > 0
    con = duckdb.connect(str(config.paths.warehouse))
    ensure_schema(con)
    days = [START + dt.timedelta(days=i) for i in range(20)]
    run_days(con, days, config, through="staging")
    kinds = dict(con.execute("SELECT kind, count(*) FROM staging.lifecycle_facts GROUP BY kind").fetchall())
    assert set(kinds) == {
        "signed_up", "account_created", "trial_started", "invite_sent", "user_added", "user_removed",
        "trial_ended", "account_deleted",
    }  # fmt: skip
    # The name each Account Created states is the name the group calls give.
    names = con.execute(
        """SELECT f.account_name, a.name FROM staging.lifecycle_facts f JOIN staging.accounts a USING (account_id)
           WHERE f.kind = 'account_created'"""
    ).fetchall()
    assert names and all(event == trait for event, trait in names)
    # Every Account Deleted is a billing churn of the same day.
    deleted = con.execute(
        """SELECT f.account_id, f.event_date, b.status FROM staging.lifecycle_facts f
           LEFT JOIN staging.billing b ON b.account_id = f.account_id AND b.date = f.event_date
           WHERE f.kind = 'account_deleted'"""
    ).fetchall()
    assert deleted and all(status == "churned" for _, _, status in deleted)
    # A removed member's membership ends the day of its Account Removed User.
    ended = con.execute("SELECT count(*) FROM staging.memberships WHERE removed_on IS NOT NULL").fetchone()
    assert ended is not None and ended[0] == kinds["user_removed"]
    # The accounts layer shows it: invites as seat growth; the status stays billing's.
    run_days(con, days[-1:], config, start="scores", through="accounts")
    invites = con.execute("SELECT sum(invites_sent) FROM accounts.account_scores").fetchone()
    assert invites is not None and invites[0] > 0
    disagree = con.execute(
        """SELECT count(*) FROM accounts.account_scores s JOIN (
               SELECT account_id, arg_max(status, date) AS status FROM staging.billing GROUP BY ALL
           ) b USING (account_id) WHERE s.status IS DISTINCT FROM b.status"""
    ).fetchone()
    assert disagree == (0,)
