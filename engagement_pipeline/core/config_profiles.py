"""`model.profiles`: scoring profiles, one per segment of accounts (say trial vs paid workspaces).

An account's profile is chosen by one of its traits (`trait`: its `plan` or its `status` as of the
day); the first profile whose `when` lists the value wins, and an account no profile claims is
scored by the `default` profile (the top-level `model.events` weights and `model.activation`
checklist). A profile overrides the weights of some events (`weights`, 1..10, events of
`model.events`) and/or the whole activation checklist (`activation`, as `model.activation`);
everything else is shared. The profile used is on every account score row (`profile`), and the
profiles are part of the model version (a change rescoring can compare).

```yaml
model:
  profiles:
    trait: plan                      # plan | status
    segments:
      - name: trial
        when: [trial, free]
        weights: {Document Created: 8}
        activation: {steps: [{name: Created a document, event: Document Created}]}
```
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

DEFAULT_PROFILE = "default"


class Profile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_\-]+$")]
    when: Annotated[list[str], Field(min_length=1, description="Trait values that choose this profile.")]
    weights: dict[str, Annotated[int, Field(ge=1, le=10)]] = Field(
        default_factory=dict, description="Event weights that differ from model.events for this profile."
    )
    # Validated as `model.activation` (core/config.py `Model._profiles_known`), kept as data here so
    # this module imports nothing of config.py.
    activation: dict[str, Any] | None = Field(default=None, description="This profile's activation checklist.")


class Profiles(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    trait: Literal["plan", "status"] = "plan"
    segments: list[Profile] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> Profiles:
        names = [p.name for p in self.segments]
        if len(set(names)) != len(names) or DEFAULT_PROFILE in names:
            raise ValueError(f"profile names must be unique and not {DEFAULT_PROFILE!r}")
        return self

    def by_value(self) -> dict[str, str]:
        """Trait value -> profile name: the first profile that lists the value (others: the default)."""
        out: dict[str, str] = {}
        for p in self.segments:
            for value in p.when:
                out.setdefault(value, p.name)
        return out
