"""The demo-data generator: layout, determinism, Segment validity, reconciliation and the simulated business."""

from __future__ import annotations

import csv
import datetime as dt
import functools
import gzip
import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engagement_pipeline.demo import generator
from engagement_pipeline.demo.arrays import iso_matrix
from engagement_pipeline.demo.generator import (
    ACTIVATION_EVENTS,
    FaultRates,
    GenerationSummary,
    generate_demo,
)

START = dt.date(2026, 3, 2)
DAYS = 20
ACCOUNTS = 40
MESSAGE_TYPES = {"track", "page", "identify", "group"}


@dataclass
class Line:
    folder: str
    file: str
    raw: bytes
    obj: Any  # parsed JSON, or None when the line is not JSON


@dataclass
class Demo:
    root: Path
    summary: GenerationSummary
    lines: list[Line]
    accounts: list[dict[str, str]]
    users: list[dict[str, str]]
    truth: dict[str, Any]

    @functools.cached_property
    def distinct(self) -> list[dict[str, Any]]:
        """Valid messages, each once (duplicate copies dropped)."""
        seen: set[str] = set()
        out = []
        for line in self.lines:
            if is_valid(line.obj) and line.obj["messageId"] not in seen:
                seen.add(line.obj["messageId"])
                out.append(line.obj)
        return out

    def account_of(self, obj: dict[str, Any]) -> str | None:
        """The account of a call: its context.groupId, else the only account of a single-account user."""
        group = (obj.get("context") or {}).get("groupId")
        if group:
            return group
        return self.single_account.get(obj.get("userId", ""))

    @functools.cached_property
    def single_account(self) -> dict[str, str]:
        return {u["user_id"]: u["account_id"] for u in self.users if not u["second_account_id"]}


def parse_ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def is_valid(obj: Any) -> bool:
    """The rules a pipeline would apply before accepting a message."""
    if not isinstance(obj, dict) or obj.get("type") not in MESSAGE_TYPES or not isinstance(obj.get("messageId"), str):
        return False
    if not (obj.get("userId") or obj.get("anonymousId")):
        return False
    if obj["type"] == "track" and not obj.get("event"):
        return False
    if obj["type"] == "group" and not obj.get("groupId"):
        return False
    try:
        for key in ("originalTimestamp", "sentAt", "receivedAt", "timestamp"):
            if key in obj or key != "timestamp":
                parse_ts(obj[key])
    except (KeyError, TypeError, ValueError):
        return False
    return True


def event_time(obj: dict[str, Any]) -> dt.datetime:
    """Segment's clock-skew correction: timestamp = receivedAt - (sentAt - originalTimestamp)."""
    if "timestamp" in obj:
        return parse_ts(obj["timestamp"])
    return parse_ts(obj["receivedAt"]) - (parse_ts(obj["sentAt"]) - parse_ts(obj["originalTimestamp"]))


def read_landing(landing: Path) -> list[Line]:
    lines = []
    for path in sorted(landing.glob("*/*.jsonl.gz")):
        for raw in gzip.decompress(path.read_bytes()).splitlines():
            try:
                obj = json.loads(raw)
            except ValueError:
                obj = None
            lines.append(Line(path.parent.name, path.name, raw, obj))
    return lines


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    root = tmp_path_factory.mktemp("demo")
    summary = generate_demo(root / "landing", START, DAYS, accounts=ACCOUNTS, seed=42, billing_dir=root / "billing")
    return Demo(
        root=root,
        summary=summary,
        lines=read_landing(root / "landing"),
        accounts=read_csv(root / "ground_truth" / "accounts.csv"),
        users=read_csv(root / "ground_truth" / "users.csv"),
        truth=json.loads((root / "ground_truth" / "summary.json").read_text(encoding="utf-8")),
    )


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_identical_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    runs = {}
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        generate_demo(
            tmp_path / name / "landing", START, 4, accounts=15, seed=seed, billing_dir=tmp_path / name / "billing"
        )
        runs[name] = {part: tree_bytes(tmp_path / name / part) for part in ("landing", "billing")} | {
            "truth": tree_bytes(tmp_path / name / "ground_truth") | {"summary.json": b""}
        }
    assert runs["a"] == runs["b"]
    assert runs["a"]["landing"] != runs["c"]["landing"]
    assert runs["a"]["truth"] != runs["c"]["truth"]


