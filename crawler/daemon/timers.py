"""The daemon's timers: APScheduler 3, one job per enabled feed for as long as the feed is in feeds.yaml.

A job fires at the time crawler.schedule decided (`set` moves it there with `modify_job`), starts the poll as a
task of the daemon's own and returns; until that poll reports, the job waits parked (its trigger never picks a time
of its own), and the poll's end sets it again from the time in its result. APScheduler keeps what it is good at:
one timer for all jobs on the loop, late runs never dropped (misfire_grace_time None), a backlog coalesced into one
run, and the list of jobs with their next run times, which is what /healthz reads to see a poll that is late.

Our own tasks, not APScheduler's coroutine jobs, do the polling: `AsyncIOScheduler.shutdown()` cancels the
coroutine jobs it runs, and a stop must drain polls instead (up to the grace period).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger

# The run time of a job whose poll is under way: never reached, and never counted as late.
PARKED = datetime.max.replace(tzinfo=UTC)


class _UntilRescheduled(BaseTrigger):  # type: ignore[misc]
    """A trigger that never picks the next run itself: the poll a run started sets it (FeedTimers.set)."""

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime:
        return PARKED

    def __str__(self) -> str:
        return "until rescheduled by its poll"


class FeedTimers:
    """One APScheduler job per feed, firing `fire(name)` at the time it was last `set` to."""

    def __init__(self, loop: asyncio.AbstractEventLoop, fire: Callable[[str], Awaitable[None]]) -> None:
        self._fire = fire
        # Runs must never be dropped for being late (the default grace of 1 s does that silently), and a backlog of
        # one feed's runs is one run.
        # Our own job store, to ask it for its earliest run time (it keeps its jobs sorted by it).
        self._jobs = MemoryJobStore()
        self._scheduler = AsyncIOScheduler(
            event_loop=loop,
            jobstores={"default": self._jobs},
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )

    def start(self) -> None:
        """Start the timers (inside the running loop, as AsyncIOScheduler requires)."""
        self._scheduler.start()

    @property
    def running(self) -> bool:
        """Whether the scheduler is running."""
        return bool(self._scheduler.running)

    def set(self, name: str, when: float) -> None:
        """Fire `name` at `when` (seconds since the epoch): its job is created on first use, then only moved."""
        moment = datetime.fromtimestamp(when, UTC)
        if self._scheduler.get_job(name) is None:
            self._scheduler.add_job(
                self._fire, _UntilRescheduled(), args=[name], id=name, name=name, next_run_time=moment
            )
        else:
            self._scheduler.modify_job(name, next_run_time=moment)

    def remove(self, name: str) -> None:
        """Stop firing `name` (a feed removed, disabled or gone)."""
        if self._scheduler.get_job(name) is not None:
            self._scheduler.remove_job(name)

    def oldest_due(self) -> float | None:
        """When the earliest poll waiting to start was due (seconds since the epoch), or None if none waits."""
        # The store's jobs are sorted by run time, parked ones (PARKED, the latest time there is) last: its first is
        # the earliest. Asked every heartbeat, a walk over every job (100,000 feeds) was a few percent of a core.
        earliest: datetime | None = self._jobs.get_next_run_time()
        return None if earliest is None or earliest == PARKED else earliest.timestamp()

    def shutdown(self) -> None:
        """Drop every job and stop; our polls are tasks of our own, so nothing running is cancelled."""
        if self._scheduler.running:
            self._scheduler.remove_all_jobs()
            self._scheduler.shutdown(wait=False)
