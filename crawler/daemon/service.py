"""`crawler run`: scheduling, live reload of feeds.yaml, signals, health and metrics.

One asyncio loop runs everything. APScheduler 3 is the timer: one date job per enabled feed, at the feed's next
poll time, which the pipeline stores in the state database after every poll (so a restart continues where it left
off). A job only starts a task of our own and returns, because `AsyncIOScheduler.shutdown()` cancels the coroutine
jobs it runs; our tasks are drained on SIGTERM/SIGINT (up to `--grace`) before anything closes. When a poll ends,
its feed is scheduled again from the time the pipeline stored, plus jitter.

feeds.yaml is watched (its size and mtime, then its hash) and re-read on SIGHUP. A valid file applies at once: new
feeds start, removed ones stop, changed ones take their new settings; an invalid one is logged with its line and
the last good config keeps running.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import random
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from crawler.archive import files as archive
from crawler.config.load import parse_config, read_config_bytes
from crawler.config.settings import Config, ConfigError, FeedConfig, HttpConfig, PolitenessConfig
from crawler.errors import CrawlerError
from crawler.fetch import Fetcher, FetchError, Request, Response
from crawler.maintenance.reindex import rebuild_lost_state
from crawler.pipeline.poll import WORKER_MODULES, FeedResult, Pipeline, poll_interval, stale_temp_files
from crawler.store import open_store
from crawler.store.base import FeedState, Store, StoreError
from crawler.workers import Workers, process_count

log = logging.getLogger("crawler")

FIRST_POLL_SPREAD = 2.0  # feeds never polled before start within this many seconds, not all at the same instant
MAX_JITTER = 60.0
WATCH_EVERY = 0.5  # seconds between two looks at feeds.yaml
HEARTBEAT_EVERY = 1.0
LOOP_STALL = 15.0  # the event loop has not run our heartbeat for this long: something blocks it
STUCK_AFTER = 300.0  # a poll due this long ago that has not started: the scheduler is not firing
DEFER_MARGIN = 5.0  # seconds before the grace period ends when articles not yet started are left for the next run
STORE_RETRY = 60.0  # seconds before a feed whose state could not be read is tried again, at most
# The heartbeat refreshes what /healthz reads once every HEARTBEAT_EVERY, so a healthy loop can look that stale at
# any moment: a threshold must leave a beat to spare, or /healthz would flap on a daemon doing its work.
MIN_HEALTH_THRESHOLD = 2 * HEARTBEAT_EVERY
EXIT_SIGNALLED = 128  # + the signal's number, when a second signal ends the process at once
EXIT_STORE_LOST = 1  # the state database was deleted or replaced under the running daemon


class DaemonError(CrawlerError):
    """The daemon cannot start (the health address is taken, ...); the message says why."""


@dataclass(frozen=True)
class DaemonOptions:
    """How `crawler run` was asked to run."""

    config_path: Path
    grace: float = 30.0
    health: tuple[str, int] | None = None
    stall_after: float = LOOP_STALL  # /healthz is 503 once the event loop has not run for this long
    late_after: float = STUCK_AFTER  # ... or once a due poll has not started for this long after its time

    def __post_init__(self) -> None:
        for flag, seconds in (("--stall-after", self.stall_after), ("--late-after", self.late_after)):
            if seconds < MIN_HEALTH_THRESHOLD:
                raise DaemonError(
                    f"{flag} {seconds:g}s is too short: the health heartbeat runs every {HEARTBEAT_EVERY:g}s, "
                    f"so use {MIN_HEALTH_THRESHOLD:g}s or more"
                )


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


def jitter(interval: float, rng: random.Random) -> float:
    """A random delay of up to a tenth of the interval (at most a minute), so feeds polled together drift apart."""
    return rng.uniform(0.0, min(interval * 0.1, MAX_JITTER))


def next_poll_time(
    feed: FeedConfig, state: FeedState, config: Config, now: float, rng: random.Random, *, changed: bool = False
) -> float:
    """When to poll `feed` next: the stored time (backoff included) plus jitter; soon after `now` when it was never
    polled (or now points elsewhere); a feed whose settings changed no later than its new interval allows."""
    if state.next_poll is None or (state.url is not None and state.url != feed.url):
        return now + rng.uniform(0.0, min(feed.interval, FIRST_POLL_SPREAD))
    due = state.next_poll
    if changed and state.last_poll is not None and state.failures == 0:
        interval = poll_interval(feed.interval, None, None, config.min_interval, config.max_interval)
        due = min(due, state.last_poll + interval)
    return max(due, now) + jitter(feed.interval, rng)


def poll_outcome(result: FeedResult) -> str:
    """`failed` when the feed itself could not be had, else `not_modified` or `ok` (articles may still fail)."""
    if result.errors and not result.failed:
        return "failed"
    return "not_modified" if result.not_modified else "ok"


@dataclass(frozen=True)
class FeedChanges:
    """How the enabled feeds of two configs differ, by name."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]


