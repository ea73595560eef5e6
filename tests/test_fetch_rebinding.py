"""DNS rebinding: the address a connection is opened to is the one judged, not only the name checked before.

A hostile DNS server answers a public address to the pre-check and 127.0.0.1 to the connection. With no DNS server
here, the one stand-in is the pre-check's name lookup (`crawler.fetch.addresses.resolve_host`), made to answer a public
address for `localhost`; the connection resolves `localhost` for itself, gets 127.0.0.1 from /etc/hosts, and would
reach the real test server there. Everything else is real: the Fetcher, httpx, httpcore and the server."""

from __future__ import annotations

import asyncio

import pytest

import crawler.fetch.addresses
from crawler.config.settings import HttpConfig, PolitenessConfig
from crawler.fetch import Fetcher, FetchError, Request
from tests.conftest import Workdir
from tests.support.feeds import RSS, Item, config, rss
from tests.support.server import TestServer

PUBLIC_ANSWER = "93.184.216.34"


@pytest.fixture
def rebinding_dns(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The pre-check's lookup answers a public address for every name; returns the names it was asked about."""
    asked: list[str] = []

    async def public_answer(host: str) -> list[str]:
        asked.append(host)
        return [PUBLIC_ANSWER]

    monkeypatch.setattr(crawler.fetch.addresses, "resolve_host", public_answer)
    return asked


def _localhost(server: TestServer, path: str) -> str:
    return server.url(path).replace("127.0.0.1", "localhost")


def _fetch_all(*requests: Request) -> list[int | FetchError]:
    """Send the requests in turn through one Fetcher (one client per host, kept between them)."""

    async def main() -> list[int | FetchError]:
        outcomes: list[int | FetchError] = []
        async with Fetcher(HttpConfig(retries=0), PolitenessConfig(delay=0)) as fetch:
            for request in requests:
                try:
                    outcomes.append((await fetch.get(request)).status)
                except FetchError as exc:
                    outcomes.append(exc)
        return outcomes

    return asyncio.run(main())


def test_a_name_that_passes_the_check_but_connects_to_loopback_is_refused_at_connect(
    server: TestServer, rebinding_dns: list[str]
) -> None:
    server.add("/a", body=b"internal")
    url = _localhost(server, "/a")

    [outcome] = _fetch_all(Request(url=url, allow_private=False))

    assert rebinding_dns == ["localhost"]  # the pre-check was asked, and let it through
    assert isinstance(outcome, FetchError)
    assert outcome.kind == "address" and not outcome.transient
    assert str(outcome) == (
        f"{url}: refused at connect: localhost now resolves to 127.0.0.1, not a public address "
        "(set allow_private_addresses: true to allow it)"
    )
    assert server.requests() == []


def test_a_connection_opened_for_an_allowed_request_is_not_reused_for_a_refused_one(
    server: TestServer, rebinding_dns: list[str]
) -> None:
    # Both requests go to one host, so to one client and one politeness slot; the first leaves a kept-alive
    # connection to 127.0.0.1 behind, which the second must not be handed.
    server.add("/allowed", body=b"ok")
    server.add("/refused", body=b"internal")

    allowed, refused = _fetch_all(
        Request(url=_localhost(server, "/allowed"), allow_private=True),
        Request(url=_localhost(server, "/refused"), allow_private=False),
    )

    assert allowed == 200
    assert isinstance(refused, FetchError) and refused.kind == "address"
    assert [seen.path for seen in server.requests()] == ["/allowed"]


def test_public_feed_allowed_private_addresses_reaches_loopback_pages_and_the_environment_proxy_still_applies(
    server: TestServer, work: Workdir
) -> None:
    # Our transport replaces httpx's, which alone read the environment's proxies, so they must still apply: the
    # public feed goes through HTTP_PROXY (our server), and NO_PROXY sends the pages direct, through our transport,
    # to loopback addresses that only `allow_private_addresses: true` lets this public feed reach.
    public_feed = "http://93.184.216.34/feed.xml"
    server.also_on("127.0.0.2")
    links = [_localhost(server, "/a"), server.url("/b", host="127.0.0.2")]
    for path in ("/a", "/b"):
        server.add(path, body=b'<html><body><div id="content"><p>A page on a loopback address.</p></div></body></html>')
    server.add("/feed.xml", body=rss(*(Item(link, title=link) for link in links)), content_type=RSS)
    work.write_config(config({"name": "public", "url": public_feed, "allow_private_addresses": True}))

    result = work.run("fetch", "--json", env={"HTTP_PROXY": server.base, "NO_PROXY": "localhost,127.0.0.2"})

    assert result.code == 0, result.stderr
    assert result.json()["feeds"][0]["fallback"] == 0
    assert len(work.files()) == 2
    by_proxy = [seen.target for seen in server.requests() if seen.target.startswith("http")]
    assert by_proxy == [public_feed]
    assert [seen.target for seen in server.requests("/a", host="127.0.0.1")] == ["/a"]
    assert [seen.target for seen in server.requests("/b", host="127.0.0.2")] == ["/b"]
