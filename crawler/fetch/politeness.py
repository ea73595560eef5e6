"""Per-host politeness: each target host's concurrency cap, the minimum delay between its request starts (the
configured one, or the robots.txt Crawl-delay when longer), a pause a server asked for (Retry-After), and a global cap
over all hosts together. Shared by every way of reaching a host (direct or through any proxy): the site is the one
to be polite to. The state outlives a change of settings (`reconfigure`): caps resize with the requests in flight
still counted, and a host's next start time is kept, so a reload of feeds.yaml never lets a burst through.

    Politeness(config, clock, sleep)
      .pace(host) -> HostPace            created on first use
      .within(pace, send) -> send()      once the host's cap, its delay and the global cap all allow it
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from crawler.config.settings import PolitenessConfig

T = TypeVar("T")


class Cap:
    """At most `limit` holders at once, first come first served; unlike asyncio.Semaphore, the limit can change while
    it is held: holders already in keep their place, and waiters go in only while fewer than the new limit hold it."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.active = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        """How many are queued for a place."""
        return sum(not waiter.done() for waiter in self._waiters)

    async def acquire(self) -> None:
        """Wait for a place and take it."""
        if self.active < self.limit and not self._waiters:
            self.active += 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # given a place just as it was cancelled: hand it on
            else:
                with contextlib.suppress(ValueError):  # already dropped by `_wake`, which skips cancelled waiters
                    self._waiters.remove(waiter)
            raise

    def release(self) -> None:
        """Give a place back, to the longest waiter if the limit allows."""
        self.active -= 1
        self._wake()

    def resize(self, limit: int) -> None:
        """Change the limit; a larger one lets waiters in at once, a smaller one waits for holders to leave."""
        self.limit = limit
        self._wake()

    def _wake(self) -> None:
        # A place is handed to a waiter as it is woken (counted now), so a newcomer cannot take it in between.
        while self._waiters and self.active < self.limit:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self.active += 1
                waiter.set_result(None)


class HostTurns(Protocol):
    """Several crawler nodes sharing the politeness promise to each host (crawler.store.base.Nodes does this through
    the database): one node at a time sends to a host, and the host's delay carries over from node to node."""

    async def host_turn(self, host: str, next_start: float, now: float) -> float:
        """Hold `host` for this node (waiting while another holds it); return when its next request may start."""
        ...

    async def host_idle(self, host: str, wait: float) -> None:
        """No request to `host` is in flight here: hand it back; its next request may start in `wait` seconds."""
        ...


@dataclass
class HostPace:
    """One target host's politeness: its concurrency cap, its delays and the time its next request may start."""

    limit: Cap
    configured_delay: float  # politeness.delay, or the host's override
    robots: bool  # whether article pages on this host wait for its robots.txt
    crawl_delay: float = 0.0  # what the host's robots.txt asks for (already capped by the caller)
    delay: float = 0.0  # the one in force: the longer of the two
    next_start: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    host: str = ""

    def __post_init__(self) -> None:
        self.delay = max(self.configured_delay, self.crawl_delay)

    def slow_to(self, crawl_delay: float) -> None:
        """Honour a robots.txt Crawl-delay (the longer of it and the configured delay applies)."""
        self.crawl_delay = crawl_delay
        self.delay = max(self.configured_delay, crawl_delay)

    def hold_back(self, until: float) -> None:
        """Start no request to this host before `until` (the server asked for a pause: Retry-After)."""
        self.next_start = max(self.next_start, until)


@dataclass(frozen=True)
class HostLoad:
    """A host's requests right now: sent and not yet answered in full, and queued for a place under its cap."""

    active: int
    waiting: int


class Politeness:
    """Every host's pace and the global cap: which request may start, and when."""

    def __init__(
        self,
        config: PolitenessConfig,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]],
    ) -> None:
        self._config = config
        # What the hosts' delays are kept by, injected so that a test can drive them instead of timing a busy machine.
        self._clock = clock
        self._sleep = sleep
        self._paces: dict[str, HostPace] = {}
        self._global = Cap(config.max_connections)
        self._shared: HostTurns | None = None

    def share(self, turns: HostTurns) -> None:
        """From now on, send to a host only while this node holds it among several (`turns`): the cap and delay are
        the site's, whichever node sends."""
        self._shared = turns

    def pace(self, host: str) -> HostPace:
        """The host's politeness state, created on first use and shared by all its ways of being reached."""
        pace = self._paces.get(host)
        if pace is None:
            concurrency, delay, robots = self._config.for_host(host)
            pace = HostPace(limit=Cap(concurrency), configured_delay=delay, robots=robots, host=host)
            self._paces[host] = pace
        return pace

    def load(self, host: str) -> HostLoad:
        """How many requests to `host` are in flight and how many wait for their turn."""
        pace = self._paces.get(host)
        return HostLoad(0, 0) if pace is None else HostLoad(pace.limit.active, pace.limit.waiting)

    def now(self) -> float:
        """The time the delays are kept in."""
        return self._clock()

    def reconfigure(self, config: PolitenessConfig) -> None:
        """Apply new settings to every later turn; requests in flight stay counted and next start times stay."""
        self._config = config
        self._global.resize(config.max_connections)
        for host, pace in self._paces.items():
            concurrency, delay, robots = config.for_host(host)
            pace.limit.resize(concurrency)
            pace.configured_delay = delay
            pace.slow_to(pace.crawl_delay)
            pace.robots = robots

    async def within(self, pace: HostPace, send: Callable[[], Awaitable[T]]) -> T:
        """`send()`, once the host's cap, its delay and the global cap all allow it."""
        await pace.limit.acquire()
        try:
            async with pace.lock:
                if self._shared is not None:
                    pace.next_start = await self._shared.host_turn(pace.host, pace.next_start, self._clock())
                now = self._clock()
                if pace.next_start > now:
                    await self._sleep(pace.next_start - now)
                # The host's turn is taken only with a global permit in hand, so waiting for one can never make this
                # request start closer than the delay to the next one; and no permit is held while sleeping.
                await self._global.acquire()
                pace.next_start = self._clock() + pace.delay
            try:
                return await send()
            finally:
                self._global.release()
        finally:
            pace.limit.release()
            if self._shared is not None and not pace.limit.active and not pace.limit.waiting:
                # Nothing of ours in flight or queued for the host: another node may have it now.
                await self._shared.host_idle(pace.host, pace.next_start - self._clock())
