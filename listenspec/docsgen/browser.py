"""A headless Chromium driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`:
the browser reads commands on descriptor 3 and writes answers on descriptor 4, each a JSON
message ended by a NUL byte), so a docs check can load a page, measure its layout with
JavaScript and take a screenshot, with nothing beyond the standard library.

Every wait is bounded; the browser, its profile directory and the pipes are released on exit,
also when a check fails or is interrupted.
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
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

#: the switches a headless run needs here: no sandbox (root), no GPU, no network of its own
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio")

INSTALL_HINT = "Chromium is needed for the browser checks: apt-get install chromium (Debian)"


class BrowserError(RuntimeError):
    pass


def find() -> str | None:
    """The Chromium executable, if there is one."""
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        exe = shutil.which(name)
        if exe:
            return exe
    return None


def _above(fd: int, low: int) -> int:
    """The same pipe end on a descriptor numbered `low` or more (the old one is closed)."""
    new = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, low)
    os.close(fd)
    return new


class Browser:
    """One headless browser with one page (a tab), for `with Browser() as b: ...`."""

    def __init__(self, timeout: float = 30.0) -> None:
        exe = find()
        if exe is None:
            raise BrowserError(INSTALL_HINT)
        self.timeout = timeout
        self._profile = tempfile.mkdtemp(prefix="listenspec-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # Above 4, so that putting them on 3 and 4 cannot overwrite one with the other (and
        # close-on-exec: the browser gets them as 3 and 4 only).
        to_browser_r, from_browser_w = (_above(to_browser_r, 10), _above(from_browser_w, 10))
        cmd = [exe, *FLAGS, f"--user-data-dir={self._profile}", "--remote-debugging-pipe",
               "about:blank"]

        def onto_3_and_4() -> None:  # in the child, before exec: where the browser looks
            os.dup2(to_browser_r, 3)
            os.dup2(from_browser_w, 4)

        # close_fds=False: 3 and 4 must survive; every other descriptor of this process is
        # close-on-exec (PEP 446), as are the two copies made above 4
        try:
            self._proc = subprocess.Popen(cmd, preexec_fn=onto_3_and_4, close_fds=False,
                                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL, start_new_session=True)
        except OSError as e:
            for fd in (to_browser_r, from_browser_w, self._to_browser, self._from_browser):
                os.close(fd)
            shutil.rmtree(self._profile, ignore_errors=True)
            raise BrowserError(f"cannot start {exe}: {e}") from None
        finally:
            with contextlib.suppress(OSError):  # the child has its copies (or failed)
                os.close(to_browser_r)
                os.close(from_browser_w)
        self._buf = b""
        self._next = 0
        self._events: list[dict[str, Any]] = []
        self.session = ""
        try:
            target = self.call("Target.createTarget", url="about:blank")["targetId"]
            self.session = self.call("Target.attachToTarget", targetId=target,
                                     flatten=True)["sessionId"]
            self.call("Page.enable")
        except BaseException:
            self.close()
            raise

    # -- the protocol
    def _send(self, method: str, params: dict[str, Any], session: str) -> int:
        self._next += 1
        msg: dict[str, Any] = {"id": self._next, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        data = json.dumps(msg).encode() + b"\0"
        while data:
            data = data[os.write(self._to_browser, data):]
        return self._next

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError("the browser did not answer in time")
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if ready:
                chunk = os.read(self._from_browser, 1 << 20)
                if not chunk:
                    raise BrowserError("the browser closed its pipe (did it crash?)")
                self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        msg: dict[str, Any] = json.loads(raw)
        return msg

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send a command; wait (bounded) for its answer, keeping events that arrive."""
        n = self._send(method, params, self.session)
        deadline = time.monotonic() + self.timeout
        while True:
            msg = self._read(deadline)
            if msg.get("id") == n:
                if "error" in msg:
                    raise BrowserError(f"{method}: {msg['error'].get('message')}")
                result: dict[str, Any] = msg.get("result", {})
                return result
            if "method" in msg:
                self._events.append(msg)

    def wait_event(self, *methods: str) -> dict[str, Any]:
        """The first event of one of these kinds (bounded by the timeout)."""
        deadline = time.monotonic() + self.timeout
        while True:
            for i, ev in enumerate(self._events):
                if ev["method"] in methods:
                    return self._events.pop(i)
            msg = self._read(deadline)
            if "method" in msg:
                self._events.append(msg)

    # -- what a check does
    def open(self, url: str, width: int, height: int) -> None:
        """Load `url` in a window of width × height CSS pixels and wait for it to load."""
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=1, mobile=False)
        done = ("Page.loadEventFired", "Page.navigatedWithinDocument")  # a new #fragment
        self._events = [e for e in self._events if e["method"] not in done]
        self.call("Page.navigate", url=url)
        self.wait_event(*done)

    def evaluate(self, expression: str) -> Any:
        r = self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                      awaitPromise=True)
        if "exceptionDetails" in r:
            raise BrowserError(f"the page's script failed: {r['exceptionDetails']}")
        return r["result"].get("value")

    def screenshot(self, path: Path, *, full_page: bool = False) -> Path:
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            size = self.evaluate("[document.documentElement.scrollWidth,"
                                 " document.documentElement.scrollHeight]")
            params.update(captureBeyondViewport=True,
                          clip={"x": 0, "y": 0, "width": size[0], "height": min(size[1], 12000),
                                "scale": 1})
        data = self.call("Page.captureScreenshot", **params)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    # -- releasing it
    def close(self) -> None:
        try:
            if self._proc.poll() is None:
                try:
                    self._send("Browser.close", {}, "")
                    self._proc.wait(timeout=5)
                except (OSError, subprocess.TimeoutExpired):
                    pass
        finally:
            if self._proc.poll() is None:
                os.killpg(self._proc.pid, signal.SIGKILL)
                self._proc.wait(timeout=5)
            for fd in (self._to_browser, self._from_browser):
                with contextlib.suppress(OSError):  # closed already (a second close())
                    os.close(fd)
            shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