def test_one_folder_per_received_day_with_gzip_files_then_success(demo: Demo) -> None:
    landing = demo.root / "landing"
    expected = [(START + dt.timedelta(days=k)).isoformat() for k in range(DAYS)]
    assert sorted(p.name for p in landing.iterdir()) == expected
    for folder in landing.iterdir():
        assert sorted(p.name for p in folder.iterdir()) == ["_SUCCESS", "events-000.jsonl.gz", "events-001.jsonl.gz"]
        assert (folder / "_SUCCESS").read_bytes() == b""
        for path in folder.glob("*.gz"):
            header = path.read_bytes()[:10]
            assert header[:2] == b"\x1f\x8b" and header[4:8] == b"\0\0\0\0"  # mtime 0: reproducible
    assert demo.summary.files == DAYS * 2
    assert {line.file for line in demo.lines} == {"events-000.jsonl.gz", "events-001.jsonl.gz"}


def test_ground_truth_lies_beside_the_landing_folder(demo: Demo) -> None:
    assert demo.summary.truth_dir == demo.root / "ground_truth"
    assert not demo.summary.truth_dir.resolve().is_relative_to((demo.root / "landing").resolve())
    assert list(demo.accounts[0]) == [
        "account_id",
        "name",
        "domain",
        "industry",
        "employees",
        "country",
        "plan",
        "created_date",
        "trajectory",
        "converted_date",
        "churned_date",
        "churn_kind",
        "best_fit",
        "mrr_start",
        "mrr_end",
    ]
    assert len(demo.accounts) == ACCOUNTS
    assert len({a["name"] for a in demo.accounts}) == ACCOUNTS
    assert len({a["domain"] for a in demo.accounts}) == ACCOUNTS
    assert {a["trajectory"] for a in demo.accounts} == {
        "steady",
        "growing",
        "declining",
        "churning",
        "trial_converting",
        "trial_not_converting",
        "onboarding",
    }
    assert set(demo.truth["event_weights"]) >= set(ACTIVATION_EVENTS)
    assert set(demo.truth["best_fit_segment"]) == {"industry", "employee_band"}
    for key in ("messages", "track_events", "duplicates", "late", "malformed", "lines", "files", "users"):
        assert demo.truth[key] == getattr(demo.summary, key)


@pytest.mark.parametrize("where", ["truth_dir", "billing_dir"])
def test_outputs_inside_landing_are_refused(tmp_path: Path, where: str) -> None:
    with pytest.raises(ValueError, match="inside the landing folder"):
        generate_demo(tmp_path / "landing", START, 1, accounts=2, **{where: tmp_path / "landing" / "extra"})
    assert not (tmp_path / "landing").exists()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"days": 0},
        {"accounts": 0},
        {"files_per_day": 0},
        {"events_per_user_day": 0.0},
        {"faults": FaultRates(duplicate_share=1.5)},
        {"faults": FaultRates(late_share=-0.1)},
        {"start": dt.datetime(2026, 3, 2, 12)},
    ],
)
def test_bad_arguments_are_refused(tmp_path: Path, kwargs: dict[str, Any]) -> None:
    args: dict[str, Any] = {"start": START, "days": 2, "accounts": 3} | kwargs
    with pytest.raises((ValueError, TypeError)):
        generate_demo(tmp_path / "landing", **args)
    assert not (tmp_path / "landing").exists()


def test_counts_reconcile_with_the_lines_written(demo: Demo) -> None:
    s = demo.summary
    valid = [line for line in demo.lines if is_valid(line.obj)]
    assert len(demo.lines) == s.lines == s.messages + s.malformed
    assert len(valid) == s.messages
    assert s.malformed == sum(demo.truth["malformed_by_kind"].values()) > 0

    copies = Counter(line.obj["messageId"] for line in valid)
    assert sum(n - 1 for n in copies.values()) == s.duplicates > 0
    assert max(copies.values()) == 2
    first_raw: dict[str, bytes] = {}
    for line in valid:  # a duplicate is the very same line
        assert first_raw.setdefault(line.obj["messageId"], line.raw) == line.raw

    tracks = [o for o in demo.distinct if o["type"] == "track"]
    assert len(tracks) == s.track_events
    late = [o for o in tracks if parse_ts(o["receivedAt"]) - event_time(o) >= dt.timedelta(days=1)]
    assert len(late) == s.late > 0
    assert all(parse_ts(o["receivedAt"]) - event_time(o) <= dt.timedelta(days=3, seconds=1) for o in late)
    assert sum(demo.truth["messages_by_type"].values()) == s.messages - s.duplicates


