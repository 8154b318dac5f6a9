"""Shared fixtures: a config file in a temporary folder, hand-made Segment lines, running days.

`run_days` runs the layers' step functions day by day (no Dagster); `demo_world` is a small
generated demo run once per session, for tests that only read its warehouse and exports.
"""

from __future__ import annotations

import datetime as dt
import gzip
import importlib
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pytest
import yaml

if not hasattr(sys.modules["__main__"], "__file__"):
    # A pytest-xdist worker (`make test`) runs with a bare `__main__` (no file, no spec), which
    # pyspark.sql.connect (imported by Great Expectations) takes for its doctest runner: it then
    # calls sys.exit(0) and the worker dies. Any file will do; this one is harmless to re-import.
    sys.modules["__main__"].__file__ = __file__

if TYPE_CHECKING:
    from engagement_pipeline.core.config import Config

REPO = Path(__file__).resolve().parents[1]


def base_config(start: str = "2026-01-01") -> dict[str, Any]:
    data = yaml.safe_load((REPO / "engagement.yaml").read_text())
    data["start_date"] = dt.date.fromisoformat(start)
    return data


def write_config(folder: Path, data: dict[str, Any] | None = None) -> Path:
    path = folder / "engagement.yaml"
    path.write_text(yaml.safe_dump(data if data is not None else base_config(), sort_keys=False))
    return path


def write_day(
    landing: Path, day: dt.date, lines: list[str | dict[str, Any]], name: str = "events-000.jsonl.gz"
) -> Path:
    folder = landing / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    text = "".join((json.dumps(x) if isinstance(x, dict) else x) + "\n" for x in lines)
    path = folder / name
    if name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))
    else:
        path.write_text(text, encoding="utf-8")
    return path


def track(
    mid: str, user: str | None, event: str, ts: str, account: str | None = None, anonymous: str | None = None
) -> dict[str, Any]:
    msg: dict[str, Any] = {"type": "track", "messageId": mid, "event": event, "timestamp": ts}
    if user:
        msg["userId"] = user
    if anonymous:
        msg["anonymousId"] = anonymous
    if account:
        msg["context"] = {"groupId": account}
    return msg


def group(mid: str, user: str, account: str, ts: str, **traits: Any) -> dict[str, Any]:
    return {
        "type": "group",
        "messageId": mid,
        "userId": user,
        "groupId": account,
        "timestamp": ts,
        "traits": {"name": f"{account} Inc", **traits},
    }


def identify(mid: str, user: str, ts: str, anonymous: str | None = None, **traits: Any) -> dict[str, Any]:
    msg: dict[str, Any] = {"type": "identify", "messageId": mid, "userId": user, "timestamp": ts, "traits": traits}
    if anonymous:
        msg["anonymousId"] = anonymous
    return msg


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    return write_config(tmp_path)


# --- Running days -------------------------------------------------------------------------------

# The layers in the order data flows; each is `engagement_pipeline.<layer>.step.run(con, day, config)`.
from engagement_pipeline.core.keys import LAYERS  # noqa: E402


def run_days(
    target: duckdb.DuckDBPyConnection | Path | str,
    days: Iterable[dt.date],
    config: Config,
    through: str = "exports",
    *,
    start: str = "raw",
) -> dict[str, list[Any]]:
    """Run the layers `start` .. `through` for each day in turn (all layers of a day, then the next day),
    with the step functions (no Dagster), on a connection or a warehouse file (opened and closed here).

    Returns each layer's step results, in the order of `days`: `run_days(...)["accounts"][-1].scores`.
    """
    layers = LAYERS[LAYERS.index(start) : LAYERS.index(through) + 1]
    if not layers:
        raise ValueError(f"start={start!r} comes after through={through!r}")
    steps = {layer: importlib.import_module(f"engagement_pipeline.{layer}.step") for layer in layers}
    results: dict[str, list[Any]] = {layer: [] for layer in layers}
    if isinstance(target, duckdb.DuckDBPyConnection):
        con, owned = target, False
    else:
        from engagement_pipeline.core.warehouse import connect

        con, owned = connect(Path(target)), True
    try:
        for day in days:
            for layer, step in steps.items():
                results[layer].append(step.run(con, day, config))
    finally:
        if owned:
            con.close()
    return results


def day_range(start: dt.date | str, n: int) -> list[dt.date]:
    first = dt.date.fromisoformat(start) if isinstance(start, str) else start
    return [first + dt.timedelta(days=i) for i in range(n)]


@dataclass(frozen=True)
class DemoWorld:
    """A small generated demo, landed and run through every layer once; read it, do not write it."""

    folder: Path
    config_path: Path
    config: Config
    days: list[dt.date]
    accounts: int
    seed: int

    def read(self) -> duckdb.DuckDBPyConnection:
        """A read-only connection to the world's warehouse (close it)."""
        return duckdb.connect(str(self.config.paths.warehouse), read_only=True)


DEMO_START, DEMO_DAYS, DEMO_ACCOUNTS, DEMO_SEED = dt.date(2026, 1, 1), 3, 30, 7


