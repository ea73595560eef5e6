"""Where a job of the CPU stage runs: the burst policy, pure decisions judged by an injected clock.

A trickle of jobs (a daemon's few new articles a minute) runs on one thread of the crawler's own process; a burst
(WARM_AFTER jobs run or announced within BURST_WINDOW seconds: a first crawl, a feed with many new items) is worth
starting worker processes for, and they stop again after IDLE_CLOSE seconds without a job. The policy only counts
and compares; the executor (crawler.workers.pool) asks it and does what it says. Nothing here reads the real clock
unless it is the clock given, so a test drives every decision with a fake one.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Literal

# Jobs (run or announced) within BURST_WINDOW that make a burst worth the processes' start (the fork server's imports,
# about 0.3 s of CPU once, and some 45 MB for each process). Measured with bench/throughput.py when each worker was
# spawned (0.4 s of CPU each): its 96-article crawl ran at 74-78 articles/s with them and 107-109 without; its
# 1,600-article crawl took 5.3-5.7 s with them and 6.1-6.5 s without (interleaved runs). With the fork server, 40
# made no measurable difference to the large crawl.
WARM_AFTER = 200
BURST_WINDOW = 10.0  # seconds
IDLE_CLOSE = 120.0  # seconds without a job after which the processes stop (the daemon between polls)
MAX_AUTO = 4  # worker processes `auto` starts at most


def process_count(setting: int | Literal["auto"], cpus: int | None = None) -> int:
    """Worker processes for a `workers:` setting: `auto` is one per CPU (of `cpus`, else this process's) up to
    MAX_AUTO, and none on a single CPU, where a process would only add its start-up and copying to the same core."""
    if setting != "auto":
        return setting
    if cpus is None:
        cpus = _usable_cpus()
    # As many as CPUs, not one fewer: the event loop is mostly waiting on the network, and measured on two CPUs,
    # two workers beat one (4.8 s against 5.6 s for the bench's first crawl, medians of four interleaved runs; three
    # gave 5.2 s). Never more than MAX_AUTO: past that the one event loop is the limit, and each worker holds 45 MB.
    return min(cpus, MAX_AUTO) if cpus > 1 else 0


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class PoolState(Enum):
    """What the executor's worker processes are doing, as the policy needs to know it."""

    NONE = "none"  # none running: a burst starts them
    STARTING = "starting"  # started, not yet able to take jobs
    READY = "ready"  # able to take jobs
    UNAVAILABLE = "unavailable"  # none configured, or they cannot start here: every job runs on the thread


class Place(Enum):
    """Where one job runs."""

    THREAD = "thread"
    PROCESSES = "processes"


@dataclass(frozen=True)
class Arrival:
    """The policy's answer to a job arriving: whether it belongs to a burst, and whether to start the processes."""

    burst: bool
    start: bool


@dataclass(frozen=True)
class Burst:
    """What makes a burst: `warm_after` jobs within `window` seconds; the processes stop after `idle_close`."""

    warm_after: int = WARM_AFTER
    window: float = BURST_WINDOW
    idle_close: float = IDLE_CLOSE


class BurstPolicy:
    """Counts the jobs of the last window and the jobs running in the processes, by the clock it is given."""

    def __init__(self, burst: Burst = Burst(), clock: Callable[[], float] = time.monotonic) -> None:
        self.burst = burst
        self._clock = clock
        self._recent: deque[tuple[float, int]] = deque()  # (when, how many) jobs were run or announced lately
        self._recent_jobs = 0
        self._announced = 0  # jobs announced and not yet arrived (they were counted when announced)
        self._running = 0  # jobs sent to the processes and not yet back
        self._last_back = clock()  # when the last of them came back

    def announce(self, jobs: int, pool: PoolState) -> bool:
        """`jobs` are coming soon (a feed's new items); whether to start the processes before the first arrives."""
        self._announced += jobs
        return self._count(jobs) and pool is PoolState.NONE

    def arrive(self, pool: PoolState) -> Arrival:
        """A job has arrived: whether it is part of a burst, and whether to start the processes for it."""
        self._trim()
        if self._announced > 0 and self._recent:
            self._announced -= 1  # announced, and counted then
            burst = self._recent_jobs >= self.burst.warm_after
        else:
            self._announced = 0  # announced more than a window ago, if at all: count it now
            burst = self._count(1)
        return Arrival(burst=burst, start=burst and pool is PoolState.NONE)

    @staticmethod
    def place(arrival: Arrival, pool: PoolState) -> Place:
        """Where a job runs: in the processes when it is part of a burst and they can take it, else on the thread.
        While the processes start, a burst's jobs run on the thread rather than wait for them (asked again, as a
        job waiting for the thread may find them ready)."""
        return Place.PROCESSES if arrival.burst and pool is PoolState.READY else Place.THREAD

    def sent(self) -> None:
        """A job went to the processes."""
        self._running += 1

    def back(self) -> None:
        """A job sent to the processes came back (done, failed or cancelled)."""
        self._running -= 1
        self._last_back = self._clock()

    def idle_left(self) -> float | None:
        """Seconds until idle processes should stop (0: now); None while a job is out in them."""
        if self._running > 0:
            return None
        return max(0.0, self._last_back + self.burst.idle_close - self._clock())

    def _count(self, jobs: int) -> bool:
        """Count `jobs` more; whether the last window has seen a burst."""
        self._recent.append((self._clock(), jobs))
        self._recent_jobs += jobs
        self._trim()
        return self._recent_jobs >= self.burst.warm_after

    def _trim(self) -> None:
        horizon = self._clock() - self.burst.window
        while self._recent and self._recent[0][0] < horizon:
            self._recent_jobs -= self._recent.popleft()[1]
