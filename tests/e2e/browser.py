"""A small driver for headless Chromium in tests: the DevTools protocol over a pipe.

Chromium started with `--remote-debugging-pipe` reads DevTools commands on file
descriptor 3 and writes replies and events on descriptor 4, as NUL-terminated JSON (the
transport Playwright and Puppeteer use). That needs nothing beyond the standard library:
no websocket client, no chromedriver.

What the UI tests need and nothing more: open a page, read its visible text (waiting,
with a bound, until expected text shows), click an element by its text, run a line of
JavaScript, save a screenshot. Every wait has a deadline; `Browser.close` ends the whole
process group (browser, renderers, zygote) even when Chromium does not answer.

    with Browser() as browser:
        page = browser.new_page()
        page.goto("http://127.0.0.1:3000/runs")
        text = page.wait_for_text("Runs")
        page.screenshot(Path("test-artifacts/runs.png"))
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

CHROMIUM = Path(os.environ.get("CHROMIUM_BINARY", "/usr/bin/chromium"))

# Headless, no sandbox (containers), no GPU, and no traffic of its own: no QUIC, first-run
# pages, background networking, component updates or sync. A fresh profile every time.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-default-browser-check",
    "--hide-scrollbars",
    "--mute-audio",
    "--force-color-profile=srgb",
    "--no-proxy-server",
    "--remote-debugging-pipe",
)


_TRAMPOLINE = (
    "import os, sys\n"
    "child_in, child_out = int(sys.argv[1]), int(sys.argv[2])\n"
    "os.dup2(child_in, 3); os.dup2(child_out, 4); os.close(child_in); os.close(child_out)\n"
    "os.execv(sys.argv[3], sys.argv[3:])\n"
)


class BrowserError(RuntimeError):
    """Chromium did not start, died, or did not answer in time."""


class Browser:
    """One headless Chromium process with a fresh temporary profile."""

    def __init__(
        self,
        binary: Path = CHROMIUM,
        *,
        width: int = 1440,
        height: int = 900,
        timeout: float = 20.0,
        extra_flags: Iterable[str] = (),
    ) -> None:
        self.binary = Path(binary)
        self.width, self.height = width, height
        self.timeout = timeout
        self.extra_flags = tuple(extra_flags)
        self.process: subprocess.Popen[bytes] | None = None
        self.events: list[dict[str, Any]] = []
        self._profile: str | None = None
        self._log: Any = None
        self._to_browser = self._from_browser = -1
        self._buffer = b""
        self._next_id = 0

    # -- process ----------------------------------------------------------------------

    def __enter__(self) -> Browser:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        if not self.binary.exists():
            raise BrowserError(f"{self.binary} not found")
        self._profile = tempfile.mkdtemp(prefix="chromium-profile-")
        self._log = open(Path(self._profile) / "chromium-output.log", "wb")  # noqa: SIM115 - closed in close()
        # Two pipes: we write commands into one (Chromium's fd 3), read replies from the other (fd 4).
        # The child ends are moved to fd 10+ first, so remapping them onto 3 and 4 cannot clobber one another.
        cmd_read, self._to_browser = os.pipe()
        self._from_browser, reply_write = os.pipe()
        child_in = fcntl.fcntl(cmd_read, fcntl.F_DUPFD_CLOEXEC, 10)
        child_out = fcntl.fcntl(reply_write, fcntl.F_DUPFD_CLOEXEC, 10)
        for fd in (cmd_read, reply_write):
            os.close(fd)
        args = [
            *FLAGS,
            *self.extra_flags,
            f"--user-data-dir={self._profile}",
            f"--window-size={self.width},{self.height}",
            "about:blank",
        ]
        # A tiny Python trampoline puts the pipe ends on fds 3 and 4 and execs the browser
        # (the Debian /usr/bin/chromium wrapper is a shell script that passes them on to the binary).
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _TRAMPOLINE, str(child_in), str(child_out), str(self.binary), *args],
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                pass_fds=(child_in, child_out),
                start_new_session=True,
            )
        except BaseException:
            self.close()
            raise
        finally:
            os.close(child_in)
            os.close(child_out)
        try:
            self.send("Browser.getVersion", timeout=self.timeout)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Ask Chromium to quit, then end its process group; always frees everything."""
        process, self.process = self.process, None
        if process is not None:
            if not has_exited(process):
                with contextlib.suppress(Exception):
                    self._write({"id": self._new_id(), "method": "Browser.close"})
                _wait_exit(process, 3.0)
            kill_process_group(process, grace=3.0)
        for fd in (self._to_browser, self._from_browser):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._to_browser = self._from_browser = -1
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._profile:
            shutil.rmtree(self._profile, ignore_errors=True)
            self._profile = None

    def _state(self) -> str:
        """'running', or how the browser ended - without reaping it (see `kill_process_group`)."""
        if self.process is None:
            return "not started"
        try:
            info = os.waitid(os.P_PID, self.process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return f"exit code {self.process.returncode}"
        if info is None:
            return "running"
        how = "killed by signal" if info.si_code in (os.CLD_KILLED, os.CLD_DUMPED) else "exit code"
        return f"{how} {info.si_status}"

    def log_tail(self, limit: int = 2000) -> str:
        """The end of Chromium's own output (for error messages)."""
        if self._log is None:
            return ""
        with contextlib.suppress(OSError), open(self._log.name, "rb") as f:
            return f.read()[-limit:].decode("utf-8", "replace")
        return ""

    # -- protocol ---------------------------------------------------------------------

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _write(self, message: dict[str, Any]) -> None:
        data = json.dumps(message).encode() + b"\0"
        try:
            while data:
                data = data[os.write(self._to_browser, data) :]
        except BrokenPipeError:
            raise BrowserError(f"Chromium is gone ({self._state()}):\n{self.log_tail()}") from None

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if not ready:
                raise TimeoutError
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise BrowserError(f"Chromium closed the DevTools pipe ({self._state()}):\n{self.log_tail()}")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        session: str | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Send one command and return its result; events that arrive meanwhile go to `events`."""
        if self.process is None:
            raise BrowserError("the browser is not running")
        message: dict[str, Any] = {"id": self._new_id(), "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self._write(message)
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            try:
                reply = self._read(deadline)
            except TimeoutError:
                raise BrowserError(f"no answer to {method} within {timeout or self.timeout:.0f} s") from None
            if reply.get("id") == message["id"]:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error'].get('message')} {reply['error'].get('data', '')}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def new_page(self) -> Page:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session, target)
        page.setup()
        return page


class Page:
    """One tab. Methods raise `BrowserError` (or `AssertionError` for `wait_for_text`) past their bound."""

    def __init__(self, browser: Browser, session: str, target_id: str) -> None:
        self.browser = browser
        self.session = session
        self.target_id = target_id

    def send(self, method: str, params: dict[str, Any] | None = None, timeout: float | None = None) -> dict[str, Any]:
        return self.browser.send(method, params, self.session, timeout)

    def setup(self) -> None:
        self.send("Page.enable")
        self.send("Runtime.enable")
        self.set_viewport(self.browser.width, self.browser.height)

    def set_viewport(self, width: int, height: int) -> None:
        """The CSS pixel size the page lays out in (a taller one renders more rows of a virtualized table)."""
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {
                "width": width,
                "height": height,
                "deviceScaleFactor": 1,
                "mobile": False,
            },
        )

    def close(self) -> None:
        self.browser.send("Target.closeTarget", {"targetId": self.target_id}, timeout=5)

    def add_init_script(self, source: str) -> None:
        """JavaScript run in every document before the page's own scripts (e.g. to seed localStorage)."""
        self.send("Page.addScriptToEvaluateOnNewDocument", {"source": source})

    def goto(self, url: str, timeout: float = 20.0) -> None:
        """Navigate and wait until the document has loaded (a single-page app may still be rendering)."""
        result = self.send("Page.navigate", {"url": url}, timeout=timeout)
        if result.get("errorText"):
            raise BrowserError(f"could not open {url}: {result['errorText']}")
        self.wait_until("document.readyState === 'complete'", timeout=timeout, what=f"{url} to load")

    def evaluate(self, expression: str, timeout: float | None = None) -> Any:
        result = self.send(
            "Runtime.evaluate",
            {
                "expression": expression,
                "returnByValue": True,
                "awaitPromise": True,
            },
            timeout=timeout,
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise BrowserError(
                f"{expression[:80]}: {details.get('exception', {}).get('description') or details.get('text')}"
            )
        return result.get("result", {}).get("value")

    def url(self) -> str:
        return str(self.evaluate("location.href"))

    def text(self) -> str:
        """What a person can read: the rendered text of the page (`innerText`, so hidden nodes are left out)."""
        return str(self.evaluate("document.body ? document.body.innerText : ''") or "")

    def wait_until(self, expression: str, timeout: float = 20.0, what: str = "", interval: float = 0.25) -> Any:
        """Poll a JavaScript expression until it is truthy; return its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression, timeout=max(1.0, deadline - time.monotonic()))
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(f"timed out after {timeout:.0f} s waiting for {what or expression}")
            time.sleep(interval)

    def wait_for_text(self, *texts: str, timeout: float = 20.0, absent: Iterable[str] = ()) -> str:
        """Wait until every one of `texts` is visible (and none of `absent` is); return the page text.

        Fails with an AssertionError that lists what is missing and shows the page text.
        """
        absent = tuple(absent)
        deadline = time.monotonic() + timeout
        while True:
            text = self.text()
            missing = [t for t in texts if t not in text]
            present = [t for t in absent if t in text]
            if not missing and not present:
                return text
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"after {timeout:.0f} s on {self.url()}: missing {missing}, unexpected {present}; "
                    f"the page reads:\n{text[:3000]}"
                )
            time.sleep(0.25)

    def click_text(
        self, text: str, selector: str = "button, a, [role=button], [role=tab]", timeout: float = 10.0
    ) -> None:
        """Click (with real mouse events) the first visible element matching `selector` whose text is `text`."""
        finder = f"""(() => {{
            const want = {json.dumps(text)};
            const el = [...document.querySelectorAll({json.dumps(selector)})]
                .find(e => e.offsetParent !== null && (e.innerText || '').trim() === want);
            if (!el) return null;
            el.scrollIntoView({{block: 'center', inline: 'center'}});
            const r = el.getBoundingClientRect();
            return {{x: r.left + r.width / 2, y: r.top + r.height / 2}};
        }})()"""
        point = self.wait_until(finder, timeout=timeout, what=f"a clickable {text!r}")
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.send(
                "Input.dispatchMouseEvent",
                {
                    "type": kind,
                    "x": point["x"],
                    "y": point["y"],
                    "button": "left",
                    "clickCount": 0 if kind == "mouseMoved" else 1,
                },
            )

    def screenshot(self, path: Path, full_page: bool = False) -> Path:
        """Save a PNG of the viewport (or of the whole document when `full_page`)."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            size = self.send("Page.getLayoutMetrics")["cssContentSize"]
            params |= {
                "captureBeyondViewport": True,
                "clip": {
                    "x": 0,
                    "y": 0,
                    "width": max(1, int(size["width"])),
                    "height": min(max(1, int(size["height"])), 16000),
                    "scale": 1,
                },
            }
        data = self.send("Page.captureScreenshot", params, timeout=30)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def exceptions(self) -> list[str]:
        """Uncaught JavaScript exceptions this page reported so far."""
        out = []
        for event in self.browser.events:
            if event.get("sessionId") == self.session and event.get("method") == "Runtime.exceptionThrown":
                details = event["params"]["exceptionDetails"]
                out.append(str(details.get("exception", {}).get("description") or details.get("text")))
        return out


def has_exited(process: subprocess.Popen[Any]) -> bool:
    """Whether the process has exited, without reaping it (its pid, the group id, stays taken)."""
    try:
        return os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:  # already reaped
        return True


def _wait_exit(process: subprocess.Popen[Any], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not has_exited(process):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def kill_process_group(process: subprocess.Popen[Any], grace: float = 5.0) -> None:
    """End a subprocess started with `start_new_session=True` and everything it spawned.

    SIGTERM to the group, SIGKILL to whatever is left after `grace` seconds (or at once if
    the leader is gone: its helpers get no grace), then reap the leader. The leader is
    reaped last, so its pid - the group id - cannot be reused by another process meanwhile.
    """
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGTERM)
        _wait_exit(process, grace)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace)
