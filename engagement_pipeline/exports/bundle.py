"""Go-to-market exports for one as-of day: ICP, look-alike audiences, lists with reasons.

What a day's folder holds (`<exports>/<YYYY-MM-DD>/`):

- `lookalike_google.csv`, `lookalike_meta.csv`, `lookalike_linkedin_contacts.csv`: the seed users
  (see `seed_users`), normalized and hashed by `audiences`; `lookalike_linkedin_companies.csv`: the
  top accounts as companies; `UPLOAD.md`: which file goes where, how, and what to expect.
  A file under its platform's minimum is still written, and the manifest warns.
- `icp_profile.csv`: each firmographic value's share among the top accounts vs the pool they
  were drawn from, with lift; `icp_summary.md`: the same in plain sentences.
- `pql_accounts.csv`, `at_risk_accounts.csv`, `expansion_accounts.csv`,
  `case_study_candidates.csv`, `feature_adoption_gaps.csv`: account id and name first, then
  the reasons. User-level detail in them is user ids and job titles only.
- with `destinations.crm_files`: `hubspot_companies.csv`, `salesforce_accounts.csv` (`crm`); with
  `exports.include_contacts`: `list_contacts_personal_data.csv`, the names and emails of the lists'
  main users (`contacts`), the only file with clear-text personal data.
- `manifest.json`: every file with its row count (lines for the markdown file), size and
  SHA-256, the model version, the selection used, audience figures and warnings.

Built here from the modules of each concern: `icp` (top accounts, profile, summary),
`audiences` (seed users, platform files), `lists` (the lists with reasons), `privacy`
(what keeps personal data out); `files` names the files, `publish` writes and verifies
the folder.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl

from engagement_pipeline.core.config import Config
from engagement_pipeline.exports.audiences import platforms as audiences
from engagement_pipeline.exports.audiences.seed import seed_users
from engagement_pipeline.exports.contacts import CONTACTS_FILE, list_contacts
from engagement_pipeline.exports.crm import (
    HUBSPOT_FILE,
    SALESFORCE_FILE,
    crm_accounts,
    hubspot_companies,
    salesforce_accounts,
)
from engagement_pipeline.exports.files import (
    EXPORT_FILES,
    ICP_SUMMARY,
    PLATFORM_MINIMUMS,
    ExportBundle,
)
from engagement_pipeline.exports.icp import (
    eligible_accounts,
    employee_band,
    icp_profile,
    icp_summary,
    pool_label,
    top_accounts,
)
from engagement_pipeline.exports.lists import (
    adoption_gaps,
    at_risk_list,
    case_study_list,
    expansion_list,
    main_users,
    pql_list,
    user_dropoff,
)
from engagement_pipeline.exports.movers import churned_list, new_and_ramping_list
from engagement_pipeline.exports.privacy import mask_personal, neutralize, scrub_emails
from engagement_pipeline.exports.upload import UPLOAD_GUIDE, upload_guide

# Optional `staging.accounts` columns (group traits linkedin / linkedinUrl / linkedin_url and
# stockSymbol / stock_symbol / ticker): the LinkedIn company list's page URL and stock symbol.
COMPANY_TRAITS = ("linkedin_url", "stock_symbol")


def build_exports(
    day: dt.date,
    scores: pl.DataFrame,
    accounts: pl.DataFrame,
    users: pl.DataFrame,
    user_scores: pl.DataFrame,
    first_used: pl.DataFrame,
    config: Config,
    *,
    title_keywords: Sequence[str] = (),
    history: pl.DataFrame | None = None,
) -> ExportBundle:
    """Every export file of the day as frames, plus warnings (small audiences, low-sample ICP).

    `title_keywords` narrows the look-alike seed to job titles containing one of them (see
    `seed_users`); the default keeps every qualifying user. `history`: `snapshots.account_history`
    rows of the look-back before the day, for the accounts churned this period (`churned_list`).
    """
    e = config.exports
    # The LinkedIn page and ticker traits feed the LinkedIn company list when staging has them.
    company_traits = [c for c in COMPANY_TRAITS if c in accounts.columns]
    firmo = (
        accounts.select(
            "account_id", "website", "industry", "employees", "city", "state", "zip", "country", *company_traits
        )
        .sort(pl.all(), nulls_last=True)
        .unique("account_id", keep="first", maintain_order=True)
        .with_columns(employee_band(pl.col("employees")).alias("employee_band"))
    )
    enriched = scores.join(firmo, on="account_id", how="left").sort("account_id")
    pool = eligible_accounts(enriched, config)
    top = top_accounts(enriched, config)
    top_ids = top["account_id"]
    bundle = ExportBundle(day=day, files={})

    profile = icp_profile(pool, top_ids, e.min_segment_accounts)
    seed_people = seed_users(user_scores, users, top_ids, e.min_user_score, title_keywords)
    seed = seed_people.select("user_id", "email", "phone", "first_name", "last_name", "city", "state", "zip", "country")
    # LinkedIn's contact list: the same people, with their title and their account's name as the company.
    employers = user_scores.select("user_id", "account_id").join(top.select("account_id", "name"), on="account_id")
    seed_contacts = seed_people.join(employers, on="user_id", how="left").select(
        "email",
        mask_personal(pl.col("title")),
        pl.col("name").alias("company"),
        "country",
    )
    companies = top.select(
        "account_id", "name", "website", "industry", "city", "state", "zip", "country", *company_traits
    )
    for name, result in (
        ("lookalike_google.csv", audiences.google_customer_match(seed)),
        ("lookalike_meta.csv", audiences.meta_customer_list(seed)),
        ("lookalike_linkedin_companies.csv", audiences.linkedin_company_list(companies)),
        ("lookalike_linkedin_contacts.csv", audiences.linkedin_contact_list(seed_contacts)),
    ):
        bundle.files[name] = result.frame
        minimum = PLATFORM_MINIMUMS[name]
        bundle.audience_stats[name] = {
            "input_rows": result.input_rows,
            "rows": result.frame.height,
            "rejected": dict(sorted(result.rejected.items())),
            "platform_minimum": minimum,
        }
        if result.frame.height < minimum:
            bundle.warnings.append(
                f"{name} has {result.frame.height} rows, below the platform minimum of {minimum}: "
                f"the platform may refuse to serve it"
            )
    if top.height and top.height < e.min_segment_accounts:
        bundle.warnings.append(
            f"icp_profile.csv: only {top.height} top accounts, fewer than exports.min_segment_accounts "
            f"({e.min_segment_accounts}): every ICP value is low sample"
        )
    bundle.files["icp_profile.csv"] = neutralize(profile)
    summary = icp_summary(
        day, profile, top.height, pool.height, e.min_segment_accounts, pool_label(config), bundle.audience_stats
    )
    bundle.files[ICP_SUMMARY] = pl.DataFrame({"line": summary}, schema={"line": pl.String})
    bundle.selection = {
        "eligible_accounts": pool.height,
        "top_accounts": top.height,
        "top_account_share": e.top_account_share,
        "min_user_score": e.min_user_score,
        "min_tenure_days": e.min_tenure_days,
        "paid_only": e.paid_only,
        "seed_users": seed.height,
        "title_keywords": [k for k in title_keywords if k],
        "seed_rule": "users of the top accounts active in the window (score > 0) with score >= min_user_score, "
        "not unsubscribed",
    }

    base = enriched.join(main_users(user_scores, users), on="account_id", how="left").join(
        user_dropoff(user_scores, day, config.model.health.quiet_days), on="account_id", how="left"
    )
    for name, frame in (
        ("pql_accounts.csv", pql_list(base)),
        ("at_risk_accounts.csv", at_risk_list(base, day, config)),
        ("expansion_accounts.csv", expansion_list(base)),
        ("case_study_candidates.csv", case_study_list(base, day, config)),
        ("feature_adoption_gaps.csv", adoption_gaps(base, first_used, config)),
        ("new_and_ramping_accounts.csv", new_and_ramping_list(base, day, config)),
        ("churned_accounts.csv", churned_list(base, history, day, config)),
    ):
        bundle.files[name] = neutralize(scrub_emails(frame))
    if config.destinations.crm_files:
        crm = crm_accounts(scores, accounts, day)
        bundle.files[HUBSPOT_FILE], bundle.files[SALESFORCE_FILE] = hubspot_companies(crm), salesforce_accounts(crm)
    if e.include_contacts:
        bundle.files[CONTACTS_FILE] = list_contacts(bundle.files, user_scores, users)
    guide = upload_guide(day, bundle.audience_stats, [n for n in bundle.names() if n not in EXPORT_FILES])
    bundle.files[UPLOAD_GUIDE] = pl.DataFrame({"line": guide}, schema={"line": pl.String})
    return bundle
