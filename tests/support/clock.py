"""A clock for the Fetcher's politeness that moves only when the Fetcher sleeps, so that the delays between requests
are read off it exactly, however loaded the machine running the tests.

    clock = StepClock(lambda: len(server.requests()))
    fetcher = Fetcher(http, politeness, clock=clock.now, sleep=clock.sleep)
    ... clock.at(seen) -> the clock's time when the server saw that request

A sleep moves the clock on only once the requests that took their turn before it have reached the server (each
request after the first waits for its turn once, unless the test says how many go without waiting): a request is
thus stamped with the clock's time at its turn, not with whenever a busy machine got it onto the wire.
"""

from __future__ import annotations

import asyncio
import bisect
import time
from collections.abc import Callable

from tests.support.server import Seen

START = 1000.0  # well past a host's first `next_start` (0.0): the first request waits for nothing
ARRIVAL_DEADLINE = 60.0  # seconds a sleep waits for the requests before it to arrive, at most (then moves on)


class StepClock:
    """Fake monotonic time for `Fetcher(clock=..., sleep=...)`, driven by the Fetcher's own sleeps."""

    def __init__(self, arrivals: Callable[[], int], *, unpaced: int = 0) -> None:
        """`arrivals`: how many requests the server has seen. `unpaced`: how many requests after the first take
        their turn without sleeping (their host's delay was zero then)."""
        self._arrivals = arrivals
        self._unpaced = unpaced
        self._time = START
        self._sleeps = 0
        self._moves: list[tuple[float, float]] = [(0.0, START)]  # (real time of the move, the clock's time after it)

    def now(self) -> float:
        """The clock's time."""
        return self._time

    async def sleep(self, seconds: float) -> None:
        """Move the clock on by `seconds`, once every request that took its turn before this one has arrived."""
        self._sleeps += 1
        deadline = time.monotonic() + ARRIVAL_DEADLINE
        while self._arrivals() < self._sleeps + self._unpaced and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        self._time += max(seconds, 0.0)
        self._moves.append((time.monotonic(), self._time))

    def at(self, seen: Seen) -> float:
        """The clock's time when the server saw `seen` (the moves are ordered by the real time they were made)."""
        index = bisect.bisect_right([real for real, _ in self._moves], seen.started) - 1
        return self._moves[index][1]


class ManualClock:
    """Fake monotonic time that moves only when a test says so: `clock.now` for a `clock=` parameter."""

    def __init__(self, start: float = START) -> None:
        self._time = start

    def now(self) -> float:
        """The clock's time."""
        return self._time

    def advance(self, seconds: float) -> None:
        """Move the clock on by `seconds`."""
        self._time += seconds
