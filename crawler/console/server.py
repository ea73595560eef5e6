"""The console's HTTP server: /healthz and /metrics (when a daemon gives them) and the console's pages, served by
threads of their own and an event loop of their own (with the console's own read-only store), so that neither a
slow page nor a stuck daemon loop holds the other up.

Safe by default: read-only (GET and HEAD only); every page under a Content-Security-Policy that allows no script;
on a loopback address only requests naming a loopback host are answered (a DNS-rebound name is refused); anywhere
else a token is required (`access_problem` refuses to start without one). The token comes as `Authorization:
Bearer TOKEN`, or once as `?token=TOKEN`, which sets a cookie and redirects to the page without it. /healthz needs
no token, so that a liveness probe needs no secret.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import threading
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from crawler.console.app import Console, Response, html
from crawler.console.pages import message_page
from crawler.daemon.health import HealthReport
from crawler.daemon.metrics import Metrics
from crawler.errors import CrawlerError
from crawler.store.base import Store

log = logging.getLogger("crawler.console")

PAGE_TIMEOUT = 30.0  # seconds a page may take before the request is answered 503
COOKIE = "crawler_console"
TOKEN_ENV = "CRAWLER_CONSOLE_TOKEN"
_POLICY = (
    "default-src 'none'; script-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
# An article page: its body's images may load (from their sites), its frame is the page's own srcdoc; still no
# script, no form, no plugin. A srcdoc frame inherits this policy, on top of its sandbox.
_ARTICLE_POLICY = (
    "default-src 'none'; script-src 'none'; style-src 'self'; img-src 'self' data: http: https:; "
    "frame-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
)


class ConsoleError(CrawlerError):
    """The console cannot start (its address is taken, it would listen beyond this machine without a token)."""


@dataclass(frozen=True)
class Health:
    """What the daemon gives the server to answer /healthz and /metrics."""

    report: Callable[[], HealthReport]
    metrics: Metrics


def is_loopback(host: str) -> bool:
    """Whether `host` (an address or `localhost`) is this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def access_problem(host: str, token: str | None, flag: str = "--http") -> str | None:
    """Why the console may not listen on `host` as asked (beyond this machine with no token), or None."""
    if token is not None and not token.strip():
        return f"{flag}: the console token is empty"
    if is_loopback(host) or token:
        return None
    return (
        f"{flag} {host}: the console would answer beyond this machine, so it needs a token: set {TOKEN_ENV} or "
        "give --token-file FILE (or listen on 127.0.0.1)"
    )


def authorized(headers: Mapping[str, str], query_token: str | None, token: str | None) -> bool:
    """Whether a request carries the token (always, when there is none to carry)."""
    if token is None:
        return True
    offered: list[str] = []
    bearer = headers.get("authorization", "")
    if bearer.lower().startswith("bearer "):
        offered.append(bearer[7:].strip())
    cookie = SimpleCookie()
    try:
        cookie.load(headers.get("cookie", ""))
    except Exception:  # a malformed Cookie header is no token
        cookie = SimpleCookie()
    if COOKIE in cookie:
        offered.append(cookie[COOKIE].value)
    if query_token:
        offered.append(query_token)
    return any(hmac.compare_digest(one.encode(), token.encode()) for one in offered)


def host_allowed(host_header: str, bound_loopback: bool) -> bool:
    """On a loopback address, only requests to a loopback name: a page elsewhere that rebinds its own name to
    127.0.0.1 must not read the console."""
    if not bound_loopback:
        return True
    host = urlsplit(f"//{host_header}").hostname or ""
    return is_loopback(host)


class Pages(Protocol):
    """What answers the console's pages: `ConsoleLoop` in this process, or `PageProcess` in a child process."""

    def answer(self, path: str, query: Mapping[str, str]) -> Response:
        """The answer to one GET of a console page."""
        ...

    def close(self) -> None:
        """Stop answering, close the store."""
        ...


