"""The persistent Dagster instance the CLI and `make ui` share: its folder, settings and
the environment of the UI; freeing the pool slots of runs that died.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from dagster import DagsterInstance, DagsterRunStatus, RunsFilter
from dagster._core.execution.compute_logs import redirect_to_file
from dagster._core.storage.compute_log_manager import CapturedLogContext, ComputeIOType
from dagster._core.storage.local_compute_log_manager import IO_TYPE_EXTENSION, LocalComputeLogManager
from dagster._serdes import ConfigurableClassData
from dagster._utils import ensure_file, touch_file

from engagement_pipeline.core.config import CONFIG_ENV_VAR, Config

INSTANCE_YAML = """\
# Written by engagement-pipeline: the instance shared by the CLI and `make ui`.
telemetry:
  enabled: false
# DuckDB allows one writer: one run at a time, and one step in the warehouse pool.
concurrency:
  runs:
    max_concurrent_runs: 1
  pools:
    default_limit: 1
# Steps' stdout and stderr kept for the UI, without mirroring them to the terminal.
compute_logs:
  module: engagement_pipeline.ops.instance
  class: CapturedComputeLogManager
  config:
    base_dir: {storage}
"""


def instance_home(config: Config) -> Path:
    """The configured instance folder, created with its dagster.yaml if new."""
    home = config.paths.dagster_home
    assert home is not None
    home.mkdir(parents=True, exist_ok=True)
    # The run storage holds metadata previews and logs: readable by the owner only, like the warehouse.
    if home.stat().st_mode & 0o077:
        home.chmod(0o700)
    settings = home / "dagster.yaml"
    ours = not settings.exists() or settings.read_text(encoding="utf-8").startswith("# Written by engagement-pipeline")
    wanted = INSTANCE_YAML.format(storage=json.dumps(str(home.resolve() / "storage")))
    if ours and (not settings.exists() or settings.read_text(encoding="utf-8") != wanted):
        settings.write_text(wanted, encoding="utf-8")
    return home


class CapturedComputeLogManager(LocalComputeLogManager):
    """Dagster's local compute logs (each step's stdout and stderr in the instance, for the UI), not
    mirrored to the terminal.

    The stock manager mirrors each stream of each step with a `tail -F` and a Python watcher
    process. Ctrl-C reaches the terminal's whole foreground group, so every watcher printed a
    KeyboardInterrupt traceback under the CLI's one sentence; and spawning four processes per
    step costs time. The CLI reports progress and failures itself; the UI reads the same files.
    """

    @contextlib.contextmanager
    def capture_logs(self, log_key: Sequence[str]) -> Iterator[CapturedLogContext]:
        out = ensure_file(self.get_captured_local_path(log_key, IO_TYPE_EXTENSION[ComputeIOType.STDOUT]))
        err = ensure_file(self.get_captured_local_path(log_key, IO_TYPE_EXTENSION[ComputeIOType.STDERR]))
        with redirect_to_file(sys.stdout, out), redirect_to_file(sys.stderr, err):
            yield CapturedLogContext(log_key)
        touch_file(self.complete_artifact_path(log_key))  # the UI's sign that the capture is complete

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> CapturedComputeLogManager:
        return cls(inst_data=inst_data, **config_value)


def ui_environment(config: Config) -> dict[str, str]:
    """Environment for `dagster dev`: the same instance and the same config as the CLI."""
    env = dict(os.environ, DAGSTER_HOME=str(instance_home(config)))
    if config.source is not None:
        env[CONFIG_ENV_VAR] = str(config.source.resolve())
    return env


def open_instance(config: Config) -> DagsterInstance:
    """The persistent instance under the data folder (no process-wide DAGSTER_HOME needed)."""
    return DagsterInstance.from_config(str(instance_home(config)))


def release_dead_runs(instance: DagsterInstance) -> list[str]:
    """Mark CLI runs a crash left 'started' as failed and free their pool slots.

    Called while holding the warehouse lock, so no CLI run can still be alive: a run
    killed mid-step (SIGKILL, power loss) never released its slot of the warehouse
    pool, and the next run would wait for it forever.
    """
    released = []
    for run in instance.get_runs(
        filters=RunsFilter(
            statuses=[DagsterRunStatus.STARTED, DagsterRunStatus.STARTING], tags={"engagement/source": "cli"}
        )
    ):
        instance.report_run_failed(run)
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        released.append(run.run_id)
    return released
