"""Worker processes: a big run extracts and writes pages in other processes, with the very same archive as a small
one; a worker that dies fails only its own articles, which a later run archives."""

from __future__ import annotations

import asyncio
import ctypes
import functools
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from crawler.archive import files as archive
from crawler.config.load import load_config
from crawler.config.settings import FeedConfig
from crawler.feeds.parse import Entry
from crawler.fetch import Fetcher
from crawler.pipeline import article
from crawler.pipeline import refresh as pipeline
from crawler.runner import stale_temp_files
from crawler.store import open_store
from crawler.workers import WARM_AFTER, WorkerCrashed, Workers, process_count
from tests.conftest import Workdir
from tests.support.server import Answer, Seen, TestServer
from tests.test_fetch_command import PARAGRAPHS, article_page, config, feed_entry, rss


def where() -> tuple[int, int]:
    """The process and thread a job ran in."""
    return os.getpid(), threading.get_ident()


def die() -> None:
    os._exit(3)  # as a worker killed by the OOM killer or a segfault in a C extension would


def test_a_small_run_stays_in_threads_and_a_big_one_moves_to_processes() -> None:
    async def scenario() -> list[tuple[int, int]]:
        workers = Workers(1, warm_after=3, clock=lambda: 1000.0)  # all within one window, however slow the start
        try:
            seen = [await workers.run(where), await workers.run(where)]
            workers.expect(5)  # a feed with five new articles: the processes start before the first of them
            during = await workers.run(where)  # while they start, jobs do not wait for them
            await workers.started()
            seen += [await workers.run(where) for _ in range(3)]
            assert during[0] == os.getpid()
            return seen
        finally:
            await workers.aclose()

    seen = asyncio.run(scenario())
    assert all(pid == os.getpid() for pid, _ in seen[:2])
    assert all(thread != threading.get_ident() for _, thread in seen[:2])  # never on the event loop's thread
    assert len({pid for pid, _ in seen[2:]}) == 1 and seen[2][0] != os.getpid()


def test_a_trickle_stays_in_threads_and_a_burst_uses_the_processes() -> None:
    # What is a burst is judged by the clock given, here one that moves only when told: how fast this machine runs
    # the jobs (or starts the processes) changes nothing.
    now = [1000.0]

    async def scenario() -> tuple[list[int], list[int]]:
        workers = Workers(1, warm_after=3, window=10.0, clock=lambda: now[0])
        try:
            trickle = []
            for _ in range(4):  # one job at a time, each alone in its window: a daemon's occasional new article
                trickle.append((await workers.run(where))[0])
                now[0] += 10.5
            burst = [pid for pid, _ in await asyncio.gather(*(workers.run(where) for _ in range(3)))]
            await workers.started()
            burst += [pid for pid, _ in await asyncio.gather(*(workers.run(where) for _ in range(2)))]
            return trickle, burst
        finally:
            await workers.aclose()

    trickle, burst = asyncio.run(scenario())
    assert set(trickle) == {os.getpid()}
    assert burst[:2] == [os.getpid()] * 2  # the third job of the burst makes it one (and starts the processes)
    assert os.getpid() not in burst[3:]


def test_a_burst_ends_when_its_window_has_passed() -> None:
    now = [1000.0]

    async def scenario() -> tuple[int, int]:
        workers = Workers(1, warm_after=3, window=10.0, clock=lambda: now[0])
        try:
            await asyncio.gather(*(workers.run(where) for _ in range(3)))  # a burst: the processes start
            await workers.started()
            during = (await workers.run(where))[0]
            now[0] += 10.5  # the burst's jobs are out of the window now
            after = (await workers.run(where))[0]
            return during, after
        finally:
            await workers.aclose()

    during, after = asyncio.run(scenario())
    assert during != os.getpid() and after == os.getpid()


def test_no_processes_means_threads_however_big_the_run() -> None:
    async def scenario() -> set[int]:
        workers = Workers(0, warm_after=0)
        workers.expect(1000)
        try:
            return {(await workers.run(where))[0] for _ in range(5)}
        finally:
            await workers.aclose()

    assert asyncio.run(scenario()) == {os.getpid()}


def slow_where(seconds: float) -> tuple[int, int]:
    time.sleep(seconds)
    return where()