def test_folder_is_the_received_date_and_files_follow_received_order(demo: Demo) -> None:
    seen: set[str] = set()
    for line in demo.lines:
        if not is_valid(line.obj):
            continue
        received = parse_ts(line.obj["receivedAt"]).date()
        folder = dt.date.fromisoformat(line.folder)
        if line.obj["messageId"] in seen:  # duplicate copies: the same or the next day's folder
            assert folder - received in (dt.timedelta(0), dt.timedelta(days=1))
        else:
            assert folder == received
        seen.add(line.obj["messageId"])
    stamps = [(line.folder, line.file, parse_ts(line.obj["receivedAt"])) for line in demo.lines if is_valid(line.obj)]
    for (folder_a, _, a), (folder_b, _, b) in zip(stamps, stamps[1:]):
        if folder_a == folder_b:
            assert a <= b


def test_messages_follow_the_segment_spec(demo: Demo) -> None:
    distinct = demo.distinct
    assert {o["type"] for o in distinct} == MESSAGE_TYPES
    for obj in distinct:
        assert obj["receivedAt"].endswith("Z") and len(obj["receivedAt"]) == 24
        if obj["type"] in ("track", "page"):
            assert ("userId" in obj) != ("anonymousId" in obj)
            assert set(obj["context"]["library"]) == {"name", "version"}
        if obj["type"] == "identify":
            assert obj["userId"].startswith("usr_")
            traits = obj["traits"]
            assert {"email", "phone", "title", "address"} <= set(traits)
            assert ("firstName" in traits and "createdAt" in traits) or (
                "first_name" in traits and "created_at" in traits
            )
            assert set(traits["address"]) == {"city", "state", "country", "postalCode"}
        if obj["type"] == "group":
            assert obj["groupId"].startswith("acc_")
            assert obj["traits"]["status"] in ("trial", "active", "churned")
            assert obj["traits"]["plan"] in ("free", "trial", "starter", "pro", "enterprise")
    assert len({o["messageId"] for o in distinct}) == len(distinct)

    tracks = [o for o in distinct if o["type"] == "track"]
    with_group = sum("groupId" in o["context"] for o in tracks) / len(tracks)
    assert 0.75 < with_group < 0.95
    server = [o for o in tracks if "timestamp" in o]
    assert 0.02 < len(server) / len(tracks) < 0.1
    assert all(
        o["context"]["library"]["name"] == "analytics-python" and "userAgent" not in o["context"] for o in server
    )
    skewed = [
        o
        for o in tracks
        if "timestamp" not in o and abs(event_time(o) - parse_ts(o["originalTimestamp"])) > dt.timedelta(minutes=1)
    ]
    assert skewed  # some devices' clocks are off

    identifies = [o["traits"] for o in distinct if o["type"] == "identify"]
    snake = sum("first_name" in t for t in identifies) / len(identifies)
    assert 0.1 < snake < 0.3
    employees = [o["traits"]["employees"] for o in distinct if o["type"] == "group"]
    assert {type(e) for e in employees} == {str, int}
    assert any(not str(t.get("firstName", t.get("first_name"))).isascii() for t in identifies)
    pages = [o for o in distinct if o["type"] == "page"]
    assert {"Dashboard", "Settings", "Pricing", "Docs"} <= {p["name"] for p in pages}


def _track_counts(demo: Demo) -> dict[str, Counter[int]]:
    """Track events per account and day of the period (by corrected event time)."""
    counts: dict[str, Counter[int]] = defaultdict(Counter)
    for obj in demo.distinct:
        if obj["type"] == "track" and obj.get("userId"):
            account = demo.account_of(obj)
            if account:
                counts[account][(event_time(obj).date() - START).days] += 1
    return counts


