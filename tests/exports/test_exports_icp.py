"""Pure-function tests of the go-to-market exports on hand-made frames (no warehouse, no Dagster)."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from engagement_pipeline.core.config import Config, parse_config
from engagement_pipeline.core.vocab import Health, Plan, Status, Trend
from engagement_pipeline.core.warehouse import ACCOUNT_SCORES, ACCOUNTS, USER_SCORES, USERS
from engagement_pipeline.exports import bundle as ex_bundle
from engagement_pipeline.exports import files as ex_files
from engagement_pipeline.exports import icp as ex_icp
from engagement_pipeline.exports import lists as ex_lists
from engagement_pipeline.exports import publish as ex_publish
from engagement_pipeline.exports.audiences import seed as ex_seed
from tests.conftest import base_config

DAY = dt.date(2026, 3, 1)
HEX64 = re.compile(r"^[0-9a-f]{64}$")
EVIL = '=HYPERLINK("http://evil.example/x","click")'


def config(**exports: Any) -> Config:
    data = base_config()
    data["exports"] = {"top_account_share": 0.25, "min_user_score": 10, "min_segment_accounts": 2, **exports}
    return parse_config(data)


def frame(table, rows: list[dict[str, Any]], **defaults: Any) -> pl.DataFrame:  # type: ignore[no-untyped-def]
    schema = table.polars_schema()
    return pl.DataFrame([{c: {**defaults, **r}.get(c) for c in schema} for r in rows], schema=schema, orient="row")


def scores(*rows: dict[str, Any]) -> pl.DataFrame:
    defaults = dict(
        as_of_date=DAY,
        created_date=DAY - dt.timedelta(days=400),
        score=50.0,
        raw_score=100.0,
        active_users=2,
        total_users=2,
        pct_active=1.0,
        active_days=10,
        adoption_rate=0.5,
        previous_score=50.0,
        trend=Trend.STEADY,
        trend_delta=0.0,
        activation_pct=100.0,
        activated_at=DAY - dt.timedelta(days=300),
        last_active_date=DAY,
        plan="pro",
        status=Status.ACTIVE,
        mrr=100.0,
        is_paying=True,
        health=Health.HEALTHY,
        health_reason="score 50.0, trend steady",
        is_pql=False,
        churn_risk=0.1,
    )
    return frame(ACCOUNT_SCORES, [{"name": f"{r['account_id']} Inc", **r} for r in rows], **defaults)


def accounts(*rows: dict[str, Any]) -> pl.DataFrame:
    return frame(
        ACCOUNTS,
        list(rows),
        industry="Retail",
        employees=500,
        country="US",
        website="https://example.com",
        city="Denver",
        state="CO",
        zip="80202",
    )


def users(*rows: dict[str, Any]) -> pl.DataFrame:
    return frame(USERS, list(rows), unsubscribed=False, country="US", zip="80202", city="Denver", state="CO")


def user_scores(*rows: dict[str, Any]) -> pl.DataFrame:
    return frame(
        USER_SCORES, list(rows), as_of_date=DAY, raw_score=50.0, active_days=5, scored_events=20, last_active_date=DAY
    )


FIRST_USED = pl.DataFrame(schema={"account_id": pl.String, "event": pl.String, "first_used": pl.Date})


# --------------------------------------------------------------------------------------
# ICP
# --------------------------------------------------------------------------------------


def _firmographics() -> tuple[pl.DataFrame, pl.Series]:
    """20 accounts, 5 top: 4 top Software 51-200 (of 6), 1 top Retail (of 6), 8 Education none top."""
    rows = []
    for i in range(20):
        if i < 6:
            industry, band = "Software", "51-200"
        elif i < 8:
            industry, band = "Software", "1-10"
        elif i < 14:
            industry, band = "Retail", "11-50"
        else:
            industry, band = "Education", "11-50"
        rows.append(
            {
                "account_id": f"a{i:02d}",
                "industry": industry,
                "employee_band": band,
                "country": "US" if i % 2 else None,
                "plan": "pro",
            }
        )
    top = pl.Series(["a00", "a01", "a02", "a03", "a08"])
    return pl.DataFrame(rows), top


def test_icp_profile_lift_counts_and_low_sample_flags() -> None:
    firmo, top = _firmographics()
    profile = ex_icp.icp_profile(firmo, top, min_accounts=2)
    assert tuple(profile.columns) == ex_icp.ICP_HEADER
    rows = {(r["attribute"], r["value"]): r for r in profile.iter_rows(named=True)}
    software = rows[("industry", "Software")]
    assert (software["top_accounts"], software["all_accounts"]) == (4, 8)
    assert (software["share_top"], software["share_all"], software["lift"]) == (0.8, 0.4, 2.0)
    assert software["low_sample"] is False
    segment = rows[("segment", "Software | 51-200")]
    assert (segment["top_accounts"], segment["all_accounts"], segment["lift"]) == (4, 6, 2.667)
    retail = rows[("industry", "Retail")]
    assert retail["low_sample"] is True and retail["lift"] == pytest.approx(0.667)  # flagged, not hidden
    assert rows[("industry", "Education")]["lift"] == 0.0
    assert ("country", "unknown") in rows  # nulls are a value of their own
    # Well-sampled values first, by lift: the combined segment leads.
    assert profile.row(0, named=True)["value"] == "Software | 51-200"
    assert profile["low_sample"].to_list() == sorted(profile["low_sample"].to_list())
    assert profile.equals(ex_icp.icp_profile(firmo.sample(fraction=1.0, shuffle=True, seed=3), top, min_accounts=2))


def test_icp_summary_sentences() -> None:
    firmo, top = _firmographics()
    profile = ex_icp.icp_profile(firmo, top, min_accounts=3)
    lines = ex_icp.icp_summary(DAY, profile, top_count=5, pool_count=20, min_accounts=3)
    text = "\n".join(lines)
    assert lines[0] == "# Ideal customer profile, 2026-03-01"
    best = lines[lines.index("## Best-fit segment") + 2]
    assert best == (
        "Top accounts are 2.7x as likely to be Software companies with 51-200 employees "
        "(4 of 5 top accounts vs 30% of all 20 active accounts)."
    )
    others = lines[lines.index("## Other signals") + 2 :]
    assert others[:2] == [
        "- Top accounts are 2.7x as likely to have 51-200 employees (4 of 5 top accounts vs 30% of all 20 active accounts).",
        "- Top accounts are 2.0x as likely to be Software companies (4 of 5 top accounts vs 40% of all 20 active accounts).",
    ]  # the best-fit segment is not repeated among them
    # Retail (1 top account, lift < 1) is not a signal; low-sample values with a lift are flagged.
    assert "Retail" not in text
    low = ex_icp.icp_summary(DAY, ex_icp.icp_profile(firmo, top, min_accounts=5), 5, 20, 5)
    assert any(line.startswith("- Top accounts are 2.7x") and line.endswith("Low sample.") for line in low)
    assert "No industry x employee-band segment has 5 or more top accounts" in "\n".join(low)
    empty = ex_icp.icp_summary(DAY, profile.clear(), 0, 0, 3)
    assert "no top accounts" in "\n".join(empty)


def test_icp_sentence_escapes_markdown_and_phrases_each_attribute() -> None:
    row = {"attribute": "industry", "value": "*Bold* [x](y)", "lift": 2.1, "top_accounts": 10, "share_all": 0.32}
    assert ex_icp.icp_sentence(row, 22, 200) == (
        r"Top accounts are 2.1x as likely to be \*Bold\* \[x\](y) companies "
        "(10 of 22 top accounts vs 32% of all 200 active accounts)."
    )
    assert "be based in SE" in ex_icp.icp_sentence({**row, "attribute": "country", "value": "SE"}, 22, 200)
    assert "vs under 1% of all" in ex_icp.icp_sentence({**row, "share_all": 0.004}, 22, 200)


# --------------------------------------------------------------------------------------
# Lists
# --------------------------------------------------------------------------------------


def test_at_risk_ordered_by_mrr_at_stake_with_what_dropped_and_since() -> None:
    cfg = config()
    base = (
        scores(
            {
                "account_id": "small_mrr_high_risk",
                "health": Health.AT_RISK,
                "churn_risk": 0.9,
                "mrr": 100.0,
                "trend_delta": -20.0,
                "previous_score": 70.0,
                "score": 50.0,
            },
            {
                "account_id": "big_mrr_low_risk",
                "health": Health.AT_RISK,
                "churn_risk": 0.3,
                "mrr": 1000.0,
                "last_active_date": DAY - dt.timedelta(days=9),
            },
            {"account_id": "unknown_mrr", "health": Health.AT_RISK, "churn_risk": 0.95, "mrr": None, "score": 10.0},
            {
                "account_id": "users_left",
                "health": Health.AT_RISK,
                "churn_risk": 0.5,
                "mrr": 500.0,
                "trend_delta": -15.0,
            },
            {"account_id": "healthy", "health": Health.HEALTHY, "churn_risk": 0.99, "mrr": 5000.0},
        )
        .join(
            ex_lists.user_dropoff(
                user_scores(
                    {
                        "user_id": "u1",
                        "account_id": "users_left",
                        "score": 10.0,
                        "last_active_date": DAY - dt.timedelta(days=12),
                    },
                    {
                        "user_id": "u2",
                        "account_id": "users_left",
                        "score": 10.0,
                        "last_active_date": DAY - dt.timedelta(days=20),
                    },
                    {"user_id": "u3", "account_id": "users_left", "score": 10.0, "last_active_date": DAY},
                ),
                DAY,
                cfg.model.health.quiet_days,
            ),
            on="account_id",
            how="left",
        )
        .with_columns(pl.lit(None, pl.String).alias("main_users"))
    )
    out = ex_lists.at_risk_list(base, DAY, cfg)
    assert tuple(out.columns) == ex_lists.LIST_HEADERS["at_risk_accounts.csv"]
    assert out["account_id"].to_list() == ["big_mrr_low_risk", "users_left", "small_mrr_high_risk", "unknown_mrr"]
    assert out["mrr_at_risk"].to_list() == [300.0, 250.0, 90.0, None]
    rows = {r["account_id"]: r for r in out.iter_rows(named=True)}
    assert rows["big_mrr_low_risk"]["since"] == DAY - dt.timedelta(days=9)
    assert rows["big_mrr_low_risk"]["since_basis"] == "account last active"
    assert "no activity for 9 days" in rows["big_mrr_low_risk"]["what_dropped"]
    assert rows["users_left"]["since"] == DAY - dt.timedelta(days=20)
    assert "2 users not active in the last 7 days" in rows["users_left"]["what_dropped"]
    assert rows["small_mrr_high_risk"]["since"] == DAY - dt.timedelta(days=30)
    assert rows["small_mrr_high_risk"]["what_dropped"].startswith("score 70.0 -> 50.0 (-20.0 points in 30 days)")
    assert rows["unknown_mrr"]["since"] == DAY - dt.timedelta(days=6)  # only churn risk is high


def test_case_study_gaps_and_seed_selection() -> None:
    cfg = config()
    base = scores(
        {"account_id": "old_star", "score": 90.0},
        {"account_id": "young_star", "score": 95.0, "created_date": DAY - dt.timedelta(days=40)},
        {"account_id": "cooling", "score": 92.0, "trend": Trend.COOLING},
        {"account_id": "free", "score": 93.0, "is_paying": False, "plan": Plan.FREE},
        {"account_id": "old_good", "score": 60.0, "created_date": DAY - dt.timedelta(days=900)},
    ).with_columns(pl.lit(None, pl.String).alias("main_users"), pl.lit("Software").alias("industry"))
    assert ex_lists.case_study_list(base, DAY, cfg)["account_id"].to_list() == ["old_star", "old_good"]

    used = pl.DataFrame(
        {
            "account_id": ["old_star", "old_star"],
            "event": ["Document Created", "Report Exported"],
            "first_used": [DAY, DAY],
        }
    )
    gaps = ex_lists.adoption_gaps(base.filter(pl.col("account_id") == "old_star"), used, cfg)
    row = gaps.row(0, named=True)
    assert row["never_used"] == "Teammate Invited; Integration Connected; Document Shared"  # checklist order
    assert row["next_nudge"] == "Teammate Invited" and row["missing_count"] == 3
    assert row["never_used_features"] == "Collaboration; Integrations"

    us = user_scores(
        {"user_id": "u_top", "account_id": "a", "score": 80.0},
        {"user_id": "u_low", "account_id": "a", "score": 5.0},
        {"user_id": "u_idle", "account_id": "a", "score": 0.0},
        {"user_id": "u_unsub", "account_id": "a", "score": 90.0},
        {"user_id": "u_other", "account_id": "b", "score": 99.0},
    )
    people = users(
        *(
            {"user_id": u, "email": f"{u}@x.com", "title": t, "unsubscribed": u == "u_unsub"}
            for u, t in (
                ("u_top", "Head of Ops"),
                ("u_low", "CEO"),
                ("u_idle", "CEO"),
                ("u_unsub", "CEO"),
                ("u_other", "CEO"),
            )
        )
    )
    top = pl.Series(["a"])
    assert ex_seed.seed_users(us, people, top, 10)["user_id"].to_list() == ["u_top"]
    assert ex_seed.seed_users(us, people, top, 0)["user_id"].to_list() == ["u_low", "u_top"]  # idle never
    assert ex_seed.seed_users(us, people, top, 0, title_keywords=["ceo"])["user_id"].to_list() == ["u_low"]


# --------------------------------------------------------------------------------------
# The bundle: neutralization, no personal data, determinism
# --------------------------------------------------------------------------------------


def _bundle_inputs() -> dict[str, pl.DataFrame]:
    sc = scores(
        {
            "account_id": "acc_evil",
            "name": EVIL,
            "score": 95.0,
            "is_pql": True,
            "plan": Plan.TRIAL,
            "status": Status.TRIAL,
            "is_paying": False,
            "mrr": 0.0,
            "pql_reason": "trial plan; active 7 of the last 7 days",
        },
        {
            "account_id": "acc_risk",
            "name": "+Risky Ltd",
            "score": 20.0,
            "health": Health.AT_RISK,
            "churn_risk": 0.6,
            "mrr": 300.0,
            "trend_delta": -30.0,
            "previous_score": 50.0,
            "health_reason": "-score fell",
        },
        {"account_id": "acc_big", "name": "@Big Co", "score": 85.0, "health": Health.EXPANSION_READY},
        *({"account_id": f"acc_{i}", "score": 40.0 + i} for i in range(5)),
    )
    acc = accounts(
        {"account_id": "acc_evil", "name": EVIL, "industry": "=cmd|' /C calc'!A0", "employees": 80},
        {"account_id": "acc_risk", "name": "+Risky Ltd", "industry": "Software", "employees": 80},
        {"account_id": "acc_big", "name": "@Big Co", "industry": "Software", "employees": 120},
        *({"account_id": f"acc_{i}", "name": f"acc_{i} Inc"} for i in range(5)),
    )
    people, scored = [], []
    for i, account in enumerate(["acc_evil", "acc_evil", "acc_risk", "acc_big", "acc_big"]):
        uid = "kim.lee@evil.example" if i == 0 else f"usr_{i}"
        people.append(
            {
                "user_id": uid,
                "email": f"Person{i}@Corp{i}.com",
                "first_name": f"Firstname{i}",
                "last_name": f"Lastname{i}",
                "phone": f"+1 303 555 01{i:02d}",
                "title": "CTO (call +1 303 555 0199, cto@corp.com)" if i == 1 else "=Head of Data",
            }
        )
        scored.append({"user_id": uid, "account_id": account, "score": 90.0 - i})
    return {"scores": sc, "accounts": acc, "users": users(*people), "user_scores": user_scores(*scored)}


def _build(inputs: dict[str, pl.DataFrame], cfg: Config | None = None) -> ex_files.ExportBundle:
    return ex_bundle.build_exports(
        DAY, inputs["scores"], inputs["accounts"], inputs["users"], inputs["user_scores"], FIRST_USED, cfg or config()
    )


def test_linkedin_company_file_takes_page_url_and_ticker_when_staged() -> None:
    inputs = _bundle_inputs()
    before = _build(inputs).files["lookalike_linkedin_companies.csv"]
    assert before.height and set(before["linkedincompanypageurl"]) == {""} and set(before["stocksymbol"]) == {""}
    acc = inputs["accounts"]
    traits = {
        "acc_big": ("http://www.linkedin.com/company/big-co/?trk=x", "nyse:big"),
        "acc_evil": ("https://example.com/not-linkedin", "$evl"),
    }
    inputs["accounts"] = acc.with_columns(
        pl.Series("linkedin_url", [traits.get(a, (None, None))[0] for a in acc["account_id"]], dtype=pl.String),
        pl.Series("stock_symbol", [traits.get(a, (None, None))[1] for a in acc["account_id"]], dtype=pl.String),
    )
    after = _build(inputs).files["lookalike_linkedin_companies.csv"]
    rows = {r["companyname"]: r for r in after.iter_rows(named=True)}
    assert (rows["'@Big Co"]["linkedincompanypageurl"], rows["'@Big Co"]["stocksymbol"]) == (
        "https://www.linkedin.com/company/big-co/",
        "BIG",
    )
    evil = rows["'" + EVIL]
    assert (evil["linkedincompanypageurl"], evil["stocksymbol"]) == ("", "EVL")  # not a LinkedIn page: blank
    others = [r for name, r in rows.items() if name not in ("'@Big Co", "'" + EVIL)]
    assert all(r["linkedincompanypageurl"] == r["stocksymbol"] == "" for r in others)
    # Nothing else in the file moves.
    assert after.drop("linkedincompanypageurl", "stocksymbol").equals(
        before.drop("linkedincompanypageurl", "stocksymbol")
    )


def test_lists_neutralize_formulas_and_hold_no_personal_data(tmp_path: Path) -> None:
    bundle = _build(_bundle_inputs())
    pql = bundle.files["pql_accounts.csv"]
    assert pql.columns[:2] == ["account_id", "name"]
    assert pql.row(0, named=True)["name"] == "'" + EVIL
    risk = bundle.files["at_risk_accounts.csv"].row(0, named=True)
    assert (risk["name"], risk["health_reason"]) == ("'+Risky Ltd", "'-score fell")
    assert bundle.files["expansion_accounts.csv"]["name"].to_list() == ["'@Big Co"]
    assert "'=cmd|' /C calc'!A0" in bundle.files["icp_profile.csv"]["value"].to_list()
    linkedin = bundle.files["lookalike_linkedin_companies.csv"]
    assert linkedin.filter(pl.col("companyname").str.contains("HYPERLINK"))["companyname"].item().startswith("'=")
    # Main users: ids and titles only; an email used as a user id is pseudonymized, contact details scrubbed.
    main = pql.row(0, named=True)["main_users"]
    assert re.fullmatch(
        r"user-[0-9a-f]{12} \(=Head of Data\); usr_1 \(CTO \(call \[phone removed\], "
        r"\[email removed\]\)\)",
        main,
    ), main

    folder = ex_publish.write_export_folder(tmp_path, bundle, "test")
    assert ex_publish.verify_export_folder(folder) == []
    readable = [p for p in folder.iterdir() if p.name not in ex_files.HASHED_COLUMNS]
    text = "\n".join(p.read_text(encoding="utf-8") for p in readable).lower()
    for i in range(5):
        for secret in (f"person{i}@corp{i}.com", f"firstname{i}", f"lastname{i}", f"555 01{i:02d}", f"55501{i:02d}"):
            assert secret not in text, secret
    assert "kim.lee" not in text and "cto@corp.com" not in text
    for name, columns in ex_files.HASHED_COLUMNS.items():  # hashed columns untouched by neutralization
        hashed = pl.read_csv(folder / name, infer_schema=False)
        for column in columns:
            values = hashed[column].drop_nulls()
            assert values.len() and values.str.contains(HEX64.pattern).all(), (name, column)


def test_summary_is_in_the_folder_and_manifest_and_reruns_are_byte_identical(tmp_path: Path) -> None:
    inputs = _bundle_inputs()
    first = ex_publish.write_export_folder(tmp_path / "a", _build(inputs), "v1")
    shuffled = {k: v.sample(fraction=1.0, shuffle=True, seed=7) for k, v in inputs.items()}
    second = ex_publish.write_export_folder(tmp_path / "b", _build(shuffled), "v1")
    files = sorted(p.name for p in first.iterdir())
    assert files == sorted([*ex_files.EXPORT_FILES, ex_files.MANIFEST]) and "icp_summary.md" in files
    assert {n: (first / n).read_bytes() for n in files} == {n: (second / n).read_bytes() for n in files}
    manifest = json.loads((first / ex_files.MANIFEST).read_text())
    entry = next(e for e in manifest["files"] if e["name"] == "icp_summary.md")
    summary = (first / "icp_summary.md").read_text(encoding="utf-8")
    assert entry["rows"] == summary.count("\n") and entry["sha256"] == ex_publish.sha256_file(first / "icp_summary.md")
    assert summary.startswith("# Ideal customer profile, 2026-03-01\n")
    assert manifest["selection"]["top_accounts"] == 2 and manifest["model_version"] == "v1"
    assert not re.search(r"\d{2}:\d{2}:\d{2}", summary + json.dumps(manifest))  # no timestamps


# --------------------------------------------------------------------------------------
# verify_export_folder
# --------------------------------------------------------------------------------------


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    written = ex_publish.write_export_folder(tmp_path, _build(_bundle_inputs()), "v1")
    assert ex_publish.verify_export_folder(written) == []
    return written


def _rewrite_manifest_entry(folder: Path, name: str) -> None:
    """Make the manifest agree with a tampered file's checksum, so only the content check can catch it."""
    manifest = json.loads((folder / ex_files.MANIFEST).read_text())
    for entry in manifest["files"]:
        if entry["name"] == name:
            entry["sha256"] = ex_publish.sha256_file(folder / name)
    (folder / ex_files.MANIFEST).write_text(json.dumps(manifest))


