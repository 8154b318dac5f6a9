"""The Spark session of the staging engine: built on first use, once per process, and checked.

pyspark is imported only here and in the engine modules, only when `engine: spark` is used, so a
DuckDB-only install never needs it (nor Java). A session is kept for the life of the process
(starting one costs 7-12 s on this machine): the CLI's day-by-day runs share it.

Before a session is built the master's host and port are tried (spark:// and sc://): an
unreachable master is one sentence at once, instead of Spark's own retries (a minute) followed
by a stopped context.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import socket
import sys
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engagement_pipeline.core.config_engine import URL_SCHEMES, SparkSettings
from engagement_pipeline.core.errors import EngineError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# Settings every session gets unless the config's `spark.conf` sets them: UTC everywhere (the
# warehouse's days are UTC days), Parquet timestamps as INT64 microseconds (not the legacy
# INT96), a modest shuffle width (adaptive execution coalesces further), no console progress bars.
DEFAULT_CONF: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.shuffle.partitions": "16",
    "spark.sql.adaptive.enabled": "true",
    "spark.ui.showConsoleProgress": "false",
    "spark.ui.enabled": "false",
    "spark.driver.extraJavaOptions": "-Duser.timezone=UTC",
    "spark.executor.extraJavaOptions": "-Duser.timezone=UTC",
}

_sessions: dict[tuple[str, tuple[tuple[str, str], ...]], SparkSession] = {}
PACKAGE = Path(__file__).resolve().parents[1]


def _key(settings: SparkSettings) -> tuple[str, tuple[tuple[str, str], ...]]:
    return settings.master, tuple(sorted((k, str(v)) for k, v in settings.conf.items()))


def master_problem(master: str, timeout: float = 5.0) -> str | None:
    """Why the master's host:port cannot be reached (None when it can, or for local/yarn/k8s)."""
    if not master.startswith(("spark://", "sc://")):
        return None
    default_port = 7077 if master.startswith("spark://") else 15002
    problems = []
    for target in master.split("://", 1)[1].split("/", 1)[0].split(";")[0].split(","):
        host, _, port = target.rpartition(":") if ":" in target else (target, "", str(default_port))
        try:
            with socket.create_connection((host, int(port)), timeout=timeout):
                return None
        except (OSError, ValueError) as exc:
            problems.append(f"{host}:{port}: {exc.strerror if isinstance(exc, OSError) and exc.strerror else exc}")
    return "; ".join(problems)


def spark_session(settings: SparkSettings, work_root: str) -> SparkSession:
    """The process's session for these settings (built on first use). Raises EngineError with one
    sentence naming the master and the cause when it cannot be reached or started."""
    key = _key(settings)
    session = _sessions.get(key)
    if session is not None and _alive(session):
        return session
    stop_sessions()  # one classic SparkContext per process: another master's session goes first
    problem = master_problem(settings.master)
    if problem:
        raise EngineError(
            f"Spark master {settings.master} is unreachable ({problem}): start the cluster, "
            "or set spark.master in the config (engine: duckdb runs without Spark)."
        )
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise EngineError(
            "engine: spark needs pyspark and Java 17: pip install 'engagement-pipeline[spark]' "
            "and apt-get install openjdk-17-jre-headless, or set engine: duckdb."
        ) from None
    # Python workers run the interpreter named by PYSPARK_PYTHON (default `python3`, without this
    # environment's packages): on one machine that is this interpreter. A cluster sets its own.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder: Any = SparkSession.builder.appName("engagement-pipeline staging")
    builder = builder.remote(settings.master) if settings.is_connect else builder.master(settings.master)
    for name, value in {**DEFAULT_CONF, **{k: str(v) for k, v in settings.conf.items()}}.items():
        if settings.is_connect and name.startswith(("spark.driver.", "spark.executor.", "spark.ui.")):
            continue  # fixed when the Connect server started; setting them from a client is refused
        builder = builder.config(name, value)
    try:
        session = builder.getOrCreate()
        if not settings.is_local:
            _ship_package(session, settings, work_root)
    except Exception as exc:  # a JVM that does not start, a refused connection, a bad setting
        raise EngineError(
            f"Spark session on {settings.master} could not start ({first_line(exc)}): "
            "check spark.master and spark.conf, and that Java 17 is installed."
        ) from None
    _sessions[key] = session
    return session


def _alive(session: SparkSession) -> bool:
    try:
        context = getattr(session, "_sc", None)
        return context is None or context._jsc is not None
    except Exception:
        return False


def stop_sessions() -> None:
    """Stop every session this process started (tests, and before switching masters)."""
    for session in list(_sessions.values()):
        with contextlib.suppress(Exception):
            session.stop()
    _sessions.clear()


def _ship_package(session: SparkSession, settings: SparkSettings, work_root: str) -> None:
    """Send this package's code to the executors (their Python workers import the readers and
    judging rules from it); its other dependencies (polars, duckdb) must be on the cluster."""
    digest = hashlib.sha256()
    files = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)
    for path in files:
        digest.update(str(path.relative_to(PACKAGE)).encode() + path.read_bytes())
    folder = Path("/tmp" if work_root.startswith(URL_SCHEMES) else work_root)
    folder.mkdir(parents=True, exist_ok=True)
    archive = folder / f"engagement_pipeline-{digest.hexdigest()[:12]}.zip"
    if not archive.exists():
        partial = archive.with_suffix(".partial")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as out:
            for path in files:
                out.write(path, str(Path(PACKAGE.name) / path.relative_to(PACKAGE)))
        partial.replace(archive)
    if settings.is_connect:
        session.addArtifacts(str(archive), pyfile=True)
    else:
        session.sparkContext.addPyFile(str(archive))


# "org.apache.x.SomeException: " or "ValueError: ": a class name that introduces a message.
_NAMED = re.compile(r"([A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*(?:Exception|Error)): ")


def first_line(exc: BaseException) -> str:
    """The cause of a Spark failure in one line: the innermost named error and its message,
    without stacks (a JVM error wraps its cause after its own text; a Python worker's ends its
    traceback with it)."""
    text = str(exc)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith(("at ", "..."))]
    caused = [ln.removeprefix("Caused by: ") for ln in lines if ln.startswith("Caused by: ")]
    named = [ln for ln in lines if _NAMED.search(ln)]
    if caused:
        line = caused[-1]
    elif named:
        line = named[-1] if "Traceback (most recent call last)" in text else named[0]
    else:
        line = lines[0] if lines else type(exc).__name__
    parts = _NAMED.split(line)  # [before, class, message, class, message, ...]: keep the innermost pair
    if len(parts) >= 3:
        line = f"{parts[-2].rsplit('.', 1)[-1]}: {parts[-1]}"
    return line[:300].rstrip(". ")
