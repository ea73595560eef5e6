"""Several `crawler run` nodes sharing one real PostgreSQL, one feeds.yaml and one archive folder, against a local
site of several hosts (127.0.0.1-4): every article exactly once, no feed polled by two nodes at once, no host over
its cap; a node killed with kill -9 has its feeds taken over within one lease; a node paused past its lease writes
nothing for the feed it lost. Leases are short (`lease:` in feeds.yaml); every wait is on a condition."""

from __future__ import annotations

import itertools
import re
import signal
import threading
import time
from collections.abc import Callable

import psycopg
import yaml

from tests.conftest import Workdir
from tests.support.daemon import RunningDaemon, archived_texts, article, rss, start_daemon
from tests.support.server import Answer, Seen, TestServer

__all__ = ["start_daemon"]  # the fixture, imported so pytest finds it

StartDaemon = Callable[..., RunningDaemon]
HOSTS = ("127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4")
LEASE = 3.0


def _site(server: TestServer, feeds: int, per_feed: int, delay: float) -> dict[str, str]:
    """Feeds spread over the hosts, each listing articles on every host (and, for each pair of feeds, one article
    both list); return each feed's name -> URL. Articles are marked `marker-<path>`."""
    for host in HOSTS[1:]:
        server.also_on(host)
    urls: dict[str, str] = {}
    for number in range(feeds):
        base = server.base_on(HOSTS[number % len(HOSTS)])
        items = [(f"Article {number}-{j}", f"/a{number}/{j}") for j in range(per_feed)]
        items.append((f"Shared {number // 2}", f"/shared/{number // 2}"))
        # Each item's link on its own host: a feed's articles are spread over the site.
        body = rss(base, items)
        for j in range(per_feed):
            body = body.replace(f"{base}/a{number}/{j}<", server.url(f"/a{number}/{j}<", HOSTS[(number + j) % 4]))
        server.add(f"/feed{number}.xml", body=body, content_type="application/rss+xml")
        for title, path in items:
            server.add(path, body=article(title, f"marker-{path}"), delay=delay)
        urls[f"f{number}"] = f"{base}/feed{number}.xml"
    return urls


def _config(urls: dict[str, str], state: str, per_host: int = 1) -> str:
    data = {
        "archive": "archive",
        "state": state,
        "lease": f"{LEASE}s",
        "min_interval": "1s",
        "politeness": {"delay": 0, "per_host": per_host},
        "feeds": [{"name": name, "url": url, "body": "#body", "interval": "1h"} for name, url in urls.items()],
    }
    return yaml.safe_dump(data, sort_keys=False)


def _markers(work: Workdir) -> list[str]:
    found: list[str] = []
    for text in archived_texts(work):
        found += sorted(set(re.findall(r"marker-/[a-z0-9/]+", text)))
    return found


