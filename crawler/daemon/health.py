"""/healthz: what it answers (`HealthReport`) and when the daemon counts as unhealthy (`unhealthy_reason`, pure). The
server that answers it, with /metrics and the web console, is crawler/console/server.py, in threads of its own so
that it answers even when the loop is stuck."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from crawler.daemon.options import DaemonOptions


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
