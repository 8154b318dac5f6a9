"""A real S3 API on 127.0.0.1 for the bucket tests: moto's server mode, one per test module.

The fixture points the standard AWS chain at it through the environment (`AWS_ENDPOINT_URL`,
`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`), as a user would, and shuts every other source of
credentials out (no profile files, no instance metadata), so a test that removes the keys sees
what a machine without credentials sees.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


@dataclass(frozen=True)
class S3:
    endpoint: str
    client: Any  # a boto3 S3 client on the server

    def bucket(self, name: str) -> str:
        self.client.create_bucket(Bucket=name)
        return name

    def put(self, bucket: str, key: str, body: bytes) -> None:
        self.client.put_object(Bucket=bucket, Key=key, Body=body)

    def mirror(self, folder: Path, bucket: str, prefix: str, rename: dict[str, str] | None = None) -> int:
        """Upload every file under `folder` to `bucket/prefix/<relative path>` (first path part renamed
        by `rename`, e.g. a YYYY-MM-DD folder to Segment's epoch milliseconds); returns the count."""
        count = 0
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            parts = path.relative_to(folder).parts
            head = (rename or {}).get(parts[0], parts[0])
            self.put(bucket, "/".join([prefix, head, *parts[1:]]).lstrip("/"), path.read_bytes())
            count += 1
        return count


def gz(text: str) -> bytes:
    return gzip.compress(text.encode("utf-8"), mtime=0)


@pytest.fixture(scope="module")
def s3() -> Iterator[S3]:
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    with pytest.MonkeyPatch.context() as mp:
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3", "AWS_DEFAULT_PROFILE"):
            mp.delenv(name, raising=False)
        mp.setenv("AWS_ACCESS_KEY_ID", "testing")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
        mp.setenv("AWS_ENDPOINT_URL", endpoint)
        mp.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
        mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
        client = boto3.client("s3", endpoint_url=endpoint)
        try:
            yield S3(endpoint, client)
        finally:
            server.stop()
