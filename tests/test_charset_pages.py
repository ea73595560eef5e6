"""FORMAT.md's character sets through the real CLI: a page declaring gb2312 but using characters outside it."""

from __future__ import annotations

import pytest

from crawler.charset import choose_encoding, decode
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


def test_header_charset_wins_then_bom_then_declaration_then_detection() -> None:
    text = "<meta charset='utf-8'><p>中文测试内容，足够长以便检测。</p>" * 20
    assert choose_encoding(text.encode("gb18030"), "text/html; charset=gbk") == "gb18030"
    assert choose_encoding(b"\xef\xbb\xbf" + text.encode(), None) == "utf-8-sig"
    assert choose_encoding(text.encode(), None) == "utf-8"
    assert decode(text.replace("utf-8", "x").encode("gb18030"), "text/html") == text.replace("utf-8", "x")
