"""The `automation:` and `demo:` sections: how the pipeline runs under the Dagster daemon,
and what the demo generates."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Automation(_Strict):
    """Schedule, sensors and freshness for running under the Dagster daemon (`make ui`)."""

    enabled: bool = Field(
        default=False,
        description="Start the schedule and sensors running; off by default so "
        "opening the UI on demo data does not launch runs by itself.",
    )
    schedule_hour: Annotated[int, Field(ge=0, le=23)] = 6
    schedule_minute: Annotated[int, Field(ge=0, le=59)] = 0
    timezone: str = "UTC"
    success_marker: str = "_SUCCESS"
    quiet_minutes: Annotated[int, Field(ge=0)] = 30
    sensor_interval_seconds: Annotated[int, Field(ge=5)] = 60
    freshness_hour: Annotated[int, Field(ge=0, le=23)] = 9
    lock_wait_seconds: Annotated[int, Field(ge=0)] = 0

    @model_validator(mode="after")
    def _known_timezone(self) -> Automation:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {self.timezone!r} (use an IANA name like Europe/Paris)") from None
        return self


class Demo(_Strict):
    days: Annotated[int, Field(ge=1, le=3650)] = 60
    accounts: Annotated[int, Field(ge=1)] = 250
    seed: int = 42
    spec_events: bool = Field(default=False, description="Also tell the accounts' lives in B2B SaaS spec events.")