def test_growing_accounts_rise_and_declining_accounts_fall(demo: Demo) -> None:
    counts = _track_counts(demo)
    third = DAYS // 3
    trajectories = defaultdict(list)
    for account in demo.accounts:
        c = counts[account["account_id"]]
        first = sum(c[d] for d in range(third))
        last = sum(c[d] for d in range(DAYS - third, DAYS))
        trajectories[account["trajectory"]].append((first, last))
    assert trajectories["growing"] and trajectories["declining"]
    assert all(last > 1.5 * first for first, last in trajectories["growing"])
    assert all(last < 0.67 * first for first, last in trajectories["declining"])


def test_churned_accounts_go_silent_and_billing_says_so(demo: Demo) -> None:
    counts = _track_counts(demo)
    billing = read_csv(demo.root / "billing" / "billing.csv")
    churning = [a for a in demo.accounts if a["trajectory"] == "churning"]
    assert churning and all(a["churned_date"] for a in churning)
    for account in churning:
        churned = (dt.date.fromisoformat(account["churned_date"]) - START).days
        c = counts[account["account_id"]]
        assert sum(c[d] for d in range(churned)) > 0
        assert sum(n for d, n in c.items() if d > churned) == 0
        rows = [r for r in billing if r["account_id"] == account["account_id"]]
        assert (
            rows[-1]["status"] == "churned" and rows[-1]["date"] == account["churned_date"] and rows[-1]["mrr"] == "0"
        )


def test_trials_that_convert_complete_the_activation_checklist(demo: Demo) -> None:
    done: dict[str, set[str]] = defaultdict(set)
    for obj in demo.distinct:
        if obj["type"] == "track" and obj["event"] in ACTIVATION_EVENTS and obj.get("userId"):
            done[demo.account_of(obj) or ""].add(obj["event"])
    converting = [a for a in demo.accounts if a["trajectory"] == "trial_converting"]
    fizzling = [a for a in demo.accounts if a["trajectory"] == "trial_not_converting"]
    assert converting and fizzling
    for account in converting:
        assert done[account["account_id"]] == set(ACTIVATION_EVENTS)
        assert account["converted_date"] and account["plan"] in ("starter", "pro")
    complete = sum(done[a["account_id"]] == set(ACTIVATION_EVENTS) for a in fizzling)
    assert complete <= len(fizzling) / 2


def test_users_have_emails_at_their_account_domain_and_some_work_for_two_accounts(demo: Demo) -> None:
    domains = {a["account_id"]: a["domain"] for a in demo.accounts}
    truth = {u["user_id"]: {u["account_id"], u["second_account_id"]} - {""} for u in demo.users}
    grouped: dict[str, set[str]] = defaultdict(set)
    emails: dict[str, set[str]] = defaultdict(set)
    for obj in demo.distinct:
        if obj["type"] == "group":
            grouped[obj["userId"]].add(obj["groupId"])
        if obj["type"] == "identify":
            emails[obj["userId"]].add(obj["traits"]["email"])
    assert emails
    for user, addresses in emails.items():
        (email,) = addresses
        assert email == email.lower() and email.isascii()
        assert email.split("@")[1] in {domains[a] for a in truth[user]}
        if len(truth[user]) == 1:
            assert email.split("@")[1] == domains[next(iter(truth[user]))]
    assert all(accounts <= truth[user] for user, accounts in grouped.items())
    consultants = {u for u, accounts in grouped.items() if len(accounts) == 2}
    assert consultants
    tracked: dict[str, set[str]] = defaultdict(set)
    for obj in demo.distinct:
        if obj["type"] == "track" and obj.get("userId") in consultants:
            tracked[obj["userId"]].add(obj["context"]["groupId"])  # consultants always say where they work
    assert any(len(accounts) == 2 for accounts in tracked.values())


def test_anonymous_visitors_are_linked_by_a_later_identify(demo: Demo) -> None:
    anonymous: dict[str, list[dt.datetime]] = defaultdict(list)
    links: dict[str, tuple[str, dt.datetime]] = {}
    for obj in demo.distinct:
        if "anonymousId" in obj and "userId" not in obj:
            anonymous[obj["anonymousId"]].append(event_time(obj))
        if obj["type"] == "identify" and "anonymousId" in obj:
            links[obj["anonymousId"]] = (obj["userId"], event_time(obj))
    assert anonymous
    assert any(o["type"] == "track" and "anonymousId" in o for o in demo.distinct)
    for anon_id, times in anonymous.items():
        assert anon_id.startswith("anon_")
        assert anon_id in links
        assert max(times) < links[anon_id][1]
    new_users = [u for u in demo.users if u["first_seen_date"] >= START.isoformat()]
    share = sum(bool(u["anonymous_id"]) for u in new_users) / len(new_users)
    assert 0.15 < share < 0.45


