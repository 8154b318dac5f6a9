from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import polars as pl
import pytest

from engagement_pipeline.accounts import step as accounts_step
from engagement_pipeline.core.config import load_config
from engagement_pipeline.core.vocab import Plan, Status
from engagement_pipeline.core.warehouse import connect
from engagement_pipeline.exports import step as exports_step
from engagement_pipeline.exports.audiences import platforms as audiences
from engagement_pipeline.exports.files import EXACT_HEADERS, EXPORT_FILES, MANIFEST
from engagement_pipeline.exports.publish import clean_stale_temporaries, verify_export_folder
from engagement_pipeline.raw import step as raw_step
from engagement_pipeline.scores import step as scores_step
from engagement_pipeline.snapshots import step as snapshots_step
from engagement_pipeline.staging import step as staging_step
from tests.conftest import base_config, group, identify, track, write_config, write_day

DAYS = [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(3)]
EVENTS = ["Document Created", "Teammate Invited", "Integration Connected", "Document Shared", "Logged In"]


def _land(config, names: dict[int, str] | None = None) -> None:  # type: ignore[no-untyped-def]
    for i, day in enumerate(DAYS):
        lines = []
        for a in range(4):
            for u in range(3):
                uid, acc = f"usr_{a}{u}", f"acc_{a}"
                ts = f"{day.isoformat()}T1{u}:00:00Z"
                if i == 0:
                    lines.append(
                        identify(
                            f"i{uid}",
                            uid,
                            ts,
                            email=f"User{u}@Acme{a}.com",
                            firstName="=Zoë",
                            lastName="Smith Jr.",
                            phone="+44 (0)20 7946 095" + str(u),
                            title="CTO",
                            address={"country": "United Kingdom", "postalCode": "SW1A 1AA"},
                        )
                    )
                    lines.append(
                        group(
                            f"g{uid}",
                            uid,
                            acc,
                            ts,
                            plan="pro" if a else Plan.TRIAL,
                            status=Status.ACTIVE if a else Status.TRIAL,
                            industry="Software",
                            employees="80",
                            website=f"https://www.acme{a}.com",
                            createdAt="2025-12-01T00:00:00Z",
                            **({"name": (names or {})[a]} if a in (names or {}) else {}),
                        )
                    )
                for k, event in enumerate(EVENTS[: 5 - a]):
                    lines.append(track(f"t{day}{uid}{k}", uid, event, ts, acc))
        write_day(config.paths.landing, day, lines)


def _run_all(config) -> Path:  # type: ignore[no-untyped-def]
    con = connect(config.paths.warehouse)
    try:
        for day in DAYS:
            raw_step.run(con, day, config)
            staging_step.run(con, day, config)
            scores_step.run(con, day, config)
            accounts_step.run(con, day, config)
            snapshots_step.run(con, day, config)
            done = exports_step.run(con, day, config)
            assert done.problems == []
    finally:
        con.close()
    return config.paths.exports


@pytest.mark.slow  # runs every layer over several days twice
def test_export_folders_manifest_latest_and_byte_identical_rerun(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path))
    _land(config)
    root = _run_all(config)
    assert sorted(p.name for p in root.iterdir() if not p.name.startswith(".")) == [d.isoformat() for d in DAYS] + [
        "latest"
    ]
    assert all((root / d.isoformat()).is_symlink() for d in DAYS)  # each day swaps atomically to a versioned folder
    assert os.readlink(root / "latest") == DAYS[-1].isoformat()
    folder = root / DAYS[-1].isoformat()
    attachments = {
        "report.html",
        "chart_product_score.png",
        "chart_score_distribution.png",
        "chart_churn_by_band.png",
        "chart_activation_funnel.png",
        "chart_cohorts_plan_type.png",
        "chart_churn_risk_calibration.png",
    }
    assert sorted(p.name for p in folder.iterdir()) == sorted([*EXPORT_FILES, MANIFEST, *attachments])
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["model_version"] == config.model_version
    assert [e["name"] for e in manifest["files"]] == list(EXPORT_FILES) + sorted(attachments)
    assert all(e["rows"] is None for e in manifest["files"] if e["name"] in attachments)
    assert all(len(e["sha256"]) == 64 and (e["rows"] is None or e["rows"] >= 0) for e in manifest["files"])
    assert any("below the platform minimum" in w for w in manifest["warnings"])
    before = {p.name: p.read_bytes() for p in folder.iterdir()}

    # Re-export an older day: latest must not move back; re-export the newest: identical bytes.
    con = connect(config.paths.warehouse)
    try:
        exports_step.run(con, DAYS[0], config)
        assert os.readlink(root / "latest") == DAYS[-1].isoformat()
        exports_step.run(con, DAYS[-1], config)
    finally:
        con.close()
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert oct(folder.stat().st_mode & 0o777) == "0o700"


