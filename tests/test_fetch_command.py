"""`crawler fetch` end to end: the real CLI against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import yaml

from tests.conftest import Workdir
from tests.support.server import TestServer

PARAGRAPHS = [
    "The committee met on Tuesday to discuss the new harbour plan, which has been debated for three years.",
    "Residents told the meeting that traffic on the coast road had doubled since the ferry terminal opened.",
    "The mayor said the council would publish the full traffic survey before the next session in spring.",
    "Engineers expect the first phase of the works to begin in the autumn if the funding is approved.",
]


def article_page(title: str, paragraphs: list[str] = PARAGRAPHS, extra_head: str = "") -> str:
    """A realistic news page: navigation, a sidebar of related links, the article, a footer."""
    nav = "".join(f'<li><a href="/section/{i}">Section number {i}</a></li>' for i in range(12))
    related = "".join(f'<li><a href="/related/{i}">Related story {i} you may like</a></li>' for i in range(8))
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title} | Harbour Times</title>{extra_head}
<script>var tracking = {{"a": 1}};</script></head>
<body><header><nav class="main-nav"><ul>{nav}</ul></nav></header>
<div class="layout"><aside class="sidebar"><h3>Related</h3><ul>{related}</ul></aside>
<article class="story"><h1>{title}</h1>{body}</article></div>
<footer class="site-footer"><p>Copyright Harbour Times. All rights reserved. Contact us.</p></footer></body></html>"""


def rss(items: list[dict[str, str]], title: str = "Harbour Times") -> str:
    """An RSS 2.0 feed of `items` (keys: title, link, guid, description, pubDate, category)."""
    parts = []
    for item in items:
        fields = "".join(
            f"<{key}>{value}</{key}>" if key != "description" else f"<description><![CDATA[{value}]]></description>"
            for key, value in item.items()
        )
        parts.append(f"<item>{fields}</item>")
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>'
        f"<link>http://example.org/</link><description>d</description>{''.join(parts)}</channel></rss>"
    )


def config(*feeds: str, extra: str = "") -> str:
    return "archive: archive\npoliteness:\n  delay: 0\n" + extra + "feeds:\n" + "".join(feeds)


def feed_entry(name: str, url: str, more: str = "") -> str:
    return f"  - name: {name}\n    url: {url}\n{more}"


def front_matter(text: str) -> dict[str, object]:
    assert text.startswith("---\n")
    head = text.split("\n---\n", 1)[0][4:]
    loaded = yaml.safe_load(head)
    assert isinstance(loaded, dict)
    return loaded


def test_second_run_archives_nothing_new_and_requests_no_page_again(server: TestServer, work: Workdir) -> None:
    items = [
        {"title": f"Story {i}", "link": server.url(f"/story/{i}"), "pubDate": "Tue, 24 Aug 2021 07:07:13 GMT"}
        for i in range(3)
    ]
    server.add("/feed.xml", body=rss(items), content_type="application/rss+xml")
    for i in range(3):
        server.add(f"/story/{i}", body=article_page(f"Story {i}", [f"Paragraph unique to story {i}. " * 8]))
    work.write_config(config(feed_entry("harbour", server.url("/feed.xml"))))

    first = work.run("fetch", "--json")
    assert first.code == 0, first.stderr
    assert first.json()["feeds"][0]["new"] == 3
    pages_before = len([r for r in server.requests() if r.path.startswith("/story/")])

    second = work.run("fetch", "--json")

    assert second.code == 0, second.stderr
    assert second.json()["feeds"][0]["new"] == 0
    assert second.json()["feeds"][0]["not_modified"] is True
    # The feed changes (a new item on top): only the new item's page is requested.
    items.insert(0, {"title": "Story 3", "link": server.url("/story/3")})
    server.add("/feed.xml", body=rss(items), content_type="application/rss+xml")
    server.add("/story/3", body=article_page("Story 3", ["Paragraph unique to story 3. " * 8]))
    third = work.run("fetch", "--json")
    assert third.code == 0, third.stderr
    summary = third.json()["feeds"][0]
    assert (summary["new"], summary["known"]) == (1, 3)
    assert len(work.files()) == 4
    page_requests = [r.path for r in server.requests() if r.path.startswith("/story/")]
    assert pages_before == 3
    assert sorted(page_requests) == ["/story/0", "/story/1", "/story/2", "/story/3"]


