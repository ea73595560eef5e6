"""`crawler run`, the real daemon as a subprocess against the local server: reload, stop, crash, restart, health."""

from __future__ import annotations

import signal
import sqlite3
import threading
from collections.abc import Callable

import httpx
import pytest

from tests.conftest import Workdir
from tests.support.daemon import (
    RunningDaemon,
    archived_texts,
    article,
    free_port,
    is_complete,
    rss,
    start_daemon,
    temp_files,
)
from tests.support.server import Answer, Seen, TestServer

__all__ = ["start_daemon"]  # the fixture, imported so pytest finds it

StartDaemon = Callable[..., RunningDaemon]


def _config(server: TestServer, feeds: list[tuple[str, str, str]], extra_feed: str = "") -> str:
    lines = [
        "# test feeds",
        "archive: archive",
        "min_interval: 1s",
        "politeness:",
        "  delay: 0",
        "feeds:",
    ]
    for name, path, interval in feeds:
        lines += [
            f"  - name: {name}",
            f"    url: {server.url(path)}",
            '    body: "#body"',
            f"    interval: {interval}",
        ]
    return "\n".join(lines) + "\n" + extra_feed


def _serve_feed(server: TestServer, path: str, prefix: str, count: int = 1, delay: float = 0.0) -> None:
    items = [(f"{prefix} article {i}", f"/{prefix}/{i}") for i in range(count)]
    server.add(path, body=rss(server.base, items), content_type="application/rss+xml")
    for title, page in items:
        server.add(page, body=article(title, f"marker-{prefix}-{page.rsplit('/', 1)[1]}"), delay=delay)


def _serve_slow_feed(server: TestServer, delay: float) -> threading.Event:
    """Serve /slow.xml with one article whose page takes `delay` seconds; the event is set when it is asked for."""
    arrived = threading.Event()

    def slow_page(_seen: Seen) -> Answer:
        arrived.set()
        return Answer(body=article("Slow", "marker-slow").encode(), delay=delay)

    server.add("/slow.xml", body=rss(server.base, [("Slow", "/slow/1")]), content_type="application/rss+xml")
    server.add_dynamic("/slow/1", slow_page)
    return arrived


def _archived(work: Workdir, marker: str) -> Callable[[], bool]:
    return lambda: any(marker in text for text in archived_texts(work))


def _articles(work: Workdir) -> list[str]:
    return archived_texts(work)


def test_feed_added_while_running_is_archived_without_restart_broken_edit_is_logged_and_fix_applies(
    server: TestServer, work: Workdir, start_daemon: StartDaemon
) -> None:
    for prefix in ("a", "b", "c"):
        _serve_feed(server, f"/{prefix}.xml", prefix)
    work.write_config(_config(server, [("feed-a", "/a.xml", "1h")]))
    daemon = start_daemon()
    daemon.wait_for("feed-a's article", _archived(work, "marker-a-0"))

    work.write_config(_config(server, [("feed-a", "/a.xml", "1h"), ("feed-b", "/b.xml", "1h")]))
    daemon.wait_for("feed-b's article, added while running", _archived(work, "marker-b-0"))

    broken = _config(
        server,
        [("feed-a", "/a.xml", "1h"), ("feed-b", "/b.xml", "1h"), ("feed-c", "/c.xml", "ten minutes")],
    )
    line = broken.splitlines().index("    interval: ten minutes") + 1
    work.write_config(broken)
    daemon.wait_for("the rejected edit in the log", lambda: f"feeds.yaml:{line}: feed 'feed-c'" in daemon.log())
    assert daemon.alive()
    assert server.requests("/c.xml") == []

    work.write_config(broken.replace("ten minutes", "1h"))
    daemon.wait_for("feed-c's article after the fix", _archived(work, "marker-c-0"))
    assert daemon.alive()
    daemon.signal(signal.SIGTERM)
    assert daemon.wait() == 0
    assert len(_articles(work)) == 3