def test_verify_catches_a_tampered_file(folder: Path) -> None:
    path = folder / "pql_accounts.csv"
    path.write_bytes(path.read_bytes().replace(b"acc_evil", b"acc_evi1"))
    assert ex_publish.verify_export_folder(folder) == ["pql_accounts.csv does not match its manifest checksum"]


def test_verify_catches_an_unlisted_file_and_a_missing_one(folder: Path) -> None:
    (folder / "notes.txt").write_text("hello\n")
    (folder / "expansion_accounts.csv").unlink()
    problems = ex_publish.verify_export_folder(folder)
    assert "notes.txt is in the folder but not listed in the manifest" in problems
    assert "expansion_accounts.csv is listed in the manifest but missing" in problems


def test_verify_catches_a_wrong_header(folder: Path) -> None:
    path = folder / "lookalike_google.csv"
    path.write_text(path.read_text().replace("First Name", "FirstName", 1))
    _rewrite_manifest_entry(folder, "lookalike_google.csv")
    assert ex_publish.verify_export_folder(folder) == [
        "lookalike_google.csv header is Email,Phone,FirstName,Last Name,Country,Zip, "
        "expected Email,Phone,First Name,Last Name,Country,Zip"
    ]


def test_verify_catches_clear_values_duplicates_and_row_counts(folder: Path) -> None:
    meta = folder / "lookalike_meta.csv"
    lines = meta.read_text().splitlines()
    first = lines[1].split(",")
    lines.append(",".join(["Person@Corp.com", *first[1:]]))  # a clear-text email, one row too many
    lines.append(lines[1])  # a duplicate identifier
    meta.write_text("\n".join(lines) + "\n")
    _rewrite_manifest_entry(folder, "lookalike_meta.csv")
    problems = ex_publish.verify_export_folder(folder)
    assert "lookalike_meta.csv has 6 rows, manifest says 4" in problems
    assert "lookalike_meta.csv: 1 values in email are not SHA-256 hex (64 lowercase hex digits)" in problems
    assert "lookalike_meta.csv: 1 duplicate identifiers" in problems


def test_verify_reports_a_missing_manifest(tmp_path: Path) -> None:
    assert ex_publish.verify_export_folder(tmp_path) == ["manifest.json is missing or unreadable (FileNotFoundError)"]


def test_the_icp_pool_is_not_called_active_accounts_when_it_leaves_churned_ones_out(config_file) -> None:  # type: ignore[no-untyped-def]
    """One definition of "active account" everywhere: the ICP's pool (active and not churned) says what it is."""
    from engagement_pipeline.core.config import load_config
    from engagement_pipeline.exports.icp import pool_label

    assert pool_label(load_config(config_file)) == "active accounts that have not churned"
