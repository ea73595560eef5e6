"""docs/FORMAT.md's character sets through the real CLI: a page declaring gb2312 but using characters outside it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from crawler.extract.charset import choose_encoding, decode
from tests.conftest import Workdir
from tests.support.feeds import RSS, Item, config, page, rss
from tests.support.server import TestServer

# 镕 and 啰 are in GBK but not GB2312; € and 𠀀 only in GB18030 (the last one four bytes long).
BEYOND_GB2312 = "朱镕基说：啰嗦的价格是5€，还有𠀀字。"


@pytest.mark.parametrize(
    ("content_type", "tag"),
    [
        ("text/html", '<meta charset="gb2312">'),
        ("text/html; charset=gb2312", ""),
        ("text/html", '<meta http-equiv="Content-Type" content="text/html; charset=GBK">'),
    ],
)
def test_page_declaring_gb2312_with_characters_outside_it_decodes_right(
    server: TestServer, work: Workdir, content_type: str, tag: str
) -> None:
    server.add("/feed.xml", body=rss(Item(server.url("/a"))), content_type=RSS)
    server.add("/a", body=page(BEYOND_GB2312, charset_tag=tag).encode("gb18030"), content_type=content_type)
    work.write_config(config({"name": "news", "url": server.url("/feed.xml")}))

    result = work.run("fetch")

    assert result.code == 0, result.stderr
    assert f"<p>{BEYOND_GB2312}</p>" in work.files()[0].read_text("utf-8")


def test_bom_wins_then_header_then_declaration_then_detection() -> None:
    text = "<meta charset='utf-8'><p>中文测试内容，足够长以便检测。</p>" * 20
    assert choose_encoding(b"\xef\xbb\xbf" + text.encode("gb18030"), "text/html; charset=gbk") == "utf-8"
    assert choose_encoding(text.encode("gb18030"), "text/html; charset=gbk") == "gb18030"
    assert choose_encoding(text.replace("utf-8", "gbk").encode("gb18030"), "text/html") == "gb18030"
    assert decode(text.replace("utf-8", "x").encode("gb18030"), "text/html") == text.replace("utf-8", "x")


# The conflicts of docs/FORMAT.md's "Character sets", each through the real CLI: what is served, what is archived.
CHINESE = "中文内容：镕啰€，“引号”与 Ünïcödé。"
NEWS = "国务院新闻办公室今天上午举行新闻发布会，介绍今年前三季度国民经济运行情况。"


def _archive_page(server: TestServer, work: Workdir, body: bytes, content_type: str) -> str:
    server.add("/feed.xml", body=rss(Item(server.url("/a"))), content_type=RSS)
    server.add("/a", body=body, content_type=content_type)
    work.write_config(config({"name": "news", "url": server.url("/feed.xml")}))
    result = work.run("fetch", "--json")
    assert result.code == 0, result.stderr
    assert result.json()["feeds"][0]["fallback"] == 0, result.stderr
    return work.files()[0].read_text("utf-8")


@pytest.mark.parametrize(("bom", "encoding"), [(b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le")])
def test_a_bom_wins_over_a_latin1_header(server: TestServer, work: Workdir, bom: bytes, encoding: str) -> None:
    body = bom + page(CHINESE, charset_tag="").encode(encoding)

    text = _archive_page(server, work, body, "text/html; charset=iso-8859-1")

    assert f"<p>{CHINESE}</p>" in text


@pytest.mark.parametrize(
    ("content_type", "tag"),
    [
        ("text/html", '<meta charset="gb2312">'),
        ("text/html; charset=gbk", ""),
        ("text/html; charset=iso-8859-1", '<meta charset="iso-8859-1">'),
    ],
)
def test_valid_utf8_bytes_win_over_a_declaration_that_says_otherwise(
    server: TestServer, work: Workdir, content_type: str, tag: str
) -> None:
    text = _archive_page(server, work, page(CHINESE, charset_tag=tag).encode("utf-8"), content_type)

    assert f"<p>{CHINESE}</p>" in text


def test_gbk_bytes_served_as_utf8_are_read_by_their_meta_gb2312(server: TestServer, work: Workdir) -> None:
    body = page(CHINESE, charset_tag='<meta charset="gb2312">').encode("gb18030")

    text = _archive_page(server, work, body, "text/html; charset=utf-8")

    assert f"<p>{CHINESE}</p>" in text


def test_a_latin1_page_that_says_so_stays_latin1(server: TestServer, work: Workdir) -> None:
    words = "Café crème, naïve façade — “déjà vu”."
    body = page(words, charset_tag='<meta charset="iso-8859-1">').encode("windows-1252")

    text = _archive_page(server, work, body, "text/html")

    assert f"<p>{words}</p>" in text


def _rss_titled(title: str, link: str, declaration: str) -> str:
    return (
        f'<?xml version="1.0"{declaration}?><rss version="2.0"><channel><title>Feed</title><link>http://x/</link>'
        f"<description>d</description><item><title>{title}</title><link>{link}</link><guid>{link}</guid>"
        "<pubDate>Tue, 24 Aug 2021 07:07:13 GMT</pubDate><description>&lt;p&gt;x&lt;/p&gt;</description>"
        "</item></channel></rss>"
    )


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (
            lambda link: b"\xef\xbb\xbf" + _rss_titled(CHINESE, link, "").encode(),
            "application/rss+xml; charset=iso-8859-1",
        ),
        (
            lambda link: _rss_titled(CHINESE, link, ' encoding="gbk"').encode("gb18030"),
            "application/rss+xml; charset=utf-8",
        ),
        (lambda link: _rss_titled(CHINESE, link, ' encoding="gb2312"').encode(), "text/xml; charset=gbk"),
        (lambda link: _rss_titled(CHINESE + NEWS, link, "").encode("gb18030"), "application/rss+xml"),
    ],
    ids=["utf8-bom-vs-latin1-header", "gbk-bytes-vs-utf8-header", "utf8-bytes-vs-gbk-header", "gbk-undeclared"],
)
def test_feeds_follow_the_same_rules(
    server: TestServer, work: Workdir, body: Callable[[str], bytes], content_type: str
) -> None:
    server.add("/feed.xml", body=body(server.url("/a")), content_type=content_type)
    server.add("/a", body=page("The page."), content_type="text/html; charset=utf-8")
    work.write_config(config({"name": "news", "url": server.url("/feed.xml")}))

    result = work.run("fetch")

    assert result.code == 0, result.stderr
    assert CHINESE in work.files()[0].read_text("utf-8")


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("대한민국은 동아시아의 한반도 남부에 위치한 민주공화국이다. 수도는 서울특별시이다. " * 4, "euc-kr"),
        ("Москва — столица России, город федерального значения. " * 4, "windows-1251"),
        ("Un naïf", "windows-1252"),
        ("Ein schöner Tag für Müller in München, größer als üblich. " * 4, "windows-1252"),
    ],
)
def test_undeclared_bytes_of_other_scripts_are_not_read_as_chinese(text: str, encoding: str) -> None:
    content = page(text, charset_tag="").encode(encoding)

    assert choose_encoding(content, "text/html") != "gb18030"


def test_a_utf8_page_with_a_stray_byte_stays_utf8(server: TestServer, work: Workdir) -> None:
    # A template's Latin-1 byte in a UTF-8 page: the declared UTF-8 breaks, and detection still reads it as UTF-8.
    body = (
        page(NEWS * 3 + " Caf\xe9 ", charset_tag='<meta charset="utf-8">').encode("utf-8").replace(b"\xc3\xa9", b"\xe9")
    )

    text = _archive_page(server, work, body, "text/html; charset=utf-8")

    assert f"<p>{NEWS * 3} Caf\ufffd </p>" in text
