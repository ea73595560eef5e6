"""The composition root: the one place that builds the crawler's resources (the state store, the fetcher, the
worker pool, the pipeline) and closes them, for every command that polls or fetches: `crawler fetch` (`fetch_feeds`),
`crawler fetch --dry-run` (`dry_run`), `crawler extract` (`extract_preview`) and `crawler run`, whose daemon holds one
`Runner` for its whole life; and the web console (`console_server`) of `crawler run --http` and `crawler serve`.

Ownership is plain: a `Runner` owns what it built and closes it on leaving `open_runner`; whoever holds the runner
borrows them. A reload of feeds.yaml goes through `Runner.reconfigure`, which keeps the ONE fetcher (and with it
each host's politeness state), the ONE pipeline (and with it the in-flight deduplication) and the one pool of
workers (resized when `workers:` changes) for polls of every generation of settings at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import TypeVar

import httpx

from crawler.archive import files, warcfiles
from crawler.config.settings import Config, FeedConfig, HttpConfig, PolitenessConfig
from crawler.console.app import Console
from crawler.console.process import PageProcess
from crawler.console.server import (
    PAGE_TIMEOUT,
    ConsoleError,
    ConsoleLoop,
    ConsoleServer,
    Health,
    Pages,
    access_problem,
)
from crawler.fetch import Fetcher
from crawler.maintenance.reindex import rebuild_lost_state
from crawler.pipeline.dryrun import WouldArchive, would_archive
from crawler.pipeline.images import Images
from crawler.pipeline.preview import Preview, preview
from crawler.pipeline.refresh import MIN_REFRESHES_IN_FLIGHT, Pipeline, worker_modules
from crawler.pipeline.results import FeedResult, Progress
from crawler.store import open_store, scratch_config, store_location
from crawler.store.base import Store
from crawler.workers import LostJob, Workers, process_count

log = logging.getLogger("crawler")

T = TypeVar("T")
FetcherFactory = Callable[[HttpConfig, PolitenessConfig], Fetcher]


def stale_temp_files(config: Config) -> Callable[[Sequence[LostJob]], int]:
    """What clears the archive of the temp files that jobs left when their worker died before their results came
    back (for Workers' `on_crash`). The same worker's finished jobs, whose files wait for their commit, keep them."""
    return functools.partial(_remove_lost_temp_files, config.archive)


def _remove_lost_temp_files(root: Path, lost: Sequence[LostJob]) -> int:
    tags = [arg for job in lost for arg in job.args if isinstance(arg, files.TempTag)]
    return files.remove_lost_temp_files(root, tags) if tags else 0


class WorkerPool:
    """The pipeline's executor for a whole run: jobs go to the pool built for the current `workers:` setting; a pool
    replaced by a reload finishes the jobs already sent to it and is then closed."""

    def __init__(self, config: Config) -> None:
        self._config = config
        self._current = self._build(config)
        self._jobs: dict[Workers, int] = {}  # jobs under way, per pool (replaced pools only while they have some)
        self._closing: set[asyncio.Task[None]] = set()

    @staticmethod
    def _build(config: Config) -> Workers:
        return Workers(process_count(config.workers), preload=worker_modules(config), on_crash=stale_temp_files(config))

    @property
    def processes(self) -> int:
        """Worker processes the current pool may start (0: jobs run in a thread of this process)."""
        return self._current.processes

    def prepare(self) -> None:
        """Workers.prepare on the current pool."""
        self._current.prepare()

    def expect(self, jobs: int) -> None:
        """Workers.expect on the current pool."""
        self._current.expect(jobs)

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """Run `fn(*args)` in the current pool."""
        pool = self._current
        self._jobs[pool] = self._jobs.get(pool, 0) + 1
        try:
            return await pool.run(fn, *args)
        finally:
            self._jobs[pool] -= 1
            if not self._jobs[pool]:
                del self._jobs[pool]
                if pool is not self._current:
                    self._close(pool)

    def reconfigure(self, config: Config) -> None:
        """Use a pool of the new size from now on (the same pool when the number of processes is unchanged)."""
        if process_count(config.workers) == self._current.processes:
            return
        old, self._current = self._current, self._build(config)
        if old not in self._jobs:
            self._close(old)

    def _close(self, pool: Workers) -> None:
        task = asyncio.get_running_loop().create_task(pool.aclose())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def aclose(self) -> None:
        """Wait for running jobs and stop every pool's processes."""
        await asyncio.gather(self._current.aclose(), *self._closing)


class Runner:
    """The resources of one run, built by `open_runner`: one store, one fetcher, one worker pool, one pipeline."""

    def __init__(
        self,
        config: Config,
        store: Store,
        fetcher: Fetcher,
        workers: WorkerPool,
        pipeline: Pipeline,
        raw: warcfiles.WarcWriter,
    ) -> None:
        self.config = config
        self.raw = raw
        self.store = store
        self.fetcher = fetcher
        self.workers = workers
        self.pipeline = pipeline

    def reconfigure(self, config: Config) -> None:
        """Apply a reloaded config to every request, job and article from now on; polls under way carry on with
        the same fetcher and deduplication. The state database stays the one opened at start."""
        self.config = config
        self.raw.reconfigure(config.archive, config.warc)
        self.fetcher.reconfigure(config.http, config.politeness)
        self.workers.reconfigure(config)
        self.pipeline.reconfigure(config)


@contextlib.asynccontextmanager
async def open_runner(
    config: Config,
    *,
    progress: Progress | None = None,
    stopping: asyncio.Event | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    fetcher: FetcherFactory | None = None,
) -> AsyncIterator[Runner]:
    """Clear what a crash left, rebuild a lost state database from the archive, then build the resources of a run
    and close them all on leaving. `stopping`, once set, leaves articles not yet started pending; `fetcher` builds
    the Fetcher (the daemon's counts what it sees)."""
    for repaired in await asyncio.to_thread(warcfiles.repair, config.archive):
        log.warning(
            "repaired a WARC file a crash left",
            extra={"path": str(repaired.path), "trimmed": repaired.trimmed, "indexed": repaired.indexed},
        )
    await rebuild_lost_state(config)
    store = await open_store(config)
    try:
        await _clear_leftovers(config, store)
        workers = WorkerPool(config)
        # Opens no file until a `raw: warc` feed has a record to keep; closing it makes the last records durable.
        raw = warcfiles.WarcWriter(config.archive, config.warc)
        try:
            built = (fetcher or _fetcher(transport))(config.http, config.politeness)
            nodes = store.coordination()
            if nodes is not None:  # several nodes: a host's cap and delay hold across them all
                built.share_hosts(nodes)
            async with built:
                images = Images(config, built, store)
                pipeline = Pipeline(
                    config, store, built, progress, stopping=stopping, workers=workers, raw=raw, images=images
                )
                yield Runner(config, store, built, workers, pipeline, raw)
        finally:
            try:
                await raw.aclose()
            finally:
                await workers.aclose()
    finally:
        await store.close()


async def _clear_leftovers(config: Config, store: Store) -> None:
    """Delete the temp files a crash left: this host's whose process is gone, and (several nodes sharing the archive)
    those of hosts whose every node is known dead. Never another live node's: it may be about to commit them."""
    nodes = store.coordination()
    dead_hosts: set[str] = set()
    if nodes is not None:
        known = await nodes.nodes()
        dead_hosts = {n.host for n in known if not n.alive} - {n.host for n in known if n.alive}
    removed = await asyncio.to_thread(files.remove_stale_temp_files, config.archive, dead_hosts=dead_hosts)
    if removed:
        log.info("removed temp files left by a crash", extra={"count": removed})


def _fetcher(transport: httpx.AsyncBaseTransport | None) -> FetcherFactory:
    return lambda http, politeness: Fetcher(http, politeness, transport=transport)


def refresh_slots(config: Config) -> int:
    """How many refreshes run at once (`crawler fetch`, and the daemon's polls): the fetcher's caps already bound the
    requests on the wire, and this bounds the refreshes held in memory, waiting on those caps."""
    return max(MIN_REFRESHES_IN_FLIGHT, 2 * config.politeness.max_connections)


async def fetch_feeds(
    config: Config,
    feeds: Sequence[FeedConfig],
    progress: Progress | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[FeedResult]:
    """`crawler fetch`: poll `feeds` once, all at once (the fetcher's per-host caps keep it polite), and archive
    what is new."""
    async with open_runner(config, progress=progress, transport=transport) as runner:
        # The fetcher's caps already bound the requests on the wire; this bounds the refreshes held in memory at
        # once, so that ten thousand feeds do not mean ten thousand suspended refreshes and their buffers.
        # Refreshers take the next feed as they finish one: a waiting feed costs nothing, where a task per feed held
        # ten thousand suspended coroutines from the start.
        slots = refresh_slots(config)
        results: list[FeedResult | None] = [None] * len(feeds)
        queue = iter(enumerate(feeds))

        async def refresher() -> None:
            for index, feed in queue:  # shared: each feed is taken by exactly one refresher
                results[index] = await runner.pipeline.refresh(feed)

        await asyncio.gather(*(refresher() for _ in range(min(slots, len(feeds)))))
        return [result for result in results if result is not None]


async def dry_run(config: Config, feeds: Sequence[FeedConfig]) -> list[WouldArchive]:
    """`crawler fetch --dry-run`: poll `feeds` once and list, per feed, the entries a real `fetch` would archive.
    The state database is opened read-only; without one, an empty one outside the working folder stands in, so that
    not even an empty database is left behind."""
    with tempfile.TemporaryDirectory(prefix="crawler-dry-run-") as scratch:
        exists = await store_location(config).exists()
        store = (
            await open_store(config, read_only=True)
            if exists
            else await open_store(scratch_config(config, Path(scratch)))
        )
        try:
            async with Fetcher(config.http, config.politeness) as fetcher:
                return list(await asyncio.gather(*(would_archive(store, fetcher, feed) for feed in feeds)))
        finally:
            await store.close()


async def extract_preview(config: Config, url: str, body: str | None = None, remove: Sequence[str] = ()) -> Preview:
    """`crawler extract`: fetch one page and build the archive file it would give, writing nothing."""
    async with Fetcher(config.http, config.politeness) as fetcher:
        return await preview(config, fetcher, url, body, remove)


def console_server(
    config: Callable[[], Config],
    address: tuple[str, int],
    token: str | None,
    health: Health | None = None,
    flag: str = "--http",
    *,
    own_process: bool = False,
) -> ConsoleServer:
    """The web console on `address` (not yet answering: call `start`), over a read-only store of its own on a loop
    of its own, so that it never waits on, or holds up, the polls' store; with the daemon's /healthz and /metrics
    when `health` is given. `own_process`: the pages are built in a child process, so that their Python work never
    shares the interpreter lock with a daemon's polling. Raise ConsoleError when it may not or cannot listen there."""
    problem = access_problem(address[0], token, flag)
    if problem is not None:
        raise ConsoleError(problem)
    pages: Pages
    if own_process:
        pages = PageProcess(functools.partial(open_store, read_only=True), config, PAGE_TIMEOUT)
    else:
        pages = ConsoleLoop(lambda: open_store(config(), read_only=True), lambda store: Console(store, config))
    try:
        return ConsoleServer(address, pages, token=token, health=health, flag=flag)
    except BaseException:
        pages.close()
        raise