def test_article_listed_by_two_feeds_and_under_utm_link_is_archived_once(server: TestServer, work: Workdir) -> None:
    link = server.url("/news/harbour-plan")
    server.add("/news/harbour-plan", body=article_page("Harbour plan approved"))
    one = [{"title": "Harbour plan approved", "link": link, "guid": "one-1"}]
    two = [{"title": "Harbour plan approved!", "link": link, "guid": "two-1"}]
    tracked = [
        {
            "title": "Harbour plan (shared)",
            "link": link + "?utm_source=rss&amp;utm_medium=feed&amp;spm=a.b#comments",
            "guid": "three-1",
        }
    ]
    server.add("/one.xml", body=rss(one), content_type="application/rss+xml")
    server.add("/two.xml", body=rss(two), content_type="application/rss+xml")
    server.add("/three.xml", body=rss(tracked), content_type="application/rss+xml")
    work.write_config(
        config(
            feed_entry("one", server.url("/one.xml")),
            feed_entry("two", server.url("/two.xml")),
            feed_entry("three", server.url("/three.xml")),
        )
    )

    result = work.run("fetch", "--json")

    assert result.code == 0, result.stderr
    assert len(work.files()) == 1
    feeds = {f["feed"]: f for f in result.json()["feeds"]}
    assert sum(f["new"] for f in feeds.values()) == 1
    assert sum(f["known"] for f in feeds.values()) == 2
    assert len(server.requests("/news/harbour-plan")) == 1


def test_same_article_under_another_url_is_recognised_by_its_body(server: TestServer, work: Workdir) -> None:
    page = article_page("Harbour plan approved")
    server.add("/a/harbour", body=page)
    server.add("/b/harbour-mirror", body=page)
    # The same title and text under another URL: one article (a different title would make it another, docs/FORMAT.md).
    title = "Harbour plan approved"
    server.add("/one.xml", body=rss([{"title": title, "link": server.url("/a/harbour")}]), content_type="text/xml")
    work.write_config(config(feed_entry("one", server.url("/one.xml"))))
    assert work.run("fetch").code == 0
    server.add(
        "/one.xml", body=rss([{"title": title, "link": server.url("/b/harbour-mirror")}]), content_type="text/xml"
    )

    result = work.run("fetch", "--json")

    assert result.code == 0, result.stderr
    assert result.json()["feeds"][0]["known"] == 1
    assert len(work.files()) == 1


def test_article_whose_page_answers_404_is_archived_from_the_feeds_content(server: TestServer, work: Workdir) -> None:
    item = {
        "title": "Gone but not lost",
        "link": server.url("/missing"),
        "description": "<p>The feed&#39;s own summary of the story, kept when the page is gone.</p>",
        "pubDate": "Wed, 01 Sep 2021 10:00:00 +0200",
    }
    server.add("/feed.xml", body=rss([item]), content_type="application/rss+xml")
    work.write_config(config(feed_entry("harbour", server.url("/feed.xml"))))

    result = work.run("fetch", "--json")

    assert result.code == 0, result.stderr
    assert result.json()["feeds"][0]["fallback"] == 1
    files = work.files()
    assert len(files) == 1
    assert files[0].parent == work.archive / "2021" / "09" / "01"
    text = files[0].read_text(encoding="utf-8")
    assert "<p>The feed's own summary of the story, kept when the page is gone.</p>" in text
    assert front_matter(text)["date"] == "Wed, 01 Sep 2021 08:00:00 GMT"
    # Never retried: the second run finds nothing to do.
    assert work.run("fetch", "--json").json()["feeds"][0]["new"] == 0
    assert len(server.requests("/missing")) == 1


