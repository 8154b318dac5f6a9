"""A Segment-compatible (and Slack-webhook-compatible) receiver on 127.0.0.1 for the tests.

Started and stopped by the `receiver` fixture: it answers each request with the next scripted
status (then 200), and keeps the bodies it acknowledged with a 2xx, and every request's
Authorization header and path.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Receiver:
    url: str
    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)  # (status, headers) per request
    acknowledged: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str | None, int]] = field(default_factory=list)  # (path, auth header, status)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, *statuses: int | tuple[int, dict[str, str]]) -> None:
        """Script the next answers (a status, or a status with headers); after them, 200."""
        self.script.extend(s if isinstance(s, tuple) else (s, {}) for s in statuses)

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Every acknowledged Segment message, in the order received."""
        return [m for body in self.acknowledged for m in body.get("batch", [])]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with receiver.lock:
                status, headers = receiver.script.pop(0) if receiver.script else (200, {})
                receiver.requests.append((self.path, self.headers.get("Authorization"), status))
                if 200 <= status < 300:
                    receiver.acknowledged.append(json.loads(body))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            payload = b'{"success": true}' if status < 300 else b'{"error": "scripted"}'
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A receiver on a free port of 127.0.0.1, stopped after the test."""
    state = Receiver(url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def closed_port_url() -> str:
    """The URL of a port on 127.0.0.1 where nothing listens (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
