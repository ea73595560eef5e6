"""Article links no request can be made to: a fetch error with its reason, so the feed's own text is archived at
once (not an unexpected error on every poll, with the three-strikes fallback never reached)."""

from __future__ import annotations

import json

import pytest

from crawler.fetch import url_problem
from crawler.identity.urls import normalize_url
from tests.conftest import Workdir
from tests.support.server import TestServer
from tests.test_fetch_command import config, feed_entry


def _links(server: TestServer) -> dict[str, str]:
    return {
        "port-too-large": "http://127.0.0.1:99999/a",
        "port-not-a-number": "http://127.0.0.1:abc/a",
        "70-kb": server.url("/" + "a" * 70_000),
        "bad-punycode": "http://xn--a/a",
        "del": server.url("/a\x7fb"),
        "esc": server.url("/a\x1b[2Jb"),
        "broken-ipv6": "http://[::1/a",
    }


def _json_feed(links: dict[str, str]) -> str:
    items = [
        {"id": name, "url": link, "title": name, "content_html": f"<p>The feed's own words about {name}.</p>"}
        for name, link in links.items()
    ]
    # A JSON Feed: XML could not carry an ESC at all.
    return json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "Odd links", "items": items})


def test_items_with_malformed_links_are_archived_from_the_feeds_text_once(server: TestServer, work: Workdir) -> None:
    links = _links(server)
    server.add("/feed.json", body=_json_feed(links), content_type="application/feed+json")
    work.write_config(config(feed_entry("odd", server.url("/feed.json"))))

    first = work.run("fetch", "--json")

    assert first.code == 0, first.stderr
    feed = first.json()["feeds"][0]
    assert (feed["new"], feed["failed"], feed["fallback"]) == (len(links), 0, len(links))
    lines = first.stderr.splitlines()
    assert len(lines) == len(links), first.stderr
    assert all(line.startswith("feed 'odd': ") and "invalid URL: " in line for line in lines), first.stderr
    assert all(line.endswith("; archived from the feed's own content") for line in lines), first.stderr
    assert "a bug" not in first.stderr
    texts = [path.read_text(encoding="utf-8") for path in work.files()]
    assert sorted(name for name in links for text in texts if f"own words about {name}." in text) == sorted(links)
    assert [r.path for r in server.requests() if r.path != "/feed.json"] == []

    second = work.run("fetch", "--json")

    assert (second.code, second.stderr) == (0, "")
    assert second.json()["feeds"][0]["failed"] == 0
    assert len(work.files()) == len(links)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:99999/a",
        "http://127.0.0.1:abc/a",
        "http://h/" + "a" * 70_000,
        "http://xn--a/a",
        "http://h/a\x7fb",
        "http://exa\x1bmple.com/",
        "http://[::1/a",
        "http://h/\udcff",
    ],
)
def test_a_url_no_request_can_be_made_to_has_a_reason_and_normalizes_without_error(url: str) -> None:
    assert url_problem(url)
    assert normalize_url(url)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/a?b=c#d", "https://例え.jp/記事", "http://[::1]:80/"])
def test_a_url_requests_can_be_made_to_has_no_problem(url: str) -> None:
    assert url_problem(url) is None
