"""A page whose Content-Type is not HTML (an image, a PDF, a zip, plain text ...) is not decoded as text: the feed's
own content is archived at once (a permanent answer: no retry), and the output says why."""

from __future__ import annotations

import pytest

from crawler.fetch import not_html
from tests.conftest import Workdir
from tests.support.feeds import RSS, Item, config, page, rss
from tests.support.server import Answer, TestServer

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n\x00\x01\x02"
ZIP = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(32))
HTML = page("The article's own words, from its page.").encode()
XHTML = (
    b'<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html>\n<html xmlns="http://www.w3.org/1999/xhtml">'
    + (HTML.split(b"<html>", 1)[1])
)


def _serve(server: TestServer, work: Workdir, answer: Answer) -> None:
    server.add("/feed.xml", body=rss(Item(server.url("/a"))), content_type=RSS)
    server.add("/a", answer)
    work.write_config(config({"name": "news", "url": server.url("/feed.xml")}))


@pytest.mark.parametrize(
    ("content_type", "body", "reason"),
    [
        ("image/png", PNG, "image/png"),
        ("application/pdf", PDF, "application/pdf"),
        ("application/zip; name=a.zip", ZIP, "application/zip"),
        ("application/octet-stream", HTML, "application/octet-stream"),
        ("text/plain; charset=utf-8", b"Plain <text>, shown as text by a browser.", "text/plain"),
        (None, PNG, "no Content-Type, and the body is binary"),
    ],
)
def test_a_page_that_is_not_html_gives_the_feeds_content_and_says_why(
    server: TestServer, work: Workdir, content_type: str | None, body: bytes, reason: str
) -> None:
    _serve(server, work, Answer(body=body, content_type=content_type))

    result = work.run("fetch", "--json")

    assert result.code == 0, result.stderr
    assert result.json()["feeds"][0]["fallback"] == 1
    note = f"feed 'news': {server.url('/a')}: not an HTML page: {reason}; archived from the feed's own content"
    assert note in result.stderr
    assert len(server.requests("/a")) == 1  # a permanent answer: not retried
    text = work.files()[0].read_text("utf-8")
    assert "<div><p>The feed's own words about it.</p></div>" in text
    assert "\ufffd" not in text


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/html; charset=utf-8", HTML),
        ("TEXT/HTML", HTML),
        ("application/xhtml+xml", XHTML),
        ("application/xml", XHTML),
        (None, HTML),
        ("html", HTML),  # no MIME type at all: as if none were sent
    ],
)
def test_html_pages_are_pages(server: TestServer, work: Workdir, content_type: str | None, body: bytes) -> None:
    _serve(server, work, Answer(body=body, content_type=content_type))

    result = work.run("fetch", "--json")

    assert result.code == 0, result.stderr
    assert result.json()["feeds"][0]["fallback"] == 0, result.stderr
    assert "The article's own words, from its page." in work.files()[0].read_text("utf-8")


def test_the_rule_in_short() -> None:
    assert not_html("application/xml", b"<?xml version='1.0'?><rss/>") == "not an HTML page: application/xml"
    assert not_html(None, b"\xff\xfe<\x00h\x00t\x00m\x00l\x00>\x00") is None  # UTF-16 text: its BOM says so
    assert not_html("", b"\x00\x01") == "not an HTML page: no Content-Type, and the body is binary"
    assert not_html("text/html; charset=utf-8, text/html", b"\x00") is None  # the header sent twice
    assert not_html("text/html, image/png", b"") == "not an HTML page: image/png"