class ConsoleLoop:
    """A thread running an event loop of its own, holding the console's store."""

    def __init__(self, open_store: Callable[[], Awaitable[Store]], make: Callable[[Store], Console]) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="console-loop", daemon=True)
        self._thread.start()
        try:
            self._store = asyncio.run_coroutine_threadsafe(_call(open_store), self._loop).result(PAGE_TIMEOUT)
        except BaseException:
            self._stop()
            raise
        self.console = make(self._store)

    def answer(self, path: str, query: Mapping[str, str]) -> Response:
        """The console's answer to one GET, computed on the console's loop."""
        future = asyncio.run_coroutine_threadsafe(self.console.handle(path, query), self._loop)
        try:
            return future.result(PAGE_TIMEOUT)
        except FutureTimeout:
            future.cancel()
            return html(503, message_page("Too slow", f"The page took more than {PAGE_TIMEOUT:g}s; try again."))

    def close(self) -> None:
        """Close the store and stop the loop."""
        try:
            asyncio.run_coroutine_threadsafe(self._store.close(), self._loop).result(PAGE_TIMEOUT)
        finally:
            self._stop()

    def _stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(PAGE_TIMEOUT)
        self._loop.close()


async def _call(open_store: Callable[[], Awaitable[Store]]) -> Store:
    return await open_store()


class ConsoleServer:
    """The pages (and /healthz, /metrics) over HTTP, in threads of their own."""

    def __init__(
        self,
        address: tuple[str, int],
        pages: Pages | None,
        *,
        token: str | None,
        health: Health | None = None,
        flag: str = "--http",
    ) -> None:
        problem = access_problem(address[0], token, flag)
        if problem is not None:
            raise ConsoleError(problem)
        handler = _handler(pages, token, health, is_loopback(address[0]))
        try:
            self._httpd = ThreadingHTTPServer(address, handler)
        except OSError as exc:
            raise ConsoleError(f"{flag} {address[0]}:{address[1]}: cannot listen: {exc.strerror or exc}") from None
        self._httpd.daemon_threads = True
        self.address: tuple[str, int] = (address[0], int(self._httpd.server_address[1]))
        self._pages = pages
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="console", daemon=True)

    def start(self) -> None:
        """Start answering."""
        self._thread.start()

    def serve_forever(self) -> None:
        """Answer in this thread until interrupted (`crawler serve`)."""
        self._httpd.serve_forever()

    def close(self) -> None:
        """Stop answering, close the socket and the console's store."""
        if self._thread.is_alive():
            self._httpd.shutdown()
        self._httpd.server_close()
        if self._pages is not None:
            self._pages.close()


def _handler(
    pages: Pages | None, token: str | None, health: Health | None, loopback: bool
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "crawler-console"

        def log_message(self, format: str, *args: object) -> None:
            pass  # probes every few seconds would fill the log

        def do_HEAD(self) -> None:
            self._answer(head=True)

        def do_GET(self) -> None:
            self._answer(head=False)

        def do_POST(self) -> None:
            self._send(Response(405, "text/plain; charset=utf-8", b"read-only: GET only\n"), head=False)

        do_PUT = do_DELETE = do_PATCH = do_POST

        def _answer(self, *, head: bool) -> None:
            parts = urlsplit(self.path)
            query = dict(parse_qsl(parts.query))
            headers = {key.lower(): value for key, value in self.headers.items()}
            if not host_allowed(headers.get("host", ""), loopback):
                self._send(Response(421, "text/plain; charset=utf-8", b"unknown host name\n"), head=head)
                return
            if parts.path == "/healthz" and health is not None:
                report = health.report()
                body = report.to_json().encode()
                self._send(Response(200 if report.healthy else 503, "application/json", body), head=head)
                return
            query_token = query.pop("token", None)
            if not authorized(headers, query_token, token):
                self._send(Response(401, "text/plain; charset=utf-8", b"a token is needed\n"), head=head)
                return
            if query_token is not None:  # remembered in a cookie; the address bar loses it
                rest = f"{parts.path}?{urlencode(query)}" if query else parts.path
                self.send_response(303)
                self.send_header("Location", rest)
                self.send_header("Set-Cookie", f"{COOKIE}={query_token}; HttpOnly; SameSite=Strict; Path=/")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if parts.path == "/metrics" and health is not None:
                self._send(Response(200, CONTENT_TYPE_LATEST, generate_latest(health.metrics.registry)), head=head)
            elif pages is None:
                self._send(Response(404, "text/plain; charset=utf-8", b"not found: try /healthz or /metrics\n"), head)
            else:
                try:
                    response = pages.answer(parts.path, query)
                except Exception:
                    log.exception("console page failed", extra={"url": self.path})
                    response = html(500, message_page("Error", "This page failed; the log says why."))
                self._send(response, head=head)

        def _send(self, response: Response, head: bool) -> None:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            self.send_header("Content-Security-Policy", _ARTICLE_POLICY if response.article else _POLICY)
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Referrer-Policy", "no-referrer")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            if not head:
                self.wfile.write(response.body)

    return Handler
