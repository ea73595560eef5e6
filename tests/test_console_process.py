"""The console's pages built in a child process (`crawler run --http`'s way): the same bytes as built in this
process, a reload's config reaching the child, a killed child replaced, no child left after close, and the
daemon's one child leaving with it however it stops."""

from __future__ import annotations

import functools
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from crawler.config.load import load_config
from crawler.config.settings import Config
from crawler.console.app import Console, Response
from crawler.console.process import PageProcess
from crawler.console.server import ConsoleLoop
from crawler.store import open_store
from tests.conftest import Workdir
from tests.support.daemon import RunningDaemon, free_port, start_daemon
from tests.test_console import archived

__all__ = ["archived", "start_daemon"]

PATHS = ["/", "/?sort=name&order=desc", "/feeds/news", "/articles", "/articles?q=港口", "/articles/nope", "/nowhere"]


@pytest.fixture
def pages(archived: Workdir) -> Iterator[tuple[PageProcess, list[Config]]]:
    """A page process over the archived work folder, and the config it is given (change [0] to reload)."""
    current = [load_config(archived.config)]
    process = PageProcess(functools.partial(open_store, read_only=True), lambda: current[0], 60.0)
    yield process, current
    process.close()


def _loop(config: Config) -> ConsoleLoop:
    return ConsoleLoop(lambda: open_store(config, read_only=True), lambda store: Console(store, lambda: config))


def test_the_child_answers_the_same_bytes_as_this_process(pages: tuple[PageProcess, list[Config]]) -> None:
    process, current = pages
    here = _loop(current[0])
    try:
        for path in PATHS:
            route, _, query = path.partition("?")
            args = dict(part.split("=", 1) for part in query.split("&")) if query else {}
            before = here.answer(route, args)
            child = process.answer(route, args)
            after = here.answer(route, args)  # a day may turn between them: then the child matches one of the two
            assert child in (before, after), path
            assert isinstance(child, Response) and child.status in (200, 404)
    finally:
        here.close()


def test_a_reloaded_config_reaches_the_child(pages: tuple[PageProcess, list[Config]], archived: Workdir) -> None:
    process, current = pages
    assert 'data-feed="later"' not in process.answer("/", {}).body.decode()
    document = yaml.safe_load(archived.config.read_text())
    document["feeds"].append({"name": "later", "url": "http://127.0.0.1:9/feed.xml"})
    archived.write_config(yaml.safe_dump(document, allow_unicode=True, sort_keys=False))
    current[0] = load_config(archived.config)
    assert [feed.name for feed in current[0].feeds] == ["news", "later"]
    assert 'data-feed="later"' in process.answer("/", {}).body.decode()


def test_a_killed_child_is_replaced(pages: tuple[PageProcess, list[Config]]) -> None:
    process, _ = pages
    assert process.answer("/", {}).status == 200
    first = process.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    answers: list[int] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not answers or answers[-1] != 200):
        answers.append(process.answer("/", {}).status)  # 503 at most once: the request that found it dead
    assert answers[-1] == 200 and set(answers) <= {200, 503} and answers.count(503) <= 1
    assert process.pid not in (None, first)


def test_close_leaves_no_child(archived: Workdir) -> None:
    current = load_config(archived.config)
    process = PageProcess(functools.partial(open_store, read_only=True), lambda: current, 60.0)
    assert process.answer("/", {}).status == 200
    pid = process.pid
    assert pid is not None
    process.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # gone and reaped


def test_the_child_ignores_signals_meant_for_the_daemon(pages: tuple[PageProcess, list[Config]]) -> None:
    process, _ = pages
    assert process.answer("/", {}).status == 200
    pid = process.pid
    assert pid is not None
    for signum in (signal.SIGINT, signal.SIGTERM):
        os.kill(pid, signum)
    assert process.answer("/", {}).status == 200  # the signals were delivered before this request was read
    assert process.pid == pid


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid` and that run the console's page process."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == pid and b"crawler.console.process" in command:
            found.append(int(entry.name))
    return found


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")  # exited (a zombie until whatever adopted it reaps it)


@pytest.mark.parametrize("stop", ["SIGTERM", "SIGKILL"])
def test_the_daemon_builds_its_pages_in_one_child_that_leaves_with_it(
    archived: Workdir, start_daemon: Callable[..., RunningDaemon], stop: str
) -> None:
    port = free_port()
    daemon = start_daemon("--http", f"127.0.0.1:{port}")

    def answered() -> bool:
        try:
            return 'data-feed="news"' in httpx.get(f"http://127.0.0.1:{port}/").text
        except httpx.HTTPError:
            return False

    daemon.wait_for("the dashboard", answered, timeout=60)
    [child] = _children(daemon.proc.pid)
    daemon.signal(getattr(signal, stop))
    daemon.wait()
    deadline = time.monotonic() + 60
    while not _gone(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _gone(child), f"the page process {child} outlived the daemon ({stop})"
