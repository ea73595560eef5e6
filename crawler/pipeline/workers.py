"""Where the CPU-bound work of archiving runs: a worker thread for a trickle, worker processes for a burst.

One process holds one GIL. With every page decoded, extracted, rendered and written on the crawler's own process,
the event loop that drives every connection waits behind that work, and a crawl uses one core however many the
machine has. During a burst (a first crawl, a feed with many new items: WARM_AFTER jobs within BURST_WINDOW), jobs
go to a pool of worker processes instead and the event loop keeps only the network and the state database, which
stay in one process so that politeness and de-duplication stay exact. A small run never pays for starting a process,
and a daemon between bursts keeps none alive.
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
import select
import signal
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from crawler.errors import CrawlerError

# A logger of its own: `crawler fetch`, which shows only errors, shows this one's warning (the fallback to threads).
log = logging.getLogger("crawler.pipeline.workers")

T = TypeVar("T")

# Jobs (run or announced) within BURST_WINDOW that make a burst worth the processes' start (the fork server's imports,
# about 0.3 s of CPU once, and some 45 MB for each process). Measured with bench/throughput.py when each worker was
# spawned (0.4 s of CPU each): its 96-article crawl ran at 74-78 articles/s with them and 107-109 without; its
# 1,600-article crawl took 5.3-5.7 s with them and 6.1-6.5 s without (interleaved runs). With the fork server, 40
# made no measurable difference to the large crawl.
WARM_AFTER = 200
GROUP_SIZE = 8  # jobs sent to a worker process in one hand-off, at most
BURST_WINDOW = 10.0  # seconds
IDLE_CLOSE = 120.0  # seconds without a job after which the processes stop (the daemon between polls)
MAX_AUTO = 4  # worker processes `auto` starts at most


class WorkerCrashed(CrawlerError):
    """A worker process died while running a job (killed, out of memory, or a crash in a C extension)."""


def process_count(setting: int | Literal["auto"]) -> int:
    """Worker processes for a `workers:` setting: `auto` is one per CPU up to MAX_AUTO, and none on a single CPU,
    where a process would only add its start-up and copying to the same core."""
    if setting != "auto":
        return setting
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    # As many as CPUs, not one fewer: the event loop is mostly waiting on the network, and measured on two CPUs,
    # two workers beat one (4.8 s against 5.6 s for the bench's first crawl, medians of four interleaved runs; three
    # gave 5.2 s). Never more than MAX_AUTO: past that the one event loop is the limit, and each worker holds 45 MB.
    return min(cpus, MAX_AUTO) if cpus > 1 else 0


def _worker_init(crawler: int) -> None:
    # Ctrl-C reaches the whole process group; the crawler's own process decides how to stop (its grace period),
    # so a worker must not die under the jobs it is finishing.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with(crawler)


def _die_with(crawler: int) -> None:
    # A crawler killed outright (kill -9, the OOM killer) must take its workers along at once: one finishing a temp
    # file after its crawler is gone would leave that file to a next run that finds its writer still alive, and it
    # would hold memory for nothing. A worker's parent is the fork server, which outlives the crawler for as long
    # as any worker lives, so the worker watches the crawler itself: a pidfd turns readable when that process ends.
    # Where there are no pidfds (not Linux), a worker ends when it next finds its job queue closed.
    try:
        pidfd = os.pidfd_open(crawler)
    except ProcessLookupError:  # the crawler died before the worker started
        os._exit(1)
    except (OSError, AttributeError):
        return
    threading.Thread(target=_exit_when_readable, args=(pidfd,), name="crawler-watch", daemon=True).start()


def _exit_when_readable(fd: int) -> None:
    select.select([fd], [], [])
    os._exit(1)


class RemoteTraceback(Exception):
    """The traceback, in a worker process, of an error a job raised there (the error's cause, for the log)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class _Job:
    fn: Callable[..., Any]
    args: tuple[object, ...]
    done: asyncio.Future[Any]


@dataclass(frozen=True)
class LostJob:
    """A job whose result died with its worker process (for `on_crash`): it may have left files behind, and it is
    run again."""

    fn: Callable[..., Any]
    args: tuple[object, ...]


_Outcome = tuple[Any, BaseException | None, str]  # what a job returned, or what it raised and where
_Sent = tuple[concurrent.futures.Future[list[_Outcome]], list[_Job]]  # a group handed to a pool, and its jobs


def _run_group(jobs: list[tuple[Callable[..., Any], tuple[object, ...]]]) -> list[_Outcome]:
    """Run each job in this worker process; one job's error is its own, not the group's."""
    outcomes: list[_Outcome] = []
    for fn, args in jobs:
        try:
            outcomes.append((fn(*args), None, ""))
        except Exception as exc:
            outcomes.append((None, exc, traceback.format_exc()))
    return outcomes


def _settle(jobs: list[_Job], error: BaseException) -> None:
    for job in jobs:
        if not job.done.done():
            job.done.set_exception(error)


def _came_back(sent: concurrent.futures.Future[Any]) -> bool:
    return sent.done() and not sent.cancelled() and sent.exception() is None


def _clear_after_crash(
    pool: ProcessPoolExecutor,
    sent: list[_Sent],
    on_crash: Callable[[Sequence[LostJob]], object],
    lost: Sequence[LostJob] = (),
) -> None:
    """Once every process of a broken pool has exited (none writes any more), hand `on_crash` the jobs of the
    groups whose results did not come back (and `lost`). The jobs of groups that did come back are not among them,
    even those run by the very process that died: their files wait for their commit."""
    pool.shutdown(wait=True, cancel_futures=True)
    gone = [LostJob(job.fn, job.args) for future, group in sent if not _came_back(future) for job in group]
    on_crash([*lost, *gone])


def _cleanup_failed(cleaning: asyncio.Future[None]) -> None:
    if not cleaning.cancelled() and cleaning.exception() is not None:
        log.warning("cleaning up after a dead worker failed", extra={"error": str(cleaning.exception())})


def _server_failed(starting: asyncio.Future[None]) -> None:
    # Reported when a pool fails to start; here it is only retrieved, so that asyncio does not warn of it.
    if not starting.cancelled() and starting.exception() is not None:
        log.debug("fork server did not start", extra={"error": str(starting.exception())})


def _start_processes(pool: ProcessPoolExecutor, processes: int) -> None:
    """Start the pool's processes (the pool starts one per job submitted while none is idle) and wait until each
    has run a job."""
    for ready in [pool.submit(_ready) for _ in range(processes)]:
        ready.result()


def _ready() -> None:
    """A job that does nothing: submitted first, so that its end tells when the processes can take jobs."""


class Workers:
    """Runs picklable functions off the event loop: `await run(fn, *args)` returns what `fn(*args)` returns."""

    def __init__(
        self,
        processes: int,
        *,
        warm_after: int | None = None,
        window: float = BURST_WINDOW,
        preload: Sequence[str] = (),
        on_crash: Callable[[Sequence[LostJob]], object] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._processes = processes
        self._clock = clock  # what a burst is judged by (a test's own clock decides what is a burst, not its speed)
        self._preload = list(preload)
        # Run (in a thread) when a worker process has died, with the jobs whose results died with it: clears what
        # they left behind.
        self._on_crash = on_crash
        self._cleaning: asyncio.Future[None] | None = None
        self._warm_after = WARM_AFTER if warm_after is None else warm_after
        self._window = window
        self._recent: deque[tuple[float, int]] = deque()  # (when, how many) jobs were run or announced lately
        self._recent_jobs = 0
        self._announced = 0  # jobs announced by `expect` and not yet run
        self._running = 0
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
        self._sent: dict[concurrent.futures.Future[list[_Outcome]], tuple[ProcessPoolExecutor, list[_Job]]] = {}

    def expect(self, jobs: int) -> None:
        """Announce `jobs` coming soon, so that a big batch starts the processes before its first job."""
        self._announced += jobs
        if self._busy(jobs) and self._pool is None and not self._unavailable:
            self._start()

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """Run `fn(*args)` in a worker process during a burst of jobs, else in a thread; raise WorkerCrashed if its
        process died under it."""
        self._trim()
        if self._announced > 0 and self._recent:
            self._announced -= 1  # announced by `expect`, and counted then
            busy = self._recent_jobs >= self._warm_after
        else:
            self._announced = 0  # announced more than a window ago, if at all: count it now
            busy = self._busy(1)
        if busy and self._pool is None and not self._unavailable:
            self._start()
        pool = self._ready_pool()
        if pool is None or not busy:
            # A trickle (a daemon's few new articles a minute) is not worth a process, nor keeping one alive. And
            # while the processes start, jobs run here rather than queue behind their start (half a second on a
            # first crawl, when the feeds' parsing would otherwise wait for it), until they can take them.
            async with self._thread_turn:
                pool = self._ready_pool()
                if pool is None or not busy:
                    return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)
        self._running += 1
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
            self._running -= 1
            if self._running == 0 and self._pool is not None:
                self._idle = loop.call_later(IDLE_CLOSE, self._close_idle)

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
                future = pool.submit(_run_group, [(j.fn, j.args) for j in group])
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
        self,
        pool: ProcessPoolExecutor,
        group: list[_Job],
        future: concurrent.futures.Future[list[_Outcome]],
        sent: asyncio.Future[list[_Outcome]],
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
            with contextlib.suppress(Exception):  # reported by _cleanup_failed
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
                        None, _clear_after_crash, alone, [], self._on_crash, [LostJob(fn, args)]
                    )
                    cleaning.add_done_callback(_cleanup_failed)
                    with contextlib.suppress(Exception):  # reported by _cleanup_failed
                        await asyncio.shield(cleaning)
                raise WorkerCrashed("a worker process died while handling this page") from None

    @property
    def processes(self) -> int:
        """How many worker processes a burst starts (0: jobs always run in a thread)."""
        return self._processes

    def prepare(self) -> None:
        """A burst may be coming (a feed changed): start the fork server now, so that processes started for it start
        in milliseconds instead of waiting for the server's imports (a third of a second)."""
        if self._processes <= 0 or self._unavailable or self._server_starting:
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

    def _new_pool(self, processes: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            processes, mp_context=self._context(), initializer=_worker_init, initargs=(os.getpid(),)
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

    def _busy(self, jobs: int) -> bool:
        """Count `jobs` more; whether the last `window` seconds have seen a burst worth the processes."""
        self._recent.append((self._clock(), jobs))
        self._recent_jobs += jobs
        self._trim()
        return self._recent_jobs >= self._warm_after

    def _trim(self) -> None:
        horizon = self._clock() - self._window
        while self._recent and self._recent[0][0] < horizon:
            self._recent_jobs -= self._recent.popleft()[1]

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
        sent = [(future, group) for future, (owner, group) in self._sent.items() if owner is pool]
        for future, _group in sent:
            del self._sent[future]
        self._cleaning = asyncio.get_running_loop().run_in_executor(
            None, _clear_after_crash, pool, sent, self._on_crash
        )
        self._cleaning.add_done_callback(_cleanup_failed)

    def _close_idle(self) -> None:
        self._idle = None
        if self._running == 0 and self._pool is not None:
            pool, self._pool = self._pool, None
            pool.shutdown(wait=False)
            if self._alone is not None and not self._alone_lock.locked():
                alone, self._alone = self._alone, None
                alone.shutdown(wait=False)

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