def test_sighup_reloads_feeds_yaml(server: TestServer, work: Workdir, start_daemon: StartDaemon) -> None:
    _serve_feed(server, "/a.xml", "a")
    _serve_feed(server, "/b.xml", "b")
    work.write_config(_config(server, [("feed-a", "/a.xml", "1h")]))
    daemon = start_daemon()
    daemon.wait_for("feed-a's article", _archived(work, "marker-a-0"))
    work.write_config(_config(server, [("feed-a", "/a.xml", "1h"), ("feed-b", "/b.xml", "1h")]))
    daemon.signal(signal.SIGHUP)
    daemon.wait_for("feed-b's article", _archived(work, "marker-b-0"))
    assert "reloading on SIGHUP" in daemon.log()


def test_a_poll_under_way_survives_two_reloads_the_second_replacing_its_http_client(
    server: TestServer, work: Workdir, start_daemon: StartDaemon
) -> None:
    arrived = _serve_slow_feed(server, delay=4.0)
    _serve_feed(server, "/b.xml", "b")
    feeds = [("slow", "/slow.xml", "1h")]
    work.write_config(_config(server, feeds))
    daemon = start_daemon()
    daemon.wait_for("the slow article's request", arrived.is_set)

    # A reload that keeps the http settings (its fetcher is the one the slow poll uses), then one that changes them.
    work.write_config(_config(server, [*feeds, ("feed-b", "/b.xml", "1h")]))
    daemon.signal(signal.SIGHUP)
    daemon.wait_for("the first reload", lambda: daemon.log().count("config reloaded") >= 1)
    work.write_config(_config(server, [*feeds, ("feed-b", "/b.xml", "1h")]) + "http:\n  user_agent: other/1.0\n")
    daemon.signal(signal.SIGHUP)
    daemon.wait_for("the second reload", lambda: daemon.log().count("config reloaded") >= 2)

    daemon.wait_for("the slow article", _archived(work, "marker-slow"), timeout=30)
    assert len(server.requests("/slow/1")) == 1  # fetched once, not failed and fetched again


def test_workers_set_by_a_reload_take_effect_without_a_restart(
    server: TestServer, work: Workdir, start_daemon: StartDaemon
) -> None:
    _serve_feed(server, "/a.xml", "a")
    items = [(f"Item {i}", f"/big/{i}") for i in range(210)]
    server.add("/big.xml", body=rss(server.base, items), content_type="application/rss+xml")
    feeds = [("feed-a", "/a.xml", "1h")]
    work.write_config("workers: 0\n" + _config(server, feeds))
    daemon = start_daemon()
    daemon.wait_for("feed-a's article", _archived(work, "marker-a-0"))

    # A feed of 210 items archived from their feed text: a burst, which with `workers: 1` goes to a process.
    big = f"  - name: big\n    url: {server.url('/big.xml')}\n    content: feed\n"
    work.write_config("workers: 1\n" + _config(server, feeds, extra_feed=big))
    daemon.signal(signal.SIGHUP)

    daemon.wait_for("the big feed", lambda: len(_articles(work)) == 211, timeout=60)
    # The processes are started for the burst; the jobs do not wait for them (they may all be done in the thread).
    daemon.wait_for("the worker processes", lambda: "worker processes started" in daemon.log(), timeout=30)


def test_sigterm_while_a_page_is_served_slowly_archives_it_and_exits_0(
    server: TestServer, work: Workdir, start_daemon: StartDaemon
) -> None:
    arrived = _serve_slow_feed(server, delay=3.0)
    port = free_port()
    work.write_config(_config(server, [("slow", "/slow.xml", "1h")]))
    daemon = start_daemon("--grace", "20s", "--health", f"127.0.0.1:{port}")
    daemon.wait_for("the article request", arrived.is_set)

    daemon.signal(signal.SIGTERM)
    daemon.wait_for("the stop to begin", lambda: "stopping" in daemon.log())
    health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
    assert health.status_code == 503
    assert health.json()["reason"] == "stopping"

    assert daemon.wait(timeout=30) == 0
    texts = _articles(work)
    assert len(texts) == 1
    assert is_complete(texts[0])
    assert "marker-slow" in texts[0]
    assert temp_files(work.archive) == []


