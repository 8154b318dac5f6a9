"""Personal data stays where it belongs, opt-outs are honoured, and files are owner-only.

Generated demo data (with their people's emails, names and phones) is run through the CLI
(`engagement-pipeline run`, Dagster, a persistent instance). Emails, names and phones may appear
in clear ONLY in:

- `staging.users` (the latest traits, what the look-alike audiences are built from) and
  `staging.user_traits_history` (the same, point in time);
- `staging.events.traits`, `raw.landed_lines.line` and `staging.quarantine.payload`, which hold the
  input AS RECEIVED (verbatim, for replay) - personal data in them is the input's own.

They must never reach: any other warehouse table or column, the Dagster instance (materialization
and check metadata, logs: read through the instance's API and as raw files), the CLI's output, the
export lists and reports (PQL, at-risk, expansion, case study, feature gaps, ICP, LinkedIn companies,
manifest, charts/report), nor the look-alike files except as SHA-256 in their hashed columns. A
user with the trait `unsubscribed: true` (boolean or the string "true") is never in a look-alike file.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest
from dagster import DagsterInstance
from dagster._serdes import serialize_value

from engagement_pipeline.core.config import Config, load_config
from engagement_pipeline.demo.generator import generate_demo
from engagement_pipeline.exports.audiences.normalize import normalize_email, sha256_hex
from engagement_pipeline.exports.audiences.phones import normalize_phone_e164
from engagement_pipeline.exports.files import EXPORT_FILES, HASHED_COLUMNS
from engagement_pipeline.exports.icp import top_accounts
from tests.conftest import base_config, write_config

pytestmark = pytest.mark.slow  # every test here reads the output of one CLI run of generated data

START = dt.date(2026, 1, 1)
DAYS = 2
LAST = START + dt.timedelta(days=DAYS - 1)
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
HEX64 = re.compile(r"\b[0-9a-f]{64}\b")
# Where personal data may be in clear (see the module docstring).
ALLOWED = {
    "staging.users": None,
    "staging.user_traits_history": None,  # None: every column
    "staging.events": {"traits"},
    "raw.landed_lines": {"line"},
    "staging.quarantine": {"payload"},
}


class People:
    """The demo's people (ground truth) and how to find them in a text."""

    def __init__(self, truth: Path) -> None:
        with truth.open(newline="", encoding="utf-8") as handle:
            self.rows = list(csv.DictReader(handle))
        self.emails = {r["email"].lower() for r in self.rows if r["email"]}
        self.phones: set[str] = set()
        for r in self.rows:
            if r["phone"]:
                self.phones.add(r["phone"])
                e164 = normalize_phone_e164(r["phone"], r["country"] or None)
                if e164:
                    self.phones.update({e164, e164[1:]})
        self.full_names = {
            f"{r['first_name']} {r['last_name']}" for r in self.rows if r["first_name"] and r["last_name"]
        }

    def leaks(self, text: str) -> list[str]:
        """Personal values found in `text` (64-hex digests removed first: they are not clear text)."""
        text = HEX64.sub("<sha256>", text)
        lower = text.lower()
        found = [f"email {m}" for m in EMAIL_RE.findall(text)]
        found += [f"email {e}" for e in self.emails if e in lower and f"email {e}" not in found]
        found += [f"phone {p}" for p in self.phones if p in text]
        found += [f"name {n}" for n in self.full_names if n in text]
        return found


def test_the_leak_detector_finds_what_it_looks_for(world: dict[str, object]) -> None:
    people: People = world["people"]  # type: ignore[assignment]
    row = next(r for r in people.rows if r["email"] and r["phone"] and r["first_name"])
    assert people.leaks(f"| {row['email'].upper()} |")
    assert people.leaks(f"call {row['phone']} now")
    assert people.leaks(f"by {row['first_name']} {row['last_name']}.")
    assert people.leaks("write to someone@example.org")
    assert not people.leaks(f"{sha256_hex(row['email'])} usr_000001 acc_00001 42")


