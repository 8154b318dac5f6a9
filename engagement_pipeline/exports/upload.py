"""`UPLOAD.md`: which file of the day's folder goes to which platform, how, the platform's
minimum size, and what match rate to expect, written for a marketer.

Built from the day's figures (rows and platform minimums of each audience file), so a file
that is too small to serve says so where the marketer reads. No email or name appears in it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

UPLOAD_GUIDE = "UPLOAD.md"

# file -> (platform, where it goes, how, what the platform needs)
PLATFORMS: dict[str, tuple[str, str, str]] = {
    "lookalike_google.csv": (
        "Google Ads: Customer Match",
        "Tools > Shared library > Audience manager > Segments > + > Customer list > "
        "'Upload Emails, Phones, and/or Mailing Addresses', choose 'Upload hashed data', then the file.",
        "Email, Phone, First Name and Last Name are already normalized and SHA-256 hashed; Country and Zip are "
        "plain, as Google's template writes them. At least 100 members must match before the list serves "
        "(more on some networks).",
    ),
    "lookalike_meta.csv": (
        "Meta: Custom Audience from a customer list",
        "Ads Manager > Audiences > Create audience > Custom audience > Customer list, upload the file, "
        "check the column mapping (email, phone, fn, ln, ct, st, zip, country), then create a Lookalike from it.",
        "Every value is normalized the way Meta's own SDK does (zip codes cut at the hyphen) and SHA-256 hashed. "
        "Meta advises against lists under 100 people; a lookalike source needs 100 or more from one country.",
    ),
    "lookalike_linkedin_companies.csv": (
        "LinkedIn: Matched Audiences, company list",
        "Campaign Manager > Plan > Audiences > Create audience > Upload a list > Company list, then the file "
        "(its headers are LinkedIn's template, unchanged).",
        "Plain text, no personal data. LinkedIn needs 300 matched companies to serve and advises 1,000 or more.",
    ),
    "lookalike_linkedin_contacts.csv": (
        "LinkedIn: Matched Audiences, contact list",
        "Campaign Manager > Plan > Audiences > Create audience > Upload a list > Contact list, then the file "
        "(LinkedIn's template headers, unchanged).",
        "Emails are SHA-256 hashed (LinkedIn accepts them so); names are left blank. At least 300 rows, "
        "at most 300,000 rows or 20 MB.",
    ),
}
MATCH_RATES = (
    "Only part of a list ever matches, and each platform shows its own match rate once it has processed "
    "the upload (Google: the segment's size in Audience manager, within 48 hours; Meta: the audience's size, "
    "within hours; LinkedIn: the audience's match rate, within 48 hours). Work emails match less often on "
    "Google and Meta, where people sign up with personal addresses, and more often on LinkedIn. As a rough "
    "guide for business users, not a promise: a third to a half of the rows on Google and Meta, more on "
    "LinkedIn's contact list, and most companies with a website on its company list. A rate far below that "
    "usually means a formatting problem: the rows left out, by reason, are in manifest.json ('audiences')."
)
CRM_GUIDE = {
    "hubspot_companies.csv": "HubSpot: Import > Companies; create the `engagement_*` company properties once "
    "(internal names as the headers); rows match companies by `domain`.",
    "salesforce_accounts.csv": "Salesforce: Data Loader (or the Data Import Wizard), Upsert on Account with the "
    "external id field `Engagement_Account_ID__c`; create the `Engagement_*__c` fields once.",
    "list_contacts_personal_data.csv": "Not for upload: the names and emails of the main users of the PQL, "
    "at-risk and expansion lists, for the people who work them. Personal data: share it only with them.",
}


def upload_guide(day: dt.date, stats: Mapping[str, Mapping[str, object]], extra_files: list[str]) -> list[str]:
    """The guide's lines: a table of the audience files with their rows against the platform minimum,
    then one section per platform (how to upload, what it needs), match rates, and the other files."""
    lines = [
        f"# Uploading the audiences of {day.isoformat()}",
        "",
        "Which file goes where. Every file is UTF-8 CSV with the platform's own headers; upload it as it is.",
        "",
        "| file | platform | rows | platform minimum | ready |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, (platform, _, _) in PLATFORMS.items():
        figures = stats.get(name, {})
        rows, minimum = int(str(figures.get("rows", 0))), int(str(figures.get("platform_minimum", 0)))
        ready = "yes" if rows >= minimum else "no: below the minimum, the platform may refuse to serve it"
        lines.append(f"| `{name}` | {platform} | {rows} | {minimum} | {ready} |")
    for name, (platform, how, needs) in PLATFORMS.items():
        lines += ["", f"## `{name}` to {platform}", "", f"How: {how}", "", needs]
    lines += [
        "",
        "A file below its minimum grows with a wider seed: a larger `exports.top_account_share` or a lower "
        "`exports.min_user_score` in engagement.yaml.",
        "",
        "## Match rates",
        "",
        MATCH_RATES,
    ]
    others = [name for name in extra_files if name in CRM_GUIDE]
    if others:
        lines += ["", "## Other files of this folder", ""]
        lines += [f"- `{name}`: {CRM_GUIDE[name]}" for name in others]
    return lines
