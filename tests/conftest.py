"""Shared fixtures: a config file in a temporary folder, and hand-made Segment lines."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]


def base_config(start: str = "2026-01-01") -> dict[str, Any]:
    data = yaml.safe_load((REPO / "engagement.yaml").read_text())
    data["start_date"] = dt.date.fromisoformat(start)
    return data


def write_config(folder: Path, data: dict[str, Any] | None = None) -> Path:
    path = folder / "engagement.yaml"
    path.write_text(yaml.safe_dump(data if data is not None else base_config(), sort_keys=False))
    return path


def write_day(landing: Path, day: dt.date, lines: list[str | dict[str, Any]], name: str = "events-000.jsonl.gz") -> Path:
    folder = landing / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    text = "".join((json.dumps(x) if isinstance(x, dict) else x) + "\n" for x in lines)
    path = folder / name
    if name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))
    else:
        path.write_text(text, encoding="utf-8")
    return path


def track(mid: str, user: str | None, event: str, ts: str, account: str | None = None,
          anonymous: str | None = None) -> dict[str, Any]:
    msg: dict[str, Any] = {"type": "track", "messageId": mid, "event": event, "timestamp": ts}
    if user:
        msg["userId"] = user
    if anonymous:
        msg["anonymousId"] = anonymous
    if account:
        msg["context"] = {"groupId": account}
    return msg


def group(mid: str, user: str, account: str, ts: str, **traits: Any) -> dict[str, Any]:
    return {"type": "group", "messageId": mid, "userId": user, "groupId": account, "timestamp": ts,
            "traits": {"name": f"{account} Inc", **traits}}


def identify(mid: str, user: str, ts: str, anonymous: str | None = None, **traits: Any) -> dict[str, Any]:
    msg: dict[str, Any] = {"type": "identify", "messageId": mid, "userId": user, "timestamp": ts, "traits": traits}
    if anonymous:
        msg["anonymousId"] = anonymous
    return msg


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    return write_config(tmp_path)
