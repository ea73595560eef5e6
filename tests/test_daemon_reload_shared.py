"""A reload of feeds.yaml while a poll is under way: the real daemon against the real local server. Polls of the
old and the new settings share one deduplication state and one politeness state (one fetcher, one per-host cap),
even when the reload changes the http settings."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable

import httpx

from tests.conftest import Workdir
from tests.support.daemon import RunningDaemon, archived_texts, article, free_port, rss, start_daemon
from tests.support.server import Answer, Seen, TestServer

__all__ = ["start_daemon"]  # the fixture, imported so pytest finds it

StartDaemon = Callable[..., RunningDaemon]
PAGES = "127.0.0.2"  # the articles' host, capped at one request at a time


def _config(server: TestServer, feeds: list[str], http: str = "") -> str:
    lines = ["archive: archive", "min_interval: 1s", "politeness:", "  delay: 0", "  per_host: 1", "feeds:"]
    for name in feeds:
        lines += [
            f"  - name: {name}",
            f"    url: {server.url(f'/{name}.xml')}",
            '    body: "#body"',
            "    interval: 1h",
        ]
    return "\n".join(lines) + "\n" + http


def _articles_left(port: int) -> int:
    try:
        return int(httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json()["articles_left"])
    except httpx.HTTPError:
        return -1


def test_a_reload_changing_http_settings_mid_poll_keeps_one_dedup_and_one_per_host_cap(
    server: TestServer, work: Workdir, start_daemon: StartDaemon
) -> None:
    pages = server.also_on(PAGES)
    arrived, release = threading.Event(), threading.Event()

    def held_page(_seen: Seen) -> Answer:
        arrived.set()
        release.wait(60)
        return Answer(body=article("Shared", "marker-shared").encode())

    server.add_dynamic("/shared", held_page)
    server.add("/other", body=article("Other", "marker-other"))
    server.add("/old.xml", body=rss(pages, [("Shared", "/shared")]), content_type="application/rss+xml")
    # The new feed lists the article the old poll is fetching, and another page on the same host.
    server.add(
        "/new.xml", body=rss(pages, [("Shared", "/shared"), ("Other", "/other")]), content_type="application/rss+xml"
    )
    port = free_port()
    work.write_config(_config(server, ["old"]))
    daemon = start_daemon("--health", f"127.0.0.1:{port}")
    daemon.wait_for("the old poll's article request", arrived.is_set)

    work.write_config(_config(server, ["old", "new"], http="http:\n  user_agent: other/1.0\n"))
    daemon.signal(signal.SIGHUP)
    daemon.wait_for("the reload", lambda: "config reloaded" in daemon.log())
    # The new poll has listed both its articles while the old poll's page is still held: 1 + 2 under way.
    daemon.wait_for("the new poll's articles", lambda: _articles_left(port) == 3)
    release.set()

    daemon.wait_for("both articles", lambda: sum("marker-" in text for text in archived_texts(work)) == 2)
    assert len(server.requests("/shared")) == 1  # fetched once, for both generations
    assert server.max_active_on(PAGES) == 1  # robots.txt, the held page and the other page: one at a time
    assert len(archived_texts(work)) == 2
    daemon.signal(signal.SIGTERM)
    assert daemon.wait() == 0