def test_a_dead_worker_fails_only_its_own_job_and_later_jobs_get_a_fresh_process() -> None:
    async def scenario() -> tuple[int, list[object], int]:
        workers = Workers(2, warm_after=0)
        try:
            workers.expect(1)
            await workers.started()
            before = (await workers.run(where))[0]
            # Innocent jobs share the pool with the one that kills its worker, and the pool breaks under all of them.
            outcomes = await asyncio.gather(
                *(workers.run(slow_where, 0.3) for _ in range(4)), workers.run(die), return_exceptions=True
            )
            workers.expect(1)  # a fresh pool starts
            await workers.started()
            after = (await workers.run(where))[0]
            return before, outcomes, after
        finally:
            await workers.aclose()

    before, outcomes, after = asyncio.run(scenario())
    assert [type(o) for o in outcomes] == [tuple, tuple, tuple, tuple, WorkerCrashed]
    assert os.getpid() not in (before, after) and before != after


def fail_on(value: int, bad: int) -> int:
    if value == bad:
        raise ValueError(f"job {value} failed")
    return value * 10


def test_jobs_sent_together_keep_their_own_results_and_errors() -> None:
    async def scenario() -> list[object]:
        workers = Workers(2, warm_after=0)
        try:
            workers.expect(1)
            await workers.started()
            # Twenty jobs at once: they travel to the processes in groups, and job 7's error is its own.
            return await asyncio.gather(*(workers.run(fail_on, i, 7) for i in range(20)), return_exceptions=True)
        finally:
            await workers.aclose()

    outcomes = asyncio.run(scenario())
    error = outcomes.pop(7)
    assert outcomes == [i * 10 for i in range(20) if i != 7]
    assert isinstance(error, ValueError) and str(error) == "job 7 failed"
    assert "fail_on" in str(error.__cause__)  # the worker's traceback, for the log


def test_auto_is_one_process_per_cpu_up_to_four_and_none_on_a_single_cpu() -> None:
    assert process_count(3) == 3
    assert process_count(0) == 0
    cpus = len(os.sched_getaffinity(0))
    assert process_count("auto") == (min(cpus, 4) if cpus > 1 else 0)


def test_worker_processes_write_the_same_archive_as_threads(server: TestServer, tmp_path: Path) -> None:
    # Enough articles for the processes to start (WARM_AFTER), with lazy images, relative links and a page that
    # yields no body (archived from the feed instead), so every branch of the work crosses the process.
    count = WARM_AFTER + 10
    items = []
    for i in range(count):
        path = f"/story/{i}.html"
        paragraphs = [f"{paragraph} This is story number {i}." for paragraph in PARAGRAPHS]
        page = article_page(f"Story {i}", paragraphs) if i != 7 else "<html><body><nav>menu only</nav></body></html>"
        page = page.replace("</h1>", f'</h1><p><img data-src="/img/{i}.jpg" src="/blank.gif"></p>')
        server.add(path, body=page.encode(), content_type="text/html; charset=utf-8")
        items.append(
            {
                "title": f"Story {i}",
                "link": server.url(path),
                "guid": f"story-{i}",
                "description": f"Teaser of story {i}.",
                "pubDate": f"Tue, 24 Aug 2021 {7 + i // 60:02d}:{i % 60:02d}:13 GMT",
            }
        )
    server.add("/feed.xml", body=rss(items).encode(), content_type="application/rss+xml")
    archives = {}
    for processes in (0, 1):
        work = Workdir(tmp_path / f"workers-{processes}")
        work.path.mkdir()
        work.write_config(config(feed_entry("harbour", server.url("/feed.xml")), extra=f"workers: {processes}\n"))
        result = work.run("fetch", "--json", "--verbose")
        assert result.code == 0, result.stderr
        assert result.json()["feeds"][0]["new"] == count
        assert ("worker processes started" in result.stderr) == (processes > 0)
        archives[processes] = {p.relative_to(work.archive): p.read_bytes() for p in work.files()}
    assert len(archives[0]) == count
    assert archives[1] == archives[0]
    assert not [p for p in archives[1] if p.name.endswith(".tmp")]


_real_stage = article.stage_article


