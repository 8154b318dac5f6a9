"""`lifecycle:` in engagement.yaml: which track events tell an account's life (Segment's B2B SaaS spec).

Segment's B2B SaaS spec tells the account's life with semantic track events carrying
`context.groupId` (the account): `Account Created` (`account_name`), `Account Deleted`,
`Signed Up` (`first_name`, `last_name`, `email`, `phone`, `title`, ...), `Invite Sent`
(`invitee_email`, `invitee_role`, ...), `Account Added User` (`role`), `Account Removed User`,
`Trial Started` / `Trial Ended` (`trial_start_date`, `trial_end_date`, `trial_plan_name`).
The defaults are those names; a team whose events are named differently maps its own here
(`staging/lifecycle.py` reads them, the README's "Lifecycle events" section says what each does).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class LifecycleProperties(BaseModel):
    """The property names read from the lifecycle events (Segment's spec names by default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    account_name: str = "account_name"
    role: str = "role"
    trial_plan: str = "trial_plan_name"
    trial_start: str = "trial_start_date"
    trial_end: str = "trial_end_date"
    first_name: str = "first_name"
    last_name: str = "last_name"
    email: str = "email"
    phone: str = "phone"
    title: str = "title"
    invitee_role: str = "invitee_role"


class Lifecycle(BaseModel):
    """Event names of the account's life; an empty name switches that fact off."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(default=True, description="Read the lifecycle events at all.")
    account_created: str = "Account Created"
    account_deleted: str = "Account Deleted"
    signed_up: str = "Signed Up"
    invite_sent: str = "Invite Sent"
    user_added: str = "Account Added User"
    user_removed: str = "Account Removed User"
    trial_started: str = "Trial Started"
    trial_ended: str = "Trial Ended"
    properties: LifecycleProperties = LifecycleProperties()

    @model_validator(mode="after")
    def _names_distinct(self) -> Lifecycle:
        names = [n for n in self.events().values() if n]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"event {repeated[0]!r} is mapped to two lifecycle facts; give each fact its own event")
        return self

    def events(self) -> dict[str, str]:
        """fact kind -> event name, for the facts switched on (`staging.lifecycle_facts.kind`)."""
        kinds = (
            "account_created",
            "account_deleted",
            "signed_up",
            "invite_sent",
            "user_added",
            "user_removed",
            "trial_started",
            "trial_ended",
        )
        if not self.enabled:
            return {}
        return {kind: getattr(self, kind) for kind in kinds if getattr(self, kind)}
