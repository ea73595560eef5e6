"""`crawler run`: the Daemon. One asyncio loop runs everything: a timer per feed (daemon/timers.py) starts each poll
as a task of our own; the poll's result says when the feed is due again (crawler/schedule.py decided it, and the
state database keeps it, so a restart continues where it left off); feeds.yaml is watched and reloaded
(daemon/reload.py); /healthz and /metrics answer from a thread (daemon/health.py, daemon/metrics.py). SIGTERM or
SIGINT stops new polls and drains those running (up to `--grace`) before anything closes.

What a poll uses (the store, the ONE fetcher, the worker pool, the ONE pipeline with its in-flight deduplication)
belongs to the Runner (crawler/runner.py), which the daemon holds for its whole life: a reload reconfigures it, so
polls of old and new settings share one politeness state and one deduplication state.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import random
import signal
import time
from collections import OrderedDict
from datetime import UTC, datetime

from crawler.config.settings import Config, FeedConfig, HttpConfig, PolitenessConfig
from crawler.console.server import ConsoleServer, Health
from crawler.daemon.health import HealthReport, unhealthy_reason
from crawler.daemon.leases import Answer, NodeLeases, Turn
from crawler.daemon.metrics import Metrics, ObservedFetcher
from crawler.daemon.options import HEARTBEAT_EVERY, DaemonError, DaemonOptions
from crawler.daemon.reload import ConfigWatcher, feed_changes
from crawler.daemon.timers import FeedTimers
from crawler.fetch import Fetcher
from crawler.pipeline.results import FeedResult, PollOutcome
from crawler.runner import Runner, console_server, open_runner, refresh_slots
from crawler.schedule import Timing, due_after_crash, timer_time
from crawler.store import describe_state
from crawler.store.base import FeedState, LeaseLost, StoreError

log = logging.getLogger("crawler")

DEFER_MARGIN = 5.0  # seconds before the grace period ends when articles not yet started are left for the next run
STORE_RETRY = 60.0  # seconds before a feed whose state could not be read is tried again, at most
EXIT_SIGNALLED = 128  # + the signal's number, when a second signal ends the process at once
EXIT_STORE_LOST = 1  # the state database was deleted or replaced under the running daemon

__all__ = ["Daemon", "DaemonError", "DaemonOptions"]


class Daemon:
    """Polls every enabled feed at its interval until told to stop."""

    def __init__(self, config: Config, options: DaemonOptions, rng: random.Random | None = None) -> None:
        self._options = options
        self._config = config  # the config applied last; what each feed's next poll is decided with
        self._rng = rng or random.Random()
        self.metrics = Metrics()
        self._runner: Runner | None = None
        self._leases: NodeLeases | None = None  # several nodes on PostgreSQL: polls only with the feed's lease
        self._timers: FeedTimers | None = None
        self._watcher = ConfigWatcher(options.config_path, self.metrics, self._apply)
        self._store_error: str | None = None  # why the state database failed the last poll, until one succeeds
        self._running: dict[str, asyncio.Task[None]] = {}
        # Feeds due while every poll slot is taken (refresh_slots, as `crawler fetch`), oldest first, with when each
        # fell due: a name and a time each rather than a task each waiting on the politeness caps, whose memory grew
        # with the feeds due at once (100,000 at start). An OrderedDict: taken from the front in O(1).
        self._queued: OrderedDict[str, float] = OrderedDict()
        self._stop = asyncio.Event()
        # Set when the grace period is nearly over (or at once when the state database is lost): from then on the
        # pipeline leaves articles not yet started pending. Until then a stop still archives what polls found.
        self._hard_stop = asyncio.Event()
        self._stopping = False
        self._heartbeat = time.monotonic()
        self._oldest_due: float | None = None
        self._last_success: float | None = None
        self._exit_code = 0

    # -- running -------------------------------------------------------------------------------------------------

    async def run(self) -> int:
        """Run until SIGTERM/SIGINT, then drain running polls (up to the grace period); return the exit code."""
        loop = asyncio.get_running_loop()
        config = self._config
        health: ConsoleServer | None = None
        async with open_runner(config, stopping=self._hard_stop, fetcher=self._observed_fetcher) as runner:
            self._runner = runner
            nodes = runner.store.coordination()
            if nodes is not None:
                self._leases = NodeLeases(nodes, runner.store, self.metrics, self._rng)
                await self._leases.start()
            if self._options.health is not None:
                # Built once the runner has made the state database: the console reads it over a connection of its own.
                # Its pages are built in a process of their own: their Python work would otherwise share the
                # interpreter lock with this loop and delay polls (bench/console.py measures it).
                health = await asyncio.to_thread(
                    functools.partial(
                        console_server,
                        lambda: self._config,
                        self._options.health,
                        self._options.token,
                        Health(self.health, self.metrics),
                        own_process=True,
                    )
                )
            await self._watcher.remember_current()
            states = await runner.store.all_feed_states()
            self._last_success = max((s.last_success or 0.0 for s in states), default=0.0) or None
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, self._on_stop_signal, signum)
            loop.add_signal_handler(signal.SIGHUP, self._watcher.request)
            self._timers = FeedTimers(loop, self._fire)
            self._timers.start()
            stored = {state.name: state for state in states}  # read once, not once a feed (100,000 at start)
            for feed in config.feeds:
                if feed.enabled:
                    self._schedule_stored(feed, stored.get(feed.name) or FeedState(name=feed.name))
            self.metrics.feeds.set(sum(feed.enabled for feed in config.feeds))
            helpers = [
                asyncio.create_task(self._beat()),
                asyncio.create_task(self._watcher.watch(lambda: self._stopping)),
            ]
            if health is not None:
                health.start()
            log.info(
                "started",
                extra={
                    "config": str(self._options.config_path),
                    "feeds": sum(feed.enabled for feed in config.feeds),
                    "health": f"{self._options.health[0]}:{health.address[1]}"
                    if health and self._options.health
                    else None,
                },
            )
            try:
                await self._stop.wait()
                await self._drain()
            finally:
                for helper in helpers:
                    helper.cancel()
                await asyncio.gather(*helpers, return_exceptions=True)
                self._timers.shutdown()
                if self._leases is not None:
                    await self._leases.stop()
                if health is not None:
                    await asyncio.to_thread(health.close)
                for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                    loop.remove_signal_handler(signum)
        log.info("stopped", extra={"exit_code": self._exit_code})
        return self._exit_code

    def _observed_fetcher(self, http: HttpConfig, politeness: PolitenessConfig) -> Fetcher:
        return ObservedFetcher(http, politeness, self.metrics)

    def _on_stop_signal(self, signum: int) -> None:
        name = signal.Signals(signum).name
        if self._stopping:
            log.warning("second signal: exiting at once", extra={"signal": name})
            # Files are written atomically and entries stay pending until recorded: nothing half-done survives.
            os._exit(EXIT_SIGNALLED + signum)
        self._stopping = True
        log.info("stopping: no new polls", extra={"signal": name, "grace": self._options.grace})
        self._stop.set()

    async def _drain(self) -> None:
        assert self._timers is not None
        # Only our own tasks do work; the scheduler's coroutine jobs have all returned, so shutdown cancels nothing.
        self._timers.shutdown()
        self._queued.clear()  # not started: their state still says they are due, and the next run polls them
        tasks = list(self._running.values())
        if not tasks:
            return
        log.info(
            "waiting for running polls",
            extra={"polls": len(tasks), "articles_left": self._articles_left(), "grace": self._options.grace},
        )
        margin = min(self._options.grace / 4, DEFER_MARGIN)
        _done, late = await asyncio.wait(tasks, timeout=self._options.grace - margin)
        if late:
            # What is under way may still finish; what has not started would not, and stays pending.
            log.warning(
                "grace period nearly over: articles not yet started stay pending for the next run",
                extra={"articles_left": self._articles_left(), "seconds_left": margin},
            )
            self._hard_stop.set()
            _done, late = await asyncio.wait(late, timeout=margin)
        if late:
            log.warning(
                "grace period over: cancelling polls; their articles stay pending for the next run",
                extra={"feeds": sorted(task.get_name() for task in late)},
            )
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    # -- scheduling ----------------------------------------------------------------------------------------------

    async def _schedule_from_state(self, feed: FeedConfig, *, changed: bool = False) -> None:
        """Set the feed's timer from its stored state (at start, and for a feed a reload added or changed)."""
        assert self._runner is not None
        try:
            state = await self._runner.store.feed_state(feed.name)
        except StoreError as exc:
            # Without its state the next time is unknown: try again soon rather than never (a lost schedule would
            # leave the feed unpolled until a restart).
            self._store_failed(feed.name, exc)
            self._set_timer(feed, time.time() + min(feed.interval, STORE_RETRY))
            return
        self._schedule_stored(feed, state, changed=changed)

    def _schedule_stored(self, feed: FeedConfig, state: FeedState, *, changed: bool = False) -> None:
        """Set the feed's timer from `state`, its stored state."""
        if self._leases is not None:
            self._leases.saw(feed.name, state.last_poll)
        timing = Timing.of(state)
        self._set_timer(feed, timer_time(feed, timing, self._config, time.time(), self._rng, changed=changed))

    def _schedule_after_poll(self, polled: FeedConfig, result: FeedResult | None) -> None:
        """Set the feed's timer from what its poll decided; a feed whose settings changed while it was polled gets
        them as a reload would have given them."""
        feed = self._config.feed(polled.name)
        if feed is None or not feed.enabled or self._stopping:
            return
        now = time.time()
        if self._leases is not None and result is not None and result.timing is not None:
            self._leases.saw(feed.name, result.timing.last_poll)
        if result is None or result.timing is None:
            # A poll that recorded no next time: wait a whole interval rather than retrying at once, in a loop.
            self._set_timer(feed, due_after_crash(feed, now))
            return
        self._set_timer(feed, timer_time(feed, result.timing, self._config, now, self._rng, changed=feed != polled))

    def _set_timer(self, feed: FeedConfig, when: float | None) -> None:
        assert self._timers is not None
        if self._stopping:
            return
        if when is None:
            log.warning(
                "feed gone (HTTP 410): not polled again; remove it from feeds.yaml",
                extra={"feed": feed.name, "url": feed.url},
            )
            self._timers.remove(feed.name)
            return
        self._timers.set(feed.name, when)

    def _store_failed(self, name: str, exc: StoreError) -> None:
        # Shown on /healthz until a poll goes through again: polls failing on a locked or broken database would
        # otherwise look healthy whenever SQLite's wait is shorter than the stall threshold.
        self._store_error = str(exc)
        log.error("state database failing", extra={"feed": name, "error": str(exc)})

    async def _fire(self, name: str) -> None:
        """The timer's job: start the poll as a task of ours (or queue it while every slot is taken) and return."""
        if self._stopping or name in self._running or name in self._queued:
            return  # a running (or queued) poll sets the next timer itself when it ends
        if len(self._running) >= refresh_slots(self._config):
            self._queued[name] = time.time()
            return
        self._start(name)

    def _start(self, name: str) -> None:
        task = asyncio.create_task(self._poll(name), name=name)
        self._running[name] = task
        task.add_done_callback(lambda done: self._ended(name, done))

    def _ended(self, name: str, task: asyncio.Task[None]) -> None:
        """A poll's task is over: its slot goes to the feed queued longest."""
        self._forget(name, task)
        slots = refresh_slots(self._config)
        while self._queued and len(self._running) < slots and not self._stopping:
            queued, _due = self._queued.popitem(last=False)
            if queued not in self._running:
                self._start(queued)

    def _forget(self, name: str, task: asyncio.Task[None] | None) -> None:
        if task is not None and self._running.get(name) is task:
            del self._running[name]

    async def _poll(self, name: str) -> None:
        runner = self._runner
        feed = self._config.feed(name)
        if runner is None or feed is None or not feed.enabled:
            return
        lost = await runner.store.replaced()
        if lost is not None:
            self._stop_on_lost_store(lost)
            return
        stored: FeedState | None = None  # with leases: the state read when the lease was granted, not read again
        if self._leases is not None:
            stored = await self._take_turn(feed)
            if stored is None:
                return
        self.metrics.in_flight.inc()
        started = time.monotonic()
        result: FeedResult | None = None
        try:
            result = await runner.pipeline.refresh(feed, stored)
        except LeaseLost as exc:
            self.metrics.leases_lost.inc()
            log.warning("lease lost mid-poll; the poll stops here", extra={"feed": name, "error": str(exc)})
        except StoreError as exc:
            self._store_failed(name, exc)
        except Exception:  # one poll's bug must not end the daemon; it is logged with its traceback
            log.exception("poll crashed", extra={"feed": name, "url": feed.url})
        finally:
            self.metrics.in_flight.dec()
            if self._leases is not None:
                await self._leases.done(name)
        elapsed = time.monotonic() - started
        if result is not None:
            self._store_error = None  # the database served a whole poll again
            if result.outcome is not PollOutcome.FAILED and result.timing and result.timing.last_poll:
                self._last_success = max(self._last_success or 0.0, result.timing.last_poll)
                self.metrics.last_success.set(self._last_success)
            self._log_poll(feed, result, elapsed)
        else:
            self.metrics.poll_failed(name)
        try:
            if self._config.feed(name) is not None and self._pending_may_change(name, result):
                self.metrics.set_pending(name, (await runner.store.counts(name)).pending)
        except StoreError as exc:
            self._store_failed(name, exc)
        # Done before scheduling, so that a next run due at once is not mistaken for this one still running.
        self._forget(name, asyncio.current_task())
        self._schedule_after_poll(feed, result)

    async def _take_turn(self, feed: FeedConfig) -> FeedState | None:
        """With several nodes: the feed's stored state when this node holds the feed's lease and the feed is due;
        if not, None, and its timer is set (when the other node's lease ends, or from the state another node's poll
        left)."""
        assert self._leases is not None
        try:
            answer = await self._leases.take(feed.name)
        except StoreError as exc:
            self._store_failed(feed.name, exc)
            answer = Answer(Turn.HELD, retry=min(feed.interval, STORE_RETRY))
        if answer.turn is Turn.POLL:
            assert answer.state is not None  # take() grants a turn with the state it read
            return answer.state
        self._forget(feed.name, asyncio.current_task())
        now = time.time()
        if answer.turn is Turn.HELD or answer.state is None:
            self._set_timer(feed, now + answer.retry)
        else:
            self._set_timer(feed, timer_time(feed, Timing.of(answer.state), self._config, now, self._rng))
        return None

    def _pending_may_change(self, name: str, result: FeedResult | None) -> bool:
        """Whether the poll may have changed the feed's count of pending entries. An unchanged poll of a feed with
        none pending (nearly every poll) leaves it at 0: asking the store after each was a round trip a poll."""
        if result is None or self.metrics.pending(name) != 0 or result.outcome is not PollOutcome.NOT_MODIFIED:
            return True
        return bool(result.new or result.failed or result.deferred or result.skipped or result.fallback)

    def _stop_on_lost_store(self, why: str) -> None:
        # Writing on would go into a file no one will read again, and the next start would find no memory of what
        # was archived and fetch every listed page again. Rebuilding in place would mean swapping the database under
        # polls in flight, and guessing what the operator meant (a restored backup? a mistake?): stop and say so.
        if self._stopping:
            return
        self._exit_code = EXIT_STORE_LOST
        self._stopping = True
        self._hard_stop.set()  # nothing more is started: it would be written into the lost file
        log.error(
            "state database lost; stopping",
            extra={
                "error": f"{why}; stopping rather than writing into a lost file: put it back and start `crawler run` "
                "again (started without one, it rebuilds its record of the archive first, as `crawler reindex` does)"
            },
        )
        self._stop.set()

    def _log_poll(self, feed: FeedConfig, result: FeedResult, elapsed: float) -> None:
        self.metrics.observe_poll(result, elapsed)
        for message in result.notes:
            log.warning("note", extra={"feed": feed.name, "url": feed.url, "note": message})
        for message in result.errors:
            log.warning("failure", extra={"feed": feed.name, "url": feed.url, "error": message})
        next_poll = datetime.fromtimestamp(result.next_poll, UTC).isoformat() if result.next_poll else None
        log.info(
            "poll",
            extra={
                "feed": feed.name,
                "url": feed.url,
                "status": result.outcome,
                "elapsed": elapsed,
                "new": result.new,
                "known": result.known,
                # Left out by the feed's keep:/block:/backfill: rules: recorded, never fetched.
                **({"skipped": result.skipped} if result.skipped else {}),
                "failed": result.failed,
                # Listed by this poll and left pending by a stop: archived by the next run.
                **({"deferred": result.deferred} if result.deferred else {}),
                "next_poll": next_poll,
            },
        )

    # -- reload --------------------------------------------------------------------------------------------------

    async def _apply(self, config: Config) -> None:
        """A new valid feeds.yaml: the runner takes its settings, and the feeds' timers follow its changes."""
        assert self._runner is not None and self._timers is not None
        old = self._config
        if (config.state, config.state_url) != (old.state, old.state_url):
            log.warning(
                "the state database moved; restart to use it (the old one stays in use)",
                extra={"state": describe_state(config)},
            )
        changes = feed_changes(old, config)
        self._config = config
        self._runner.reconfigure(config)
        for name in changes.removed:
            self._timers.remove(name)
            self._queued.pop(name, None)
            self.metrics.forget_feed(name)
        for name in (*changes.added, *changes.changed):
            feed = config.feed(name)
            # A feed being polled (or queued to be) is set when its poll ends, with these settings.
            if feed is not None and name not in self._running and name not in self._queued:
                await self._schedule_from_state(feed, changed=name in changes.changed)
        self.metrics.feeds.set(sum(feed.enabled for feed in config.feeds))
        self.metrics.reloads.labels("applied").inc()
        log.info(
            "config reloaded",
            extra={"added": list(changes.added), "removed": list(changes.removed), "changed": list(changes.changed)},
        )

    # -- health --------------------------------------------------------------------------------------------------

    async def _beat(self) -> None:
        while True:
            self._heartbeat = time.monotonic()
            self._oldest_due = self._oldest_waiting()
            await asyncio.sleep(HEARTBEAT_EVERY)

    def _oldest_waiting(self) -> float | None:
        """When the earliest poll not yet started was due: its timer's time, or when it was queued for a slot."""
        due = [when for when in (self._timers.oldest_due() if self._timers else None,) if when is not None]
        if self._queued:
            due.append(next(iter(self._queued.values())))  # queued in the order they fell due: the first is oldest
        return min(due, default=None)

    def health(self) -> HealthReport:
        """Whether the daemon is doing its work; called from the health server's thread, so it only reads."""
        feeds = sum(feed.enabled for feed in self._config.feeds)
        oldest = self._oldest_due
        reason = unhealthy_reason(
            stopping=self._stopping,
            scheduler_running=self._timers is not None and self._timers.running,
            stalled=time.monotonic() - self._heartbeat,
            late=None if oldest is None else time.time() - oldest,
            options=self._options,
            store_error=self._store_error,
        )
        return HealthReport(
            reason is None,
            reason or "polling",
            self._last_success,
            feeds,
            len(self._running),
            stopping=self._stopping,
            articles_left=self._articles_left(),
            node=self._leases.node if self._leases is not None else None,
            leases=self._leases.held if self._leases is not None else 0,
        )

    def _articles_left(self) -> int:
        """Articles listed by polls under way and not yet done."""
        return self._runner.pipeline.articles_left if self._runner is not None else 0