def test_sigterm_with_grace_to_spare_archives_every_article_the_poll_listed_and_starts_no_new_poll(
    server: TestServer, work: Workdir, start_daemon: StartDaemon
) -> None:
    _serve_feed(server, "/queue.xml", "q", count=40, delay=0.5)
    work.write_config(_config(server, [("queue", "/queue.xml", "1h")]))
    daemon = start_daemon("--grace", "60s")
    daemon.wait_for("the first articles", lambda: len(_articles(work)) >= 2, timeout=60)

    daemon.signal(signal.SIGTERM)

    assert daemon.wait(timeout=60) == 0
    assert "grace period" not in daemon.log()
    # The drain is the poll's listed articles too: all 40 archived, each requested once, the feed polled once.
    assert len(_articles(work)) == 40
    assert len([r for r in server.requests() if r.path.startswith("/q/")]) == 40
    assert len(server.requests("/queue.xml")) == 1


def test_kill_9_in_the_middle_of_200_articles_then_fetch_archives_each_exactly_once(
    server: TestServer, work: Workdir, start_daemon: StartDaemon
) -> None:
    _serve_feed(server, "/many.xml", "m", count=200, delay=0.03)
    work.write_config(_config(server, [("many", "/many.xml", "1h")]))
    daemon = start_daemon()
    daemon.wait_for("some articles archived", lambda: len(_articles(work)) >= 20, timeout=60)
    daemon.kill()
    assert len(_articles(work)) < 200, "the daemon finished before it was killed; nothing was interrupted"

    result = work.run("fetch", "--no-progress")

    assert result.code == 0, result.stderr
    texts = _articles(work)
    assert len(texts) == 200
    assert all(is_complete(text) for text in texts)
    markers = {f"marker-m-{i}" for i in range(200)}
    assert {next(m for m in markers if f"<p>{m}</p>" in text) for text in texts} == markers
    assert temp_files(work.archive) == []


def _next_polls(work: Workdir) -> dict[str, float]:
    with sqlite3.connect(work.path / ".crawler" / "state.db") as db:
        return {name: value for name, value in db.execute("SELECT name, next_poll FROM feeds")}


def test_restart_keeps_each_feeds_stored_next_poll_time(
    server: TestServer, work: Workdir, start_daemon: StartDaemon
) -> None:
    _serve_feed(server, "/fast.xml", "f")
    _serve_feed(server, "/slow.xml", "s")
    work.write_config(_config(server, [("fast", "/fast.xml", "2s"), ("slow", "/slow.xml", "1h")]))
    first = start_daemon()
    first.wait_for("both feeds archived", lambda: len(_articles(work)) == 2)
    first.wait_for("both polls stored", lambda: set(_next_polls(work)) == {"fast", "slow"})
    first.signal(signal.SIGTERM)
    assert first.wait() == 0
    slow_polls = len(server.requests("/slow.xml"))
    fast_polls = len(server.requests("/fast.xml"))
    slow_next = _next_polls(work)["slow"]

    second = start_daemon()
    second.wait_for("fast polled twice more", lambda: len(server.requests("/fast.xml")) >= fast_polls + 2)

    assert len(server.requests("/slow.xml")) == slow_polls
    assert _next_polls(work)["slow"] == slow_next
    second.signal(signal.SIGTERM)
    assert second.wait() == 0


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError(f"no {name} in /metrics:\n{text}")


