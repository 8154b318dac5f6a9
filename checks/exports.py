"""exports: the published files are exact; audiences reach their platforms' minimum sizes."""

from __future__ import annotations

from dagster import AssetCheckResult

from checks.common import Check, result
from engagement_pipeline.core import keys

CHECKS = {
    c.name: c
    for c in (
        Check(
            "files_valid",
            keys.EXPORTS,
            "Export headers exact, hashed values SHA-256 hex, no duplicate identifiers, "
            "row counts and checksums match the manifest.",
        ),
        Check(
            "audience_sizes",
            keys.EXPORTS,
            "WARN when a look-alike audience is below its platform's minimum size (Google and Meta 100 "
            "people, LinkedIn 300 contacts). Expected on small data such as the demo's: the file is still "
            "written and valid, and the platform serves it once the audience grows; nothing downstream waits on it.",
            blocking=False,
        ),
    )
}


def files_valid(problems: list[str], files: int) -> AssetCheckResult:
    return result(CHECKS["files_valid"], problems, files=files)


def audience_sizes(warnings: list[str], stats: dict[str, dict[str, object]]) -> AssetCheckResult:
    small = [w for w in warnings if "platform minimum" in w]
    if small:  # the first sentence is what the UI shows: say first that this is expected on small data
        small.insert(
            0,
            f"{len(small)} audience(s) below the platform minimum, as expected with small data (the demo's "
            "audiences are a few hundred people at most): the files are written and valid; upload them once "
            "they pass the minimum",
        )
    figures = {name.removesuffix(".csv"): int(str(s["rows"])) for name, s in stats.items()}
    return result(CHECKS["audience_sizes"], small, **figures)