def test_billing_rows_are_valid(demo: Demo) -> None:
    path = demo.root / "billing" / "billing.csv"
    assert path.read_text(encoding="utf-8").splitlines()[0] == "account_id,date,plan,mrr,status,seats"
    rows = read_csv(path)
    by_account = defaultdict(list)
    for row in rows:
        assert row["status"] in ("trial", "active", "churned")
        assert row["plan"] in ("free", "trial", "starter", "pro", "enterprise")
        mrr, seats = float(row["mrr"]), int(row["seats"])
        if row["status"] != "active" or row["plan"] in ("free", "trial"):
            assert mrr == 0 and seats == 0  # no seats bought
        else:  # paid per seat bought, at least the plan's minimum
            assert mrr > 0 and seats >= {"starter": 1, "pro": 3, "enterprise": 20}[row["plan"]]
            assert mrr % seats == 0
        by_account[row["account_id"]].append(row)
    for account in demo.accounts:
        history = by_account[account["account_id"]]
        assert history[0]["date"] == account["created_date"]
        assert len({r["date"] for r in history}) == len(history)
        assert history[-1]["plan"] == account["plan"] and float(history[-1]["mrr"]) == float(account["mrr_end"])
        if account["converted_date"]:
            assert any(r["date"] == account["converted_date"] and r["status"] == "active" for r in history)
    assert any(a["trajectory"] == "growing" and float(a["mrr_end"]) > float(a["mrr_start"]) for a in demo.accounts)


def test_best_fit_segment_is_pure_and_more_engaged(demo: Demo) -> None:
    segment = demo.truth["best_fit_segment"]
    low, high = (int(x) for x in segment["employee_band"].replace("+", "-100000").split("-"))
    counts = _track_counts(demo)
    fit, other = [], []
    for account in demo.accounts:
        in_segment = account["industry"] == segment["industry"] and low <= int(account["employees"]) <= high
        assert in_segment == (account["best_fit"] == "true")
        (fit if in_segment else other).append(sum(counts[account["account_id"]].values()))
    assert fit and np.mean(fit) > np.mean(other)


def test_fault_rates_drive_the_faults(tmp_path: Path) -> None:
    clean = generate_demo(tmp_path / "clean" / "landing", START, 3, accounts=10, faults=FaultRates(0, 0, 0, 0))
    assert (clean.duplicates, clean.late, clean.malformed) == (0, 0, 0)
    assert not any("anonymousId" in (line.obj or {}) for line in read_landing(tmp_path / "clean" / "landing"))
    dirty = generate_demo(tmp_path / "dirty" / "landing", START, 3, accounts=10, faults=FaultRates(0.2, 0.3, 0.1, 0.9))
    assert dirty.duplicates > 0.1 * (dirty.messages - dirty.duplicates)
    assert dirty.malformed > 0.05 * dirty.messages
    kinds = json.loads((tmp_path / "dirty" / "ground_truth" / "summary.json").read_text())["malformed_by_kind"]
    assert all(count > 0 for count in kinds.values())


def test_tiny_runs_work(tmp_path: Path) -> None:
    summary = generate_demo(tmp_path / "landing", START, 1, accounts=1, files_per_day=3)
    assert summary.files == 3
    assert len(read_landing(tmp_path / "landing")) == summary.lines


@given(st.integers(min_value=0, max_value=4_102_444_800_000))
def test_iso_formatter_matches_the_standard_library(epoch_ms: int) -> None:
    moment = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(milliseconds=epoch_ms)
    expected = moment.strftime("%Y-%m-%dT%H:%M:%S")
    text = bytes(iso_matrix(np.array([epoch_ms]))[0]).decode()
    assert text == f"{expected}.{epoch_ms % 1000:03d}Z"


def test_the_entry_point_still_exports_the_public_names() -> None:
    """The generator was split into modules; callers keep importing from `demo.generator`."""
    assert all(hasattr(generator, name) for name in generator.__all__)
    assert generator.PLANS == ("free", "trial", "starter", "pro", "enterprise")
    assert generator.STATUSES == ("trial", "active", "churned")