def stage_or_die(root: Path, feed: FeedConfig, entry: Entry, page: article.FetchedPage | None, *rest: Any) -> Any:
    """The real stage, except that a worker process handed the page of story 13 dies, as one would on a page that
    crashes a C library. Module-level, so the worker imports it by name."""
    if page is not None and page.url.endswith("/story/13.html") and multiprocessing.parent_process() is not None:
        os._exit(9)
    return _real_stage(root, feed, entry, page, *rest)


def test_a_page_that_kills_its_worker_fails_alone_and_is_kept_from_the_feed_after_three_tries(
    server: TestServer, work: Workdir, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The one stand-in here: no real page can be made to crash Lexbor on demand, so the worker process is made to
    # die for real (os._exit) on one page. Each poll brings 40 new stories, and the processes are running before it
    # starts, so that story 13 goes to one of them (while they start, jobs run in threads).
    monkeypatch.setattr(article, "stage_article", stage_or_die)
    work.write_config(config(feed_entry("harbour", server.url("/feed.xml")), extra="workers: 1\n"))
    cfg = load_config(work.config)
    items: list[dict[str, str]] = []

    async def poll() -> pipeline.FeedResult:
        workers = Workers(1, warm_after=0, preload=pipeline.WORKER_MODULES, on_crash=stale_temp_files(cfg))
        store = await open_store(cfg)
        try:
            workers.expect(1)
            await workers.started()
            async with Fetcher(cfg.http, cfg.politeness) as fetcher:
                return await pipeline.Pipeline(cfg, store, fetcher, workers=workers).refresh(cfg.feeds[0])
        finally:
            await workers.aclose()
            await store.close()

    outcomes = []
    for round in range(3):
        for i in range(round * 40, round * 40 + 40):
            path = f"/story/{i}.html"
            paragraphs = [f"{paragraph} This is story number {i}." for paragraph in PARAGRAPHS]
            server.add(path, body=article_page(f"Story {i}", paragraphs).encode())
            items.append({"title": f"Story {i}", "link": server.url(path), "description": f"Teaser of story {i}."})
        server.add("/feed.xml", body=rss(items).encode(), content_type="application/rss+xml")
        outcomes.append(asyncio.run(poll()))

    crash = f"feed 'harbour': {server.url('/story/13.html')}: a worker process died while handling this page"
    assert crash in outcomes[0].errors and crash in outcomes[1].errors
    assert not outcomes[2].errors
    assert any("archived from the feed's own content" in note for note in outcomes[2].notes)
    files = work.files()
    assert len(files) == 120 and not [f for f in files if f.name.endswith(".tmp")]
    (story13,) = [f for f in files if "Story 13'" in f.read_text(encoding="utf-8")]
    assert "Teaser of story 13." in story13.read_text(encoding="utf-8")


def test_a_worker_dying_keeps_the_files_of_the_jobs_it_finished_before_for_their_commit(
    server: TestServer, work: Workdir, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The race, made certain: the one worker process stages story 1 and hands its result back; only then is story
    # 13's page served, and the worker dies on it (for real, see stage_or_die); story 1's commit is held until the
    # cleanup after that death has run. That cleanup must not take story 1's file, which waits for its commit.
    monkeypatch.setattr(article, "stage_article", stage_or_die)
    work.write_config(config(feed_entry("harbour", server.url("/feed.xml")), extra="workers: 1\n"))
    cfg = load_config(work.config)
    items = []
    for i in (1, 13):
        paragraphs = [f"{paragraph} This is story number {i}." for paragraph in PARAGRAPHS]
        page = article_page(f"Story {i}", paragraphs).encode()
        if i == 1:
            server.add(f"/story/{i}.html", body=page)
        else:
            server.add_dynamic(f"/story/{i}.html", functools.partial(after_a_temp_file, work.archive, page))
        items.append({"title": f"Story {i}", "link": server.url(f"/story/{i}.html"), "description": "Teaser."})
    server.add("/feed.xml", body=rss(items).encode(), content_type="application/rss+xml")

    cleaned = threading.Event()
    clean = stale_temp_files(cfg)

    def on_crash(*lost: Any) -> object:
        try:
            return clean(*lost)
        finally:
            cleaned.set()

    real_commit_all = archive.commit_all

    def commit_after_the_cleanup(moves: Any, root: Path) -> Any:
        cleaned.wait(60)
        return real_commit_all(moves, root)

    monkeypatch.setattr(archive, "commit_all", commit_after_the_cleanup)

    async def poll() -> pipeline.FeedResult:
        workers = Workers(1, warm_after=0, preload=pipeline.WORKER_MODULES, on_crash=on_crash)
        store = await open_store(cfg)
        try:
            workers.expect(1)
            await workers.started()
            async with Fetcher(cfg.http, cfg.politeness) as fetcher:
                return await pipeline.Pipeline(cfg, store, fetcher, workers=workers).refresh(cfg.feeds[0])
        finally:
            await workers.aclose()
            await store.close()

    outcome = asyncio.run(poll())
    crash = f"feed 'harbour': {server.url('/story/13.html')}: a worker process died while handling this page"
    assert cleaned.is_set()
    assert outcome.errors == (crash,) and outcome.new == 1
    (story1,) = work.files()
    assert "Story 1'" in story1.read_text(encoding="utf-8")


def after_a_temp_file(root: Path, page: bytes, seen: Seen) -> Answer:
    """The page, once a temp file (the other story's, staged by the worker) is in the archive."""
    deadline = time.monotonic() + 60
    while not any(root.rglob(".*.tmp")) and time.monotonic() < deadline:
        time.sleep(0.01)
    return Answer(body=page)


def without_shm() -> None:
    """In the child, before the crawler starts: a mount namespace of its own whose /dev/shm is a read-only tmpfs, as
    in a container run with --ipc=none, where multiprocessing can create no semaphore. Needs CAP_SYS_ADMIN."""
    libc = ctypes.CDLL(None, use_errno=True)
    clone_newns, ms_rdonly, ms_rec, ms_private = 0x00020000, 1, 1 << 14, 1 << 18
    for failed in (
        libc.unshare(clone_newns),
        libc.mount(b"none", b"/", None, ms_rec | ms_private, None),  # nothing here reaches the test's namespace
        libc.mount(b"tmpfs", b"/dev/shm", b"tmpfs", ms_rdonly, None),
    ):
        if failed:
            raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))


