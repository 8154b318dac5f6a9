"""CRM import files: the day's engagement fields per account, for HubSpot and Salesforce.

Written in the day's export folder when `destinations.crm_files: true`, so they are published,
checksummed and verified with the rest of the day. One row per account scored that day, keyed by
the account id (an external id field in the CRM) and the company domain; no personal data.

- `hubspot_companies.csv`: HubSpot's import maps a column to the company property whose internal
  name is the header: `domain` and `name` are HubSpot's own; create the `engagement_*` properties
  once (single-line text, number, or checkbox for `engagement_is_pql`) and HubSpot matches rows to
  companies by their domain.
- `salesforce_accounts.csv`: an Account upsert for Data Loader or the Data Import Wizard on the
  external id field `Engagement_Account_ID__c`, with `Name`, `Website` and the `Engagement_*__c`
  custom fields.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from engagement_pipeline.exports.audiences.companies import normalize_website
from engagement_pipeline.exports.privacy import neutralize

HUBSPOT_FILE = "hubspot_companies.csv"
SALESFORCE_FILE = "salesforce_accounts.csv"
# The engagement fields, in the order both files write them (canonical name -> HubSpot, Salesforce).
FIELDS = (
    ("score", "engagement_score", "Engagement_Score__c"),
    ("trend", "engagement_trend", "Engagement_Trend__c"),
    ("trend_delta", "engagement_trend_delta", "Engagement_Trend_Delta__c"),
    ("health", "engagement_health", "Engagement_Health__c"),
    ("is_pql", "engagement_is_pql", "Engagement_Is_PQL__c"),
    ("churn_risk", "engagement_churn_risk", "Engagement_Churn_Risk__c"),
    ("activation_pct", "engagement_activation_pct", "Engagement_Activation_Pct__c"),
    ("active_users", "engagement_active_users", "Engagement_Active_Users__c"),
    ("total_users", "engagement_total_users", "Engagement_Total_Users__c"),
    ("as_of_date", "engagement_as_of_date", "Engagement_As_Of_Date__c"),
)
HUBSPOT_HEADER: tuple[str, ...] = ("engagement_account_id", "domain", "name", *(f[1] for f in FIELDS))
SALESFORCE_HEADER: tuple[str, ...] = ("Engagement_Account_ID__c", "Website", "Name", *(f[2] for f in FIELDS))
CRM_HEADERS = {HUBSPOT_FILE: HUBSPOT_HEADER, SALESFORCE_FILE: SALESFORCE_HEADER}


def _text(column: str) -> pl.Expr:
    """A value as the CRM reads it: booleans `true` / `false`, dates ISO, numbers as polars writes them."""
    return pl.col(column).cast(pl.String).str.to_lowercase() if column == "is_pql" else pl.col(column).cast(pl.String)


def crm_accounts(scores: pl.DataFrame, accounts: pl.DataFrame, day: dt.date) -> pl.DataFrame:
    """One row per account scored on the day: id, domain (from the website trait), name and the fields."""
    websites = (
        accounts.select("account_id", "website")
        .sort("account_id", "website", nulls_last=True)
        .unique("account_id", keep="first", maintain_order=True)
    )
    domains = [normalize_website(w)[1] for w in websites["website"].to_list()]
    websites = websites.with_columns(pl.Series("domain", domains, dtype=pl.String))
    return (
        scores.with_columns(pl.lit(day).alias("as_of_date"))
        .join(websites.select("account_id", "domain"), on="account_id", how="left")
        .sort("account_id")
        .select("account_id", "domain", "name", *(_text(f[0]) for f in FIELDS))
    )


def _file(frame: pl.DataFrame, header: tuple[str, ...]) -> pl.DataFrame:
    renamed = frame.rename(dict(zip(frame.columns, header)))
    return neutralize(renamed.with_columns(pl.all().cast(pl.String)), [header[2]])


def hubspot_companies(frame: pl.DataFrame) -> pl.DataFrame:
    return _file(frame, HUBSPOT_HEADER)


def salesforce_accounts(frame: pl.DataFrame) -> pl.DataFrame:
    return _file(frame, SALESFORCE_HEADER)
