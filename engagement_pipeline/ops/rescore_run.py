"""The model job (scores through exports and destinations) for the days a rescore recomputes, through the
Dagster instance as `run` does: the same lock, checks, one-sentence failures and UI records."""

from __future__ import annotations

import datetime as dt
import signal

from engagement_pipeline.core.config import Config
from engagement_pipeline.core.errors import Stopped, raise_if_stopped
from engagement_pipeline.core.keys import DESTINATIONS_STEP
from engagement_pipeline.ops.failures import check_warehouse, explain_failure, failed_steps, interrupted
from engagement_pipeline.ops.instance import open_instance, release_dead_runs
from engagement_pipeline.ops.runner import QUIET_RUN_CONFIG, warehouse_lock


def run_model_days(config: Config, days: list[dt.date]) -> list[str]:
    """Run the model job for each day, in order; stop at the first failure. A destination that is
    down does not stop it, as in `run`: its sentences are returned, for the command to end with."""
    from engagement_pipeline.definitions import build_definitions
    from engagement_pipeline.ops.automation import MODEL_JOB

    with warehouse_lock(config):
        check_warehouse(config.paths.warehouse)
        instance = open_instance(config)
        release_dead_runs(instance)
        problems: list[str] = []
        try:
            job = build_definitions(config).resolve_job_def(MODEL_JOB)
            for day in days:
                result = job.execute_in_process(
                    partition_key=day.isoformat(),
                    instance=instance,
                    raise_on_error=False,
                    run_config=QUIET_RUN_CONFIG,
                    tags={"engagement/source": "rescore"},
                )
                raise_if_stopped()
                if result.success:
                    continue
                if interrupted(result):
                    raise Stopped(signal.SIGINT)
                if not failed_steps(result) <= {DESTINATIONS_STEP}:
                    raise explain_failure(result, day, config)
                problems.append(f"{day}: {explain_failure(result, day, config)}".rstrip("."))
        finally:
            instance.dispose()
    return problems