def shm_can_be_taken_away() -> str | None:
    """Why the test cannot make a process without /dev/shm here, if it cannot."""
    probe = "import multiprocessing\ntry:\n    multiprocessing.Lock()\nexcept OSError:\n    print('none')\n"
    try:
        ran = subprocess.run([sys.executable, "-c", probe], preexec_fn=without_shm, capture_output=True, text=True)
    except subprocess.SubprocessError as exc:
        return f"cannot unshare a mount namespace and mount over /dev/shm here (root with CAP_SYS_ADMIN needed): {exc}"
    return None if ran.stdout.strip() == "none" else "multiprocessing still makes locks without /dev/shm here"


def test_without_a_writable_dev_shm_fetch_extracts_in_threads_and_says_so_once(
    server: TestServer, work: Workdir
) -> None:
    reason = shm_can_be_taken_away()
    if reason is not None:
        pytest.skip(reason)
    count = WARM_AFTER + 10  # a burst: the processes would start
    items = []
    for i in range(count):
        paragraphs = [f"{paragraph} This is story number {i}." for paragraph in PARAGRAPHS]
        server.add(f"/story/{i}.html", body=article_page(f"Story {i}", paragraphs).encode())
        items.append({"title": f"Story {i}", "link": server.url(f"/story/{i}.html"), "guid": f"story-{i}"})
    server.add("/feed.xml", body=rss(items).encode(), content_type="application/rss+xml")
    work.write_config(config(feed_entry("harbour", server.url("/feed.xml")), extra="workers: 2\n"))

    result = work.run("fetch", "--json", limits=without_shm)

    assert result.code == 0, result.stderr
    assert result.json()["feeds"][0]["new"] == count
    assert len(work.files()) == count
    warnings = [line for line in result.stderr.splitlines() if "worker processes unavailable" in line]
    assert warnings == [
        "WARNING worker processes unavailable (cannot create their semaphores, which need a writable /dev/shm: "
        "Read-only file system); extracting in threads"
    ], result.stderr


