"""`content: feed | auto | page`: when the item's own HTML is the article and when the page is fetched."""

from __future__ import annotations

from tests.conftest import Workdir
from tests.support.server import TestServer
from tests.test_fetch_command import article_page, config, feed_entry, rss

WHOLE = "".join(
    f"<p>Paragraph {i} of a full-text item that carries the whole article in the feed.</p>" for i in range(20)
)


def test_auto_uses_a_whole_article_from_the_feed_without_fetching_the_page(server: TestServer, work: Workdir) -> None:
    server.add("/f.xml", body=rss([{"title": "Full", "link": server.url("/full"), "description": WHOLE}]))
    server.add("/full", body=article_page("Full"))
    work.write_config(config(feed_entry("f", server.url("/f.xml"), "    content: auto\n")))

    result = work.run("fetch")

    assert result.code == 0, result.stderr
    assert server.requests("/full") == []
    assert "Paragraph 19 of a full-text item" in work.files()[0].read_text(encoding="utf-8")


def test_auto_fetches_the_page_for_a_teaser(server: TestServer, work: Workdir) -> None:
    server.add("/f.xml", body=rss([{"title": "Teaser", "link": server.url("/t"), "description": "<p>Read more…</p>"}]))
    server.add("/t", body=article_page("Teaser"))
    work.write_config(config(feed_entry("f", server.url("/f.xml"), "    content: auto\n")))

    result = work.run("fetch")

    assert result.code == 0, result.stderr
    assert len(server.requests("/t")) == 1
    text = work.files()[0].read_text(encoding="utf-8")
    assert "The committee met on Tuesday" in text
    assert "Read more" not in text


def test_auto_keeps_the_feeds_text_when_the_page_gives_clearly_less(server: TestServer, work: Workdir) -> None:
    medium = "".join(
        f"<p>Sentence {i} of a medium item, longer than what the page will give us.</p>" for i in range(10)
    )
    server.add("/f.xml", body=rss([{"title": "Medium", "link": server.url("/m"), "description": medium}]))
    server.add("/m", body=article_page("Medium", ["A single short paragraph on the page, and nothing else here."]))
    work.write_config(config(feed_entry("f", server.url("/f.xml"), "    content: auto\n")))

    result = work.run("fetch", "-v")

    assert result.code == 0, result.stderr
    assert len(server.requests("/m")) == 1
    text = work.files()[0].read_text(encoding="utf-8")
    assert "Sentence 9 of a medium item" in text
    assert "extraction shorter than the feed" in result.stderr


def test_page_mode_always_fetches_the_page(server: TestServer, work: Workdir) -> None:
    server.add("/f.xml", body=rss([{"title": "Full", "link": server.url("/full"), "description": WHOLE}]))
    server.add("/full", body=article_page("Full"))
    work.write_config(config(feed_entry("f", server.url("/f.xml"))))

    result = work.run("fetch")

    assert result.code == 0, result.stderr
    assert len(server.requests("/full")) == 1
    assert "The committee met on Tuesday" in work.files()[0].read_text(encoding="utf-8")
