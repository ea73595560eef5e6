"""`crawler feeds add NAME URL` probes URL through the crawler's own fetcher: a feed gives its title and site, a page
is searched for its feed, a URL already in feeds.yaml is refused, and `--no-probe` makes no request at all."""

from __future__ import annotations

import socket

from crawler import __version__
from tests.conftest import Workdir
from tests.support.server import TestServer

# No politeness delay and no retries: the probe's requests then take no time against the local server.
START = "politeness:\n  delay: 0\nhttp:\n  retries: 0\n  contact: https://operator.example/\nfeeds: []\n"
RSS = (
    '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Harbour Times</title>'
    "<link>https://harbour.example/</link><description>d</description>"
    "<item><title>One</title><link>https://harbour.example/1</link></item></channel></rss>"
)
ATOM = (
    '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Atom Diary</title>'
    '<link rel="alternate" href="https://diary.example/"/><id>urn:x</id><updated>2024-01-01T00:00:00Z</updated>'
    "</feed>"
)
RSS_TYPE = "application/rss+xml"


def _page(head: str = "") -> str:
    return f"<!doctype html><html><head><title>Blog</title>{head}</head><body><p>Hello</p></body></html>"


def _feeds(work: Workdir) -> list[dict[str, object]]:
    listed = work.run("feeds", "list", "--json")
    assert listed.code == 0, listed.stderr
    return listed.json()  # type: ignore[return-value]


def test_add_fills_in_the_feeds_title_and_site(work: Workdir, server: TestServer) -> None:
    work.write_config(START)
    server.add("/feed.xml", body=RSS, content_type=RSS_TYPE)

    added = work.run("feeds", "add", "harbour", server.url("/feed.xml"))

    assert added.code == 0, added.stderr
    assert added.stdout.strip() == "feeds.yaml: added feed 'harbour' (Harbour Times)"
    assert _feeds(work) == [
        {
            "name": "harbour",
            "url": server.url("/feed.xml"),
            "title": "Harbour Times",
            "categories": [],
            "enabled": True,
            "interval": 1800.0,
        }
    ]
    assert "    site: https://harbour.example/\n" in work.config.read_text(encoding="utf-8")
    (seen,) = server.requests("/feed.xml")
    assert seen.headers["user-agent"] == f"feed-crawler/{__version__} (+https://operator.example/)"


def test_title_given_on_the_command_line_wins(work: Workdir, server: TestServer) -> None:
    work.write_config(START)
    server.add("/feed.xml", body=RSS, content_type=RSS_TYPE)

    added = work.run("feeds", "add", "harbour", server.url("/feed.xml"), "--title", "Mine")

    assert added.code == 0, added.stderr
    assert _feeds(work)[0]["title"] == "Mine"
    assert "    site: https://harbour.example/\n" in work.config.read_text(encoding="utf-8")  # the rest is probed


def test_a_feed_moved_for_good_is_added_at_its_new_url(work: Workdir, server: TestServer) -> None:
    work.write_config(START)
    server.add("/old.xml", status=301, headers={"Location": "/new.xml"})
    server.add("/new.xml", body=RSS, content_type=RSS_TYPE)

    added = work.run("feeds", "add", "harbour", server.url("/old.xml"))

    assert added.code == 0, added.stderr
    assert f"{server.url('/old.xml')}: moved permanently to {server.url('/new.xml')}; added that" in added.stdout
    assert _feeds(work)[0]["url"] == server.url("/new.xml")


def test_a_page_is_searched_for_the_feed_it_announces(work: Workdir, server: TestServer) -> None:
    work.write_config(START)
    links = (
        '<link rel="stylesheet" href="/s.css"><link rel="alternate" type="text/html" href="/other">'
        '<link rel="alternate" type="application/atom+xml" title="Diary" href="posts/atom-here.xml">'
    )
    server.add("/blog/", body=_page(links))
    server.add("/blog/posts/atom-here.xml", body=ATOM, content_type="application/atom+xml")

    added = work.run("feeds", "add", "diary", server.url("/blog/"))

    assert added.code == 0, added.stderr
    feed_url = server.url("/blog/posts/atom-here.xml")
    assert added.stdout.splitlines() == [
        f"{server.url('/blog/')}: a page; found the feed at {feed_url}; added that",
        "feeds.yaml: added feed 'diary' (Atom Diary)",
    ]
    assert _feeds(work)[0]["url"] == feed_url
    assert server.requests("/other") == []


