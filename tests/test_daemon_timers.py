"""daemon/timers.py: one APScheduler job per feed for the daemon's life, moved (never re-added) to each decided time,
parked while its poll runs, and the source of /healthz's "a poll due ... has not started"."""

from __future__ import annotations

import asyncio
import time

import pytest

from crawler.daemon.timers import FeedTimers


def test_one_job_per_feed_fires_parks_and_is_moved_to_the_next_decided_time() -> None:
    async def scenario() -> None:
        fired: asyncio.Queue[str] = asyncio.Queue()

        async def fire(name: str) -> None:
            fired.put_nowait(name)

        timers = FeedTimers(asyncio.get_running_loop(), fire)
        timers.start()
        try:
            timers.set("news", time.time())
            assert await asyncio.wait_for(fired.get(), 30) == "news"
            job = timers._scheduler.get_job("news")
            assert job is not None  # the same job outlives its run, parked until its poll reports
            assert timers.oldest_due() is None  # a parked job is not waiting to start
            later = time.time() + 3600
            timers.set("news", later)
            assert [moved.id for moved in timers._scheduler.get_jobs()] == ["news"]
            assert timers.oldest_due() == pytest.approx(later, abs=1e-3)  # datetimes keep microseconds
            timers.set("news", time.time())
            assert await asyncio.wait_for(fired.get(), 30) == "news"  # fired again: moved, not re-added
            timers.remove("news")
            assert timers._scheduler.get_jobs() == []
        finally:
            timers.shutdown()

    asyncio.run(scenario())
