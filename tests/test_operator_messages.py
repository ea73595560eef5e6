"""What the operator is told, through the real CLI against the local server: a `body:` selector that matches nothing
(fetch, extract, status), how each article's body was found (`fetch -v`), and messages that used to mislead."""

from __future__ import annotations

import signal
import xml.etree.ElementTree as ET
from collections.abc import Callable

import httpx

from tests.conftest import Workdir
from tests.support.daemon import RunningDaemon, free_port, start_daemon
from tests.support.server import TestServer
from tests.test_fetch_command import article_page, config, feed_entry, rss

RSS = "application/rss+xml"
__all__ = ["start_daemon"]  # the fixture, imported so pytest finds it


def _one_article_feed(server: TestServer, name: str, page: str, title: str = "Harbour plan approved") -> str:
    server.add(f"/{name}/story", body=article_page(title))
    server.add(f"/{name}.xml", body=rss([{"title": title, "link": server.url(f"/{name}/story")}]), content_type=RSS)
    return server.url(f"/{name}.xml")


def test_fetch_warns_on_one_stderr_line_when_the_body_selector_matches_nothing_and_status_shows_it(
    server: TestServer, work: Workdir
) -> None:
    url = _one_article_feed(server, "news", "story")
    work.write_config(config(feed_entry("news", url, '    body: "#artibody"\n')))

    result = work.run("fetch", "--no-progress", "--json")

    assert result.code == 0, result.stderr
    page = server.url("/news/story")
    lines = [line for line in result.stderr.splitlines() if "matched nothing" in line]
    assert lines == [
        f"feed 'news': {page}: body selector '#artibody' matched nothing; body found by automatic extraction"
    ]
    assert result.json()["feeds"][0]["selector_missed"] == 1
    assert len(work.files()) == 1

    status = work.run("status", "--json")
    row = status.json()["feeds"][0]
    assert (row["selector_missed"], row["selector_checked"], row["selector_missed_url"]) == (1, 1, page)
    table = work.run("status")
    assert "selector missed" in table.stdout.splitlines()[0]
    assert "1 of last 1" in table.stdout
    assert f"body selector '#artibody' matched nothing on {page}" in table.stdout


def test_a_body_selector_that_matches_shows_no_miss(server: TestServer, work: Workdir) -> None:
    url = _one_article_feed(server, "news", "story")
    work.write_config(config(feed_entry("news", url, '    body: "article.story"\n')))

    result = work.run("fetch", "--no-progress")

    assert result.code == 0, result.stderr
    assert "matched nothing" not in result.stderr
    row = work.run("status", "--json").json()["feeds"][0]
    assert (row["selector_missed"], row["selector_checked"]) == (0, 1)


def test_the_daemon_logs_each_selector_miss_and_counts_it_per_feed(
    server: TestServer, work: Workdir, start_daemon: Callable[..., RunningDaemon]
) -> None:
    url = _one_article_feed(server, "news", "story")
    work.write_config(config(feed_entry("news", url, '    body: "#artibody"\n    interval: 1h\n')))
    port = free_port()
    daemon = start_daemon("--health", f"127.0.0.1:{port}")

    daemon.wait_for("the poll", lambda: " INFO poll feed=news " in daemon.log(), timeout=60)

    page = server.url("/news/story")
    assert (
        f"WARNING body selector matched nothing feed=news url={page} selector=#artibody how=automatic" in daemon.log()
    )
    metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    assert 'crawler_selector_misses_total{feed="news"} 1.0' in metrics
    daemon.signal(signal.SIGTERM)
    assert daemon.wait(timeout=30) == 0


def test_extract_with_a_body_selector_that_matches_nothing_exits_1_and_prints_nothing(
    server: TestServer, work: Workdir
) -> None:
    server.add("/story", body=article_page("Harbour plan approved"))

    result = work.run("extract", server.url("/story"), "--body", "#artibody")

    assert result.code == 1
    assert result.stdout == ""
    assert f"{server.url('/story')}: body selector '#artibody' matched nothing" in result.stderr


def test_fetch_verbose_names_the_feed_url_file_and_how_the_body_was_found(server: TestServer, work: Workdir) -> None:
    selector = _one_article_feed(server, "sel", "story", "Selected story")
    automatic = _one_article_feed(server, "auto", "story", "Automatic story")
    text = _one_article_feed(server, "text", "story", "Feed text story")
    work.write_config(
        config(
            feed_entry("sel", selector, '    body: "article.story"\n'),
            feed_entry("auto", automatic),
            feed_entry("text", text, "    content: feed\n"),
        )
    )

    result = work.run("fetch", "--no-progress", "-v")

    assert result.code == 0, result.stderr
    archived = [line for line in result.stderr.splitlines() if line.startswith("INFO archived")]
    assert len(archived) == 3, result.stderr
    paths = {path.relative_to(work.archive).as_posix() for path in work.files()}
    for name, how in (("sel", "selector"), ("auto", "automatic"), ("text", '"feed text"')):
        line = next(line for line in archived if f" feed={name} " in line)
        assert f" url={server.url(f'/{name}/story')} " in line
        assert line.split(" path=")[1].split(" ")[0] in paths
        assert line.endswith(f" how={how}")


