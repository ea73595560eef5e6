"""The per-feed `proxy:` setting through the real CLI. The test server doubles as a forward proxy: a request in
absolute form (`GET http://HOST:PORT/path`) is answered by its path, and the listener it arrived on tells which way it
travelled: on the proxy's address it went through the proxy, on the target's own address it went direct."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from itertools import pairwise

import pytest

from crawler.config.load import load_config
from crawler.fetch import Fetcher, Request
from tests.conftest import Workdir
from tests.support.clock import StepClock
from tests.support.feeds import RSS, Item, config, page, rss
from tests.support.server import Answer, TestServer

SITE_A = "127.0.0.2"
SITE_B = "127.0.0.3"
HTTP_PROXY = "127.0.0.4"  # the file's `http.proxy`
FEED_PROXY = "127.0.0.5"  # a feed's own `proxy:`
# No proxy from the environment: a feed without a configured proxy must go direct, whatever the machine running the
# tests has set (an empty value counts as unset).
NO_ENV_PROXY = {name: "" for base in ("http_proxy", "https_proxy", "all_proxy") for name in (base, base.upper())}
EXACT = 1e-9  # float rounding of the step clock's sums, nothing else


def _feed(server: TestServer, host: str, name: str, pages: int = 2, delay: float = 0.0) -> list[str]:
    """Serve feed `name` on `host` with `pages` article pages there; return every URL a poll of it requests."""
    server.also_on(host)
    items = []
    for number in range(pages):
        path = f"/{name}/{number}"
        server.add(path, Answer(body=page(f"Article {number} of {name}.").encode(), delay=delay))
        items.append(Item(server.url(path, host=host), title=f"{name} {number}"))
    server.add(f"/{name}/feed.xml", body=rss(*items), content_type=RSS)
    return [server.url(f"/{name}/feed.xml", host=host), server.url("/robots.txt", host=host)] + [
        item.link for item in items
    ]


def _targets(server: TestServer, listener: str) -> list[str]:
    """The absolute URLs of the requests that arrived on `listener`, sorted (a direct request's target is its path,
    so it is rebuilt from the listener's own base URL)."""
    return sorted(
        seen.target if seen.target.startswith("http") else server.base_on(listener) + seen.target
        for seen in server.requests(host=listener)
    )


def _direct(server: TestServer, listener: str) -> list[str]:
    """The targets of requests that arrived on `listener` in origin form (a path): sent to it directly."""
    return [seen.target for seen in server.requests(host=listener) if not seen.target.startswith("http")]


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port on 127.0.0.1 that refuses connections: bound (so nothing else takes it) but not listening."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


def test_a_feed_with_a_proxy_sends_its_feed_and_pages_through_it_and_another_feed_goes_direct(
    server: TestServer, work: Workdir
) -> None:
    proxy = server.also_on(FEED_PROXY)
    proxied = _feed(server, SITE_A, "via")
    direct = _feed(server, SITE_B, "direct")
    work.write_config(config({"name": "via", "url": proxied[0], "proxy": proxy}, {"name": "direct", "url": direct[0]}))

    result = work.run("fetch", "--json", env=NO_ENV_PROXY)

    assert result.code == 0, result.stderr
    assert [feed["new"] for feed in result.json()["feeds"]] == [2, 2]
    # The proxy saw the feed, robots.txt and both pages of its feed, in absolute form, and nothing of the other.
    assert _targets(server, FEED_PROXY) == sorted(proxied)
    assert _direct(server, FEED_PROXY) == []
    assert server.requests(host=SITE_A) == []
    # The other feed's requests all went straight to its host.
    assert _targets(server, SITE_B) == sorted(direct)
    assert sorted(_direct(server, SITE_B)) == sorted(["/direct/feed.xml", "/robots.txt", "/direct/0", "/direct/1"])


def test_a_feeds_own_proxy_overrides_http_proxy_and_the_others_keep_http_proxy(
    server: TestServer, work: Workdir
) -> None:
    common = server.also_on(HTTP_PROXY)
    own = server.also_on(FEED_PROXY)
    mine = _feed(server, SITE_A, "mine")
    theirs = _feed(server, SITE_B, "theirs")
    work.write_config(
        config(
            {"name": "mine", "url": mine[0], "proxy": own},
            {"name": "theirs", "url": theirs[0]},
            http={"proxy": common},
        )
    )

    result = work.run("fetch", "--json", env=NO_ENV_PROXY)

    assert result.code == 0, result.stderr
    assert [feed["new"] for feed in result.json()["feeds"]] == [2, 2]
    assert _targets(server, FEED_PROXY) == sorted(mine)
    assert _targets(server, HTTP_PROXY) == sorted(theirs)
    assert server.requests(host=SITE_A) == []
    assert server.requests(host=SITE_B) == []


def test_a_feed_with_proxy_direct_goes_straight_to_its_site_past_http_proxy_and_the_environment(
    server: TestServer, work: Workdir
) -> None:
    common = server.also_on(HTTP_PROXY)
    env_proxy = server.also_on(FEED_PROXY)
    proxied = _feed(server, SITE_A, "proxied")
    direct = _feed(server, SITE_B, "direct")
    work.write_config(
        config(
            {"name": "proxied", "url": proxied[0]},
            {"name": "direct", "url": direct[0], "proxy": "direct"},
            http={"proxy": common},
        )
    )
    environment = {**NO_ENV_PROXY, "HTTP_PROXY": env_proxy, "http_proxy": env_proxy}

    result = work.run("fetch", "--json", env=environment)

    assert result.code == 0, result.stderr
    assert [feed["new"] for feed in result.json()["feeds"]] == [2, 2]
    assert _targets(server, HTTP_PROXY) == sorted(proxied)
    assert sorted(_direct(server, SITE_B)) == sorted(["/direct/feed.xml", "/robots.txt", "/direct/0", "/direct/1"])
    assert server.requests(host=FEED_PROXY) == [] and server.requests(host=SITE_A) == []


def test_a_feed_whose_proxy_refuses_connections_fails_alone_with_one_line_naming_feed_url_and_proxy(
    server: TestServer, work: Workdir, closed_port: int
) -> None:
    fine = _feed(server, SITE_B, "fine")
    server.also_on(SITE_A)
    broken_url = server.url("/broken/feed.xml", host=SITE_A)
    server.add("/broken/feed.xml", body=rss(), content_type=RSS)
    # Credentials in a proxy URL are a secret: the error names the proxy without them.
    proxy = f"http://user:s3cret@127.0.0.1:{closed_port}"
    work.write_config(config({"name": "broken", "url": broken_url, "proxy": proxy}, {"name": "fine", "url": fine[0]}))

    result = work.run("fetch", env=NO_ENV_PROXY)

    assert result.code == 1, result.stderr  # README: 1 when a feed or an article failed
    lines = [line for line in result.stderr.splitlines() if "broken" in line]
    assert lines == [
        f"feed 'broken': {broken_url}: cannot connect to proxy http://127.0.0.1:{closed_port}: "
        "All connection attempts failed"
    ], result.stderr
    assert "s3cret" not in result.stderr + result.stdout
    assert server.requests(host=SITE_A) == []  # never went direct instead
    assert len(work.files()) == 2  # the other feed's two articles


def test_per_host_cap_holds_across_a_proxied_and_a_direct_feed_on_one_host(server: TestServer, work: Workdir) -> None:
    # Every request here is for one target host, so the server's count over all its listeners (the host's own and
    # the proxy's) is what that site would see in flight from us.
    proxy = server.also_on(FEED_PROXY)
    proxied = _feed(server, SITE_A, "via", pages=4, delay=0.3)
    direct = _feed(server, SITE_A, "direct", pages=4, delay=0.3)
    work.write_config(
        config(
            {"name": "via", "url": proxied[0], "proxy": proxy},
            {"name": "direct", "url": direct[0]},
            politeness={"per_host": 2},
        )
    )

    result = work.run("fetch", "--json", env=NO_ENV_PROXY)

    assert result.code == 0, result.stderr
    assert [feed["new"] for feed in result.json()["feeds"]] == [4, 4]
    assert len(_direct(server, SITE_A)) >= 5 and len(server.requests(host=FEED_PROXY)) >= 5  # both ways were used
    assert server.max_active <= 2


def test_per_host_delay_holds_across_a_proxied_and_a_direct_feed_on_one_host(
    server: TestServer, work: Workdir, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = server.also_on(FEED_PROXY)
    proxied = _feed(server, SITE_A, "via", pages=1)
    direct = _feed(server, SITE_A, "direct", pages=1)
    work.write_config(
        config(
            {"name": "via", "url": proxied[0], "proxy": proxy},
            {"name": "direct", "url": direct[0]},
            politeness={"per_host": 2, "hosts": {SITE_A: {"delay": "500ms"}}},
        )
    )
    for name, value in NO_ENV_PROXY.items():
        monkeypatch.setenv(name, value)
    settings = load_config(work.config)
    # The delays are kept by a clock that moves only when the Fetcher sleeps (tests/support/clock.py): each
    # request is stamped with the time the Fetcher gave it, however loaded this machine is.
    clock = StepClock(lambda: len(server.requests()))

    async def poll_both() -> None:
        async with Fetcher(settings.http, settings.politeness, clock=clock.now, sleep=clock.sleep) as fetcher:
            await asyncio.gather(
                fetcher.get(Request(proxied[0], proxy=proxy)),
                fetcher.get(Request(proxied[2], proxy=proxy, check_robots=True)),
                fetcher.get(Request(direct[0])),
                fetcher.get(Request(direct[2], check_robots=True)),
            )

    asyncio.run(poll_both())

    seen = server.requests()  # every request is for the one target host, whichever way it went
    assert {s.address for s in seen} == {SITE_A, FEED_PROXY}
    assert all(clock.at(b) - clock.at(a) >= 0.5 - EXACT for a, b in pairwise(seen))
    assert len(seen) == 5  # two feeds, two pages, and robots.txt once for the host