def test_a_page_without_feed_links_is_tried_at_the_common_paths(work: Workdir, server: TestServer) -> None:
    work.write_config(START)
    server.add("/", body=_page())
    server.add("/rss.xml", body=RSS, content_type=RSS_TYPE)

    added = work.run("feeds", "add", "harbour", server.url("/"))

    assert added.code == 0, added.stderr
    assert f"found the feed at {server.url('/rss.xml')}; added that" in added.stdout
    assert _feeds(work)[0]["url"] == server.url("/rss.xml")
    # In the documented order, up to the first that is a feed.
    tried = [seen.path for seen in server.requests() if seen.path != "/"]
    assert tried == ["/feed", "/rss", "/atom.xml", "/feed.xml", "/rss.xml"]


def test_a_page_with_no_feed_is_refused_in_one_line(work: Workdir, server: TestServer) -> None:
    work.write_config(START)
    server.add("/", body=_page())
    server.add("/feed", body=_page())  # an HTML answer at a common path is not a feed either

    refused = work.run("feeds", "add", "blog", server.url("/"))

    assert refused.code == 1
    (line,) = refused.stderr.strip().splitlines()
    assert line.startswith(f"crawler: {server.url('/')}: an HTML page with no feed found")
    assert "--no-probe" in line
    assert work.config.read_text(encoding="utf-8") == START


def test_an_answer_that_is_neither_feed_nor_page_is_refused(work: Workdir, server: TestServer) -> None:
    work.write_config(START)
    server.add("/logo.png", body=b"\x89PNG\r\n\x1a\n\x00\x00", content_type="image/png")

    refused = work.run("feeds", "add", "logo", server.url("/logo.png"))

    assert refused.code == 1
    (line,) = refused.stderr.strip().splitlines()
    assert line.startswith(f"crawler: {server.url('/logo.png')}: ")
    assert "not an HTML page: image/png" in line
    assert work.config.read_text(encoding="utf-8") == START


def test_an_unreachable_url_is_refused_unless_no_probe(work: Workdir) -> None:
    work.write_config(START)
    with socket.socket() as closed:  # a port nothing listens on once closed
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    url = f"http://127.0.0.1:{port}/feed.xml"

    refused = work.run("feeds", "add", "gone", url)

    assert refused.code == 1
    (line,) = refused.stderr.strip().splitlines()
    assert line.startswith(f"crawler: {url}: ") and line.endswith("pass --no-probe to add it unchecked")
    assert work.config.read_text(encoding="utf-8") == START
    added = work.run("feeds", "add", "gone", url, "--no-probe")
    assert added.code == 0, added.stderr
    assert _feeds(work)[0]["url"] == url


def test_no_probe_makes_no_request(work: Workdir, server: TestServer) -> None:
    work.write_config(START)
    server.add("/feed.xml", body=RSS, content_type=RSS_TYPE)

    added = work.run("feeds", "add", "harbour", server.url("/feed.xml"), "--no-probe")

    assert added.code == 0, added.stderr
    assert server.requests() == []
    assert _feeds(work)[0]["title"] is None


def test_a_url_already_in_the_file_is_refused_after_normalisation(work: Workdir, server: TestServer) -> None:
    work.write_config(START.replace("feeds: []", f"feeds:\n  - name: harbour\n    url: {server.url('/feed.xml')}"))
    before = work.config.read_bytes()
    server.add("/feed.xml", body=RSS, content_type=RSS_TYPE)
    same = server.url("/feed.xml").replace("http://", "HTTP://") + "?utm_source=x#top"

    refused = work.run("feeds", "add", "again", same)

    assert refused.code == 2
    assert refused.stderr.strip().splitlines() == [
        f"crawler: feeds.yaml:7: {same} is already the URL of feed 'harbour'"
    ]
    assert server.requests() == []  # refused before any request
    assert work.config.read_bytes() == before


def test_a_found_feed_already_in_the_file_is_refused(work: Workdir, server: TestServer) -> None:
    work.write_config(START.replace("feeds: []", f"feeds:\n  - name: harbour\n    url: {server.url('/feed.xml')}"))
    before = work.config.read_bytes()
    server.add("/", body=_page(f'<link rel="alternate" type="{RSS_TYPE}" href="/feed.xml">'))
    server.add("/feed.xml", body=RSS, content_type=RSS_TYPE)

    refused = work.run("feeds", "add", "again", server.url("/"))

    assert refused.code == 2
    assert f"{server.url('/feed.xml')} is already the URL of feed 'harbour'" in refused.stderr
    assert work.config.read_bytes() == before
