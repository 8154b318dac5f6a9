"""`engagement-pipeline collect`: the collector on uvicorn, until SIGTERM or Ctrl-C.

Everything a user can get wrong before the first request (no write key, a landing that is
not a local folder or cannot be written, a port in use) ends with one sentence, before the
server starts. A stop signal lets uvicorn finish the requests in flight (each waits for its
fsync), then the writer writes what is queued and closes its files: a stop loses nothing
that was acknowledged, and exits 0.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

from engagement_pipeline.collector.app import Limits, build_app
from engagement_pipeline.collector.writer import DayWriter
from engagement_pipeline.core.config import Config
from engagement_pipeline.core.errors import ConfigError, InputError, PipelineError, Stopped

log = logging.getLogger("engagement_pipeline.collector")
GRACEFUL_SHUTDOWN_SECONDS = 30


def collector_landing(config: Config) -> Path:
    """The folder the collector writes into: the first source's landing (`paths.landing` when
    there is no `sources:` list). It must be a local folder with the `days` layout."""
    first = config.landing_sources[0]
    if first.layout != "days":
        raise ConfigError(
            f"the collector writes day folders (layout: days), but the first source, {first.name!r}, "
            f"has layout {first.layout}: put a `days` source first in `sources:`."
        )
    if not isinstance(first.landing, Path):
        raise ConfigError(
            f"the collector writes to a local folder, but the landing is {first.landing}: make the first "
            f"source (or paths.landing) a local folder, and copy it to the bucket from there if needed."
        )
    return first.landing


def bind(host: str, port: int) -> socket.socket:
    """A listening socket, or one sentence naming the address and the fix."""
    if not 0 <= port <= 65535:
        raise PipelineError(f"--port {port} is not a port number: pass one from 1 to 65535 (0: any free port)")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        raise PipelineError(
            f"cannot listen on {host!r}: not an address of this machine; pass --host 127.0.0.1"
        ) from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PipelineError(
                f"port {port} on {host} is in use (another collector?): stop that process or pass --port"
            ) from None
        raise PipelineError(f"cannot listen on {host}:{port} ({exc.strerror}): pass another --host or --port") from None
    sock.set_inheritable(True)
    return sock


def open_writer(config: Config, landing: Path) -> DayWriter:
    settings = config.collector
    writer = DayWriter(
        landing,
        rotate_bytes=settings.rotate_bytes,
        max_backlog_bytes=settings.max_backlog_bytes,
        max_backlog_requests=settings.max_backlog_requests,
        marker=config.automation.success_marker if settings.write_marker else None,
    )
    try:
        writer.start()
    except OSError as exc:
        raise InputError(
            f"the collector cannot write to the landing folder {landing} ({exc.strerror or exc}): "
            f"fix its permissions or point paths.landing elsewhere."
        ) from None
    return writer


def cmd_collect(config: Config, host: str | None, port: int | None) -> None:
    settings = config.collector
    host = host or settings.host
    port = settings.port if port is None else port
    keys = settings.write_keys()
    landing = collector_landing(config)
    with _log_to_stderr():
        _serve(config, host, port, keys, landing)


@contextlib.contextmanager
def _log_to_stderr() -> Iterator[None]:
    """The collector's and uvicorn's INFO lines on stderr, for this command only (the root logger
    and other loggers stay as they were, so calling the CLI in-process leaves logging alone)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    saved = []
    for name in ("engagement_pipeline.collector", "uvicorn"):
        logger = logging.getLogger(name)
        saved.append((logger, logger.level, logger.propagate))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    try:
        yield
    finally:
        for logger, level, propagate in saved:
            logger.removeHandler(handler)
            logger.setLevel(level)
            logger.propagate = propagate


def _serve(config: Config, host: str, port: int, keys: list[str], landing: Path) -> None:
    import uvicorn

    settings = config.collector
    writer = open_writer(config, landing)
    try:
        sock = bind(host, port)
    except PipelineError:
        writer.stop()
        raise
    limits = Limits(settings.max_message_bytes, settings.max_batch_bytes, settings.retry_after_seconds)
    app = build_app(writer, keys, limits)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            access_log=False,  # it shows client addresses; the collector logs its own line per request
            log_config=None,
            lifespan="off",
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
            server_header=False,
        )
    )
    bound = sock.getsockname()
    log.info(
        "collector on http://%s:%d writing to %s/<UTC day>/collector-*.jsonl (%d write key%s)",
        bound[0],
        bound[1],
        landing,
        len(keys),
        "" if len(keys) == 1 else "s",
    )
    try:
        server.run(sockets=[sock])
    except Stopped:
        pass  # uvicorn re-raises the stop signal after its graceful shutdown: the stop it asked for
    finally:
        writer.stop()
        sock.close()
        log.info(
            "collector stopped: %d requests written in %d commits, every acknowledged message is on disk",
            writer.stats.requests,
            writer.stats.commits,
        )
