"""/healthz: what it answers (`HealthReport`), when the daemon counts as unhealthy (`unhealthy_reason`, pure), and
the server that answers it with /metrics, in a thread of its own so that it answers even when the loop is stuck."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from crawler.daemon.metrics import Metrics
from crawler.daemon.options import DaemonError, DaemonOptions


@dataclass(frozen=True)
class HealthReport:
    """What /healthz answers."""

    healthy: bool
    reason: str
    last_success: float | None
    feeds: int
    polls_in_flight: int
    stopping: bool = False  # draining after SIGTERM/SIGINT: unhealthy (no new polls), but not stuck
    articles_left: int = 0  # articles listed by the polls under way and not yet done
    node: str | None = None  # several nodes on PostgreSQL: this node's id ("host pid token")
    leases: int = 0  # ... and how many feeds it holds a lease on now

    def to_json(self) -> str:
        """The report as /healthz's JSON body."""
        moment = datetime.fromtimestamp(self.last_success, UTC).isoformat() if self.last_success else None
        status = "ok" if self.healthy else "stopping" if self.stopping else "stuck"
        return json.dumps(
            {
                "status": status,
                "reason": self.reason,
                "last_success": moment,
                "feeds": self.feeds,
                "polls_in_flight": self.polls_in_flight,
                "articles_left": self.articles_left,
                **({"node": self.node, "feed_leases": self.leases} if self.node else {}),
            }
        )


def unhealthy_reason(
    *,
    stopping: bool,
    scheduler_running: bool,
    stalled: float,
    late: float | None,
    options: DaemonOptions,
    store_error: str | None = None,
) -> str | None:
    """Why /healthz answers 503, or None when the daemon is doing its work. `stalled` is how long the event loop
    has not run the heartbeat; `late` how long ago the earliest poll still waiting to start was due (None: none);
    `store_error` why the state database failed the last poll that used it (None: it did not)."""
    if stopping:
        return "stopping"
    if not scheduler_running:
        return "the scheduler is not running"
    if stalled > options.stall_after:
        return f"the event loop has been blocked for {stalled:.0f}s"
    if store_error is not None:
        return f"the state database is failing: {store_error}"
    if late is not None and late > options.late_after:
        return f"a poll due {late:.0f}s ago has not started"
    return None


class HealthServer:
    """/healthz and /metrics over HTTP, in a thread of its own so it answers even when the loop is stuck."""

    def __init__(self, address: tuple[str, int], report: Callable[[], HealthReport], metrics: Metrics) -> None:
        try:
            self._httpd = ThreadingHTTPServer(address, _health_handler(report, metrics))
        except OSError as exc:
            raise DaemonError(f"--health {address[0]}:{address[1]}: cannot listen: {exc.strerror or exc}") from None
        self._httpd.daemon_threads = True
        self.address = self._httpd.server_address
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="health", daemon=True)

    def start(self) -> None:
        """Start answering."""
        self._thread.start()

    def close(self) -> None:
        """Stop answering and close the socket."""
        self._httpd.shutdown()
        self._httpd.server_close()


def _health_handler(report: Callable[[], HealthReport], metrics: Metrics) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass  # probes every few seconds would fill the log

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/healthz":
                health = report()
                self._send(200 if health.healthy else 503, "application/json", health.to_json().encode())
            elif path == "/metrics":
                self._send(200, CONTENT_TYPE_LATEST, generate_latest(metrics.registry))
            else:
                self._send(404, "text/plain; charset=utf-8", b"not found: try /healthz or /metrics\n")

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler
