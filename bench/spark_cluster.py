"""A real standalone Spark cluster on 127.0.0.1, from pyspark's own distribution: one master and
N workers (`spark-class org.apache.spark.deploy.master.Master` / `...worker.Worker`), each in its
own process group so that stopping it also stops the executors it launched.

Used by `make bench ENGINE=spark` (scaling from one worker to two) and the cluster test
(tests/staging/test_spark_cluster.py).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyspark


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


@dataclass
class Cluster:
    master: str
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def conf(self, executor_memory: str = "512m") -> dict[str, str]:
        """Session settings for a driver in this process talking to the cluster on 127.0.0.1."""
        return {
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
            "spark.executor.memory": executor_memory,
            "spark.executor.cores": "1",
        }


def _spawn(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    spark_home = Path(pyspark.__file__).parent
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(spark_home / "bin" / "spark-class"), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # its own process group: the executors it starts are stopped with it
        )


@contextlib.contextmanager
def standalone_cluster(folder: Path, workers: int = 2, worker_memory: str = "1g") -> Iterator[Cluster]:
    """Start a master and `workers` workers (one core each) on 127.0.0.1; stop every process at exit."""
    folder.mkdir(parents=True, exist_ok=True)
    spark_home = str(Path(pyspark.__file__).parent)
    env = {
        **os.environ,
        "SPARK_HOME": spark_home,
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_LOG_DIR": str(folder),
        "PYSPARK_PYTHON": sys.executable,
        "SPARK_WORKER_DIR": str(folder / "work"),
    }
    port = _free_port()
    cluster = Cluster(f"spark://127.0.0.1:{port}")
    try:
        cluster.processes.append(
            _spawn(
                ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port)]
                + ["--webui-port", str(_free_port())],
                folder / "master.log",
                env,
            )
        )
        _wait(lambda: _listening(port), 120, "the Spark master", folder / "master.log")
        for i in range(workers):
            cluster.processes.append(
                _spawn(
                    ["org.apache.spark.deploy.worker.Worker", cluster.master, "--host", "127.0.0.1"]
                    + ["--cores", "1", "--memory", worker_memory, "--webui-port", str(_free_port())]
                    + ["--work-dir", str(folder / f"work-{i}")],
                    folder / f"worker-{i}.log",
                    env,
                )
            )
        for i in range(workers):
            log = folder / f"worker-{i}.log"
            _wait(
                lambda log=log: "Successfully registered with master" in log.read_text(errors="replace"),
                120,
                f"worker {i}",
                log,
            )
        yield cluster
    finally:
        stop(cluster)


def _wait(ready: object, seconds: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ready():  # type: ignore[operator]
            return
        time.sleep(0.5)
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
    raise RuntimeError(f"{what} did not start within {seconds:.0f} s; its log ends:\n{tail}")


def stop(cluster: Cluster) -> None:
    """SIGTERM each process group (the JVM's shutdown hook stops its executors), then SIGKILL what is left."""
    for process in reversed(cluster.processes):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    for process in reversed(cluster.processes):
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # executors left in the group


def group_alive(pgid: int, wait: float = 10.0) -> bool:
    """Whether a process of the group still runs (a zombie waiting to be reaped does not), polled
    for up to `wait` seconds."""
    deadline = time.monotonic() + wait
    while True:
        running = False
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError):
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[2]) == pgid and fields[0] != "Z":
                    running = True
                    break
        if not running or time.monotonic() > deadline:
            return running
        time.sleep(0.5)
