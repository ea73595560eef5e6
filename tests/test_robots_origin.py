"""robots.txt is per origin (RFC 9309: scheme, host and port), through the real CLI against two local servers on
one host, on two ports, with rules of their own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import Workdir
from tests.support.feeds import RSS, Item, config, page, rss
from tests.support.server import TestServer


@pytest.fixture
def other_port() -> Iterator[TestServer]:
    srv = TestServer()  # 127.0.0.1 again: the same host as `server`, another port
    yield srv
    srv.close()


def test_each_port_of_one_host_is_held_to_its_own_robots_txt(
    server: TestServer, other_port: TestServer, work: Workdir
) -> None:
    assert server.host == other_port.host and server.port != other_port.port
    server.add("/robots.txt", body="User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    other_port.add("/robots.txt", body="User-agent: *\nDisallow: /nothing-here/\n", content_type="text/plain")
    for srv in (server, other_port):
        srv.add("/private/page", body=page(f"The page on port {srv.port}."))
    items = [
        Item(server.url("/private/page"), title="Refused", description="<p>Teaser of the refused one.</p>"),
        Item(other_port.url("/private/page"), title="Allowed"),
    ]
    server.add("/feed.xml", body=rss(*items), content_type=RSS)
    work.write_config(config({"name": "news", "url": server.url("/feed.xml")}))

    result = work.run("fetch", "--json")

    assert result.code == 0, result.stderr
    assert server.requests("/private/page") == []  # its own origin disallows it
    assert len(other_port.requests("/private/page")) == 1  # the other port's robots.txt allows it
    assert len(server.requests("/robots.txt")) == len(other_port.requests("/robots.txt")) == 1
    assert f"{server.url('/private/page')}: disallowed by the site's robots.txt" in result.stderr
    assert other_port.url("/private/page") + ": disallowed" not in result.stderr
    texts = sorted(path.read_text("utf-8") for path in work.files())
    assert len(texts) == 2
    assert any("<div><p>Teaser of the refused one.</p></div>" in text for text in texts)
    assert any(f"The page on port {other_port.port}." in text for text in texts)