def feed_changes(old: Config, new: Config) -> FeedChanges:
    """Which enabled feeds a reload starts, stops and changes (a feed disabled counts as removed)."""
    before = {feed.name: feed for feed in old.feeds if feed.enabled}
    after = {feed.name: feed for feed in new.feeds if feed.enabled}
    return FeedChanges(
        added=tuple(name for name in after if name not in before),
        removed=tuple(name for name in before if name not in after),
        changed=tuple(name for name in after if name in before and after[name] != before[name]),
    )


class Metrics:
    """The Prometheus metrics of one daemon, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.polls = Counter(
            "crawler_polls", "Feed polls by outcome (ok, not_modified, failed)", ["feed", "outcome"], registry=r
        )
        self.archived = Counter("crawler_articles_archived", "Articles written to the archive", ["feed"], registry=r)
        self.selector_misses = Counter(
            "crawler_selector_misses",
            "Article pages on which the feed's body selector matched nothing (the body was found another way)",
            ["feed"],
            registry=r,
        )
        self.article_failures = Counter(
            "crawler_article_failures", "Articles that could not be archived (retried later)", ["feed"], registry=r
        )
        self.fetch_failures = Counter(
            "crawler_fetch_failures",
            "Failed requests by kind (timeout, reset, status, robots, ...)",
            ["kind"],
            registry=r,
        )
        self.responses = Counter("crawler_http_responses", "HTTP answers by status code", ["status"], registry=r)
        self.poll_duration = Histogram(
            "crawler_poll_duration_seconds",
            "Time one poll of one feed took, its articles included",
            buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800),
            registry=r,
        )
        self.pending = Gauge("crawler_pending_articles", "Entries found and not yet archived", ["feed"], registry=r)
        self.last_success = Gauge(
            "crawler_last_success_timestamp_seconds", "When a feed was last polled successfully", registry=r
        )
        self.feeds = Gauge("crawler_feeds", "Enabled feeds being polled", registry=r)
        self.in_flight = Gauge("crawler_polls_in_flight", "Polls running now", registry=r)
        self.reloads = Counter(
            "crawler_config_reloads", "Reloads of feeds.yaml by result (applied, rejected)", ["result"], registry=r
        )

    def observe_poll(self, result: FeedResult, elapsed: float) -> None:
        """Count one finished poll."""
        self.polls.labels(result.feed, poll_outcome(result)).inc()
        self.archived.labels(result.feed).inc(result.new)
        self.article_failures.labels(result.feed).inc(result.failed)
        self.selector_misses.labels(result.feed).inc(result.selector_missed)
        self.poll_duration.observe(elapsed)

    def observe_response(self, response: Response) -> None:
        """Count one answer from a server."""
        self.responses.labels(str(response.status)).inc()

    def observe_failure(self, error: FetchError) -> None:
        """Count one failed request (and its status, when the server answered)."""
        self.fetch_failures.labels(error.kind).inc()
        if error.status is not None:
            self.responses.labels(str(error.status)).inc()

    def forget_feed(self, name: str) -> None:
        """Drop the per-feed gauge of a feed no longer polled."""
        with contextlib.suppress(KeyError):
            self.pending.remove(name)


class ObservedFetcher(Fetcher):
    """The pipeline's Fetcher, counting every answer and failure in the metrics."""

    def __init__(self, http: HttpConfig, politeness: PolitenessConfig, metrics: Metrics) -> None:
        super().__init__(http, politeness)
        self._metrics = metrics

    async def get(self, request: Request) -> Response:
        """Fetcher.get, observed."""
        try:
            response = await super().get(request)
        except FetchError as exc:
            self._metrics.observe_failure(exc)
            raise
        self._metrics.observe_response(response)
        return response


class _Generation:
    """One applied config with the pipeline, fetcher and workers built for it; polls hold it while they run."""

    def __init__(self, config: Config, fetcher: ObservedFetcher, workers: Workers, pipeline: Pipeline) -> None:
        self.config = config
        self.fetcher = fetcher
        self.workers = workers
        self.pipeline = pipeline
        self.users = 0
        self.retired = False


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