@pytest.fixture(scope="session")
def demo_world(tmp_path_factory: pytest.TempPathFactory) -> DemoWorld:
    """3 days of generated demo data (30 accounts, seed 7) run raw -> exports with `run_days`, once per session."""
    from engagement_pipeline.core.config import load_config
    from engagement_pipeline.demo.generator import generate_demo

    folder = tmp_path_factory.mktemp("demo_world")
    config_path = write_config(folder, base_config(DEMO_START.isoformat()))
    config = load_config(config_path)
    days = day_range(DEMO_START, DEMO_DAYS)
    generate_demo(
        config.paths.landing,
        DEMO_START,
        DEMO_DAYS,
        accounts=DEMO_ACCOUNTS,
        seed=DEMO_SEED,
        billing_dir=config.paths.billing,
    )
    # Landed first, then run day by day, as a backfill is: the exports draw their charts for the
    # newest landed day only (the last), the older days get the report without them.
    run_days(config.paths.warehouse, days, config, through="raw")
    run_days(config.paths.warehouse, days, config, start="staging")
    return DemoWorld(folder, config_path, config, days, DEMO_ACCOUNTS, DEMO_SEED)


# --- A handful of events, and materializing one layer's assets --------------------------------

HANDFUL_START = dt.date(2026, 1, 1)
HANDFUL_ACCOUNTS = {"acc_a": ("ua1", "ua2"), "acc_b": ("ub1",)}  # account -> its users
HANDFUL_EVENTS = ("Document Created", "Teammate Invited", "Logged In")


def land_handful(config: Config, days: Iterable[dt.date]) -> dict[dt.date, int]:
    """Land a handful of clean lines per day (two accounts, three users: identify and group on the
    first day, three tracked events per user every day); returns the lines landed per day."""
    landed = {}
    for i, day in enumerate(days):
        lines: list[str | dict[str, Any]] = []
        for account, users in HANDFUL_ACCOUNTS.items():
            for user in users:
                ts = f"{day.isoformat()}T10:00:00Z"
                if i == 0:
                    lines.append(identify(f"i-{user}", user, ts, email=f"{user}@{account}.example.com"))
                    lines.append(group(f"g-{user}", user, account, ts, plan="pro", status="active"))
                lines += [
                    track(f"t-{day}-{user}-{k}", user, event, ts, account) for k, event in enumerate(HANDFUL_EVENTS)
                ]
        write_day(config.paths.landing, day, lines)
        landed[day] = len(lines)
    return landed


@dataclass(frozen=True)
class Handful:
    config: Config
    days: list[dt.date]
    landed: dict[dt.date, int]  # lines landed per day


@pytest.fixture
def handful(tmp_path: Path) -> Handful:
    """A temporary config (warehouse, landing, exports under tmp_path) with `land_handful` landed for two days."""
    from engagement_pipeline.core.config import load_config

    config = load_config(write_config(tmp_path, base_config(HANDFUL_START.isoformat())))
    days = day_range(HANDFUL_START, 2)
    return Handful(config, days, land_handful(config, days))


def layer_resources(config: Config) -> dict[str, Any]:
    """The resources `build_definitions` gives the assets, for this config (its file and its warehouse)."""
    from engagement_pipeline.ops.resources import EngagementConfig, SparkResource, warehouse_resource

    assert config.source is not None, "load the config from a file (the resource re-reads it)"
    return {
        "engagement": EngagementConfig(path=str(config.source.resolve())),
        "duckdb": warehouse_resource(config),
        "spark": SparkResource(),
    }


def materialize_layer(layer: str, config: Config, day: dt.date, instance: Any = None) -> Any:
    """Materialize one layer's assets (group = layer) for the day's partition with `dagster.materialize`,
    every layer's assets in the graph, the real resources; a failure raises."""
    from dagster import AssetSelection, materialize

    from engagement_pipeline.ops.partitions import daily_partitions

    partitions = daily_partitions(config)
    graph = [a for name in LAYERS for a in importlib.import_module(f"assets.{name}").build(partitions)]
    return materialize(
        graph,
        partition_key=day.isoformat(),
        resources=layer_resources(config),
        selection=AssetSelection.groups(layer),
        instance=instance,
    )


def check_outcomes(result: Any) -> dict[str, tuple[bool, str]]:
    """Each evaluated check of a materialize result: name -> (passed, severity name)."""
    return {e.check_name: (e.passed, e.severity.name) for e in result.get_asset_check_evaluations()}


def read_warehouse(config: Config, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    """The rows of one query on the config's warehouse, read-only (the connection is closed)."""
    con = duckdb.connect(str(config.paths.warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """tests/e2e/ runs the CLI, Dagster or a browser on generated data: all of it is `slow`
    (left out of `make test-fast`, run by `make test` and CI).

    Then the modules holding a slow test run first (a stable sort: each module's tests stay together
    and in their order), so that under pytest-xdist (`make test`: `-n auto --dist loadfile
    --no-loadscope-reorder`, which hands out whole files in this order) the long files start at once
    and the many short ones fill the workers' gaps, instead of one long file ending the run alone."""
    for item in items:
        if "e2e" in item.path.parts:
            item.add_marker(pytest.mark.slow)
    slow_modules = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_modules)


# --- Spark (engine: spark) -------------------------------------------------------------------------


@pytest.fixture
def spark_local(tmp_path_factory: pytest.TempPathFactory, spark_sessions: None) -> Any:
    """A `local[2]` Spark session, started once and shared by every test that asks (the process
    keeps it, `staging/spark_session.py`; a test that switches master starts it again here)."""
    from engagement_pipeline.core.config_engine import SparkSettings
    from engagement_pipeline.staging.spark_session import spark_session

    return spark_session(SparkSettings(master="local[2]"), str(tmp_path_factory.getbasetemp() / "spark_work"))


@pytest.fixture(scope="session")
def spark_sessions() -> Iterable[None]:
    """Stops every Spark session the tests started, at the end of the test session."""
    yield
    from engagement_pipeline.staging.spark_session import stop_sessions

    stop_sessions()
