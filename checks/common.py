"""What every layer's checks share: check definitions, results, and running a GX suite.

Each layer's checks live in `checks/<layer>.py`: its rules (pure functions of the frames
the asset just wrote) and its Great Expectations suites, beside the `CHECKS` that name
and describe them. Checks run inside the asset that wrote the table (Dagster
`check_specs`), so a day costs one step per layer rather than one per check.

`dagster-ge` pins GX below 1.0, so suites run through GX's own API: an ephemeral
context, a pandas dataframe asset, `batch.validate(suite)`.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import polars as pl
from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetKey, MetadataValue

from engagement_pipeline.core.metadata import markdown_table
from engagement_pipeline.core.privacy import mask_text, shown

if TYPE_CHECKING:  # Great Expectations takes seconds to import: only when a suite runs
    import great_expectations as gx

logging.getLogger("great_expectations").setLevel(logging.ERROR)


@dataclass(frozen=True)
class Check:
    """A check's constant name, the asset it judges, what it asserts, and whether it blocks."""

    name: str
    asset: AssetKey
    description: str
    blocking: bool = True

    def spec(self) -> AssetCheckSpec:
        return AssetCheckSpec(self.name, asset=self.asset, blocking=self.blocking, description=self.description)


def specs(checks: dict[str, Check]) -> list[AssetCheckSpec]:
    return [check.spec() for check in checks.values()]


def result(
    check: Check, problems: list[str], sample: pl.DataFrame | None = None, /, **figures: int | float
) -> AssetCheckResult:
    """The check's result: passed when there is no problem; a non-blocking check fails as WARN."""
    meta: dict[str, MetadataValue[Any]] = {
        k: MetadataValue.float(float(v)) if isinstance(v, float) else MetadataValue.int(int(v))
        for k, v in figures.items()
    }
    problems = [mask_text(p) for p in problems]  # a problem may quote a value: never an email or phone
    if problems:
        meta["problems"] = MetadataValue.md("\n".join(f"- {p}" for p in problems))
    if sample is not None and sample.height:
        meta["failing_sample"] = MetadataValue.md(markdown_table(sample, 5))
    return AssetCheckResult(
        asset_key=check.asset,
        check_name=check.name,
        passed=not problems,
        metadata=meta,
        severity=AssetCheckSeverity.ERROR if check.blocking else AssetCheckSeverity.WARN,
        description=problems[0] if problems else None,
    )


@lru_cache(maxsize=1)
def _batch_definition() -> Any:
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = gx.data_context.types.base.ProgressBarsConfig(globally=False)  # type: ignore[attr-defined]  # GX exports no stub for it
    source = context.data_sources.add_pandas("warehouse_frames")
    asset = source.add_dataframe_asset("day_frame")
    return asset.add_batch_definition_whole_dataframe("whole_frame")


EPOCH = dt.date(1970, 1, 1)


def day_number(day: dt.date) -> int:
    """A date as days since 1970-01-01, which is how DATE columns reach GX (see `validate`)."""
    return (day - EPOCH).days


def _shown(value: Any, column: str | None, is_date: bool) -> str:
    """A failing value as the UI may show it: dates as dates, person ids pseudonymized."""
    if is_date and isinstance(value, (int, float)) and value == value:
        return (EPOCH + dt.timedelta(days=int(value))).isoformat()
    return shown(column or "", value)[:60]


def suite_columns(suite: gx.ExpectationSuite) -> set[str]:
    """Every column an expectation of the suite names."""
    names: set[str] = set()
    for expectation in suite.expectations:
        kwargs = expectation.configuration.kwargs
        names.update(v for k in ("column", "column_A", "column_B") if isinstance(v := kwargs.get(k), str))
        names.update(kwargs.get("column_list") or [])
    return names


def validate(frame: pl.DataFrame, suite: gx.ExpectationSuite, check: Check) -> AssetCheckResult:
    """Run a suite on a polars frame (DATE columns as day numbers, shown back as dates)."""
    # Only the columns the suite reads go to pandas: a million staged events carry their
    # traits JSON, which no expectation looks at and which would double the conversion.
    # DATE columns go as day numbers (`day_number`): GX compares datetimes in pandas row by row,
    # 4 s per expectation on a million rows, integers in a vectorised 0.3 s.
    used = [c for c in frame.columns if c in suite_columns(suite)]
    dates = {c for c in used if frame.schema[c] == pl.Date}
    data = frame.select(used).with_columns(pl.col(pl.Date).to_physical()).to_pandas()
    outcome = _batch_definition().get_batch(batch_parameters={"dataframe": data}).validate(suite)
    failures = []
    for r in outcome.results:
        if not r.success:
            cfg = r.expectation_config
            failures.append(
                {
                    "expectation": cfg.type,
                    "column": cfg.kwargs.get("column"),
                    "unexpected_count": (r.result or {}).get("unexpected_count"),
                    "sample": [
                        _shown(v, cfg.kwargs.get("column"), cfg.kwargs.get("column") in dates)
                        for v in (r.result or {}).get("partial_unexpected_list", [])[:5]
                    ],
                    "error": (r.exception_info or {}).get("exception_message"),
                }
            )
    stats = outcome.statistics
    return AssetCheckResult(
        asset_key=check.asset,
        check_name=check.name,
        passed=bool(outcome.success),
        severity=AssetCheckSeverity.ERROR if check.blocking else AssetCheckSeverity.WARN,
        description=None if outcome.success else f"{len(failures)} expectation(s) failed",
        metadata={
            "suite": MetadataValue.text(suite.name),
            "rows": MetadataValue.int(frame.height),
            "evaluated_expectations": MetadataValue.int(int(stats.get("evaluated_expectations", 0))),
            "successful_expectations": MetadataValue.int(int(stats.get("successful_expectations", 0))),
            "failures": MetadataValue.json(failures),
        },
    )
