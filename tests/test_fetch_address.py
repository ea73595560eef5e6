"""The SSRF address policy. Nothing here ever sends a packet to a non-loopback address: the unit tests use an
in-memory transport, and the CLI test reaches its "public" feed through a proxy on 127.0.0.1."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from crawler.config.settings import HttpConfig, PolitenessConfig
from crawler.fetch import Fetcher, FetchError, Request, address_is_public, private_addresses_allowed
from tests.conftest import Workdir
from tests.support.feeds import RSS, Item, config, rss
from tests.support.server import TestServer

PUBLIC_FEED = "http://93.184.216.34/feed.xml"  # a public address literal: no DNS, and only ever reached by proxy
REFUSED = [
    "http://10.0.0.1/a",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/a",
    "http://localhost/a",  # a hostname resolving to 127.0.0.1
    "http://[::ffff:127.0.0.1]/a",
]


def _get_all(feed_url: str, configured: bool) -> tuple[list[str], list[str]]:
    """Ask for every REFUSED URL as an article of a feed at `feed_url`; return (refused, sent) URLs."""
    sent: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(str(request.url))
        return httpx.Response(200, text="ok")

    async def main() -> list[str]:
        allowed = await private_addresses_allowed(feed_url, configured)
        refused = []
        async with Fetcher(HttpConfig(), PolitenessConfig(delay=0), transport=httpx.MockTransport(answer)) as fetch:
            for url in REFUSED:
                try:
                    await fetch.get(Request(url=url, allow_private=allowed))
                except FetchError as exc:
                    assert exc.kind == "address" and not exc.transient
                    refused.append(url)
        return refused

    return asyncio.run(main()), sent


def test_public_feed_may_not_reach_private_addresses() -> None:
    refused, sent = _get_all(PUBLIC_FEED, configured=False)
    assert refused == REFUSED
    assert sent == []


@pytest.mark.parametrize("feed_url", ["http://10.0.0.1/feed.xml", "http://127.0.0.1:8080/feed.xml", "http://[::1]/f"])
def test_feed_on_a_private_address_may_reach_private_addresses(feed_url: str) -> None:
    refused, sent = _get_all(feed_url, configured=False)
    assert refused == []
    assert len(sent) == len(REFUSED)


def test_allow_private_addresses_allows_them_for_a_public_feed() -> None:
    refused, sent = _get_all(PUBLIC_FEED, configured=True)
    assert refused == []
    assert len(sent) == len(REFUSED)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("10.0.0.1", False),
        ("172.16.5.4", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("127.0.0.1", False),
        ("::1", False),
        ("fe80::1%eth0", False),
        ("fc00::1", False),
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("93.184.216.34", True),
        ("2606:2800:220:1:248:1893:25c8:1946", True),
    ],
)
def test_address_is_public(address: str, public: bool) -> None:
    assert address_is_public(address) is public


def test_public_feed_through_a_proxy_archives_private_links_from_the_feed_without_requesting_them(
    server: TestServer, work: Workdir
) -> None:
    # The config's proxy is our server; the environment's proxy is another loopback listener, so a proxy setting
    # ignored by mistake fails the test instead of sending anything off this machine.
    fallback = server.also_on("127.0.0.4")
    links = [*REFUSED[:3], server.url("/a").replace("127.0.0.1", "localhost")]
    server.add("/feed.xml", body=rss(*(Item(link, title=link) for link in links)), content_type=RSS)
    work.write_config(config({"name": "public", "url": PUBLIC_FEED}, http={"proxy": server.base}))

    result = work.run("fetch", "--json", env={"HTTP_PROXY": fallback, "HTTPS_PROXY": fallback, "ALL_PROXY": fallback})

    assert result.code == 0, result.stderr
    assert [seen.target for seen in server.requests()] == [PUBLIC_FEED]
    assert result.json()["feeds"][0]["fallback"] == len(links)
    assert result.stderr.count("is not a public address (set allow_private_addresses: true to allow it)") == 4
    assert len(work.files()) == 4
