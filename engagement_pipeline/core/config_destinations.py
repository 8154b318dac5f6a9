"""The `destinations:` section of `engagement.yaml`: where the scores go after the exports.

Every destination is off unless configured. Secrets (the Segment write key, the webhook URL,
which carries its own token) are never in the file: the config names the environment
variable that holds them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

# The account traits a group call carries, by their canonical name (`destinations.segment.traits`
# renames them; `trait_prefix` goes in front of every name).
ACCOUNT_TRAITS = (
    "score",
    "trend",
    "trend_delta",
    "health",
    "is_pql",
    "churn_risk",
    "activation_pct",
    "active_users",
    "total_users",
)
USER_TRAITS = ("user_score",)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Delivery(_Section):
    """How hard a destination is tried before its asset fails."""

    max_attempts: Annotated[int, Field(ge=1, le=10)] = Field(
        default=5, description="Attempts per request (429, 5xx and connection errors are retried)."
    )
    backoff_seconds: Annotated[float, Field(ge=0, le=60)] = Field(
        default=1.0, description="First wait between attempts, doubled each time (a Retry-After header wins)."
    )
    max_wait_seconds: Annotated[float, Field(ge=0, le=600)] = Field(
        default=60.0, description="Longest single wait, Retry-After included."
    )
    timeout_seconds: Annotated[float, Field(gt=0, le=300)] = 10.0


class SegmentDestination(Delivery):
    endpoint: str = Field(
        default="https://api.segment.io",
        description="Any Segment-compatible endpoint; batches go to POST <endpoint>/v1/batch.",
    )
    write_key_env: str = Field(default="SEGMENT_WRITE_KEY", description="Environment variable holding the write key.")
    trait_prefix: str = "engagement_"
    traits: dict[str, str] = Field(
        default_factory=dict,
        description="Rename traits: canonical name -> name sent (before the prefix), e.g. {score: lead_score}.",
    )
    identify_users: bool = Field(default=False, description="Also send identify calls with each user's score.")
    dry_run: bool = Field(
        default=False,
        description="Write the payloads as JSON lines under <exports>/segment_dry_run/ instead of sending them.",
    )
    max_batch_bytes: Annotated[int, Field(ge=1_000, lt=500_000)] = Field(
        default=450_000, description="Largest request body (Segment refuses batches of 500 KB or more)."
    )

    @field_validator("endpoint")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")) or len(value) < 10:
            raise ValueError("must be an http:// or https:// URL such as https://api.segment.io")
        return value.rstrip("/")

    @field_validator("traits")
    @classmethod
    def _known_traits(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(ACCOUNT_TRAITS) - set(USER_TRAITS))
        if unknown:
            raise ValueError(f"unknown trait {unknown[0]!r} (known: {', '.join(ACCOUNT_TRAITS + USER_TRAITS)})")
        return value

    def trait_name(self, canonical: str) -> str:
        """The name a trait is sent under: the prefix, then its configured (or canonical) name."""
        return self.trait_prefix + self.traits.get(canonical, canonical)


class DigestDestination(Delivery):
    webhook_url_env: str = Field(
        default="CS_DIGEST_WEBHOOK_URL", description="Environment variable holding the Slack-compatible webhook URL."
    )
    max_accounts: Annotated[int, Field(ge=1, le=50)] = Field(default=10, description="Accounts shown per section.")
    currency: Literal["$", "€", "£", ""] = "$"


class Destinations(_Section):
    segment: SegmentDestination | None = None
    crm_files: bool = Field(
        default=False, description="Write hubspot_companies.csv and salesforce_accounts.csv in the export folder."
    )
    digest: DigestDestination | None = None

    @property
    def sending(self) -> bool:
        """Whether any destination sends something over the network (or writes a dry run)."""
        return self.segment is not None or self.digest is not None
