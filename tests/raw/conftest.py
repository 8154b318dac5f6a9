"""Fixtures of the raw tests: `s3`, a real S3 API on 127.0.0.1 (see s3_server.py)."""

from tests.raw.s3_server import s3 as s3
