"""How `crawler run` was asked to run (`DaemonOptions`), the health thresholds' bounds, and `DaemonError`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from crawler.errors import CrawlerError

HEARTBEAT_EVERY = 1.0
LOOP_STALL = 15.0  # the event loop has not run our heartbeat for this long: something blocks it
STUCK_AFTER = 300.0  # a poll due this long ago that has not started: the scheduler is not firing
# The heartbeat refreshes what /healthz reads once every HEARTBEAT_EVERY, so a healthy loop can look that stale at
# any moment: a threshold must leave a beat to spare, or /healthz would flap on a daemon doing its work.
MIN_HEALTH_THRESHOLD = 2 * HEARTBEAT_EVERY


class DaemonError(CrawlerError):
    """The daemon cannot start (the health address is taken, ...); the message says why."""


@dataclass(frozen=True)
class DaemonOptions:
    """How `crawler run` was asked to run."""

    config_path: Path
    grace: float = 30.0
    health: tuple[str, int] | None = None  # --http (or --health): the console, /healthz and /metrics listen here
    token: str | None = None  # what a request to the console must carry (required off loopback)
    stall_after: float = LOOP_STALL  # /healthz is 503 once the event loop has not run for this long
    late_after: float = STUCK_AFTER  # ... or once a due poll has not started for this long after its time

    def __post_init__(self) -> None:
        for flag, seconds in (("--stall-after", self.stall_after), ("--late-after", self.late_after)):
            if seconds < MIN_HEALTH_THRESHOLD:
                raise DaemonError(
                    f"{flag} {seconds:g}s is too short: the health heartbeat runs every {HEARTBEAT_EVERY:g}s, "
                    f"so use {MIN_HEALTH_THRESHOLD:g}s or more"
                )