def test_workers_die_with_a_crawler_killed_outright(tmp_path: Path) -> None:
    script = tmp_path / "holder.py"
    script.write_text(
        "import asyncio, os\n"
        "from crawler.workers import Workers\n"
        "async def main() -> None:\n"
        "    workers = Workers(1, warm_after=0)\n"
        "    workers.expect(1)\n"
        "    await workers.started()\n"
        "    print(await workers.run(os.getpid), flush=True)\n"
        "    await asyncio.sleep(60)\n"
        "if __name__ == '__main__':\n"
        "    asyncio.run(main())\n",
        encoding="utf-8",
    )
    # Its resource tracker outlives it and would warn of the semaphores a killed pool never released.
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
        "PYTHONWARNINGS": "ignore::UserWarning",
    }
    holder = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert holder.stdout is not None
        worker = int(holder.stdout.readline())
        assert worker != holder.pid and archive_alive(worker)
        holder.kill()  # SIGKILL: no cleanup of its own runs
        holder.wait()
        deadline = time.monotonic() + 10
        while archive_alive(worker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not archive_alive(worker)
    finally:
        holder.kill()
        holder.wait()


def archive_alive(pid: int) -> bool:
    """Whether `pid` is a live (not zombie) process, as the archive's stale-temp-file cleanup judges it."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def stage_in_a_worker(root: Path, feed: FeedConfig, entry: Entry, page: article.FetchedPage | None, *rest: Any) -> Any:
    """The real stage, refusing to run anywhere but a worker process (a job run in a thread of the crawler's own
    process would fail its article). Module-level, so the worker imports it by name."""
    if multiprocessing.parent_process() is None:
        raise RuntimeError("staged outside the worker processes")
    staged = _real_stage(root, feed, entry, page, *rest)
    assert page is None or staged.records is not None  # the page's raw records came back with its file
    return staged


def test_raw_records_built_in_a_worker_keep_the_bytes_the_server_sent(
    server: TestServer, work: Workdir, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `raw: warc` records are built in the worker process beside the article's file, not on the crawler's WARC
    # thread: each still holds the body as sent (the compressed bytes of a gzip answer, a chunked body unframed).
    import gzip

    from crawler.archive import warcfiles
    from tests.support.warc import assert_tools_accept, raw_rows, record_at

    monkeypatch.setattr(article, "stage_article", stage_in_a_worker)
    sent: dict[str, bytes] = {}
    items = []
    for i, how in enumerate(("plain", "gzip", "chunked") * 3):
        paragraphs = [f"{paragraph} This is story number {i}." for paragraph in PARAGRAPHS]
        body = article_page(f"Story {i}", paragraphs).encode()
        path = f"/story/{i}.html"
        if how == "gzip":
            sent[path] = gzip.compress(body, mtime=0)
            server.add(path, Answer(body=sent[path], headers={"Content-Encoding": "gzip"}))
        else:
            sent[path] = body
            server.add(path, Answer(body=body, fault="chunked" if how == "chunked" else None))
        items.append({"title": f"Story {i}", "link": server.url(path), "description": f"Teaser of story {i}."})
    server.add("/feed.xml", body=rss(items).encode(), content_type="application/rss+xml")
    work.write_config(config(feed_entry("harbour", server.url("/feed.xml"), "    raw: warc\n"), extra="workers: 1\n"))
    cfg = load_config(work.config)

    async def poll() -> pipeline.FeedResult:
        workers = Workers(1, warm_after=0, preload=pipeline.worker_modules(cfg), on_crash=stale_temp_files(cfg))
        raw = warcfiles.WarcWriter(cfg.archive, cfg.warc)
        store = await open_store(cfg)
        try:
            workers.expect(1)
            await workers.started()
            async with Fetcher(cfg.http, cfg.politeness) as fetcher:
                return await pipeline.Pipeline(cfg, store, fetcher, workers=workers, raw=raw).refresh(cfg.feeds[0])
        finally:
            await raw.aclose()
            await workers.aclose()
            await store.close()

    outcome = asyncio.run(poll())
    assert not outcome.errors and outcome.new == len(sent)
    assert_tools_accept(work.archive)
    rows = raw_rows(work.path / ".crawler" / "state.db")
    assert len(rows) == len(sent)
    for filename, offset, length, url in rows.values():
        record = record_at(work.archive / "_warc" / filename, offset, length)
        assert record.kind == "response" and record.payload == sent[url.removeprefix(server.base)]