def _wait(what: str, check: Callable[[], bool], nodes: list[RunningDaemon], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    logs = "\n".join(f"--- {n.log_path.name}\n{n.log()[-3000:]}" for n in nodes)
    raise AssertionError(f"timed out waiting for {what}\n{logs}")


def _overlapping(seen: list[Seen]) -> list[tuple[Seen, Seen]]:
    ordered = sorted(seen, key=lambda s: s.started)
    return [(a, b) for a, b in itertools.pairwise(ordered) if b.started < (a.finished or float("inf"))]


def _query(url: str, sql: str, *args: object) -> list[tuple[object, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql.encode(), args).fetchall()


def test_three_nodes_archive_every_article_once_one_poll_per_feed_and_no_host_over_its_cap(
    server: TestServer, work: Workdir, start_daemon: StartDaemon, postgres_url: str
) -> None:
    urls = _site(server, feeds=12, per_feed=4, delay=0.05)
    work.write_config(_config(urls, postgres_url, per_host=1))
    expected = {f"marker-/a{n}/{j}" for n in range(12) for j in range(4)} | {f"marker-/shared/{k}" for k in range(6)}

    nodes = [start_daemon(log_name=f"node{i}.log") for i in range(3)]
    _wait("every article archived", lambda: set(_markers(work)) >= expected, nodes)

    markers = _markers(work)
    assert sorted(markers) == sorted(expected), "an article archived twice, or one that should not be"
    for path in (f"/feed{n}.xml" for n in range(12)):
        polls = server.requests(path)
        assert not _overlapping(polls), f"{path} fetched by two nodes at once"
    for host in HOSTS:
        assert server.max_active_on(host) <= 1, f"{host} got more requests at once than its cap"
    status = work.run("status", "--json")
    assert status.code == 0, status.stderr
    assert [n["state"] for n in status.json()["nodes"]] == ["alive"] * 3
    assert "nodes (3 alive)" in work.run("status").stdout
    for node in nodes:
        node.signal(signal.SIGTERM)
    assert [node.wait(60) for node in nodes] == [0, 0, 0]
    assert [n["state"] for n in work.run("status", "--json").json()["nodes"]] == ["stopped"] * 3
    assert _query(postgres_url, "SELECT count(*) FROM feed_leases WHERE node IS NOT NULL") == [(0,)]


def test_a_node_killed_mid_crawl_has_its_feed_finished_by_the_others_within_one_lease(
    server: TestServer, work: Workdir, start_daemon: StartDaemon, postgres_url: str
) -> None:
    urls = _site(server, feeds=1, per_feed=6, delay=0.0)
    # One page holds its answer until the test lets it go: the first node is killed while waiting for it.
    arrived, gate = threading.Event(), threading.Event()

    def held(_seen: Seen) -> Answer:
        arrived.set()
        gate.wait(60)
        return Answer(body=article("Article 0-5", "marker-/a0/5").encode())

    server.add_dynamic("/a0/5", held)
    work.write_config(_config(urls, postgres_url, per_host=1))
    expected = {f"marker-/a0/{j}" for j in range(6)} | {"marker-/shared/0"}
    first = start_daemon(log_name="node0.log")
    _wait("the first node mid-crawl", arrived.is_set, [first])
    others = [start_daemon(log_name=f"node{i}.log") for i in (1, 2)]
    _wait(
        "the others joined",
        lambda: _query(postgres_url, "SELECT count(*) FROM nodes WHERE stopped_at IS NULL")[0][0] == 3,
        [first, *others],
    )

    [(remaining,)] = _query(
        postgres_url, "SELECT until - extract(epoch from clock_timestamp()) FROM feed_leases WHERE feed = 'f0'"
    )
    first.kill()  # kill -9: no goodbye, its lease runs out by itself
    killed_at = time.monotonic()
    gate.set()
    _wait("the feed taken over", lambda: len(server.requests("/feed0.xml")) >= 2, others)
    taken_over = server.requests("/feed0.xml")[1].started - killed_at
    _wait("every article archived", lambda: set(_markers(work)) >= expected, others)

    assert float(str(remaining)) - 0.5 <= taken_over <= float(str(remaining)) + LEASE
    assert sorted(_markers(work)) == sorted(expected)  # nothing lost, nothing twice


def test_a_node_paused_past_its_lease_writes_nothing_for_the_feed_it_lost(
    server: TestServer, work: Workdir, start_daemon: StartDaemon, postgres_url: str
) -> None:
    urls = _site(server, feeds=1, per_feed=3, delay=1.0)
    work.write_config(_config(urls, postgres_url, per_host=1))
    expected = {f"marker-/a0/{j}" for j in range(3)} | {"marker-/shared/0"}
    paused = start_daemon(log_name="paused.log")
    _wait("the first node mid-crawl", lambda: len(server.requests("/a0/0")) >= 1, [paused])
    other = start_daemon(log_name="other.log")

    paused.signal(signal.SIGSTOP)
    _wait("the other node took the feed and archived it", lambda: set(_markers(work)) >= expected, [other])
    _wait(
        "the other node's poll recorded",
        lambda: _query(postgres_url, "SELECT count(*) FROM feed_leases WHERE node IS NULL")[0][0] == 1,
        [other],
    )
    snapshot = _state_of(postgres_url, "f0")
    paused.signal(signal.SIGCONT)
    _wait("the paused node to find its lease lost", lambda: "lease lost" in paused.log(), [paused])

    after = _state_of(postgres_url, "f0")
    for part, rows in snapshot.items():
        assert after[part] == rows, f"{part} changed:\nbefore {rows}\nafter  {after[part]}"
    assert sorted(_markers(work)) == sorted(expected)


def _state_of(url: str, feed: str) -> dict[str, list[tuple[object, ...]]]:
    return {
        "feed": _query(url, "SELECT * FROM feeds WHERE name = %s", feed),
        "entries": _query(url, "SELECT * FROM entries WHERE feed = %s ORDER BY entry_key", feed),
        "claims": _query(url, "SELECT * FROM claims WHERE feed = %s ORDER BY name", feed),
        "articles": _query(url, "SELECT * FROM articles ORDER BY id"),
        "selector checks": _query(url, "SELECT * FROM selector_checks WHERE feed = %s ORDER BY id", feed),
    }
