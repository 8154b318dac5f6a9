"""Object storage as landing (S3, GCS): list a day's objects once, open them as byte streams.

Through fsspec (s3fs, gcsfs). Credentials come from the standard chains, never from the config:
for S3 the AWS environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
`AWS_ENDPOINT_URL` for an S3-compatible server), a profile (`AWS_PROFILE`) or an instance role;
for GCS the application-default credentials (`GOOGLE_APPLICATION_CREDENTIALS`, `gcloud auth
application-default login`, or the metadata server).

Listings are paginated by the filesystem (S3 answers 1,000 keys a page) and never cached
between calls, so a listing is what the bucket holds now. A failure to reach the storage at
all (no credentials, no such bucket, an endpoint that does not answer, access denied) is an
`InputError` of one sentence naming the fix (`storage_problem`).
"""

from __future__ import annotations

import datetime as dt
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from engagement_pipeline.core.config_sources import Layout, Source
from engagement_pipeline.core.errors import InputError

DAY_MS = 86_400_000
# Bounded waits: an endpoint that does not answer is a sentence within seconds, not a hang.
_S3_CONFIG = {"connect_timeout": 10, "read_timeout": 120, "retries": {"max_attempts": 3, "mode": "standard"}}


@dataclass(frozen=True)
class StoredObject:
    """One entry of a day's listing: what a re-run must find again to read the same set."""

    key: str  # the filesystem's path: bucket/prefix/folder/name
    name: str
    size: int
    version: str  # ETag (S3) or generation / md5 (GCS): changes when the object is replaced
    modified: dt.datetime | None
    regular: bool  # False for a folder marker (a key ending in `/`)


class ObjectPath:
    """The part of `pathlib.Path` the line readers use (`name`, `open('rb')`, `read_bytes()`),
    for one stored object: the readers get the object's byte stream, read block by block."""

    def __init__(self, fs: Any, key: str, data: bytes | None = None) -> None:
        self._fs = fs
        self._key = key
        self._data = data  # the object's bytes when they were fetched ahead (`fetch_small`)
        self.name = key.rstrip("/").rsplit("/", 1)[-1]

    def open(self, mode: str = "rb") -> IO[bytes]:
        if mode != "rb":
            raise ValueError("stored objects are opened for reading bytes only")
        if self._data is not None:
            return io.BytesIO(self._data)
        return self._fs.open(self._key, "rb")

    def read_bytes(self) -> bytes:
        if self._data is not None:
            return self._data
        return self._fs.cat_file(self._key)  # one GET, no HEAD first


# Objects up to this size are fetched ahead, many at once (Segment writes many small files a day);
# a batch holds at most FETCH_BATCH_BYTES, so memory stays bounded whatever the day holds.
SMALL_OBJECT_BYTES = 8 << 20
FETCH_BATCH_BYTES = 64 << 20
FETCH_BATCH_OBJECTS = 64


def fetch_small(fs: Any, keys: list[str]) -> dict[str, bytes | BaseException]:
    """The bytes of several small objects, fetched concurrently (one GET each); a failed fetch is
    its exception, so one bad object costs only its own lines."""
    fetched = fs.cat(keys, on_error="return")
    return {key: fetched[key] for key in keys}

    def __str__(self) -> str:
        return self._key


def folder_name(layout: Layout, day: dt.date) -> str:
    """The folder holding a received day: `YYYY-MM-DD`, or Segment's epoch milliseconds of the UTC day."""
    if layout == "segment_s3":
        return str((day - dt.date(1970, 1, 1)).days * DAY_MS)
    return day.isoformat()


