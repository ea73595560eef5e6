"""Where the CPU-bound work of archiving runs: the executor that does what the burst policy decides.

One process holds one GIL. With every page decoded, extracted, rendered and written on the crawler's own process,
the event loop that drives every connection waits behind that work, and a crawl uses one core however many the
machine has. During a burst (crawler.workers.policy) jobs go to a pool of worker processes instead and the event
loop keeps only the network and the state database, which stay in one process so that politeness and
de-duplication stay exact. A small run never pays for starting a process, and a daemon between bursts keeps none
alive. A job whose worker died is run again alone (only the job that kills its process fails), after `on_crash` has
cleared what the lost jobs left behind.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import logging
import multiprocessing
import multiprocessing.context
import multiprocessing.forkserver
import os
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, TypeVar

from crawler.workers.child import Outcome, RemoteTraceback, ready, run_group, worker_init
from crawler.workers.crash import LostJob, OnCrash, WorkerCrashed, cleanup_failed, clear_after_crash
from crawler.workers.policy import BURST_WINDOW, WARM_AFTER, Burst, BurstPolicy, Place, PoolState

# The package's logger: `crawler fetch`, which shows only errors, shows its warning (the fallback to threads).
log = logging.getLogger("crawler.workers")

T = TypeVar("T")

GROUP_SIZE = 8  # jobs sent to a worker process in one hand-off, at most


@dataclass(frozen=True)
class _Job:
    fn: Callable[..., Any]
    args: tuple[object, ...]
    done: asyncio.Future[Any]


_Group = concurrent.futures.Future[list[Outcome]]


class Workers:
    """Runs picklable functions off the event loop: `await run(fn, *args)` returns what `fn(*args)` returns."""

    def __init__(
        self,
        processes: int,
        *,
        warm_after: int | None = None,
        window: float = BURST_WINDOW,
        preload: Sequence[str] = (),
        on_crash: OnCrash | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._processes = processes
        # What a burst is judged by (a test's own clock decides what is a burst, not its speed).
        self._policy = BurstPolicy(Burst(WARM_AFTER if warm_after is None else warm_after, window), clock)
        self._preload = list(preload)
        # Run (in a thread) when a worker process has died, with the jobs whose results died with it: clears what
        # they left behind.
        self._on_crash = on_crash
        self._cleaning: asyncio.Future[None] | None = None
        self._pool: ProcessPoolExecutor | None = None
        self._server_starting = False
        self._warm: asyncio.Future[None] | None = None  # done once the pool's processes can take jobs
        self._idle: asyncio.TimerHandle | None = None
        self._unavailable = processes <= 0
        self._alone: ProcessPoolExecutor | None = None  # where the jobs of a pool that broke are run again, singly
        self._alone_lock = asyncio.Lock()
        # Jobs outside the processes run one at a time: they hold the GIL (parsing, extracting), so a second thread
        # would only take turns with the first and the event loop, delaying every job and the network alike. On a
        # first crawl, forty feeds parsed six at a time all finished 0.75 s in; parsed in turn, the first feed's
        # articles are on their way after its own 10 ms.
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="crawler-job")
        self._thread_turn = asyncio.Lock()  # jobs wait here, not in the thread's queue, free to go to the processes
        self._queued: deque[_Job] = deque()  # jobs for the processes, not yet sent
        self._groups_out = 0  # groups of jobs sent to the processes and not yet back
        self._sent: dict[_Group, tuple[ProcessPoolExecutor, list[_Job]]] = {}

    @property
    def processes(self) -> int:
        """How many worker processes a burst starts (0: jobs always run in a thread)."""
        return self._processes

    def expect(self, jobs: int) -> None:
        """Announce `jobs` coming soon, so that a big batch starts the processes before its first job."""
        if self._policy.announce(jobs, self._state()):
            self._start()

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """Run `fn(*args)` in a worker process during a burst of jobs, else in a thread; raise WorkerCrashed if its
        process died under it."""
        arrival = self._policy.arrive(self._state())
        if arrival.start:
            self._start()
        if self._policy.place(arrival, self._state()) is Place.THREAD:
            # A burst's job that arrives while the processes start runs here instead of waiting for them, and one
            # still waiting for the thread when they are ready goes to them. Measured with bench/first_crawl_ab.py
            # against jobs that wait for the start: no difference in the first crawl's wall time beyond the shared
            # machine's noise (medians 11.1 against 9.5 s, and 26.5 against 25.2 s), CPU within the runs' spread;
            # kept, as it costs three lines and bounds what a slow start (a loaded machine) costs the crawl.
            async with self._thread_turn:
                if self._policy.place(arrival, self._state()) is Place.THREAD:
                    return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)
        return await self._in_processes(fn, args)

    def prepare(self) -> None:
        """A burst may be coming (a feed changed): start the fork server now, so that processes started for it start
        in milliseconds instead of waiting for the server's imports (a third of a second)."""
        if self._unavailable or self._server_starting:
            return
        self._server_starting = True
        if self._context().get_start_method() == "forkserver":
            starting = asyncio.get_running_loop().run_in_executor(None, multiprocessing.forkserver.ensure_running)
            starting.add_done_callback(_server_failed)

    async def started(self) -> None:
        """Wait until the processes a burst started can take jobs (at once if none are starting)."""
        if self._warm is not None:
            with contextlib.suppress(Exception):  # reported by _started; the jobs run in threads then
                await asyncio.shield(self._warm)

    async def aclose(self) -> None:
        """Wait for running jobs and stop the processes."""
        await self.started()  # a pool shut down while its processes start would report them unavailable
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None
        for pool in (self._pool, self._alone):
            if pool is not None:
                await asyncio.to_thread(pool.shutdown, True)
        self._pool = self._alone = None
        await asyncio.to_thread(self._thread.shutdown, True)

    def _state(self) -> PoolState:
        if self._unavailable:
            return PoolState.UNAVAILABLE
        if self._pool is None:
            return PoolState.NONE
        return PoolState.READY if self._ready_pool() is not None else PoolState.STARTING

    async def _in_processes(self, fn: Callable[..., T], args: tuple[object, ...]) -> T:
        self._policy.sent()
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None
        loop = asyncio.get_running_loop()
        done: asyncio.Future[T] = loop.create_future()
        self._queued.append(_Job(fn, args, done))
        self._send_groups()
        try:
            return await done
        except BrokenProcessPool:  # its pool is discarded already
            return await self._run_alone(fn, *args)
        finally:
            self._policy.back()
            self._close_when_idle()

    def _send_groups(self) -> None:
        # Jobs waiting at the same time travel to a process together, up to GROUP_SIZE: each hand-off costs this
        # process's pool threads and the event loop about 0.2 ms, whatever it carries. Two groups per process are out
        # at a time, one running and one ready, so a process never waits for the next.
        pool = self._pool
        while self._queued and self._groups_out < 2 * self._processes:
            group: list[_Job] = []
            while self._queued and len(group) < GROUP_SIZE:
                job = self._queued.popleft()
                if not job.done.cancelled():
                    group.append(job)
            if not group:
                return
            try:
                if pool is None:
                    raise BrokenProcessPool("the pool was discarded")
                future = pool.submit(run_group, [(j.fn, j.args) for j in group])
            except (BrokenProcessPool, RuntimeError) as exc:  # broken, or shut down while these waited
                if pool is not None:
                    self._discard(pool)
                _settle(group, BrokenProcessPool(str(exc)))
                continue
            self._groups_out += 1
            self._sent[future] = (pool, group)
            sent = asyncio.wrap_future(future)
            sent.add_done_callback(functools.partial(self._group_done, pool, group, future))

    def _group_done(
        self, pool: ProcessPoolExecutor, group: list[_Job], future: _Group, sent: asyncio.Future[list[Outcome]]
    ) -> None:
        self._groups_out -= 1
        if sent.cancelled():
            for job in group:
                job.done.cancel()
        elif (error := sent.exception()) is not None:
            if isinstance(error, BrokenProcessPool):
                self._discard(pool)  # the pool these were sent to, which may not be the one there was when they came
            _settle(group, error)
        else:
            for job, (value, error, remote) in zip(group, sent.result(), strict=True):
                if job.done.done():
                    continue
                if error is None:
                    job.done.set_result(value)
                else:
                    error.__cause__ = RemoteTraceback(remote)
                    job.done.set_exception(error)
        self._sent.pop(future, None)  # after _discard, which hands a group that broke with its pool to on_crash
        self._send_groups()

    async def _run_alone(self, fn: Callable[..., T], *args: object) -> T:
        # A dying worker takes down every job the pool held, not only the one that killed it. Each is run again on
        # its own in a process of its own, one at a time: the innocent ones finish, and only the culprit, dying
        # there alone, is reported.
        if self._cleaning is not None:
            with contextlib.suppress(Exception):  # reported by cleanup_failed
                await asyncio.shield(self._cleaning)
        async with self._alone_lock:
            if self._alone is None:
                self._alone = self._new_pool(1)
            alone = self._alone
            try:
                return await asyncio.get_running_loop().run_in_executor(alone, fn, *args)
            except BrokenProcessPool:
                self._alone = None
                if self._on_crash is None:
                    alone.shutdown(wait=False, cancel_futures=True)
                else:  # the culprit, dying alone, may have left a file too
                    cleaning = asyncio.get_running_loop().run_in_executor(
                        None, clear_after_crash, alone, [], self._on_crash, [LostJob(fn, args)]
                    )
                    cleaning.add_done_callback(cleanup_failed)
                    with contextlib.suppress(Exception):  # reported by cleanup_failed
                        await asyncio.shield(cleaning)
                raise WorkerCrashed("a worker process died while handling this page") from None

    def _new_pool(self, processes: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            processes, mp_context=self._context(), initializer=worker_init, initargs=(os.getpid(),)
        )

    def _context(self) -> multiprocessing.context.BaseContext:
        # Not fork: this process has threads (to_thread's, the resolver's) whose locks a forked child could inherit
        # held. A fork server is a fresh process, started once, that imports the modules the jobs need (`preload`)
        # and forks each worker from itself: a worker then starts in milliseconds, where a spawned one imports them
        # all again (0.2-0.4 s of CPU each, paid again by every pool a daemon's burst starts).
        if "forkserver" not in multiprocessing.get_all_start_methods():
            return multiprocessing.get_context("spawn")
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(self._preload)
        return context

    def _start(self) -> None:
        # The processes start on a thread of their own: the first one waits for the fork server to import the jobs'
        # modules, a third of a second during which the event loop would otherwise stand still.
        try:
            pool = self._new_pool(self._processes)
        except OSError as exc:
            # The pool's queues need semaphores, which live in /dev/shm: a container run with --ipc=none has none.
            self._fall_back(f"cannot create their semaphores, which need a writable /dev/shm: {exc.strerror or exc}")
            return
        self._pool = pool
        warm = asyncio.get_running_loop().run_in_executor(None, _start_processes, pool, self._processes)
        warm.add_done_callback(functools.partial(self._started, pool))
        self._warm = warm

    def _started(self, pool: ProcessPoolExecutor, warm: asyncio.Future[None]) -> None:
        error = None if warm.cancelled() else warm.exception()
        if error is None:
            log.info("worker processes started", extra={"processes": self._processes})
            return
        self._discard(pool)
        if isinstance(error, (OSError, RuntimeError)) and not isinstance(error, BrokenProcessPool):
            # Embedded in a program whose main module cannot be re-imported, or out of processes: threads still work.
            self._fall_back(str(error))

    def _fall_back(self, reason: str) -> None:
        """Run every job in a thread from now on, and say so (once: no pool is tried again)."""
        self._unavailable = True
        log.warning("worker processes unavailable (%s); extracting in threads", reason)

    def _ready_pool(self) -> ProcessPoolExecutor | None:
        """The pool, if its processes have started and can take jobs."""
        warm = self._warm
        if self._pool is None or warm is None or not warm.done() or warm.cancelled() or warm.exception() is not None:
            return None
        return self._pool

    def _discard(self, pool: ProcessPoolExecutor) -> None:
        # The next job starts a fresh pool; the jobs that were in the dead one are run again (see _run_alone). A pool
        # that is no longer the current one was shut down already, by whoever replaced it.
        if self._pool is not pool:
            return
        self._pool = None
        if self._on_crash is None:
            pool.shutdown(wait=False, cancel_futures=True)
            return
        # A group's jobs that finished before one of them killed the process lost their results with it, but not
        # what they left on disk. Which groups came back is known for certain only once the pool's processes have
        # all exited: a result read from the pipe just before the crash may not have reached its job here yet.
        sent = [
            (future, [LostJob(job.fn, job.args) for job in group])
            for future, (owner, group) in self._sent.items()
            if owner is pool
        ]
        for future, _group in sent:
            del self._sent[future]
        self._cleaning = asyncio.get_running_loop().run_in_executor(None, clear_after_crash, pool, sent, self._on_crash)
        self._cleaning.add_done_callback(cleanup_failed)

    def _close_when_idle(self) -> None:
        """Stop the processes once the policy says they have been idle long enough (a timer until then)."""
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None
        left = self._policy.idle_left()
        if left is None or self._pool is None:
            return
        if left > 0:
            self._idle = asyncio.get_running_loop().call_later(left, self._close_when_idle)
            return
        pool, self._pool = self._pool, None
        pool.shutdown(wait=False)
        if self._alone is not None and not self._alone_lock.locked():
            alone, self._alone = self._alone, None
            alone.shutdown(wait=False)


def _settle(jobs: list[_Job], error: BaseException) -> None:
    for job in jobs:
        if not job.done.done():
            job.done.set_exception(error)


def _server_failed(starting: asyncio.Future[None]) -> None:
    # Reported when a pool fails to start; here it is only retrieved, so that asyncio does not warn of it.
    if not starting.cancelled() and starting.exception() is not None:
        log.debug("fork server did not start", extra={"error": str(starting.exception())})


def _start_processes(pool: ProcessPoolExecutor, processes: int) -> None:
    """Start the pool's processes (the pool starts one per job submitted while none is idle) and wait until each
    has run a job."""
    for job in [pool.submit(ready) for _ in range(processes)]:
        job.result()
