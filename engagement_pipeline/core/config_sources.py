"""Where events land: `paths.landing`, or a `sources:` list of named landings.

A landing is a local folder or an object-storage URL (`s3://bucket/prefix`,
`gs://bucket/prefix`). URLs are kept as text (a `Path` would fold `s3://` into `s3:/`) and
credentials never come from here: they come from the standard chains (AWS environment
variables, profile or instance role; Google application-default credentials), see
`raw/storage.py`.

Each source has a layout: `days` (`<landing>/<YYYY-MM-DD>/`, the folder is the received UTC
day) or `segment_s3` (Segment's S3 destination: `<landing>/<epoch milliseconds of the UTC
day>/<file>.gz`). Its name is kept on every raw line and staged row (`source`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

# The source name of rows landed through `paths.landing` (no `sources:` list).
DEFAULT_SOURCE = "default"
URL_SCHEMES = ("s3", "gs", "gcs")


def is_url(landing: object) -> bool:
    """Whether a landing is an object-storage URL (rather than a local folder)."""
    return isinstance(landing, str) and "://" in landing


def _landing(value: object) -> object:
    """A URL stays text (and must be one we can read); anything else is a local path."""
    if isinstance(value, str) and "://" in value:
        scheme, _, rest = value.partition("://")
        if scheme.lower() not in URL_SCHEMES:
            raise ValueError(
                f"unsupported landing URL scheme {scheme!r}: use s3://bucket/prefix, gs://bucket/prefix or a local folder"
            )
        bucket = rest.split("/", 1)[0]
        if not bucket:
            raise ValueError(f"landing URL {value!r} names no bucket: write it as {scheme}://bucket/prefix")
        return f"{scheme.lower()}://{rest.rstrip('/')}"
    if isinstance(value, str):
        return Path(value)
    return value


# A local folder (Path) or an object-storage URL (str, always with a scheme of URL_SCHEMES).
Landing = Annotated[Path | str, BeforeValidator(_landing)]
Layout = Literal["days", "segment_s3"]


class Source(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")] = Field(
        description="Kept on every raw line and staged row as `source`: letters, digits, `_`, `.`, `-`."
    )
    landing: Landing = Field(description="A local folder, s3://bucket/prefix or gs://bucket/prefix.")
    layout: Layout = Field(
        default="days",
        description="`days`: <landing>/<YYYY-MM-DD>/; `segment_s3`: <landing>/<epoch ms of the UTC day>/*.gz.",
    )

    @property
    def remote(self) -> bool:
        return is_url(self.landing)

    @property
    def local(self) -> Path:
        """The local folder of a local source (a remote one has none: check `remote` first)."""
        if isinstance(self.landing, Path):
            return self.landing
        raise ValueError(f"source {self.name!r} lands in {self.landing}, not in a local folder")


def resolve_landing(landing: Path | str, base: Path) -> Path | str:
    """A local landing made absolute against the config file's folder; a URL as it is."""
    if isinstance(landing, str):
        return landing
    landing = landing.expanduser()
    return landing if landing.is_absolute() else (base / landing).resolve()


def resolve_sources(sources: list[Source] | None, base: Path) -> list[Source] | None:
    if sources is None:
        return None
    return [s.model_copy(update={"landing": resolve_landing(s.landing, base)}) for s in sources]


def sources_problem(sources: list[Source] | None) -> str | None:
    """What is wrong with a `sources:` list as a whole, or None."""
    if sources is None:
        return None
    if not sources:
        return "'sources' is an empty list: name at least one source, or remove the key to use paths.landing"
    names = [s.name for s in sources]
    repeated = next((n for n in names if names.count(n) > 1), None)
    if repeated is not None:
        return f"source name {repeated!r} is used twice in 'sources': give each source its own name"
    landings = [str(s.landing) for s in sources]
    same = next((x for x in landings if landings.count(x) > 1), None)
    if same is not None:
        return f"two sources land in {same}: give each source its own landing"
    return None


def local_landings(sources: list[Source]) -> dict[str, Path]:
    """The local landing folders by config key, for the paths-apart check (URLs are not paths)."""
    return {f"sources[{s.name}].landing": s.landing for s in sources if isinstance(s.landing, Path)}
