"""Headless Chromium for the tests, driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`: JSON
messages ended by NUL on file descriptors 3 and 4), so no websocket client or browser library is needed.

    with Browser(tmp_path / "profile") as browser:
        page = browser.new_page(width=1280, height=900)
        page.goto("http://127.0.0.1:PORT/")          # returns once the load event fired
        page.evaluate("document.title")              # -> the value, by JSON
        page.screenshot(path)

`CHROMIUM` names the binary (default: chromium, then chromium-browser, on PATH); `find_chromium()` is None where
there is none, for the tests' skip.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import queue
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

DEADLINE = 60.0  # seconds any one answer or event may take: generous, for a loaded machine with two cores


def find_chromium() -> str | None:
    """The Chromium binary to run, or None."""
    named = os.environ.get("CHROMIUM")
    if named:
        return shutil.which(named) or (named if Path(named).exists() else None)
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _high(pipe: tuple[int, int]) -> tuple[int, int]:
    """The pipe's ends moved to descriptors above 10 (close-on-exec), so that dup2 onto 3 and 4 in the child never
    finds one already there (dup2 of a descriptor onto itself would keep it close-on-exec)."""
    moved = tuple(fcntl.fcntl(end, fcntl.F_DUPFD_CLOEXEC, 10) for end in pipe)
    for end in pipe:
        os.close(end)
    return moved[0], moved[1]


class BrowserError(AssertionError):
    """The browser answered a command with an error, or not in time."""


class Browser:
    """One headless Chromium process with a profile of its own."""

    def __init__(self, profile: Path, binary: str | None = None) -> None:
        binary = binary or find_chromium()
        if binary is None:
            raise BrowserError("no chromium on PATH")
        profile.mkdir(parents=True, exist_ok=True)
        commands_read, self._commands = _high(os.pipe())
        self._answers, answers_write = _high(os.pipe())

        def on_3_and_4() -> None:  # in the child, before exec: the protocol's two descriptors
            os.dup2(commands_read, 3)
            os.dup2(answers_write, 4)

        self.log_path = profile / "chromium.log"
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [
                    binary,
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                    "--no-default-browser-check",
                    "--remote-debugging-pipe",
                    f"--user-data-dir={profile}",
                    "about:blank",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                close_fds=False,  # the dup2'd 3 and 4 must survive; our other pipe ends are close-on-exec
                preexec_fn=on_3_and_4,
            )
        os.close(commands_read)
        os.close(answers_write)
        self._next_id = 0
        self._lock = threading.Lock()
        self._waiting: dict[int, queue.Queue[dict[str, Any]]] = {}
        self._events: list[dict[str, Any]] = []  # every event so far, in order (waits look from a mark on)
        self._arrived = threading.Condition()
        self._reader = threading.Thread(target=self._read, name="devtools", daemon=True)
        self._reader.start()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """End the browser."""
        with contextlib.suppress(Exception):
            self.call("Browser.close", timeout=10)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        with contextlib.suppress(OSError):
            os.close(self._commands)

    def _read(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = os.read(self._answers, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                return
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                message = json.loads(raw)
                if "id" in message:
                    with self._lock:
                        waiter = self._waiting.pop(int(message["id"]), None)
                    if waiter is not None:
                        waiter.put(message)
                else:
                    with self._arrived:
                        self._events.append(message)
                        self._arrived.notify_all()

    def call(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None, timeout: float = DEADLINE
    ) -> dict[str, Any]:
        """Send one command and return its result; BrowserError on an error or no answer in `timeout`."""
        answer: queue.Queue[dict[str, Any]] = queue.Queue()
        with self._lock:
            self._next_id += 1
            ident = self._next_id
            self._waiting[ident] = answer
        message: dict[str, Any] = {"id": ident, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        try:
            reply = answer.get(timeout=timeout)
        except queue.Empty:
            raise BrowserError(f"{method}: no answer in {timeout:g}s; log: {self._log()}") from None
        if "error" in reply:
            raise BrowserError(f"{method}: {reply['error']}")
        result: dict[str, Any] = reply.get("result", {})
        return result

    def mark(self) -> int:
        """Where the events are now: `wait_event(..., after=mark)` sees only those that come later."""
        with self._arrived:
            return len(self._events)

    def wait_event(self, method: str, session: str | None, after: int = 0, timeout: float = DEADLINE) -> dict[str, Any]:
        """The first event `method` of `session` from mark `after` on; BrowserError when none comes in `timeout`."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                for event in self._events[after:]:
                    if event.get("method") == method and event.get("sessionId") == session:
                        params: dict[str, Any] = event.get("params", {})
                        return params
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._arrived.wait(left)
        raise BrowserError(f"no {method} in {timeout:g}s; log: {self._log()}")

    def _log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def new_page(self, width: int = 1280, height: int = 900) -> Page:
        """A new tab of the given size."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, str(session))
        page.call("Page.enable")
        page.call("Runtime.enable")
        # Frames of another origin (a sandboxed srcdoc is one) may run in a process of their own: attach to them.
        page.call("Target.setAutoAttach", {"autoAttach": True, "waitForDebuggerOnStart": False, "flatten": True})
        page.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
        return page


class Page:
    """One tab."""

    def __init__(self, browser: Browser, session: str) -> None:
        self.browser = browser
        self.session = session
        self.loaded_at = 0

    def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """A command in this tab's session."""
        return self.browser.call(method, params, self.session)

    def goto(self, url: str) -> None:
        """Load `url`; return once its load event fired."""
        self.loaded_at = self.browser.mark()
        result = self.call("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise BrowserError(f"{url}: {result['errorText']}")
        self.browser.wait_event("Page.loadEventFired", self.session, after=self.loaded_at)

    def evaluate(self, expression: str, context: int | None = None) -> Any:
        """The value of a JavaScript expression in the page (or in execution context `context`)."""
        params: dict[str, Any] = {"expression": expression, "returnByValue": True, "awaitPromise": True}
        if context is not None:
            params["contextId"] = context
        result = self.call("Runtime.evaluate", params)
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def frame(self) -> Frame:
        """The page's first child frame: in the page's own renderer when it shares it, else its own target (a
        sandboxed frame may get a process of its own, which the page's auto-attach reported)."""
        tree = self.call("Page.getFrameTree")["frameTree"]
        if tree.get("childFrames"):
            child = tree["childFrames"][0]["frame"]["id"]
            world = self.call("Page.createIsolatedWorld", {"frameId": child, "worldName": "test"})
            return Frame(self, int(world["executionContextId"]))
        attached = self.browser.wait_event("Target.attachedToTarget", self.session, after=self.loaded_at)
        target = Page(self.browser, str(attached["sessionId"]))
        with contextlib.suppress(BrowserError):
            target.call("Runtime.runIfWaitingForDebugger")
        return Frame(target, None)

    def evaluate_in_frame(self, expression: str) -> Any:
        """The value of an expression in the page's first child frame."""
        return self.frame().evaluate(expression)

    def screenshot(self, path: Path, *, full_page: bool = False) -> None:
        """Write a PNG of the page."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            params["captureBeyondViewport"] = True
        data = self.call("Page.captureScreenshot", params)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))


@dataclass(frozen=True)
class Frame:
    """A child frame: a page session (its own target's, or its parent's with an isolated world's context)."""

    page: Page
    context: int | None

    def evaluate(self, expression: str) -> Any:
        """The value of an expression in the frame."""
        return self.page.evaluate(expression, self.context)
