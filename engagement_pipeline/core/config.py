"""The typed configuration (`engagement.yaml`) and its loader.

Every section forbids unknown keys, so a typo is an error that names the key rather
than a setting silently ignored. Relative paths are resolved against the folder of
the configuration file, so a command gives the same result from any working folder.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from engagement_pipeline.core import config_sources as cs
from engagement_pipeline.core.config_collector import Collector
from engagement_pipeline.core.config_dates import StartDate
from engagement_pipeline.core.config_destinations import Destinations
from engagement_pipeline.core.config_engine import Engine, SparkSettings
from engagement_pipeline.core.config_lifecycle import Lifecycle
from engagement_pipeline.core.config_profiles import DEFAULT_PROFILE, Profiles
from engagement_pipeline.core.config_raw import Raw
from engagement_pipeline.core.config_running import Automation, Demo
from engagement_pipeline.core.errors import ConfigError

DEFAULT_CONFIG_NAME = "engagement.yaml"
CONFIG_ENV_VAR = "ENGAGEMENT_CONFIG"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Paths(_Strict):
    """Where the pipeline reads and writes; relative paths are resolved beside the config file.

    The paths must stay apart (checked at load, `apart_problem`): no two are the same path and
    none is inside another, symlinks resolved. A command owns what is under its output paths (the
    export step prunes day folders of `exports`, the demo replaces what it wrote), so with
    `exports` equal to `landing`, `run` deleted the landed days. The warehouse is a file: it may
    sit in a data folder that also holds the other paths (`data/warehouse.duckdb` beside
    `data/landing`, the repository's layout, and `data/dagster_home`, the default home), but not
    inside the landing, exports, billing or Dagster home folders, which other code lists or prunes.
    """

    landing: cs.Landing = Path("data/landing")  # or s3:// / gs:// (config_sources.py)
    warehouse: Path = Path("data/warehouse.duckdb")
    exports: Path = Path("data/exports")
    billing: Path | None = None
    dagster_home: Path | None = Field(
        default=None,
        description="Persistent Dagster instance shared by the CLI and `make ui`; "
        "defaults to `dagster_home/` beside the warehouse file.",
    )

    def resolved(self, base: Path) -> Paths:
        def absolute(p: Path | None) -> Path | None:
            if p is None:
                return None
            p = p.expanduser()
            return p if p.is_absolute() else (base / p).resolve()

        warehouse = absolute(self.warehouse)
        assert warehouse is not None
        home = absolute(self.dagster_home) or warehouse.parent / "dagster_home"
        return Paths(
            landing=cs.resolve_landing(self.landing, base),
            warehouse=warehouse,
            exports=absolute(self.exports),
            billing=absolute(self.billing),
            dagster_home=home,
        )

    @property
    def data_dir(self) -> Path:
        return self.warehouse.parent

    def named(self) -> dict[str, Path]:
        """The configured local paths by their config key (billing only when set; a landing URL is none)."""
        named = {"paths.landing": self.landing, "paths.warehouse": self.warehouse, "paths.exports": self.exports}
        if self.billing is not None:
            named["paths.billing"] = self.billing
        if self.dagster_home is not None:
            named["paths.dagster_home"] = self.dagster_home
        return {k: p for k, p in named.items() if isinstance(p, Path)}


SIDE_BY_SIDE = (
    "give each its own place side by side, like data/landing, data/warehouse.duckdb, data/exports, "
    "data/billing and data/dagster_home"
)


def apart_problem(named: dict[str, Path]) -> str | None:
    """The first pair of paths that are the same or one inside the other, as a sentence naming both
    keys and the fix (without a final period); None when every path stands apart.

    Paths are compared resolved (symlinks followed, `..` removed), so an alias is the same path.
    """
    real = {key: Path(os.path.realpath(path)) for key, path in named.items()}
    keys = list(real)
    for i, first in enumerate(keys):
        for second in keys[i + 1 :]:
            a, b = real[first], real[second]
            if a == b:
                return f"{first} and {second} are the same path ({a}): {SIDE_BY_SIDE}"
            if b in a.parents:
                return f"{first} ({a}) is inside {second} ({b}): {SIDE_BY_SIDE}"
            if a in b.parents:
                return f"{second} ({b}) is inside {first} ({a}): {SIDE_BY_SIDE}"
    return None


class Normalization(_Strict):
    method: Literal["exponential", "linear"] = "exponential"
    percentile: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.90
    # Bounded where the formula means something: below 0.1 the curve is a straight line within about a
    # point (use method: linear), and near 0 `1 - exp(-k)` rounds to 0, so every score became NaN and
    # failed a blocking check at run time (curve: 1e-300); above 10 every user but the idle scores ~100.
    curve: Annotated[float, Field(ge=0.1, le=10.0)] = Field(
        default=3.0,
        description="Steepness k of the exponential spread: score = 1 + 99 * "
        "(1 - exp(-k*x)) / (1 - exp(-k)) with x = min(raw, benchmark) / benchmark; 0.1 .. 10 "
        "(below 0.1 it is a straight line: use method: linear).",
    )


class EventSpec(_Strict):
    weight: Annotated[int, Field(ge=1, le=10)]
    feature: str | None = Field(default=None, description="Feature this event belongs to.")


class ActivationStep(_Strict):
    """One checklist step: an event anyone in the account sends, or an account trait
    (from group calls) that gets a value, e.g. `{name: Added a logo, trait: logo_url}`."""

    name: str
    event: str | None = None
    trait: str | None = None

    @model_validator(mode="after")
    def _one_of(self) -> ActivationStep:
        if (self.event is None) == (self.trait is None):
            raise ValueError(f"activation step {self.name!r} needs exactly one of `event` or `trait`")
        if self.trait is not None and not self.trait.replace("_", "").isalnum():
            raise ValueError(f"activation step {self.name!r}: trait must be letters, digits and underscores")
        return self

    @property
    def key(self) -> str:
        return self.event if self.event is not None else f"trait:{self.trait}"


class Activation(_Strict):
    steps: Annotated[list[ActivationStep], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique_names(self) -> Activation:
        names = [s.name for s in self.steps]
        if len(set(names)) != len(names):
            raise ValueError("activation step names must be unique")
        return self


class Trend(_Strict):
    lookback_days: Annotated[int, Field(ge=1, le=365)] | None = Field(
        default=None,
        description="Compare with the score this many days earlier; defaults to one window (model.window_days).",
    )
    heating_points: Annotated[float, Field(gt=0)] = 10.0
    cooling_points: Annotated[float, Field(lt=0)] = -10.0


class Health(_Strict):
    low_score: Annotated[float, Field(ge=0, le=100)] = 25.0
    expansion_score: Annotated[float, Field(ge=0, le=100)] = 75.0
    expansion_active_share: Annotated[float, Field(ge=0, le=1)] = 0.5
    at_risk_churn_risk: Annotated[float, Field(ge=0, le=1)] = 0.3
    quiet_days: Annotated[int, Field(ge=1, le=30)] = 7
    min_healthy_score: Annotated[float, Field(ge=0, le=100)] = 10.0  # under it: at_risk (paying) or inactive


class PQL(_Strict):
    recent_days: Annotated[int, Field(ge=1, le=60)] = 7
    min_active_days: Annotated[int, Field(ge=1, le=60)] = 4
    require_activation: bool = True

    @model_validator(mode="after")
    def _fits(self) -> PQL:
        if self.min_active_days > self.recent_days:
            raise ValueError("min_active_days cannot exceed recent_days")
        return self


class Churn(_Strict):
    method: Literal["auto", "formula", "fitted"] = Field(
        default="auto",
        description="`auto`: a fitted logistic regression once the outcome history holds "
        "`min_training_churns` churns (and as many non-churns), else the transparent formula.",
    )
    horizon_days: Annotated[int, Field(ge=7, le=180)] = 30
    min_training_churns: Annotated[int, Field(ge=1)] = 15
    refit_days: Annotated[int, Field(ge=1, le=365)] = 7  # refit on this grid from start_date, or when outcomes change


class Model(_Strict):
    window_days: Annotated[int, Field(ge=1, le=365)] = 30
    extra_windows: list[Annotated[int, Field(ge=1, le=365)]] = Field(
        default=[1, 7], description="More windows scored into scores.user_window_scores."
    )
    total_users_days: Annotated[int, Field(ge=1, le=730)] = 90
    mature_days: Annotated[int, Field(ge=1)] = 180
    normalization: Normalization = Normalization()
    account_score: Literal["average", "total", "size_aware"] = "average"
    events: Annotated[dict[str, EventSpec], Field(min_length=1)]
    activation: Activation
    trend: Trend = Trend()
    health: Health = Health()
    pql: PQL = PQL()
    churn: Churn = Churn()
    profiles: Profiles = Profiles()  # scoring profiles per segment (core/config_profiles.py)

    @model_validator(mode="after")
    def _profiles_known(self) -> Model:
        for p in self.profiles.segments:
            unknown = sorted(set(p.weights) - set(self.events))
            if unknown:
                raise ValueError(f"profile {p.name!r} weighs {unknown[0]!r}, which is not an event in model.events")
            self.for_profile(p.name)  # its checklist, validated as model.activation
        return self

    def for_profile(self, name: str) -> Model:
        """This model as the profile `name` scores: its weights and checklist in place of the defaults."""
        profile = next((p for p in self.profiles.segments if p.name == name), None)
        if profile is None or name == DEFAULT_PROFILE:
            return self
        events = {
            e: spec.model_copy(update={"weight": profile.weights.get(e, spec.weight)})
            for e, spec in self.events.items()
        }
        activation = Activation.model_validate(profile.activation) if profile.activation else self.activation
        unknown = [s.event for s in activation.steps if s.event is not None and s.event not in events]
        if unknown:
            raise ValueError(
                f"profile {name!r}: activation step event {unknown[0]!r} is not a scored event in model.events"
            )
        return self.model_copy(update={"events": events, "activation": activation})

    @property
    def trend_lookback_days(self) -> int:
        return self.trend.lookback_days or self.window_days

    @property
    def weights(self) -> dict[str, int]:
        return {name: spec.weight for name, spec in self.events.items()}


class Staging(_Strict):
    dedupe_lookback_days: Annotated[int, Field(ge=0, le=60)] = Field(
        default=7,
        description="A messageId already staged within this many received days before wins over "
        "today's copy (and a later copy becomes a duplicate).",
    )
    stitching_lookback_days: Annotated[int, Field(ge=0, le=60)] = Field(
        default=7,
        description="Identity links (identify / alias) and group calls of the staged days within this "
        "many received days on either side stitch and resolve a day's events, and a day restates those neighbours.",
    )
    membership_fallback: Literal["latest_before", "first_joined"] = "latest_before"
    max_id_length: Annotated[int, Field(ge=8, le=10_000)] = 100
    quarantine_warn_share: Annotated[float, Field(ge=0, le=1)] = 0.05
    unresolved_account_warn_share: Annotated[float, Field(ge=0, le=1)] = 0.10


class Exports(_Strict):
    top_account_share: Annotated[float, Field(gt=0, le=1)] = 0.10
    min_user_score: Annotated[float, Field(ge=0, le=100)] = 50.0
    min_tenure_days: Annotated[int, Field(ge=0)] = 0
    paid_only: bool = False
    min_segment_accounts: Annotated[int, Field(ge=1)] = 5
    include_contacts: bool = Field(default=False, description="Write list_contacts_personal_data.csv (names, emails).")
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code shown with MRR.")] = "USD"


class Config(_Strict):
    start_date: StartDate  # a date, or "N days ago" (core/config_dates.py)
    paths: Paths = Paths()
    raw: Raw = Raw()
    sources: list[cs.Source] | None = None  # replaces paths.landing when present
    model: Model
    staging: Staging = Staging()
    engine: Engine = "duckdb"  # where staging's event-level work runs (core/config_engine.py)
    spark: SparkSettings = SparkSettings()
    exports: Exports = Exports()
    automation: Automation = Automation()
    demo: Demo = Demo()
    destinations: Destinations = Destinations()
    lifecycle: Lifecycle = Lifecycle()
    collector: Collector = Collector()
    source: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _activation_events_known(self) -> Config:
        unknown = [
            s.event for s in self.model.activation.steps if s.event is not None and s.event not in self.model.events
        ]
        if unknown:
            raise ValueError(f"activation step event {unknown[0]!r} is not a scored event in model.events")
        return self

    @property
    def landing_sources(self) -> list[cs.Source]:
        """Where events land: the `sources:` list, else `paths.landing` as the one source."""
        return self.sources or [cs.Source(name=cs.DEFAULT_SOURCE, landing=self.paths.landing)]

    @property
    def model_version(self) -> str:
        """A short hash of everything that changes scores, so exports say which model made them."""
        payload = json.dumps(self.model.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:12]


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The config file to use: the explicit one, else $ENGAGEMENT_CONFIG, else ./engagement.yaml."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(CONFIG_ENV_VAR)
    return Path(env) if env else Path.cwd() / DEFAULT_CONFIG_NAME


def _describe(error: Mapping[str, Any]) -> str:
    location = ".".join(str(part) for part in error["loc"]) or "(top level)"
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"unknown key '{location}'; remove it or check its spelling against the README's configuration reference"
    if kind == "missing":
        return f"required key '{location}' is missing"
    message = error["msg"]
    message = message[0].lower() + message[1:] if message else message
    hint = _HINTS.get((location, kind))
    return f"'{location}' {message} (got {error.get('input')!r}){'; ' + hint if hint else ''}"


# What to do instead, for out-of-range values whose fix is not just another number.
_HINTS = {
    (
        "model.normalization.curve",
        "greater_than_equal",
    ): "a smaller curve is a straight line, so use `method: linear` for that",
}


def parse_config(data: Any, source: Path | None = None) -> Config:
    """Validate a parsed YAML document; raise ConfigError with one readable sentence."""
    name = str(source) if source else "config"
    if not isinstance(data, dict):
        raise ConfigError(f"{name} must be a YAML mapping of settings, not {type(data).__name__}.")
    try:
        config = Config.model_validate({**data, "source": source})
    except ValidationError as exc:
        first = exc.errors()[0]
        more = len(exc.errors()) - 1
        suffix = f" ({more} more problem{'s' if more > 1 else ''} after this one)" if more else ""
        raise ConfigError(f"{name}: {_describe(first)}{suffix}.") from None
    base = source.parent.resolve() if source else Path.cwd()
    paths = config.paths.resolved(base)
    sources = cs.resolve_sources(config.sources, base)
    if problem := cs.sources_problem(sources):
        raise ConfigError(f"{name}: {problem}.")
    named = paths.named() if sources is None else {k: p for k, p in paths.named().items() if k != "paths.landing"}
    problem = apart_problem({**named, **cs.local_landings(sources or [])})
    if problem:
        default_home = " (its default: dagster_home beside the warehouse)" if config.paths.dagster_home is None else ""
        problem = problem.replace("paths.dagster_home", f"paths.dagster_home{default_home}", 1)
        raise ConfigError(f"{name}: {problem}.")
    return config.model_copy(update={"paths": paths, "sources": sources})


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read and validate the configuration; every failure is a ConfigError naming the fix."""
    file = config_path(path)
    if not file.exists():
        raise ConfigError(
            f"config file {file} does not exist: create it (copy engagement.yaml from the "
            f"repository) or pass --config / set ${CONFIG_ENV_VAR}."
        )
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{file} is not valid YAML{where}: fix the syntax and run again.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {file} cannot be read ({exc}).") from None
    return parse_config(data, file)
