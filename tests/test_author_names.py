"""Authors per docs/FORMAT.md: a person or an organisation's byline, never a number, an attribute fragment, a source
label or an editor. The junk examples are real values the page metadata once gave as authors."""

from __future__ import annotations

import pytest
from selectolax.lexbor import LexborHTMLParser

from crawler.extract.metadata import author_name, page_metadata
from tests.conftest import Workdir
from tests.support.server import TestServer
from tests.test_fetch_command import article_page, config, feed_entry, front_matter, rss


@pytest.mark.parametrize(
    "junk",
    [
        "104363",  # people.com.cn's meta author: an id
        "L_104485",
        "CC7567",
        'size="20"',  # an attribute fragment from a broken tag
        "转载请注明",  # "please credit when reprinting"
        "转载文章",
        "reprint",
        "来源：新华网",  # a source label and its value
        "责任编辑：杨倩",  # the editor
        "我已授权",
        "网络整理",
        "未知",
        "全部",
        "Sign In",
        "Follow Author",
        "Katie Couric New Yorkers post their feelings about Trump election in subway",  # an image caption
        "他放弃百万年薪来到这里。唯一的要求竟是……",  # a sentence
        "Michael Isikoff Trump’s inauguration: ticket packages, $25,000 to $1 million",
        "https://example.org/people/jane",
        "@janedoe",
        "",
        "   ",
        None,
    ],
)
def test_junk_is_no_author(junk: str | None) -> None:
    assert author_name(junk) is None


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("作者：张三", "张三"),
        ("文/李四", "李四"),
        ("By Jane Doe", "Jane Doe"),
        ("Posted by Android Developers", "Android Developers"),
        ("IT之家 发布时间：09-30", "IT之家"),
        ("中国广州发布 关注", "中国广州发布"),
        ("Rob Ewaschuk Edited by Betsy Beyer", "Rob Ewaschuk"),
        ("Lucas Nolan 22 Dec 2016 651", "Lucas Nolan"),
        ("Bradley M. Kuhn (http://ebb.org/bkuhn/)", "Bradley M. Kuhn"),
        (
            "Martin Untersinger (avec Damien Leloup et Morgane Tual)",
            "Martin Untersinger (avec Damien Leloup et Morgane Tual)",
        ),
        ('Amanda "Tania Mae" Tan', 'Amanda "Tania Mae" Tan'),
        (
            "Dana A. Ford, James S.A. Corey, Chien-Ming Wang, and Tom Watkins, CNN",
            "Dana A. Ford, James S.A. Corey, Chien-Ming Wang, and Tom Watkins, CNN",
        ),
        ("日本経済新聞社", "日本経済新聞社"),
        ("CNN Wire", "CNN Wire"),
        ("网易", "网易"),
    ],
)
def test_a_byline_keeps_its_name_without_label_or_tail(raw: str, name: str) -> None:
    assert author_name(raw) == name


def test_a_junk_meta_author_gives_way_to_the_visible_byline() -> None:
    page = (
        '<html><head><meta name="author" content="L_104485"></head>'
        '<body><p class="byline">By Jane Doe</p><p>Text.</p></body></html>'
    )
    assert page_metadata(LexborHTMLParser(page), "http://example.org/a").author == "Jane Doe"


def test_a_source_label_is_not_taken_as_the_author() -> None:
    page = "<html><body><div>2021年08月24日 15:07 来源：新华网</div><p>正文。</p></body></html>"
    assert page_metadata(LexborHTMLParser(page), "http://example.org/a").author is None


def test_a_page_whose_only_author_is_junk_is_archived_under_the_feeds_title(server: TestServer, work: Workdir) -> None:
    junk = '<meta name="author" content="104363"><meta name="byl" content="size=&quot;20&quot;">'
    page = article_page("Junk byline", extra_head=junk).replace(
        "<h1>Junk byline</h1>", "<h1>Junk byline</h1><p>来源：转载文章 责任编辑：杨倩</p>"
    )
    item = {"title": "Junk byline", "link": server.url("/a"), "pubDate": "Tue, 24 Aug 2021 07:07:13 GMT"}
    server.add("/feed.xml", body=rss([item], title="Harbour Times"), content_type="application/rss+xml")
    server.add("/a", body=page)
    work.write_config(config(feed_entry("harbour", server.url("/feed.xml"))))

    result = work.run("fetch")

    assert result.code == 0, result.stderr
    (archived,) = work.files()
    assert front_matter(archived.read_text(encoding="utf-8"))["author"] == "Harbour Times"


def test_a_labelled_writer_in_a_chinese_pages_text_is_the_author() -> None:
    page = "<html><head><title>新闻标题</title></head><body><p>来源：新华网 作者：张三 责任编辑：李四</p></body></html>"
    assert page_metadata(LexborHTMLParser(page), "http://example.org/a").author == "张三"
