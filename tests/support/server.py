"""A real HTTP server on 127.0.0.1 for the tests, serving canned answers and injecting faults.

    server.add("/feed.xml", body=b"...", content_type="application/rss+xml")
    server.add("/a", Answer(status=503, headers={"Retry-After": "1"}), Answer(body=b"ok"))  # answered in turn
    server.url("/feed.xml") -> "http://127.0.0.1:PORT/feed.xml"
    server.requests("/a") -> the requests seen for /a, with their headers and times

Faults (Answer.fault): "reset" (close the connection without an answer), "stall" (accept and say nothing for
`delay` seconds), "truncate" (promise more bytes than sent), "drip" (send the body slowly, `delay` seconds in all),
"endless" (a body that never ends), "gzip" (send `body` gzip-compressed).
"""

from __future__ import annotations

import gzip
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Answer:
    """One canned answer."""

    body: bytes = b""
    status: int = 200
    content_type: str | None = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    fault: str | None = None


@dataclass(frozen=True)
class Seen:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    started: float
    finished: float
    host: str


class _Route:
    def __init__(self, answers: tuple[Answer, ...]) -> None:
        self._answers = list(answers)
        self._lock = threading.Lock()

    def next(self) -> Answer:
        with self._lock:
            # The last answer repeats forever; earlier ones are used once each, in turn.
            return self._answers.pop(0) if len(self._answers) > 1 else self._answers[0]


class TestServer:
    """A threaded HTTP/1.1 server on 127.0.0.1 (or another loopback address) in a background thread."""

    __test__ = False  # not a pytest test class

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._routes: dict[str, _Route] = {}
        self._seen: list[Seen] = []
        self._lock = threading.Lock()
        self.active = 0
        self.max_active = 0
        self._dynamic: dict[str, Callable[[Seen], Answer]] = {}
        self._httpd = ThreadingHTTPServer((host, 0), self._handler_class())
        self._httpd.daemon_threads = True
        self.host = host
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    @property
    def base(self) -> str:
        """`http://HOST:PORT`."""
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        """The absolute URL of `path` on this server."""
        return self.base + path

    def add(
        self,
        path: str,
        *answers: Answer,
        body: bytes | str | None = None,
        status: int = 200,
        content_type: str | None = "text/html; charset=utf-8",
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
        fault: str | None = None,
    ) -> None:
        """Serve `answers` at `path` in turn (the last repeats), or one answer built from the keywords."""
        if not answers:
            data = body.encode("utf-8") if isinstance(body, str) else (body or b"")
            answers = (
                Answer(
                    body=data,
                    status=status,
                    content_type=content_type,
                    headers=headers or {},
                    delay=delay,
                    fault=fault,
                ),
            )
        self._routes[path] = _Route(answers)

    def add_dynamic(self, path: str, answer: Callable[[Seen], Answer]) -> None:
        """Serve whatever `answer` returns for each request to `path`."""
        self._dynamic[path] = answer

    def requests(self, path: str | None = None) -> list[Seen]:
        """Requests seen so far (for `path` only, when given), in arrival order."""
        with self._lock:
            return [seen for seen in self._seen if path is None or seen.path == path]

    def close(self) -> None:
        """Stop serving and close the socket."""
        self._httpd.shutdown()
        self._httpd.server_close()

    def _record(self, seen: Seen) -> None:
        with self._lock:
            self._seen.append(seen)

    def _enter(self) -> None:
        with self._lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)

    def _leave(self) -> None:
        with self._lock:
            self.active -= 1

    def _answer_for(self, seen: Seen) -> Answer:
        path = seen.path
        if path in self._dynamic:
            return self._dynamic[path](seen)
        route = self._routes.get(path) or self._routes.get(path.split("?", 1)[0])
        if route is None:
            return Answer(body=b"not found", status=404, content_type="text/plain")
        return route.next()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                started = time.monotonic()
                server._enter()
                try:
                    seen = Seen(
                        "GET",
                        self.path,
                        {k.lower(): v for k, v in self.headers.items()},
                        started,
                        0.0,
                        self.headers.get("Host", ""),
                    )
                    answer = server._answer_for(seen)
                    self._serve(answer)
                finally:
                    server._leave()
                    server._record(Seen(seen.method, seen.path, seen.headers, started, time.monotonic(), seen.host))

            def _serve(self, answer: Answer) -> None:
                if answer.fault == "reset":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    self.close_connection = True
                    self.connection.close()
                    return
                if answer.fault == "stall":
                    time.sleep(answer.delay)
                    self.close_connection = True
                    return
                if answer.delay and answer.fault != "drip":
                    time.sleep(answer.delay)
                body = gzip.compress(answer.body) if answer.fault == "gzip" else answer.body
                self.send_response(answer.status)
                if answer.content_type:
                    self.send_header("Content-Type", answer.content_type)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                if answer.fault == "gzip":
                    self.send_header("Content-Encoding", "gzip")
                if answer.fault == "endless":
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    chunk = b"x" * 65536
                    try:
                        while True:
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    except OSError:
                        self.close_connection = True
                    return
                length = len(body) * 2 if answer.fault == "truncate" else len(body)
                self.send_header("Content-Length", str(length))
                self.end_headers()
                try:
                    if answer.fault == "drip" and body:
                        step = max(1, len(body) // 20)
                        for start in range(0, len(body), step):
                            self.wfile.write(body[start : start + step])
                            self.wfile.flush()
                            time.sleep(answer.delay / 20)
                    else:
                        self.wfile.write(body)
                except OSError:
                    pass
                if answer.fault == "truncate":
                    self.close_connection = True

        return Handler