def test_audience_files_are_hashed_and_lists_neutralized(tmp_path: Path) -> None:
    data = base_config()
    data["model"]["pql"] = {"recent_days": 7, "min_active_days": 3}
    config = load_config(write_config(tmp_path, data))
    _land(config)
    folder = _run_all(config) / "latest"
    google = pl.read_csv(folder / "lookalike_google.csv", infer_schema=False)
    assert tuple(google.columns) == audiences.GOOGLE_HEADER
    assert google["Email"].str.contains(r"^[0-9a-f]{64}$").all()
    assert google["Country"].unique().to_list() == ["gb"] and google["Zip"][0] == "sw1a1aa"
    raw_text = b"".join(p.read_bytes() for p in folder.iterdir())
    assert b"@acme" not in raw_text.lower()  # no clear-text email in any export file
    assert b"smith" not in raw_text.lower() and "zoë".encode() not in raw_text.lower()  # nor names
    for name, header in EXACT_HEADERS.items():
        if name in EXPORT_FILES:  # the optional files (CRM, contacts) are off here
            assert tuple(pl.read_csv(folder / name, infer_schema=False).columns) == header, name
    summary = (folder / "icp_summary.md").read_text(encoding="utf-8")
    assert (
        summary.startswith(f"# Ideal customer profile, {DAYS[-1].isoformat()}\n") and "## Best-fit segment" in summary
    )
    pql = pl.read_csv(folder / "pql_accounts.csv", infer_schema=False)
    assert pql.columns[:2] == ["account_id", "name"] and pql["account_id"].to_list() == ["acc_0"]
    assert verify_export_folder(folder.resolve()) == []


def test_a_crashed_export_leaves_no_visible_half_day(tmp_path: Path) -> None:
    root = tmp_path / "exports"
    (root / ".2026-01-02.tmp-999").mkdir(parents=True)
    (root / ".2026-01-02.tmp-999" / "lookalike_google.csv").write_text("Email\n")
    assert clean_stale_temporaries(root) == [".2026-01-02.tmp-999"]
    assert list(root.iterdir()) == []


def test_a_day_with_no_active_account_exports_empty_lists(tmp_path: Path) -> None:
    """A first day holding only identify and group calls: no account is active, every list is
    empty, and the exports are still written (the adoption-gap list used to crash on it)."""
    from tests.conftest import group, identify, run_days, write_config, write_day

    config = load_config(write_config(tmp_path))
    day = dt.date(2026, 1, 1)
    write_day(
        config.paths.landing,
        day,
        [
            identify("i1", "u1", "2026-01-01T08:00:00Z", email="a@example.com"),
            group("g1", "u1", "acc", "2026-01-01T08:01:00Z", plan="pro", status="active"),
        ],
    )
    done = run_days(config.paths.warehouse, [day], config)["exports"][0]
    assert done.problems == []
    assert done.bundle.files["feature_adoption_gaps.csv"].height == 0
    assert verify_export_folder(config.paths.exports / day.isoformat()) == []


@pytest.mark.slow  # every layer over three days
def test_emails_and_phone_numbers_in_account_names_never_reach_a_file(tmp_path: Path) -> None:
    """Issue 15, case B: an account named with an email reached the live LinkedIn file, and
    "<first> <last>'s workspace (+1 512 503 2107)" the report and the gaps CSV, unflagged."""
    config = load_config(write_config(tmp_path))
    _land(config, {1: "ceo.founder@rival-corp.io", 2: "Jane Doe's workspace (+1 512 503 2107)"})
    folder = _run_all(config) / "latest"  # _run_all asserts the verifier found no problem
    everything = b"".join(p.read_bytes() for p in folder.iterdir())
    assert b"rival-corp.io" not in everything
    assert b"512 503 2107" not in everything and b"5125032107" not in everything
    assert b"Jane Doe's workspace ([phone removed])" in (folder / "feature_adoption_gaps.csv").read_bytes()
    linkedin = pl.read_csv(folder / "lookalike_linkedin_companies.csv", infer_schema=False)
    assert "[email removed]" in set(linkedin["companyname"].to_list()) or linkedin.height < 4


def test_a_folder_that_fails_verification_is_never_published(tmp_path: Path) -> None:
    """The export folder is built aside and verified before it moves into place: a file holding a
    clear-text email leaves the previous day's folder and `latest` untouched, and no trace."""
    from engagement_pipeline.exports.files import EXPORT_FILES, ExportBundle
    from engagement_pipeline.exports.publish import ExportRejected, write_export_folder

    def bundle(day: dt.date, note: str) -> ExportBundle:
        files = {name: pl.DataFrame({"line": ["# summary"]}) for name in EXPORT_FILES}
        for name, header in EXACT_HEADERS.items():
            files[name] = pl.DataFrame(schema={c: pl.String for c in header})
        files["pql_accounts.csv"] = pl.DataFrame(
            {c: ["acc_1" if c == "account_id" else note] for c in EXACT_HEADERS["pql_accounts.csv"]}
        )
        return ExportBundle(day, files)

    root = tmp_path / "exports"
    good = write_export_folder(root, bundle(DAYS[0], "fine"), "v1")
    assert verify_export_folder(good) == [] and os.readlink(root / "latest") == DAYS[0].isoformat()
    with pytest.raises(ExportRejected) as rejected:
        write_export_folder(root, bundle(DAYS[1], "write to jane.doe@example.com"), "v1")
    assert any("clear-text email" in p for p in rejected.value.problems)
    assert sorted(p.name for p in root.iterdir() if not p.name.startswith(".")) == [DAYS[0].isoformat(), "latest"]
    assert not [p for p in root.iterdir() if ".tmp-" in p.name]
    assert os.readlink(root / "latest") == DAYS[0].isoformat()
    with pytest.raises(ExportRejected) as phoned:
        write_export_folder(root, bundle(DAYS[1], "Jane's workspace (+1 512 503 2107)"), "v1")
    assert any("phone number" in p for p in phoned.value.problems)
