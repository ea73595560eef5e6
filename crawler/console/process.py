"""The console's pages built in a process of their own, for `crawler run --http`: a page of 10,000 feeds is a few
tenths of a second of Python work, and in the daemon's process that work would share the interpreter lock with the
polling loop (pauses of a tenth of a second and more, measured in bench/console.py). In a child process it shares
nothing: the daemon's side only passes a request down a socket and the page's bytes back.

The child is a fresh interpreter (`python -c`; not a fork, unsafe in a process that runs threads, and not
multiprocessing's spawn, which re-runs the parent's main script). It opens its own read-only store and answers one
page at a time. It ignores SIGINT and SIGTERM (a Ctrl-C or a service manager signals the whole group): it leaves
when the daemon closes its end of the socket, or dies. The config in force goes down the socket when it changes (a
reload), not with every page. Log records the child makes on a page come back with it and are logged here, in the
daemon's format. A child that dies or runs past the page timeout is replaced, and that request answered 503.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
import traceback
from collections.abc import Awaitable, Callable, Mapping
from multiprocessing.connection import Connection
from typing import Any

from crawler.config.settings import Config
from crawler.console.app import Console, Response, html
from crawler.console.pages import message_page
from crawler.errors import CrawlerError
from crawler.store.base import Store

log = logging.getLogger("crawler.console")

Opener = Callable[[Config], Awaitable[Store]]  # must pickle: a module's function (or a partial of one)
_STOP_WAIT = 5.0  # seconds a closing child has to close its store before it is killed


class PageError(CrawlerError):
    """A page failed in the console's process (the message is its traceback there)."""


class PageProcess:
    """The console's pages, answered by a child process; `answer` and `close` as `ConsoleLoop` has them."""

    def __init__(self, opener: Opener, config: Callable[[], Config], timeout: float) -> None:
        self._opener = opener
        self._config = config
        self._timeout = timeout
        self._lock = threading.Lock()  # one page at a time down the one pipe
        self._process: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None
        self._sent: Config | None = None
        with self._lock:
            self._start()  # at once, so that its imports are done before the first page is asked for

    def answer(self, path: str, query: Mapping[str, str]) -> Response:
        """The console's answer to one GET, built in the child."""
        if not self._lock.acquire(timeout=self._timeout):
            return _too_slow(self._timeout)
        try:
            return self._ask(path, dict(query))
        finally:
            self._lock.release()

    @property
    def pid(self) -> int | None:
        """The child's process id (None between a child's end and its replacement)."""
        return self._process.pid if self._process is not None else None

    def close(self) -> None:
        """Stop the child (it closes its store first)."""
        with self._lock:
            self._stop()

    def _ask(self, path: str, query: dict[str, str]) -> Response:
        if self._conn is None or self._process is None or self._process.poll() is not None:
            self._stop()
            self._start()
        assert self._conn is not None
        config = self._config()
        try:
            self._conn.send((path, query, None if config is self._sent else config))
            self._sent = config
            if not self._conn.poll(self._timeout):
                log.warning("console page too slow: its process is replaced", extra={"url": path})
                self._stop(kill=True)
                return _too_slow(self._timeout)
            reply: tuple[str, Any, list[logging.LogRecord]] = self._conn.recv()
        except (OSError, EOFError):
            log.warning("the console's process stopped: it is replaced", extra={"url": path})
            self._stop()
            return html(503, message_page("Try again", "The console's process stopped; it is being restarted."))
        kind, value, records = reply
        for record in records:
            logging.getLogger(record.name).handle(record)
        if kind == "error":
            raise PageError(str(value))
        assert isinstance(value, Response)
        return value

    def _start(self) -> None:
        ours, theirs = socket.socketpair()
        self._sent = self._config()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(path for path in sys.path if path)}
        code = f"from crawler.console.process import child_main; child_main({theirs.fileno()})"
        process = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.DEVNULL, pass_fds=[theirs.fileno()], env=env
        )
        theirs.close()
        conn = Connection(ours.detach())
        self._process, self._conn = process, conn
        try:
            conn.send((self._opener, self._sent))
        except OSError:  # it died at once: the next page finds it so, says why (its stderr is ours) and retries
            log.warning("the console's process stopped as it started")

    def _stop(self, *, kill: bool = False) -> None:
        if self._conn is not None:
            self._conn.close()  # the child reads the end of its pipe and leaves
        if self._process is not None:
            if kill:  # it is busy with a page: it would not read the end of the pipe before that page is done
                self._process.kill()
            try:
                self._process.wait(_STOP_WAIT)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process, self._conn = None, None


def _too_slow(timeout: float) -> Response:
    return html(503, message_page("Too slow", f"The page took more than {timeout:g}s; try again."))


class _Kept(logging.Handler):
    """The log records of one page, to send back with it."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args, record.exc_info = record.getMessage(), None, None  # so that it pickles
        self.records.append(record)


def child_main(fd: int) -> None:
    """The child process: its socket is `fd`; the opener and the config come first on it."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    conn = Connection(fd)
    try:
        opener, config = conn.recv()
    except (EOFError, OSError, pickle.UnpicklingError):
        return
    serve_pages(conn, opener, config)


def serve_pages(conn: Connection, opener: Opener, config: Config) -> None:
    """Open the store, then answer each (path, query, config or None) until the socket closes."""
    kept = _Kept()
    root = logging.getLogger()
    root.handlers[:] = [kept]
    root.setLevel(logging.INFO)
    current = [config]
    loop = asyncio.new_event_loop()
    store: Store | None = None
    problem: str | None = None
    try:
        store = loop.run_until_complete(opener(config))
    except Exception as exc:  # whatever it is, the pages say it (a crashed child would only be restarted)
        problem = str(exc) or type(exc).__name__
    console = Console(store, lambda: current[0]) if store is not None else None
    try:
        while True:
            try:
                path, query, update = conn.recv()
            except (EOFError, OSError):
                break
            if update is not None:
                current[0] = update
            try:
                conn.send((*_page(loop, console, problem, path, query), kept.records))
            except OSError:  # the daemon is gone
                break
            kept.records = []
    finally:
        if store is not None:
            loop.run_until_complete(store.close())
        loop.close()


def _page(
    loop: asyncio.AbstractEventLoop, console: Console | None, problem: str | None, path: str, query: dict[str, str]
) -> tuple[str, object]:
    if console is None:
        return "ok", html(503, message_page("The state database is failing", problem or "it cannot be opened"))
    # A page of 10,000 feeds makes some hundred thousand short-lived objects, and the collector would walk the
    # config's long-lived ones again and again meanwhile (a tenth of the page's time); it runs after the page.
    gc.disable()
    try:
        return "ok", loop.run_until_complete(console.handle(path, query))
    except Exception:
        return "error", traceback.format_exc()
    finally:
        gc.enable()