def _fingerprint(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


class Daemon:
    """Polls every enabled feed at its interval until told to stop."""

    def __init__(self, config: Config, options: DaemonOptions, rng: random.Random | None = None) -> None:
        self._options = options
        self._config_path = options.config_path
        self._initial = config
        self._rng = rng or random.Random()
        self.metrics = Metrics()
        self._store: Store | None = None
        self._store_error: str | None = None  # why the state database failed the last poll, until one succeeds
        self._gen: _Generation | None = None
        self._retired: list[_Generation] = []  # replaced by a reload, with polls under way
        self._scheduler: AsyncIOScheduler | None = None
        self._running: dict[str, asyncio.Task[None]] = {}
        self._due: dict[str, float] = {}
        self._stop = asyncio.Event()
        # Set when the grace period is nearly over (or at once when the state database is lost): from then on the
        # pipeline leaves articles not yet started pending. Until then a stop still archives what polls found.
        self._hard_stop = asyncio.Event()
        self._reload_now = asyncio.Event()
        self._stopping = False
        self._heartbeat = time.monotonic()
        self._oldest_due: float | None = None
        self._last_success: float | None = None
        self._digest: str | None = None
        self._exit_code = 0

    # -- running -------------------------------------------------------------------------------------------------

    async def run(self) -> int:
        """Run until SIGTERM/SIGINT, then drain running polls (up to the grace period); return the exit code."""
        loop = asyncio.get_running_loop()
        config = self._initial
        health = HealthServer(self._options.health, self.health, self.metrics) if self._options.health else None
        removed = await asyncio.to_thread(archive.remove_stale_temp_files, config.archive)
        if removed:
            log.info("removed temp files left by a crash", extra={"count": removed})
        await rebuild_lost_state(config)
        self._store = await open_store(config)
        self._digest = await asyncio.to_thread(self._file_digest)
        self._gen = self._generation(config, None)
        states = await self._store.all_feed_states()
        self._last_success = max((s.last_success or 0.0 for s in states), default=0.0) or None
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._on_stop_signal, signum)
        loop.add_signal_handler(signal.SIGHUP, self._reload_now.set)
        # AsyncIOScheduler must start inside the running loop. Runs must never be dropped for being late (the
        # default grace of 1 s does that silently), and a backlog of one feed's runs is one run.
        self._scheduler = AsyncIOScheduler(
            event_loop=loop, job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1}
        )
        self._scheduler.start()
        for feed in config.feeds:
            if feed.enabled:
                await self._schedule(feed.name)
        self.metrics.feeds.set(sum(feed.enabled for feed in config.feeds))
        helpers = [asyncio.create_task(self._beat()), asyncio.create_task(self._watch())]
        if health is not None:
            health.start()
        log.info(
            "started",
            extra={
                "config": str(self._config_path),
                "feeds": sum(feed.enabled for feed in config.feeds),
                "health": f"{self._options.health[0]}:{health.address[1]}" if health and self._options.health else None,
            },
        )
        try:
            await self._stop.wait()
            await self._drain()
        finally:
            for helper in helpers:
                helper.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
            if self._scheduler.running:
                self._scheduler.shutdown(wait=False)
            await self._gen.fetcher.aclose()
            await self._gen.workers.aclose()
            if health is not None:
                health.close()
            await self._store.close()
            for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.remove_signal_handler(signum)
        log.info("stopped", extra={"exit_code": self._exit_code})
        return self._exit_code

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
        assert self._scheduler is not None
        self._scheduler.remove_all_jobs()
        # Only our own tasks do work; the scheduler's coroutine jobs have all returned, so shutdown cancels nothing.
        self._scheduler.shutdown(wait=False)
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

    def _generation(self, config: Config, previous: _Generation | None) -> _Generation:
        assert self._store is not None
        same_http = previous is not None and (previous.config.http, previous.config.politeness) == (
            config.http,
            config.politeness,
        )
        fetcher = previous.fetcher if previous is not None and same_http else None
        if fetcher is None:
            fetcher = ObservedFetcher(config.http, config.politeness, self.metrics)
        # One pool for as long as `workers:` stays the same (its processes stop when idle).
        processes = process_count(config.workers)
        if previous is not None and previous.workers.processes == processes:
            workers = previous.workers
        else:
            workers = Workers(processes, preload=WORKER_MODULES, on_crash=stale_temp_files(config))
        pipeline = Pipeline(config, self._store, fetcher, stopping=self._hard_stop, workers=workers)
        return _Generation(config, fetcher, workers, pipeline)

    async def _schedule(self, name: str, *, changed: bool = False, not_before: float | None = None) -> None:
        assert self._gen is not None and self._store is not None and self._scheduler is not None
        feed = self._gen.config.feed(name)
        if feed is None or not feed.enabled or self._stopping:
            return
        try:
            state = await self._store.feed_state(name)
        except StoreError as exc:
            # Without its state the next time is unknown: try again soon rather than never (a lost schedule would
            # leave the feed unpolled until a restart).
            self._store_failed(name, exc)
            self._add_job(name, max(time.time() + min(feed.interval, STORE_RETRY), not_before or 0.0))
            return
        if state.gone and state.url == feed.url:
            log.warning(
                "feed gone (HTTP 410): not polled again; remove it from feeds.yaml",
                extra={"feed": name, "url": feed.url},
            )
            self._unschedule(name)
            return
        when = next_poll_time(feed, state, self._gen.config, time.time(), self._rng, changed=changed)
        if not_before is not None:
            when = max(when, not_before)
        self._add_job(name, when)

    def _add_job(self, name: str, when: float) -> None:
        assert self._scheduler is not None
        self._due[name] = when
        self._scheduler.add_job(
            self._fire,
            DateTrigger(run_date=datetime.fromtimestamp(when, UTC)),
            args=[name],
            id=name,
            name=name,
            replace_existing=True,
        )

    def _store_failed(self, name: str, exc: StoreError) -> None:
        # Shown on /healthz until a poll goes through again: polls failing on a locked or broken database would
        # otherwise look healthy whenever SQLite's wait is shorter than the stall threshold.
        self._store_error = str(exc)
        log.error("state database failing", extra={"feed": name, "error": str(exc)})

    def _unschedule(self, name: str) -> None:
        assert self._scheduler is not None
        self._due.pop(name, None)
        if self._scheduler.get_job(name) is not None:
            self._scheduler.remove_job(name)

    async def _fire(self, name: str) -> None:
        """The scheduler's job: start the poll as a task of ours and return at once."""
        self._due.pop(name, None)
        if self._stopping or name in self._running:
            return  # a running poll schedules the next one itself when it ends
        task = asyncio.create_task(self._poll(name), name=name)
        self._running[name] = task
        task.add_done_callback(lambda done: self._forget(name, done))

    def _forget(self, name: str, task: asyncio.Task[None] | None) -> None:
        if task is not None and self._running.get(name) is task:
            del self._running[name]

    async def _poll(self, name: str) -> None:
        assert self._store is not None
        gen = self._gen
        feed = gen.config.feed(name) if gen is not None else None
        if gen is None or feed is None or not feed.enabled:
            return
        lost = await self._store.replaced()
        if lost is not None:
            self._stop_on_lost_store(lost)
            return
        gen.users += 1
        self.metrics.in_flight.inc()
        started = time.monotonic()
        result: FeedResult | None = None
        try:
            result = await gen.pipeline.refresh(feed)
        except StoreError as exc:
            self._store_failed(name, exc)
        except Exception:  # one poll's bug must not end the daemon; it is logged with its traceback
            log.exception("poll crashed", extra={"feed": name, "url": feed.url})
        finally:
            gen.users -= 1
            self.metrics.in_flight.dec()
            await self._release(gen)
        elapsed = time.monotonic() - started
        try:
            state = await self._store.feed_state(name)
            if self._gen is not None and self._gen.config.feed(name) is not None:
                self.metrics.pending.labels(name).set((await self._store.counts(name)).pending)
        except StoreError as exc:
            self._store_failed(name, exc)
            result = None
        else:
            if state.last_success is not None:
                self._last_success = max(self._last_success or 0.0, state.last_success)
                self.metrics.last_success.set(self._last_success)
            if result is not None:
                self._store_error = None  # the database served a whole poll again
        if result is None:
            self.metrics.polls.labels(name, "failed").inc()
        else:
            self._log_poll(feed, result, elapsed, state)
        # Done before scheduling, so that a next run due at once is not mistaken for this one still running.
        self._forget(name, asyncio.current_task())
        # A crashed poll stored no next time: wait a whole interval rather than retrying at once, in a loop.
        await self._schedule(name, not_before=None if result is not None else time.time() + feed.interval)

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

    def _log_poll(self, feed: FeedConfig, result: FeedResult, elapsed: float, state: FeedState) -> None:
        self.metrics.observe_poll(result, elapsed)
        for message in result.notes:
            log.warning("note", extra={"feed": feed.name, "url": feed.url, "note": message})
        for message in result.errors:
            log.warning("failure", extra={"feed": feed.name, "url": feed.url, "error": message})
        next_poll = datetime.fromtimestamp(state.next_poll, UTC).isoformat() if state.next_poll else None
        log.info(
            "poll",
            extra={
                "feed": feed.name,
                "url": feed.url,
                "status": poll_outcome(result),
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

    async def _release(self, gen: _Generation) -> None:
        # A fetcher or worker pool replaced by a reload is closed once the last poll using it is done, whichever
        # generation that poll belongs to: a reload that keeps the settings hands them on to the next generation.
        if not gen.retired or gen.users > 0 or gen not in self._retired:
            return
        self._retired.remove(gen)
        live = [self._gen, *self._retired] if self._gen is not None else self._retired
        if all(other.fetcher is not gen.fetcher for other in live):
            await gen.fetcher.aclose()
        if all(other.workers is not gen.workers for other in live):
            await gen.workers.aclose()

    # -- reload --------------------------------------------------------------------------------------------------

    async def _watch(self) -> None:
        """Re-read feeds.yaml when it changes (once it has stayed the same for one look) or on SIGHUP."""
        seen = _fingerprint(self._config_path)
        settling = False
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(WATCH_EVERY):
                    await self._reload_now.wait()
            if self._stopping:
                return
            if self._reload_now.is_set():
                self._reload_now.clear()
                log.info("reloading on SIGHUP", extra={"config": str(self._config_path)})
                await self._reload(force=True)
                continue
            current = _fingerprint(self._config_path)
            if current != seen:
                seen, settling = current, True  # an editor may still be writing: look again next time
            elif settling:
                settling = False
                await self._reload(force=False)

    def _file_digest(self) -> str | None:
        try:
            return hashlib.sha256(read_config_bytes(self._config_path)).hexdigest()
        except ConfigError:
            return None

    async def _reload(self, *, force: bool) -> None:
        try:
            # Checked before it is opened: a FIFO or a device put in the file's place must not hang this thread
            # (and with it the daemon's stop, which waits for its threads).
            data = await asyncio.to_thread(read_config_bytes, self._config_path)
        except ConfigError as exc:
            log.error(
                "config unreadable; keeping the last good one",
                extra={"config": str(self._config_path), "error": str(exc)},
            )
            self._digest = None
            return
        digest = hashlib.sha256(data).hexdigest()
        if digest == self._digest and not force:
            return
        self._digest = digest
        try:
            text = data.decode("utf-8")
            config = await asyncio.to_thread(parse_config, text, self._config_path)
        except (ConfigError, UnicodeDecodeError) as exc:
            self.metrics.reloads.labels("rejected").inc()
            log.error(
                "config rejected; keeping the last good one",
                extra={"config": str(self._config_path), "error": str(exc)},
            )
            return
        await self._apply(config)

    async def _apply(self, config: Config) -> None:
        assert self._gen is not None
        old = self._gen
        if config.state != old.config.state:
            log.warning(
                "the state database moved; restart to use it (the old one stays in use)",
                extra={"state": str(config.state)},
            )
        changes = feed_changes(old.config, config)
        self._gen = self._generation(config, old)
        old.retired = True
        self._retired.append(old)
        await self._release(old)
        for name in changes.removed:
            self._unschedule(name)
            self.metrics.forget_feed(name)
        for name in changes.added:
            await self._schedule(name)
        for name in changes.changed:
            await self._schedule(name, changed=True)
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
            self._oldest_due = min(self._due.values(), default=None)
            await asyncio.sleep(HEARTBEAT_EVERY)

    def health(self) -> HealthReport:
        """Whether the daemon is doing its work; called from the health server's thread, so it only reads."""
        feeds = sum(feed.enabled for feed in self._gen.config.feeds) if self._gen else 0
        running = len(self._running)
        oldest = self._oldest_due
        reason = unhealthy_reason(
            stopping=self._stopping,
            scheduler_running=self._scheduler is not None and self._scheduler.running,
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
            running,
            stopping=self._stopping,
            articles_left=self._articles_left(),
        )

    def _articles_left(self) -> int:
        """Articles listed by polls under way and not yet done, across the current and retired generations."""
        generations = [self._gen, *tuple(self._retired)]
        return sum(gen.pipeline.articles_left for gen in generations if gen is not None)
