"""The staging engine setting (`engine: duckdb | spark`) and its `spark:` block.

DuckDB is the embedded default. With `engine: spark` the event-level work of staging (read,
judge, dedupe, stitch, resolve accounts, the daily aggregate) runs on Spark, and DuckDB
loads the small results (README "Scaling out").
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Engine = Literal["duckdb", "spark"]

# local, local[N], local[*]; a standalone master (one or more host:port); Spark Connect; YARN; Kubernetes.
_MASTER = re.compile(r"^(local(\[(\*|[1-9][0-9]*)\])?|spark://[^\s/]+|sc://[^\s/]+(/.*)?|yarn|k8s://\S+)$")
URL_SCHEMES = ("s3://", "s3a://", "gs://", "abfss://", "hdfs://", "dbfs:/")


class SparkSettings(BaseModel):
    """Where the Spark session connects, its extra settings, and where its working files go."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    master: str = Field(
        default="local[*]",
        description="local[*] | local[N] | spark://host:7077 (standalone) | sc://host:15002 (Spark Connect) "
        "| yarn | k8s://https://host:443",
    )
    conf: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description="Passed to the session builder, e.g. spark.executor.memory: 4g."
    )
    work_dir: str | None = Field(
        default=None,
        description="Folder or bucket URL (s3a://, gs://, abfss://, hdfs://) for the Parquet the engine "
        "exchanges with the warehouse; every executor and the driver must reach it. Default: "
        "spark_work/ beside the warehouse; a relative path is taken from the warehouse folder.",
    )

    @field_validator("master")
    @classmethod
    def _known_master(cls, value: str) -> str:
        if not _MASTER.match(value.strip()):
            raise ValueError(
                "must be local[*], local[N], spark://host:port, sc://host:port, yarn or k8s://https://host:port"
            )
        return value.strip()

    @field_validator("conf")
    @classmethod
    def _spark_keys(cls, value: dict[str, str | int | float | bool]) -> dict[str, str | int | float | bool]:
        wrong = [k for k in value if not k.startswith("spark.")]
        if wrong:
            raise ValueError(f"keys must be Spark settings starting with 'spark.' (got {wrong[0]!r})")
        return value

    @property
    def is_connect(self) -> bool:
        return self.master.startswith("sc://")

    @property
    def is_local(self) -> bool:
        return self.master.startswith("local")

    def work_root(self, data_dir: Path) -> str:
        """The working folder as a string: a bucket URL as given, a local path made absolute."""
        if self.work_dir is None:
            return str(data_dir / "spark_work")
        if self.work_dir.startswith(URL_SCHEMES):
            return self.work_dir.rstrip("/")
        path = Path(self.work_dir).expanduser()
        return str(path if path.is_absolute() else (data_dir / path).resolve())