def test_page_without_selector_is_extracted_automatically(server: TestServer, work: Workdir) -> None:
    server.add("/feed.xml", body=rss([{"title": "Auto", "link": server.url("/auto")}]), content_type="text/xml")
    server.add("/auto", body=article_page("Harbour plan approved"))
    work.write_config(config(feed_entry("harbour", server.url("/feed.xml"))))

    result = work.run("fetch")

    assert result.code == 0, result.stderr
    text = work.files()[0].read_text(encoding="utf-8")
    body = text.split("\n---\n\n", 1)[1]
    for paragraph in PARAGRAPHS:
        assert paragraph in body
    assert "Section number" not in body
    assert "Related story" not in body
    assert "Copyright Harbour Times" not in body
    assert "<script" not in body


def test_feed_that_is_not_xml_is_reported_while_other_feeds_are_archived(server: TestServer, work: Workdir) -> None:
    server.add("/broken.xml", body="<html><body>Sorry, our feed moved.</body></html>", content_type="text/html")
    server.add("/good.xml", body=rss([{"title": "Good", "link": server.url("/good")}]), content_type="text/xml")
    server.add("/good", body=article_page("Good news"))
    work.write_config(
        config(feed_entry("broken", server.url("/broken.xml")), feed_entry("good", server.url("/good.xml")))
    )

    result = work.run("fetch")

    assert result.code == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "feed 'broken'" in lines[0]
    assert server.url("/broken.xml") in lines[0]
    assert "not a feed" in lines[0]
    assert len(work.files()) == 1


def test_config_error_exits_2_naming_the_line_and_fetches_nothing(server: TestServer, work: Workdir) -> None:
    server.add("/feed.xml", body=rss([]), content_type="text/xml")
    work.write_config(
        config(
            feed_entry("good", server.url("/feed.xml")),
            feed_entry("sina-finance", server.url("/feed.xml"), "    interval: ten minutes\n"),
        )
    )

    result = work.run("fetch")

    assert result.code == 2
    assert result.stderr.strip() == (
        "crawler: feeds.yaml:9: feed 'sina-finance': interval 'ten minutes' is not a duration like 10m"
    )
    assert server.requests() == []
    assert not work.archive.exists()
    assert not (work.path / ".crawler").exists()


def test_fetch_polls_only_the_named_feeds(server: TestServer, work: Workdir) -> None:
    server.add("/a.xml", body=rss([]), content_type="text/xml")
    server.add("/b.xml", body=rss([]), content_type="text/xml")
    work.write_config(config(feed_entry("a", server.url("/a.xml")), feed_entry("b", server.url("/b.xml"))))

    result = work.run("fetch", "b", "--json")

    assert result.code == 0, result.stderr
    assert [f["feed"] for f in result.json()["feeds"]] == ["b"]
    assert server.requests("/a.xml") == []
    unknown = work.run("fetch", "nope")
    assert unknown.code == 2
    assert "no feed named 'nope'" in unknown.stderr


def test_disabled_feed_is_not_polled(server: TestServer, work: Workdir) -> None:
    server.add("/a.xml", body=rss([]), content_type="text/xml")
    work.write_config(config(feed_entry("a", server.url("/a.xml"), "    enabled: false\n")))

    result = work.run("fetch", "--json")

    assert result.code == 0
    assert result.json()["feeds"] == []
    assert server.requests() == []


def test_hostile_guid_and_link_cannot_steer_the_path(server: TestServer, work: Workdir) -> None:
    items = [
        {
            "title": "../../../../etc/passwd",
            "guid": "../../../outside",
            "link": server.url("/../../x/%2e%2e/%2F..%2Fescape"),
            "description": "<p>Body of a hostile item, long enough to be archived from the feed itself.</p>",
        }
    ]
    server.add("/feed.xml", body=rss(items), content_type="text/xml")
    work.write_config(config(feed_entry("hostile", server.url("/feed.xml"), "    content: feed\n")))

    result = work.run("fetch")

    assert result.code == 0, result.stderr
    everything = [p for p in work.path.rglob("*") if p.is_file() and ".crawler" not in p.parts]
    archived = [p for p in everything if p.suffix == ".md"]
    assert len(archived) == 1
    relative = archived[0].relative_to(work.archive)
    assert len(relative.parts) == 4
    assert all(part.isdigit() for part in relative.parts[:3])
