"""Politeness through the real CLI, against one server listening on several loopback addresses (one "host" each):
per-host caps and delays, overrides, the global cap, robots.txt for article pages only, an honest User-Agent. The
delays are checked on the Fetcher itself, with a clock it sleeps on (tests/support/clock.py), so that they are
exact on a loaded machine too."""

from __future__ import annotations

import asyncio
from itertools import pairwise

from crawler import __version__
from crawler.config.load import load_config
from crawler.fetch import Fetcher, Request
from tests.conftest import Workdir
from tests.support.clock import StepClock
from tests.support.feeds import RSS, Item, config, page, rss
from tests.support.server import Answer, TestServer

HOST_B = "127.0.0.2"
HOST_C = "127.0.0.3"
EXACT = 1e-9  # float rounding of the step clock's sums, nothing else


def _paced(server: TestServer, work: Workdir, urls: list[str], *, unpaced: int = 0) -> StepClock:
    """GET `urls` at once (robots.txt first, as for article pages) with a Fetcher built from the feeds.yaml in
    `work`, its delays kept by a step clock (tests/support/clock.py): the times read off it are the ones the Fetcher
    gave the requests, so the delays are checked exactly, not by how fast a loaded machine sent them."""
    settings = load_config(work.config)
    clock = StepClock(lambda: len(server.requests(host=HOST_B)), unpaced=unpaced)

    async def fetch_all() -> None:
        async with Fetcher(settings.http, settings.politeness, clock=clock.now, sleep=clock.sleep) as fetcher:
            await asyncio.gather(*(fetcher.get(Request(url, check_robots=True)) for url in urls))

    asyncio.run(fetch_all())
    return clock


def _articles(server: TestServer, host: str, count: int, *, prefix: str = "/p", delay: float = 0.0) -> list[Item]:
    server.also_on(host)
    items = []
    for number in range(count):
        path = f"{prefix}{number}"
        server.add(path, Answer(body=page(f"Article {number} on {host}.").encode(), delay=delay))
        items.append(Item(server.url(path, host=host), title=f"{host} {number}"))
    return items


def test_server_sees_no_more_than_the_per_host_cap_of_concurrent_requests(server: TestServer, work: Workdir) -> None:
    items = _articles(server, HOST_B, 6, delay=0.3) + _articles(server, HOST_C, 3, prefix="/q", delay=0.3)
    server.add("/feed.xml", body=rss(*items), content_type=RSS)
    work.write_config(
        config(
            {"name": "news", "url": server.url("/feed.xml")},
            politeness={"per_host": 2, "hosts": {HOST_C: {"per_host": 1}}},
        )
    )

    result = work.run("fetch", "--json")

    assert result.code == 0, result.stderr
    assert result.json()["feeds"][0]["new"] == 9
    assert server.max_active_on(HOST_B) <= 2
    assert server.max_active_on(HOST_C) <= 1


def test_global_cap_bounds_requests_across_hosts(server: TestServer, work: Workdir) -> None:
    items = _articles(server, HOST_B, 3, delay=0.2) + _articles(server, HOST_C, 3, prefix="/q", delay=0.2)
    server.add("/feed.xml", body=rss(*items), content_type=RSS)
    work.write_config(
        config({"name": "news", "url": server.url("/feed.xml")}, politeness={"per_host": 2, "max_connections": 1})
    )

    result = work.run("fetch")

    assert result.code == 0, result.stderr
    assert server.max_active == 1


def test_no_two_requests_to_one_host_closer_than_the_delay(server: TestServer, work: Workdir) -> None:
    items = _articles(server, HOST_B, 4)
    work.write_config(
        config(
            {"name": "news", "url": server.url("/feed.xml")},
            politeness={"per_host": 2, "delay": 0, "hosts": {HOST_B: {"delay": "800ms"}}},
        )
    )

    clock = _paced(server, work, [item.link for item in items])

    seen = server.requests(host=HOST_B)  # robots.txt and the four pages
    assert len(seen) == 5 and seen[0].path == "/robots.txt"
    assert all(clock.at(b) - clock.at(a) >= 0.8 - EXACT for a, b in pairwise(seen))


def test_default_delay_is_one_second(server: TestServer, work: Workdir) -> None:
    items = _articles(server, HOST_B, 1)
    work.write_config(config({"name": "news", "url": server.url("/feed.xml")}, politeness={"delay": "1s"}))

    clock = _paced(server, work, [items[0].link])

    robots, article = server.requests(host=HOST_B)
    assert robots.path == "/robots.txt"
    assert clock.at(article) - clock.at(robots) >= 1.0 - EXACT