def _subprocess_env() -> dict[str, str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1", COLUMNS="200")
    env.pop("DAGSTER_HOME", None)
    return env


def _add_opt_outs_and_a_twin(config: Config, people: People) -> dict[str, object]:
    """Every other person unsubscribes on day 1 (as a boolean or as the string "true"); on the last
    day a new person `twin-...` signs up with the EMAIL of an unsubscribed person, is very active
    in a new one-person account (so that account is a top account and the twin a seed user)."""
    unsubscribed = [r for i, r in enumerate(sorted(people.rows, key=lambda r: r["user_id"])) if i % 2 == 0]
    lines = []
    for i, r in enumerate(unsubscribed):
        flag: object = True if i % 2 else "true"
        traits: dict[str, object] = {"unsubscribed": flag}
        if i == 0:  # the person the twin copies says who they are when they opt out
            traits["email"] = r["email"]
        lines.append(
            {
                "type": "identify",
                "messageId": f"optout-{r['user_id']}",
                "userId": r["user_id"],
                "timestamp": f"{START.isoformat()}T23:00:00.000Z",
                "traits": traits,
            }
        )
    folder = config.paths.landing / START.isoformat()
    (folder / "optouts.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    original = unsubscribed[0]
    twin, account = f"twin-{original['user_id']}", "acc-0000-twin"
    ts = f"{LAST.isoformat()}T10:00:00.000Z"
    twin_lines = [
        {
            "type": "identify",
            "messageId": "twin-identify",
            "userId": twin,
            "timestamp": ts,
            "traits": {"email": original["email"], "firstName": "Twin", "lastName": "Person"},
        },
        {
            "type": "group",
            "messageId": "twin-group",
            "userId": twin,
            "groupId": account,
            "timestamp": ts,
            "traits": {"name": "Twin Corp", "plan": "pro", "status": "active"},
        },
    ] + [
        {
            "type": "track",
            "messageId": f"twin-{i}",
            "userId": twin,
            "event": event,
            "timestamp": ts,
            "context": {"groupId": account},
        }
        for i, event in enumerate(
            ["Integration Connected", "Teammate Invited", "Report Exported", "Document Shared", "Document Created"] * 8
        )
    ]
    (config.paths.landing / LAST.isoformat() / "twin.jsonl").write_text(
        "".join(json.dumps(x) + "\n" for x in twin_lines), encoding="utf-8"
    )
    return {
        "unsubscribed": {r["user_id"] for r in unsubscribed},
        "twin": twin,
        "twin_of": original,
        "twin_account": account,
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    folder = tmp_path_factory.mktemp("privacy")
    data = base_config(START.isoformat())
    config_path = write_config(folder, data)
    config = load_config(config_path)
    generate_demo(config.paths.landing, START, DAYS, accounts=40, seed=11, billing_dir=config.paths.billing)
    people = People(config.paths.landing.parent / "ground_truth" / "users.csv")
    injected = _add_opt_outs_and_a_twin(config, people)
    old = os.umask(0o022)  # the usual umask: what the files get is the code's doing, not the test's
    try:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "engagement_pipeline.ops.cli",
                "run",
                "--config",
                str(config_path),
                "--start",
                START.isoformat(),
                "--end",
                LAST.isoformat(),
            ],
            cwd=folder,
            env=_subprocess_env(),
            capture_output=True,
            timeout=300,
        )
    finally:
        os.umask(old)
    output = proc.stdout.decode(errors="replace") + proc.stderr.decode(errors="replace")
    assert proc.returncode == 0, output[-3000:]
    return {"config": config, "people": people, "output": output, **injected}


def test_cli_output_has_no_personal_data(world: dict[str, object], capsys: pytest.CaptureFixture[str]) -> None:
    from engagement_pipeline.ops.commands import print_summary

    people: People = world["people"]  # type: ignore[assignment]
    assert people.leaks(str(world["output"])) == []
    print_summary(world["config"], LAST)  # what `demo` prints at the end: top accounts, PQLs, at risk
    printed = capsys.readouterr()
    assert "Top accounts" in printed.out
    assert people.leaks(printed.out + printed.err) == []


def test_dagster_metadata_checks_and_logs_have_no_personal_data(world: dict[str, object]) -> None:
    config: Config = world["config"]  # type: ignore[assignment]
    people: People = world["people"]  # type: ignore[assignment]
    assert config.paths.dagster_home is not None
    instance = DagsterInstance.from_config(str(config.paths.dagster_home))
    try:
        keys = instance.get_asset_keys()
        assert len(keys) >= 6
        materializations = 0
        for key in keys:
            for record in instance.fetch_materializations(key, limit=1000).records:
                materialization = record.asset_materialization
                assert materialization is not None
                materializations += 1
                for name, value in materialization.metadata.items():
                    leaks = people.leaks(serialize_value(value))
                    assert not leaks, f"{key.to_user_string()} metadata {name!r}: {leaks[:3]}"
        assert materializations >= 6 * DAYS
        runs = instance.get_runs()
        assert len(runs) >= 1
        checks = 0
        for run in runs:
            for entry in instance.all_logs(run.run_id):
                if entry.dagster_event is not None and entry.dagster_event.event_type_value == "ASSET_CHECK_EVALUATION":
                    checks += 1
                leaks = people.leaks(serialize_value(entry))
                assert not leaks, f"run {run.run_id} event {entry.dagster_event_type or 'log'}: {leaks[:3]}"
        assert checks > 0
    finally:
        instance.dispose()
    # And the instance's files as stored (event log databases, compute logs, ...).
    for path in config.paths.dagster_home.rglob("*"):
        if path.is_file():
            leaks = people.leaks(path.read_bytes().decode("utf-8", errors="replace"))
            assert not leaks, f"{path.relative_to(config.paths.dagster_home)}: {leaks[:3]}"


def test_export_lists_and_reports_have_no_personal_data(world: dict[str, object]) -> None:
    config: Config = world["config"]  # type: ignore[assignment]
    people: People = world["people"]  # type: ignore[assignment]
    checked = 0
    for path in sorted(config.paths.exports.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        if path.name in HASHED_COLUMNS:
            frame = pl.read_csv(path, infer_schema=False).fill_null("")
            for column in HASHED_COLUMNS[path.name]:
                bad = [v for v in frame[column] if v and not re.fullmatch(r"[0-9a-f]{64}", v)]
                assert not bad, f"{path.name}: {column} holds values that are not SHA-256 hex: {bad[:3]}"
            clear = frame.drop(list(HASHED_COLUMNS[path.name]))
            text = clear.write_csv() if clear.width else ""
        leaks = people.leaks(text)
        assert not leaks, f"{path.relative_to(config.paths.exports)}: {leaks[:3]}"
        checked += 1
    assert checked >= DAYS * len(EXPORT_FILES)


def _lookalike_hashes(config: Config, day: dt.date) -> set[str]:
    out: set[str] = set()
    for name in ("lookalike_google.csv", "lookalike_meta.csv"):
        frame = pl.read_csv(config.paths.exports / day.isoformat() / name, infer_schema=False).fill_null("")
        for column in HASHED_COLUMNS[name][:2]:  # email, phone
            out.update(v for v in frame[column] if v)
    return out


def _identifier_hashes(row: dict[str, str]) -> set[str]:
    out = set()
    email = normalize_email(row["email"])
    if email:
        out.add(sha256_hex(email))
    phone = normalize_phone_e164(row["phone"], row["country"] or None)
    if phone:
        out.update({sha256_hex(phone), sha256_hex(phone[1:])})
    return out


def test_unsubscribed_users_are_never_in_lookalike_files(world: dict[str, object]) -> None:
    config: Config = world["config"]  # type: ignore[assignment]
    people: People = world["people"]  # type: ignore[assignment]
    unsubscribed: set[str] = world["unsubscribed"]  # type: ignore[assignment]
    con = duckdb.connect(str(config.paths.warehouse), read_only=True)
    try:
        flagged = {u for (u,) in con.execute("SELECT user_id FROM staging.users WHERE unsubscribed").fetchall()}
        scores = con.execute("SELECT * FROM accounts.account_scores WHERE as_of_date = ?", [LAST]).pl()
        user_scores = con.execute("SELECT * FROM scores.user_scores WHERE as_of_date = ?", [LAST]).pl()
    finally:
        con.close()
    assert unsubscribed <= flagged, 'an opt-out (true or "true") was not recorded'
    twin_email = str(world["twin_of"]["email"]).lower()  # type: ignore[index]
    # Users who would be seeds but for their opt-out: the test is not vacuous.
    top = top_accounts(scores, config)["account_id"]
    would_be = set(
        user_scores.filter(
            pl.col("account_id").is_in(top.implode())
            & (pl.col("score") > 0)
            & (pl.col("score") >= config.exports.min_user_score)
        )["user_id"]
    )
    assert would_be & unsubscribed, "no opted-out user would have been a seed: nothing tested"
    assert would_be - unsubscribed, "no seed users at all"
    for day in (START + dt.timedelta(days=i) for i in range(DAYS)):
        hashes = _lookalike_hashes(config, day)
        for row in people.rows:
            if row["user_id"] in unsubscribed and row["email"].lower() != twin_email:
                assert not (_identifier_hashes(row) & hashes), (
                    f"{day}: opted-out {row['user_id']} is in a look-alike file"
                )
    kept = [r for r in people.rows if r["user_id"] in would_be - unsubscribed]
    assert any(_identifier_hashes(r) & _lookalike_hashes(config, LAST) for r in kept)


def test_an_opted_out_email_is_not_exported_through_another_user_record(world: dict[str, object]) -> None:
    config: Config = world["config"]  # type: ignore[assignment]
    con = duckdb.connect(str(config.paths.warehouse), read_only=True)
    try:
        twin_score = con.execute(
            "SELECT score, account_id FROM scores.user_scores WHERE as_of_date = ? AND user_id = ?",
            [LAST, world["twin"]],
        ).fetchone()
        scores = con.execute("SELECT * FROM accounts.account_scores WHERE as_of_date = ?", [LAST]).pl()
    finally:
        con.close()
    # The set-up worked: the twin is a seed user of a top account.
    assert twin_score is not None and twin_score[0] >= config.exports.min_user_score
    assert twin_score[1] in top_accounts(scores, config)["account_id"].to_list()
    email = normalize_email(str(world["twin_of"]["email"]))  # type: ignore[index]
    assert email is not None
    assert sha256_hex(email) not in _lookalike_hashes(config, LAST)


def test_personal_data_stays_in_the_tables_that_hold_it(world: dict[str, object]) -> None:
    """Every VARCHAR column of every warehouse table, except those in ALLOWED, is free of the
    demo's emails, phones and full names (and of anything shaped like an email)."""
    config: Config = world["config"]  # type: ignore[assignment]
    people: People = world["people"]  # type: ignore[assignment]
    con = duckdb.connect(str(config.paths.warehouse), read_only=True)
    try:
        values = sorted(people.emails | people.phones | people.full_names)
        con.register("_pii", pl.DataFrame({"v": values}).to_arrow())
        columns = con.execute(
            """SELECT table_schema || '.' || table_name, column_name FROM information_schema.columns
               WHERE table_catalog = current_database() AND data_type = 'VARCHAR'"""
        ).fetchall()
        checked = 0
        for table, column in columns:
            allowed = ALLOWED.get(table, set())
            if allowed is None or column in allowed:
                continue
            hits = con.execute(
                f"""SELECT count(*) FROM (SELECT DISTINCT "{column}" AS c FROM {table} WHERE "{column}" IS NOT NULL) t
                    WHERE regexp_matches(c, '[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{{2,}}')
                       OR EXISTS (SELECT 1 FROM _pii WHERE contains(lower(t.c), lower(_pii.v)))"""
            ).fetchone()[0]
            assert hits == 0, f"{table}.{column} holds personal data in {hits} values"
            checked += 1
        assert checked > 50
        # ... and the places that do hold it really hold it (the check above is not vacuous).
        assert con.execute("SELECT count(*) FROM staging.users WHERE email IS NOT NULL").fetchone()[0] > 0
        assert con.execute("SELECT count(*) FROM raw.landed_lines WHERE contains(line, '@')").fetchone()[0] > 0
    finally:
        con.close()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_exports_are_owner_only(world: dict[str, object]) -> None:
    config: Config = world["config"]  # type: ignore[assignment]
    root = config.paths.exports
    assert _mode(root) == 0o700
    for path in root.rglob("*"):
        if path.is_symlink():
            continue
        expected = 0o700 if path.is_dir() else 0o600
        assert _mode(path) == expected, f"{path.relative_to(root)} is {oct(_mode(path))}, expected {oct(expected)}"


def test_the_warehouse_file_is_owner_only(world: dict[str, object]) -> None:
    """The warehouse holds personal data (staging.users, raw lines): 0600, like the exports."""
    config: Config = world["config"]  # type: ignore[assignment]
    warehouse = config.paths.warehouse
    assert _mode(warehouse) == 0o600, f"{warehouse.name} is {oct(_mode(warehouse))}"
    wal = Path(str(warehouse) + ".wal")
    if wal.exists():
        assert _mode(wal) == 0o600, f"{wal.name} is {oct(_mode(wal))}"
