"""The shared vocabularies, each defined once.

Every value that one layer writes and another reads (health states, trends, message
types, plan and status values, how an event's account was found) is a `StrEnum`: its
members compare equal to the strings stored in the warehouse, so they can be used in
polars expressions, SQL parameters and checks alike. Adding a health state is a change
here (the checks and the history counts follow) plus the rule that assigns it in
`accounts/health.py`.
"""

from __future__ import annotations

from enum import StrEnum


class Health(StrEnum):
    """`accounts.account_scores.health` (contract: at_risk, expansion_ready, healthy, new, inactive; more may be added)."""

    AT_RISK = "at_risk"
    EXPANSION_READY = "expansion_ready"
    HEALTHY = "healthy"
    NEW = "new"
    INACTIVE = "inactive"
    CHURNED = "churned"


class Trend(StrEnum):
    """`accounts.account_scores.trend`."""

    HEATING = "heating"
    COOLING = "cooling"
    STEADY = "steady"


class MessageType(StrEnum):
    """Segment message types (the `type` field), as staged in `staging.events.type`."""

    TRACK = "track"
    IDENTIFY = "identify"
    GROUP = "group"
    PAGE = "page"
    SCREEN = "screen"
    ALIAS = "alias"


class Status(StrEnum):
    """Account status values read from billing and `status` traits (lowercased)."""

    TRIAL = "trial"
    ACTIVE = "active"
    CHURNED = "churned"


class Plan(StrEnum):
    """Plan values with a meaning of their own; any other plan name is a paid plan."""

    FREE = "free"
    TRIAL = "trial"


UNPAID_PLANS: tuple[str, ...] = (Plan.FREE, Plan.TRIAL)

# What billing systems and CRMs send for the same states (Stripe's subscription statuses,
# Chargebee's, common spellings), lowercased; staging stores the canonical value. A value in
# neither list is kept as sent (lowercased).
STATUS_SYNONYMS: dict[str, str] = {
    **{s: Status.TRIAL.value for s in ("trialing", "trialling", "in_trial", "free_trial", "on_trial")},
    **{s: Status.ACTIVE.value for s in ("paid", "paying", "customer", "past_due", "non_renewing")},
    **{s: Status.CHURNED.value for s in ("canceled", "cancelled", "expired", "incomplete_expired", "ended", "lost")},
}
PLAN_SYNONYMS: dict[str, str] = {
    **{p: Plan.FREE.value for p in ("freemium", "free_tier", "free_plan", "free-tier")},
    **{p: Plan.TRIAL.value for p in ("trialing", "free_trial", "in_trial")},
}


def canonical_sql(expr: str, synonyms: dict[str, str]) -> str:
    """SQL mapping a lowercased value through `synonyms` (else the value itself)."""
    cases = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in sorted(synonyms.items()))
    return f"(CASE {expr} {cases} ELSE {expr} END)"


class AccountSource(StrEnum):
    """How a staged event's account was found (`staging.events.account_source`)."""

    CONTEXT = "context"
    GROUP_CALL = "group_call"
    MEMBERSHIP = "membership"
    MEMBERSHIP_NEXT = "membership_next"
    UNRESOLVED = "unresolved"
    ANONYMOUS = "anonymous"


def values(vocabulary: type[StrEnum]) -> list[str]:
    """The stored strings of a vocabulary, in definition order (for value sets and SQL lists)."""
    return [member.value for member in vocabulary]