def test_robots_disallow_keeps_the_page_unfetched_and_the_article_comes_from_the_feed(
    server: TestServer, work: Workdir
) -> None:
    server.also_on(HOST_B)
    server.add("/robots.txt", body="User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    server.add("/private/a", body=page("Secret page."))
    server.add("/public/b", body=page("Open page."))
    items = [
        Item(server.url("/private/a", host=HOST_B), title="Private", description="<p>Teaser of the private one.</p>"),
        Item(server.url("/public/b", host=HOST_B), title="Public"),
    ]
    server.add("/feed.xml", body=rss(*items), content_type=RSS)
    work.write_config(config({"name": "news", "url": server.url("/feed.xml")}))

    result = work.run("fetch", "--json")

    assert result.code == 0, result.stderr
    assert server.requests("/private/a") == []
    assert len(server.requests("/public/b")) == 1
    assert len(server.requests("/robots.txt", host=HOST_B)) == 1  # cached for the host
    assert result.json()["feeds"][0]["fallback"] == 1
    assert "disallowed by the site's robots.txt; archived from the feed's own content" in result.stderr
    texts = sorted(path.read_text("utf-8") for path in work.files())
    assert any("<div><p>Teaser of the private one.</p></div>" in text for text in texts)
    assert any("Open page." in text for text in texts)


def test_robots_crawl_delay_is_honoured(server: TestServer, work: Workdir) -> None:
    items = _articles(server, HOST_B, 2)
    server.add("/robots.txt", body="User-agent: *\nCrawl-delay: 1\n", content_type="text/plain")
    work.write_config(config({"name": "news", "url": server.url("/feed.xml")}, politeness={"delay": 0}))

    # robots.txt goes with the configured delay (none), so the first page follows it without waiting.
    clock = _paced(server, work, [item.link for item in items], unpaced=1)

    first, second = sorted(server.requests("/p0") + server.requests("/p1"), key=lambda seen: seen.started)
    assert clock.at(second) - clock.at(first) >= 1.0 - EXACT


def test_feeds_are_fetched_regardless_of_robots(server: TestServer, work: Workdir) -> None:
    server.add("/robots.txt", body="User-agent: *\nDisallow: /\n", content_type="text/plain")
    server.add("/feed.xml", body=rss(Item(server.url("/a"))), content_type=RSS)
    work.write_config(config({"name": "news", "url": server.url("/feed.xml"), "content": "feed"}))

    result = work.run("fetch", "--json")

    assert result.code == 0, result.stderr
    assert result.json()["feeds"][0]["new"] == 1
    assert server.requests("/robots.txt") == []


def test_robots_false_skips_robots_txt(server: TestServer, work: Workdir) -> None:
    server.add("/robots.txt", body="User-agent: *\nDisallow: /\n", content_type="text/plain")
    server.add("/feed.xml", body=rss(Item(server.url("/a"))), content_type=RSS)
    server.add("/a", body=page("Fetched anyway."))
    work.write_config(config({"name": "news", "url": server.url("/feed.xml")}, politeness={"robots": False}))

    assert work.run("fetch").code == 0

    assert server.requests("/robots.txt") == []
    assert "Fetched anyway." in work.files()[0].read_text("utf-8")


def test_user_agent_names_the_project_version_and_contact(server: TestServer, work: Workdir) -> None:
    server.add("/feed.xml", body=rss(Item(server.url("/a"))), content_type=RSS)
    server.add("/a", body=page("A."))
    work.write_config(
        config({"name": "news", "url": server.url("/feed.xml")}, http={"contact": "https://example.org/about-bot"})
    )

    assert work.run("fetch").code == 0

    for seen in server.requests():
        assert seen.headers["user-agent"] == f"feed-crawler/{__version__} (+https://example.org/about-bot)"


def test_feed_headers_replace_the_user_agent_whatever_their_case(server: TestServer, work: Workdir) -> None:
    server.add("/feed.xml", body=rss(Item(server.url("/a"))), content_type=RSS)
    server.add("/a", body=page("A."))
    work.write_config(config({"name": "news", "url": server.url("/feed.xml"), "headers": {"user-agent": "Custom/1.0"}}))

    assert work.run("fetch").code == 0

    for seen in server.requests():
        agents = [value for name, value in seen.raw_headers if name.lower() == "user-agent"]
        assert agents == ["Custom/1.0"]