def test_a_dead_article_host_is_reported_as_unreachable_not_as_its_robots_txt(
    server: TestServer, work: Workdir
) -> None:
    dead = f"http://127.0.0.1:{free_port()}/story"
    server.add("/feed.xml", body=rss([{"title": "Dead host", "link": dead}]), content_type=RSS)
    work.write_config(config(feed_entry("news", server.url("/feed.xml"))))

    result = work.run("fetch", "--no-progress")

    assert result.code == 1
    assert "robots.txt" not in result.stderr
    assert f"feed 'news': {dead}: host unreachable: cannot connect" in result.stderr
    assert "will try again on the next poll (attempt 1 of 3)" in result.stderr


def test_a_page_given_up_on_says_only_that_it_was_archived_from_the_feed(server: TestServer, work: Workdir) -> None:
    server.add("/robots.txt", status=503)
    server.add("/feed.xml", body=rss([{"title": "Robots down", "link": server.url("/story")}]), content_type=RSS)
    work.write_config(config(feed_entry("news", server.url("/feed.xml"))))

    runs = [work.run("fetch", "--no-progress") for _ in range(3)]

    assert [run.code for run in runs] == [1, 1, 0]
    assert "will try again" in runs[0].stderr
    last = [line for line in runs[2].stderr.splitlines() if "feed's own content" in line]
    assert last == [
        f"feed 'news': {server.url('/story')}: robots.txt answered HTTP 503; archived from the feed's own content"
    ]


def test_the_summary_says_why_a_feed_failed_and_counts_feed_text_in_a_column_of_its_own(
    server: TestServer, work: Workdir
) -> None:
    server.add("/gone.xml", status=404)
    server.add("/feed.xml", body=rss([{"title": "Page 404", "link": server.url("/missing")}]), content_type=RSS)
    work.write_config(
        config(feed_entry("broken", server.url("/gone.xml")), feed_entry("teaser", server.url("/feed.xml")))
    )

    result = work.run("fetch", "--no-progress")

    assert result.code == 1
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["feed", "new", "known", "skipped", "failed", "from", "feed"]
    broken = next(row for row in rows if row.startswith("broken"))
    assert "see above" not in result.stdout
    assert "feed failed: HTTP 404" in broken
    teaser = next(row for row in rows if row.startswith("teaser"))
    assert teaser.split() == ["teaser", "1", "0", "0", "0", "1"]


def test_status_archived_column_adds_up_to_the_files_when_feeds_share_an_article(
    server: TestServer, work: Workdir
) -> None:
    shared = server.url("/shared")
    server.add("/shared", body=article_page("Shared story"))
    server.add("/own", body=article_page("Own story", ["Another story entirely, told at length for the test."]))
    server.add("/one.xml", body=rss([{"title": "Shared story", "link": shared}]), content_type=RSS)
    two = [{"title": "Shared story", "link": shared}, {"title": "Own story", "link": server.url("/own")}]
    server.add("/two.xml", body=rss(two), content_type=RSS)
    work.write_config(config(feed_entry("one", server.url("/one.xml")), feed_entry("two", server.url("/two.xml"))))
    assert work.run("fetch", "--no-progress").code == 0

    rows = {row["name"]: row for row in work.run("status", "--json").json()["feeds"]}

    assert len(work.files()) == 2
    assert sum(row["archived"] for row in rows.values()) == 2
    assert sum(row["also_listed"] for row in rows.values()) == 1
    assert "also listed" in work.run("status").stdout.splitlines()[0]


FEEDS = """\
archive: archive
feeds:
  - name: world
    url: https://world.example/feed
    title: World news
    categories: [News, World, Europe]
  - name: quiet
    url: https://quiet.example/feed
    categories: [Tech]
    enabled: false
  - name: loose
    url: https://loose.example/feed
"""


def test_opml_export_lists_each_feed_once_keeps_disabled_ones_and_imports_back_the_same(work: Workdir) -> None:
    work.write_config(FEEDS)

    exported = work.run("feeds", "export")

    assert exported.code == 0, exported.stderr
    outlines = [o for o in ET.fromstring(exported.stdout).iter("outline") if o.get("xmlUrl")]
    assert [o.get("xmlUrl") for o in outlines] == [
        "https://world.example/feed",
        "https://quiet.example/feed",
        "https://loose.example/feed",
    ]
    assert outlines[0].get("category") == "/News,/World,/Europe"
    assert outlines[1].get("crawlerEnabled") == "false"

    opml = work.path / "export.opml"
    opml.write_text(exported.stdout, encoding="utf-8")
    work.write_config("archive: archive\nfeeds: []\n")
    imported = work.run("feeds", "import", str(opml))
    assert imported.code == 0, imported.stderr
    listed = work.run("feeds", "list", "--json").json()
    assert [(f["url"], f["categories"], f["enabled"]) for f in listed] == [  # type: ignore[call-overload]
        ("https://world.example/feed", ["News", "World", "Europe"], True),
        ("https://quiet.example/feed", ["Tech"], False),
        ("https://loose.example/feed", [], True),
    ]