def test_healthz_and_metrics_answer_with_real_counts(
    server: TestServer, work: Workdir, start_daemon: StartDaemon
) -> None:
    _serve_feed(server, "/news.xml", "n", count=3)
    server.add("/n/2", body="gone", status=404, content_type="text/plain")  # archived from the feed instead
    port = free_port()
    work.write_config(_config(server, [("news", "/news.xml", "1h")]))
    daemon = start_daemon("--health", f"127.0.0.1:{port}", "--log-format", "json")
    base = f"http://127.0.0.1:{port}"
    daemon.wait_for("three articles", lambda: len(_articles(work)) == 3)

    def polled() -> bool:
        try:
            text = httpx.get(f"{base}/metrics", timeout=5).text
        except httpx.HTTPError:
            return False
        return 'crawler_polls_total{feed="news",outcome="ok"} 1.0' in text

    daemon.wait_for("the poll in /metrics", polled)
    health = httpx.get(f"{base}/healthz", timeout=5)
    metrics = httpx.get(f"{base}/metrics", timeout=5).text

    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    assert health.json()["last_success"] is not None
    assert _metric(metrics, 'crawler_articles_archived_total{feed="news"}') == 3
    assert _metric(metrics, 'crawler_http_responses_total{status="404"}') == 1
    assert _metric(metrics, 'crawler_http_responses_total{status="200"}') >= 3  # the feed and two pages
    assert _metric(metrics, 'crawler_fetch_failures_total{kind="status"}') == 1
    assert _metric(metrics, 'crawler_pending_articles{feed="news"}') == 0
    assert _metric(metrics, "crawler_poll_duration_seconds_count") == 1
    assert _metric(metrics, "crawler_feeds") == 1
    assert '"event": "poll"' in daemon.log()
    assert '"feed": "news"' in daemon.log()


def _stored_interval(work: Workdir, name: str) -> float:
    with sqlite3.connect(work.path / ".crawler" / "state.db") as db:
        last, upcoming = db.execute("SELECT last_poll, next_poll FROM feeds WHERE name = ?", (name,)).fetchone()
    return float(upcoming - last)


def test_feed_ttl_and_cache_control_stretch_the_stored_interval_within_max_interval(
    server: TestServer, work: Workdir
) -> None:
    ttl_feed = rss(server.base, []).replace("<channel>", "<channel><ttl>60</ttl>")  # minutes
    server.add("/ttl.xml", body=ttl_feed, content_type="application/rss+xml")
    server.add(
        "/cached.xml",
        body=rss(server.base, []),
        content_type="application/rss+xml",
        headers={"Cache-Control": "max-age=120"},
    )
    server.add("/huge-ttl.xml", body=ttl_feed.replace("<ttl>60</ttl>", "<ttl>100000</ttl>"))
    work.write_config(
        _config(
            server, [("ttl", "/ttl.xml", "1s"), ("cached", "/cached.xml", "1s"), ("huge", "/huge-ttl.xml", "1s")]
        ).replace("min_interval: 1s", "min_interval: 1s\nmax_interval: 2h")
    )

    result = work.run("fetch", "--no-progress")

    assert result.code == 0, result.stderr
    assert _stored_interval(work, "ttl") == pytest.approx(3600)
    assert _stored_interval(work, "cached") == pytest.approx(120)
    assert _stored_interval(work, "huge") == pytest.approx(7200)
    # Polled again unchanged (not parsed): the <ttl> the feed gave last time still holds.
    again = work.run("fetch", "--no-progress", "--json")
    assert again.code == 0, again.stderr
    assert all(feed["not_modified"] for feed in again.json()["feeds"])
    assert _stored_interval(work, "ttl") == pytest.approx(3600)


def test_a_second_signal_exits_at_once_and_the_article_stays_pending_for_the_next_run(
    server: TestServer, work: Workdir, start_daemon: StartDaemon
) -> None:
    arrived = threading.Event()

    def stuck_page(_seen: Seen) -> Answer:
        first = not arrived.is_set()
        arrived.set()
        return Answer(body=article("Stuck", "marker-stuck").encode(), delay=8.0 if first else 0.0)

    server.add("/stuck.xml", body=rss(server.base, [("Stuck", "/stuck/1")]), content_type="application/rss+xml")
    server.add_dynamic("/stuck/1", stuck_page)
    work.write_config(_config(server, [("stuck", "/stuck.xml", "1h")]))
    daemon = start_daemon("--grace", "60s")
    daemon.wait_for("the article request", arrived.is_set)

    daemon.signal(signal.SIGTERM)
    daemon.wait_for("the stop to begin", lambda: "stopping" in daemon.log())
    daemon.signal(signal.SIGTERM)

    assert daemon.wait(timeout=20) == 128 + signal.SIGTERM  # well before the 60 s grace is over
    assert _articles(work) == []
    assert work.run("fetch", "--no-progress").code == 0
    texts = _articles(work)
    assert len(texts) == 1
    assert "marker-stuck" in texts[0]
