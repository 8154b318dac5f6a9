"""The simulated product: static catalogues, no randomness.

Inkwell, a collaborative-documents B2B SaaS: its events (with suggested scoring weights and how
often each occurs), trajectories, plans and prices, message types, pages, browsers and client
libraries. The world it sells into lives next to it: `market` (industries, company names,
employee bands, job titles) and `geography` (countries, cities, phone numbering, people's names).

The tuples `TRAJECTORIES`, `PLANS`, `STATUSES` and `MESSAGE_TYPES` are indexed by the integer
codes defined next to them: the simulation keeps codes in numpy arrays and looks the strings up
only when it writes.
"""

from __future__ import annotations

import numpy as np

from engagement_pipeline.core.vocab import MessageType, Plan, Status

# (event name, suggested scoring weight 1..10, relative frequency in an account's event mix).
# Frequencies fall as weights rise; "Logged In" is also sent at the start of most sessions and
# "Teammate Invited" / the checklist events are additionally injected by the simulation.
EVENT_CATALOG: tuple[tuple[str, int, float], ...] = (
    ("Logged In", 1, 0.08),
    ("Dashboard Viewed", 1, 0.26),
    ("Document Edited", 2, 0.32),
    ("Document Created", 4, 0.08),
    ("File Uploaded", 3, 0.06),
    ("Comment Added", 3, 0.10),
    ("Document Shared", 5, 0.045),
    ("Report Exported", 5, 0.035),
    ("Teammate Invited", 8, 0.004),
    ("Integration Connected", 10, 0.002),
)
EVENT_NAMES: tuple[str, ...] = tuple(e[0] for e in EVENT_CATALOG)
EVENT_WEIGHTS: dict[str, int] = {name: weight for name, weight, _ in EVENT_CATALOG}
EVENT_CODE: dict[str, int] = {name: i for i, name in enumerate(EVENT_NAMES)}
ACTIVATION_EVENTS: tuple[str, ...] = (
    "Document Created",
    "Teammate Invited",
    "Integration Connected",
    "Document Shared",
)
# Features an account may simply never adopt (feature-adoption gaps downstream).
OPTIONAL_FEATURES = ("File Uploaded", "Comment Added", "Document Shared", "Report Exported", "Integration Connected")

TRAJECTORIES: tuple[str, ...] = (
    "steady",
    "growing",
    "declining",
    "churning",
    "trial_converting",
    "trial_not_converting",
    "onboarding",
)
STEADY, GROWING, DECLINING, CHURNING, TRIAL_CONV, TRIAL_NOT, ONBOARDING = range(7)
TRAJECTORY_MIX = np.array([0.30, 0.12, 0.12, 0.08, 0.12, 0.12, 0.14])
# Best-fit accounts grow, convert and stay much more often.
BEST_FIT_BONUS = np.array([1.0, 2.5, 0.3, 0.2, 2.0, 0.3, 1.0])
BEST_FIT_SHARE = 0.09
ESTABLISHED = (STEADY, GROWING, DECLINING, CHURNING)

PLANS: tuple[str, ...] = (Plan.FREE.value, Plan.TRIAL.value, "starter", "pro", "enterprise")
FREE, TRIAL, STARTER, PRO, ENTERPRISE = range(5)
SEAT_PRICE = np.array([0, 0, 12, 29, 49])  # monthly USD per billed seat
MIN_SEATS = np.array([0, 0, 1, 3, 20])
STATUSES: tuple[str, ...] = (Status.TRIAL.value, Status.ACTIVE.value, Status.CHURNED.value)
ST_TRIAL, ST_ACTIVE, ST_CHURNED = range(3)
# The `kind` of a landed line: MESSAGE_TYPES[kind] for a Segment message, MALFORMED for a garbage line.
MESSAGE_TYPES: tuple[str, ...] = (MessageType.TRACK, MessageType.PAGE, MessageType.IDENTIFY, MessageType.GROUP)
TRACK, PAGE, IDENTIFY, GROUP, MALFORMED = range(5)

USER_AGENTS: tuple[str, ...] = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36",
)
USER_AGENT_WEIGHTS = np.array([0.35, 0.30, 0.15, 0.08, 0.08, 0.04])
CLIENT_LIBRARY = '"library":{"name":"analytics.js","version":"4.1.0"}'
SERVER_LIBRARY = '"library":{"name":"analytics-python","version":"2.3.2"}'

APP_HOST = "https://app.inkwell.so"
SITE_HOST = "https://inkwell.so"
APP_PAGES: tuple[tuple[str, str, float], ...] = (
    ("Dashboard", "/dashboard", 0.30),
    ("Documents", "/documents", 0.25),
    ("Document", "/d/editor", 0.20),
    ("Settings", "/settings", 0.06),
    ("Templates", "/templates", 0.06),
    ("Integrations", "/settings/integrations", 0.04),
    ("Billing", "/settings/billing", 0.03),
    ("Docs", "/docs", 0.04),
    ("Pricing", "/pricing", 0.02),
)
SITE_PAGES: tuple[tuple[str, str, float], ...] = (
    ("Home", "/", 0.35),
    ("Pricing", "/pricing", 0.25),
    ("Docs", "/docs", 0.15),
    ("Customers", "/customers", 0.1),
    ("Sign Up", "/signup", 0.15),
)
WEEKDAY_FACTOR = np.array([1.0, 1.05, 1.05, 1.0, 0.85, 0.22, 0.18])  # Monday first

NEVER = 1 << 30  # a day index that never comes
