"""docs/FORMAT.md's acceptance case: the Sina Finance article, byte for byte with `render: verbatim` in all three
variants; with the default `render: hexo` the same front matter and text, laid out for Markdown."""

from __future__ import annotations

import re

import pytest
from markdown_it import MarkdownIt
from selectolax.lexbor import LexborHTMLParser

from tests.conftest import FIXTURES, Workdir
from tests.support.server import TestServer

ARTICLE_PATH = "/china/dfjj/2021-08-24/doc-ikqciyzm3166862.shtml"
EXPECTED = (FIXTURES / "golden" / "expected.md").read_text(encoding="utf-8")


VERBATIM = "    render: verbatim\n"


def _config(server: TestServer, feed_path: str, extra: str = VERBATIM) -> str:
    return f"""archive: archive
politeness:
  delay: 0
feeds:
  - name: sina-finance-china
    url: {server.url(feed_path)}
    categories: [金融, 新浪财经, 新浪财经－国內]
    author: 新浪财经
    body: "#artibody"
{extra}"""


def _feed(server: TestServer, name: str) -> bytes:
    return (FIXTURES / "golden" / name).read_bytes().replace(b"{base}", server.base.encode())


def test_golden_utf8_page_gives_the_expected_file_byte_for_byte(server: TestServer, work: Workdir) -> None:
    server.add("/rss/finance_china.xml", body=_feed(server, "feed.xml"), content_type="application/rss+xml")
    server.add(ARTICLE_PATH, body=(FIXTURES / "golden" / "article.html").read_bytes())
    work.write_config(_config(server, "/rss/finance_china.xml"))

    result = work.run("fetch")

    assert result.code == 0, result.stderr
    files = work.files()
    assert len(files) == 1
    assert files[0].parent == work.archive / "2021" / "08" / "24"
    assert re.fullmatch(r"[0-9a-f]{16}\.md", files[0].name)
    assert files[0].read_bytes() == EXPECTED.encode("utf-8")


def test_golden_gb2312_declared_gb18030_page_without_header_charset_gives_the_same_file(
    server: TestServer, work: Workdir
) -> None:
    server.add("/rss/finance_china.xml", body=_feed(server, "feed.xml"), content_type="application/rss+xml")
    server.add(
        ARTICLE_PATH,
        body=(FIXTURES / "golden" / "article.gb2312.html").read_bytes(),
        content_type="text/html",
    )
    work.write_config(_config(server, "/rss/finance_china.xml"))

    result = work.run("fetch")

    assert result.code == 0, result.stderr
    files = work.files()
    assert len(files) == 1
    assert files[0].read_bytes() == EXPECTED.encode("utf-8")


def test_golden_rsshub_full_text_feed_needs_no_page_request(server: TestServer, work: Workdir) -> None:
    server.add("/sina/finance/china", body=_feed(server, "feed.rsshub.xml"), content_type="application/rss+xml")
    work.write_config(_config(server, "/sina/finance/china", "    content: feed\n" + VERBATIM))

    result = work.run("fetch")

    assert result.code == 0, result.stderr
    assert server.requests(ARTICLE_PATH) == []
    files = work.files()
    assert len(files) == 1
    assert files[0].parent == work.archive / "2021" / "08" / "24"
    got = files[0].read_text(encoding="utf-8")
    # docs/FORMAT.md: equal except for white space directly inside the wrapping <div>.
    assert _strip_div_space(got) == _strip_div_space(EXPECTED)


def _strip_div_space(text: str) -> str:
    head, body = text.split("\n---\n\n<div>", 1)
    assert body.endswith("</div>\n")
    return head + "\n---\n\n<div>" + body[: -len("</div>\n")].strip() + "</div>\n"


def _serve_variant(server: TestServer, variant: str) -> str:
    """Serve one of the three variants; return the feed's path."""
    if variant == "rsshub":
        server.add("/sina/finance/china", body=_feed(server, "feed.rsshub.xml"), content_type="application/rss+xml")
        return "/sina/finance/china"
    server.add("/rss/finance_china.xml", body=_feed(server, "feed.xml"), content_type="application/rss+xml")
    page = "article.html" if variant == "utf8" else "article.gb2312.html"
    server.add(ARTICLE_PATH, body=(FIXTURES / "golden" / page).read_bytes(), content_type="text/html")
    return "/rss/finance_china.xml"


@pytest.mark.parametrize("variant", ["utf8", "gb2312", "rsshub"])
def test_golden_by_default_has_the_same_front_matter_and_text_and_no_blank_or_indented_body_line(
    server: TestServer, work: Workdir, variant: str
) -> None:
    feed_path = _serve_variant(server, variant)
    work.write_config(_config(server, feed_path, "    content: feed\n" if variant == "rsshub" else ""))

    result = work.run("fetch")

    assert result.code == 0, result.stderr
    files = work.files()
    assert len(files) == 1
    got = files[0].read_text(encoding="utf-8")
    head, body = got.split("\n---\n\n", 1)
    expected_head, expected_body = EXPECTED.split("\n---\n\n", 1)
    assert head == expected_head
    assert body.startswith("<div>") and body.endswith("</div>\n")
    lines = body[:-1].split("\n")
    assert [line for line in lines if not line.strip(" \t")] == []
    assert [line for line in lines if line.startswith((" ", "\t"))] == []
    assert "<style" not in body and "<!--" not in body
    assert _visible_text(body) == _visible_text(expected_body)
    # What a Markdown renderer makes of it: one HTML block, the whole body, untouched.
    tokens = MarkdownIt("commonmark").parse(body)
    assert [(t.type, t.content) for t in tokens] == [("html_block", body)]


def _visible_text(body: str) -> str:
    root = LexborHTMLParser(body).body
    assert root is not None
    for style in root.css("style"):
        style.decompose()
    return " ".join((root.text(separator=" ") or "").split())
