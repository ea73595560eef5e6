"""A real HTTP server on 127.0.0.1 for the tests, serving canned answers and injecting faults.

    server.add("/feed.xml", body=b"...", content_type="application/rss+xml")
    server.add("/a", Answer(status=503, headers={"Retry-After": "1"}), Answer(body=b"ok"))  # answered in turn
    server.url("/feed.xml") -> "http://127.0.0.1:PORT/feed.xml"
    server.requests("/a") -> the requests seen for /a, with their headers and times

Several hosts: `server.also_on("127.0.0.2")` listens on another loopback address too (same routes, same records),
so per-host limits can be seen: `server.url("/a", host="127.0.0.2")`, `server.requests("/a", host="127.0.0.2")`,
`server.max_active_on("127.0.0.2")`. `max_active` counts every address together.

Proxy: a request in absolute form (`GET http://93.184.216.34/feed.xml`) is answered by its path, as a forward proxy
that serves every site itself would; `Seen.target` keeps the absolute URL. No request ever leaves this machine.

Faults (Answer.fault), modelled on Scrapy's mock server:
- "reset": close the connection at once with a TCP RST, no answer;
- "stall": accept and say nothing for `delay` seconds, then close;
- "truncate" (or "drop"): promise twice the bytes sent, then close mid-body;
- "drip": send the body slowly, `delay` seconds in all;
- "chunked": send the body with chunked transfer encoding (no Content-Length, so only streaming can limit it);
- "unframed": send the body with neither Content-Length nor chunked encoding: it ends when the connection closes;
- "endless": a chunked body that never ends;
- "badchunk": a chunked body with a malformed chunk size;
- "gzip": send `body` gzip-compressed. For a gzip bomb, send `gzip_bomb(size)` as the body with a
  `Content-Encoding: gzip` header (compressed once, not on every request).
"""

from __future__ import annotations

import gzip
import socket
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


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
    finished: float  # 0.0 while the answer is still being sent
    host: str
    address: str = "127.0.0.1"  # the loopback address the request arrived on
    target: str = ""  # the request target as sent: a path, or an absolute URL when we are used as a proxy
    raw_headers: tuple[tuple[str, str], ...] = ()  # every header line as sent, repeats included