def day_of_folder(layout: Layout, name: str) -> dt.date | None:
    """The received day a folder holds, or None when the name is not a day folder of the layout."""
    if layout == "segment_s3":
        if not name.isdigit() or int(name) % DAY_MS:
            return None
        return dt.date(1970, 1, 1) + dt.timedelta(days=int(name) // DAY_MS)
    try:
        return dt.date.fromisoformat(name) if len(name) == 10 else None
    except ValueError:
        return None


def filesystem(url: str) -> tuple[Any, str]:
    """A fresh fsspec filesystem for a landing URL (no instance or listing cache) and its root."""
    scheme, _, root = url.partition("://")
    try:
        if scheme == "s3":
            import s3fs

            return s3fs.S3FileSystem(skip_instance_cache=True, use_listings_cache=False, config_kwargs=_S3_CONFIG), root
        import gcsfs

        return gcsfs.GCSFileSystem(token="google_default", skip_instance_cache=True, use_listings_cache=False), root
    except Exception as exc:  # gcsfs resolves its credentials here
        raise storage_problem(exc, url) from None


def list_days(source: Source) -> list[dt.date]:
    """The received days a remote source holds folders for."""
    url = str(source.landing)
    fs, root = filesystem(url)
    entries = _call(lambda: fs.ls(root, detail=True), url, missing_ok=True) or []
    days = {day_of_folder(source.layout, _base(e["name"])) for e in entries if e.get("type") == "directory"}
    return sorted(d for d in days if d is not None)


def list_day(source: Source, day: dt.date) -> tuple[Any, list[StoredObject]] | None:
    """The objects of a day's folder (one listing, paginated), or None when it has no folder.

    Sub-folders are not day data (as in a local day folder); a key ending in `/` (a console
    "folder") is kept as not regular, so it is quarantined as `not_a_regular_file`."""
    url = str(source.landing)
    fs, root = filesystem(url)
    folder = f"{root}/{folder_name(source.layout, day)}"
    entries = _call(lambda: fs.ls(folder, detail=True), url, missing_ok=True)
    if not entries:
        return None
    objects = [
        StoredObject(
            key=e["name"],
            name=_base(e["name"]),
            size=int(e.get("size") or 0),
            version=str(e.get("ETag") or e.get("generation") or e.get("md5Hash") or "").strip('"'),
            modified=_modified(e),
            regular=not str(e.get("Key", e["name"])).endswith("/") and e["name"].rstrip("/") != folder,
        )
        for e in entries
        if e.get("type") != "directory"
    ]
    if not objects:
        return None
    return fs, sorted(objects, key=lambda o: o.key)


def _base(name: str) -> str:
    return name.rstrip("/").rsplit("/", 1)[-1]


def _modified(entry: dict[str, Any]) -> dt.datetime | None:
    value = entry.get("LastModified") or entry.get("updated") or entry.get("mtime")
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(dt.UTC).replace(tzinfo=None)
        except ValueError:
            return None
    return None


def _call(action: Any, url: str, missing_ok: bool = False) -> Any:
    """Run a storage call; a missing prefix is None (when `missing_ok`), any failure to reach the
    storage one sentence."""
    try:
        return action()
    except FileNotFoundError as exc:
        if missing_ok and not _bucket_missing(exc):
            return None
        raise storage_problem(exc, url) from None
    except Exception as exc:
        raise storage_problem(exc, url) from None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _bucket_missing(exc: BaseException) -> bool:
    return any("NoSuchBucket" in repr(e) or "bucket does not exist" in str(e).lower() for e in _chain(exc))


_CREDENTIALS = {"NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError"}
_GOOGLE_CREDENTIALS = {"DefaultCredentialsError", "RefreshError"}
_CONNECTION = {"EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError", "ClientConnectorError"}


def unreachable(exc: BaseException) -> bool:
    """Whether a failure is the storage's (credentials, network), not one object's."""
    names = {type(e).__name__ for e in _chain(exc)}
    return bool(names & (_CREDENTIALS | _GOOGLE_CREDENTIALS | _CONNECTION)) or any(
        isinstance(e, ConnectionError | TimeoutError) for e in _chain(exc)
    )


def storage_problem(exc: BaseException, url: str) -> InputError:
    """One sentence for a storage failure: what is wrong with reaching `url` and how to fix it."""
    names = {type(e).__name__ for e in _chain(exc)}
    bucket = url.partition("://")[2].split("/", 1)[0]
    if names & _CREDENTIALS:
        return InputError(
            f"no AWS credentials to read {url}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE, "
            f"or run where an instance role applies); credentials are never read from the config file."
        )
    if names & _GOOGLE_CREDENTIALS:
        return InputError(
            f"no Google credentials to read {url}: set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file "
            f"or run `gcloud auth application-default login`; credentials are never read from the config file."
        )
    if _bucket_missing(exc):
        return InputError(
            f"bucket {bucket!r} of {url} does not exist{_at_endpoint(url)}: create it, or fix the landing URL "
            f"(paths.landing or sources) in the config."
        )
    if unreachable(exc):
        return InputError(
            f"cannot reach the object storage holding {url}{_at_endpoint(url)}: check the network, or "
            f"AWS_ENDPOINT_URL for an S3-compatible server, and run again."
        )
    if any(isinstance(e, PermissionError) for e in _chain(exc)) or names & {"ClientError", "HttpError"}:
        first = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        return InputError(
            f"access to {url} was refused ({first}): check that the credentials from the environment may list "
            f"and read the bucket (s3:ListBucket and s3:GetObject, or storage.objects.list and .get)."
        )
    first = str(exc).splitlines()[0][:200] if str(exc) else ""
    return InputError(f"cannot read {url} ({type(exc).__name__}: {first}): check the landing URL and the credentials.")


def _at_endpoint(url: str) -> str:
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    return f" at {endpoint}" if endpoint and url.startswith("s3://") else ""
