"""SIGTERM while a poll's articles are still listed: the drain archives them as far as the grace allows, /healthz
says "stopping" (not "stuck") with how many are left, and the poll's line counts those left for the next run."""

from __future__ import annotations

import re
import signal
import threading
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.conftest import Workdir
from tests.support.daemon import RunningDaemon, archived_texts, article, free_port, rss, start_daemon
from tests.support.server import Answer, Seen, TestServer

__all__ = ["start_daemon"]  # the fixture, imported so pytest finds it

StartDaemon = Callable[..., RunningDaemon]
ARTICLES = 6


class Gate:
    """Article pages held by the server until the test opens the gate; `arrived` is set by the first request."""

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.open = threading.Event()

    def answer(self, marker: str) -> Callable[[Seen], Answer]:
        def held(_seen: Seen) -> Answer:
            self.arrived.set()
            self.open.wait(timeout=120)
            return Answer(body=article(marker, marker).encode())

        return held


@pytest.fixture
def gate() -> Iterator[Gate]:
    held = Gate()
    yield held
    held.open.set()  # no server thread stays blocked after the test


def _serve(server: TestServer, work: Workdir, gate: Gate) -> None:
    items = [(f"Held {i}", f"/held/{i}") for i in range(ARTICLES)]
    server.add("/held.xml", body=rss(server.base, items), content_type="application/rss+xml")
    for i in range(ARTICLES):
        server.add_dynamic(f"/held/{i}", gate.answer(f"marker-held-{i}"))
    # One connection in all: two articles under way at once, the others waiting their turn in the pipeline.
    work.write_config(
        "archive: archive\nmin_interval: 1s\npoliteness:\n  delay: 0\n  max_connections: 1\nfeeds:\n"
        f'  - name: held\n    url: {server.url("/held.xml")}\n    body: "#body"\n    interval: 1h\n'
    )


def _poll_line(log: str) -> str:
    lines = [line for line in log.splitlines() if " INFO poll feed=held " in line]
    assert len(lines) == 1, log
    return lines[0]


def test_sigterm_mid_poll_archives_the_listed_articles_and_healthz_says_stopping(
    server: TestServer, work: Workdir, start_daemon: StartDaemon, gate: Gate
) -> None:
    _serve(server, work, gate)
    port = free_port()
    daemon = start_daemon("--grace", "60s", "--health", f"127.0.0.1:{port}")
    daemon.wait_for("the first article request", gate.arrived.is_set)

    daemon.signal(signal.SIGTERM)
    daemon.wait_for("the drain to begin", lambda: "waiting for running polls" in daemon.log())
    health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
    assert health.status_code == 503
    assert health.json()["status"] == "stopping"
    assert health.json()["reason"] == "stopping"
    assert health.json()["articles_left"] == ARTICLES  # none is done while the gate holds the pages
    gate.open.set()

    assert daemon.wait(timeout=60) == 0
    assert len(archived_texts(work)) == ARTICLES
    line = _poll_line(daemon.log())
    assert " status=ok " in line and f" new={ARTICLES} " in line
    assert "deferred=" not in line
    assert "grace period" not in daemon.log()


def test_sigterm_with_little_grace_left_counts_the_articles_left_pending_and_the_next_run_archives_them(
    server: TestServer, work: Workdir, start_daemon: StartDaemon, gate: Gate
) -> None:
    _serve(server, work, gate)
    # 16 s of grace: articles not yet started are left pending 4 s before its end, what is under way may finish.
    daemon = start_daemon("--grace", "16s")
    daemon.wait_for("the first article request", gate.arrived.is_set)

    daemon.signal(signal.SIGTERM)
    daemon.wait_for("the grace to run short", lambda: "grace period nearly over" in daemon.log(), timeout=40)
    gate.open.set()

    assert daemon.wait(timeout=30) == 0
    log = daemon.log()
    assert "grace period over" not in log, log
    line = _poll_line(log)
    new = int(re.search(r" new=(\d+) ", line).group(1))  # type: ignore[union-attr]
    assert new == len(archived_texts(work)) == 2  # the two under way when the grace ran short
    assert f" deferred={ARTICLES - new} " in line
    result = work.run("fetch", "--no-progress")
    assert result.code == 0, result.stderr
    assert len(archived_texts(work)) == ARTICLES