def gzip_bomb(size: int) -> bytes:
    """`size` zero bytes, gzip-compressed (about a thousandth of `size`), built without holding `size` bytes."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1 << 20)
    parts: list[bytes] = []
    for _ in range(size // len(block)):
        parts.append(compressor.compress(block))
    parts.append(compressor.compress(bytes(size % len(block))))
    parts.append(compressor.flush())
    return b"".join(parts)


class _Quiet(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        # Clients hanging up mid-answer is what the fault tests are about; no traceback for it on stderr.
        pass


class _Route:
    def __init__(self, answers: tuple[Answer, ...]) -> None:
        self._answers = list(answers)
        self._lock = threading.Lock()

    def next(self) -> Answer:
        with self._lock:
            # The last answer repeats forever; earlier ones are used once each, in turn.
            return self._answers.pop(0) if len(self._answers) > 1 else self._answers[0]


class TestServer:
    """A threaded HTTP/1.1 server on 127.0.0.1 (and, on request, other loopback addresses) in background threads."""

    __test__ = False  # not a pytest test class

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._routes: dict[str, _Route] = {}
        self._seen: list[Seen] = []
        self._lock = threading.Lock()
        self.active = 0
        self.max_active = 0
        self._active_on: dict[str, int] = {}
        self._max_active_on: dict[str, int] = {}
        self._dynamic: dict[str, Callable[[Seen], Answer]] = {}
        self._listeners: dict[str, _Quiet] = {}
        self.host = host
        self.port = self._listen(host)

    def also_on(self, host: str) -> str:
        """Listen on another loopback address as well (same routes, same records); return its base URL."""
        if host not in self._listeners:
            self._listen(host)
        return self.base_on(host)

    @property
    def base(self) -> str:
        """`http://HOST:PORT`."""
        return f"http://{self.host}:{self.port}"

    def base_on(self, host: str) -> str:
        """`http://HOST:PORT` of the listener on `host`."""
        return f"http://{host}:{self._listeners[host].server_address[1]}"

    def url(self, path: str, host: str | None = None) -> str:
        """The absolute URL of `path` on this server (on the listener at `host`, when given)."""
        return (self.base if host is None else self.base_on(host)) + path

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

    def requests(self, path: str | None = None, host: str | None = None) -> list[Seen]:
        """Requests seen so far (for `path` and on the listener at `host`, when given), in arrival order."""
        with self._lock:
            return [
                seen
                for seen in sorted(self._seen, key=lambda s: s.started)
                if (path is None or seen.path == path) and (host is None or seen.address == host)
            ]

    def max_active_on(self, host: str) -> int:
        """The most requests that were being answered at once on the listener at `host`."""
        with self._lock:
            return self._max_active_on.get(host, 0)

    def close(self) -> None:
        """Stop serving and close the sockets."""
        for httpd in self._listeners.values():
            httpd.shutdown()
            httpd.server_close()

    def _listen(self, host: str) -> int:
        httpd = _Quiet((host, 0), self._handler_class(host))
        self._listeners[host] = httpd
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        return int(httpd.server_address[1])

    def _record(self, seen: Seen) -> int:
        with self._lock:
            self._seen.append(seen)
            return len(self._seen) - 1

    def _finish(self, index: int) -> None:
        with self._lock:
            self._seen[index] = replace(self._seen[index], finished=time.monotonic())

    def _enter(self, address: str) -> None:
        with self._lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            self._active_on[address] = self._active_on.get(address, 0) + 1
            self._max_active_on[address] = max(self._max_active_on.get(address, 0), self._active_on[address])

    def _leave(self, address: str) -> None:
        with self._lock:
            self.active -= 1
            self._active_on[address] -= 1

    def _answer_for(self, seen: Seen) -> Answer:
        path = seen.path
        if path in self._dynamic:
            return self._dynamic[path](seen)
        route = self._routes.get(path) or self._routes.get(path.split("?", 1)[0])
        if route is None:
            return Answer(body=b"not found", status=404, content_type="text/plain")
        return route.next()

    def _handler_class(self, address: str) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                started = time.monotonic()
                server._enter(address)
                self._counted = True
                target = self.path
                path = target
                if target.startswith(("http://", "https://")):
                    parts = urlsplit(target)
                    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
                seen = Seen(
                    "GET",
                    path,
                    {k.lower(): v for k, v in self.headers.items()},
                    started,
                    0.0,
                    self.headers.get("Host", ""),
                    address,
                    target,
                    tuple(self.headers.items()),
                )
                # Recorded on arrival (a stalled request is seen at once); `finished` is filled in when it ends.
                index = server._record(seen)
                try:
                    answer = server._answer_for(seen)
                    self._serve(answer)
                finally:
                    self._stop_counting()
                    server._finish(index)

            def _stop_counting(self) -> None:
                # A request stops counting as active just before its last bytes go out: once the client has them it
                # may rightly send its next request, possibly before this thread is scheduled again to say it is done.
                if self._counted:
                    self._counted = False
                    server._leave(address)

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
                if answer.fault in ("endless", "chunked", "badchunk"):
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    self._send_chunked(answer, body)
                    return
                length = len(body) * 2 if answer.fault in ("truncate", "drop") else len(body)
                if answer.fault == "unframed":
                    self.send_header("Connection", "close")
                else:
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
                        self._stop_counting()
                        self.wfile.write(body)
                except OSError:
                    pass
                if answer.fault in ("truncate", "drop", "unframed"):
                    self.close_connection = True

            def _send_chunked(self, answer: Answer, body: bytes) -> None:
                try:
                    if answer.fault == "endless":
                        chunk = b"x" * 65536
                        while True:
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    elif answer.fault == "badchunk":
                        self.wfile.write(b"5\r\nhello\r\nzz-not-a-size\r\n")
                        self.wfile.flush()
                        self.close_connection = True
                    else:
                        step = 65536
                        for start in range(0, len(body), step):
                            piece = body[start : start + step]
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                        self.wfile.write(b"0\r\n\r\n")
                except OSError:
                    self.close_connection = True

        return Handler
