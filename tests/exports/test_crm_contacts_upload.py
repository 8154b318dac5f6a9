"""The day's folder with the CRM files, the contacts file and UPLOAD.md, through the exports step."""

from __future__ import annotations

import polars as pl

from engagement_pipeline.core.config import Config
from engagement_pipeline.core.config_destinations import Destinations
from engagement_pipeline.exports.contacts import CONTACTS_FILE, CONTACTS_HEADER
from engagement_pipeline.exports.crm import HUBSPOT_HEADER, SALESFORCE_HEADER
from engagement_pipeline.exports.files import EXPORT_FILES, MANIFEST
from engagement_pipeline.exports.publish import verify_export_folder
from tests.conftest import Handful, read_warehouse, run_days


def _with(config: Config, *, crm: bool = False, contacts: bool = False) -> Config:
    return config.model_copy(
        update={
            "destinations": Destinations(crm_files=crm),
            "exports": config.exports.model_copy(update={"include_contacts": contacts}),
        }
    )


def test_by_default_no_crm_or_contacts_file_and_upload_md_guides_each_platform(handful: Handful) -> None:
    config, day = handful.config, handful.days[0]
    run_days(config.paths.warehouse, [day], config)
    folder = config.paths.exports / day.isoformat()
    assert {p.name for p in folder.iterdir()} >= {*EXPORT_FILES, MANIFEST}
    assert not (folder / CONTACTS_FILE).exists() and not (folder / "hubspot_companies.csv").exists()
    guide = (folder / "UPLOAD.md").read_text(encoding="utf-8")
    for name in ("lookalike_google.csv", "lookalike_meta.csv", "lookalike_linkedin_companies.csv"):
        assert f"`{name}`" in guide
    assert "Google Ads: Customer Match" in guide and "Contact list" in guide and "## Match rates" in guide
    # three users: every audience is under its platform's minimum, and the guide says so per file.
    assert guide.count("no: below the minimum") == 4
    assert "@" not in guide
    assert verify_export_folder(folder) == []


def test_crm_files_carry_the_warehouse_rows_keyed_by_id_and_domain(handful: Handful) -> None:
    config, day = _with(handful.config, crm=True), handful.days[0]
    run_days(config.paths.warehouse, [day], config)
    folder = config.paths.exports / day.isoformat()
    hubspot = pl.read_csv(folder / "hubspot_companies.csv", infer_schema=False)
    salesforce = pl.read_csv(folder / "salesforce_accounts.csv", infer_schema=False)
    assert tuple(hubspot.columns) == HUBSPOT_HEADER and tuple(salesforce.columns) == SALESFORCE_HEADER
    rows = read_warehouse(
        config, "SELECT account_id, score, is_pql, health FROM accounts.account_scores WHERE as_of_date = ?", [day]
    )
    assert hubspot["engagement_account_id"].to_list() == sorted(r[0] for r in rows)
    for account_id, score, is_pql, health in rows:
        row = hubspot.filter(pl.col("engagement_account_id") == account_id).row(0, named=True)
        assert float(row["engagement_score"]) == score and row["engagement_health"] == health
        assert row["engagement_is_pql"] == str(is_pql).lower() and row["engagement_as_of_date"] == day.isoformat()
    assert salesforce["Engagement_Account_ID__c"].to_list() == hubspot["engagement_account_id"].to_list()
    assert verify_export_folder(folder) == []


def test_contacts_file_only_when_asked_and_the_only_file_with_emails(handful: Handful) -> None:
    config, day = _with(handful.config, contacts=True), handful.days[0]
    # The handful's accounts are not PQLs, at risk or expansion-ready by themselves: make acc_a a PQL.
    run_days(config.paths.warehouse, [day], config, through="snapshots")
    from engagement_pipeline.core.warehouse import connect

    con = connect(config.paths.warehouse)
    try:
        con.execute("UPDATE accounts.account_scores SET is_pql = account_id = 'acc_a' WHERE as_of_date = ?", [day])
        run_days(con, [day], config, start="exports")
    finally:
        con.close()
    folder = config.paths.exports / day.isoformat()
    contacts = pl.read_csv(folder / CONTACTS_FILE, infer_schema=False)
    assert tuple(contacts.columns) == CONTACTS_HEADER
    assert contacts.select("list", "account_id", "rank", "email").rows() == [
        ("pql", "acc_a", "1", "ua1@acc_a.example.com"),
        ("pql", "acc_a", "2", "ua2@acc_a.example.com"),
    ]
    assert verify_export_folder(folder) == []
    others = b"".join(p.read_bytes() for p in folder.iterdir() if p.name != CONTACTS_FILE)
    assert b"@acc_a.example.com" not in others  # nowhere else: lists, audiences, guide, manifest
    assert CONTACTS_FILE in (folder / "UPLOAD.md").read_text(encoding="utf-8")
