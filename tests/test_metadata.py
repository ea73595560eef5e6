"""Tests of crawler.metadata: date parsing, source precedence, Chinese bylines, hostile input."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from selectolax.lexbor import LexborHTMLParser

from crawler.extract.metadata import PageMeta, page_metadata, parse_date

FIXTURES = Path(__file__).parent / "fixtures" / "extraction"
CST = timezone(timedelta(hours=8))


def meta(head: str = "", body: str = "", url: str = "https://example.com/news/a.html") -> PageMeta:
    return page_metadata(LexborHTMLParser(f"<html><head>{head}</head><body>{body}</body></html>"), url)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-08-24T15:07:13+08:00", datetime(2021, 8, 24, 15, 7, 13, tzinfo=CST)),
        ("2021-08-24T07:07:13Z", datetime(2021, 8, 24, 7, 7, 13, tzinfo=UTC)),
        ("2021-08-24 15:07:13", datetime(2021, 8, 24, 15, 7, 13)),
        ("2021-08-24", datetime(2021, 8, 24)),
        ("2021/8/4 9:05", datetime(2021, 8, 4, 9, 5)),
        ("2021年08月24日 15:07", datetime(2021, 8, 24, 15, 7)),
        ("2021年8月24日15:07:30", datetime(2021, 8, 24, 15, 7, 30)),
        ("发布时间：2021年08月24日 下午3:07", datetime(2021, 8, 24, 15, 7)),
        ("Tue, 24 Aug 2021 15:07:13 +0000", datetime(2021, 8, 24, 15, 7, 13, tzinfo=UTC)),
        ("August 24, 2021", datetime(2021, 8, 24)),
        ("24 Aug 2021 3:07 pm", datetime(2021, 8, 24, 15, 7)),
        ("2017-11-03 03:01:00.000000", datetime(2017, 11, 3, 3, 1)),
        ("1629788833", datetime(2021, 8, 24, 7, 7, 13, tzinfo=UTC)),
    ],
)
def test_parse_date(text: str, expected: datetime) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize("text", ["", "yesterday", "2021-13-45", "0000-00-00", "9999-01-01", "12:30", None])
def test_parse_date_rejects_garbage(text: str | None) -> None:
    assert parse_date(text) is None


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_parse_date_never_raises(text: str) -> None:
    parse_date(text)


def test_jsonld_graph_wins_over_open_graph() -> None:
    ld = {
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "WebSite", "name": "Example"},
            {
                "@type": ["NewsArticle"],
                "headline": "LD headline",
                "datePublished": "2021-08-24T15:07:13+08:00",
                "author": [{"@type": "Person", "name": "Ann"}, {"@type": "Person", "name": "Bob"}],
                "image": {"@type": "ImageObject", "url": "/img/lead.jpg"},
                "publisher": {"name": "Example News"},
            },
        ],
    }
    m = meta(
        f"<script type='application/ld+json'>{json.dumps(ld)}</script>"
        "<meta property='og:title' content='OG title'><meta property='og:image' content='/og.jpg'>"
        "<title>Page title - Example News</title>"
    )
    assert m.title == "LD headline"
    assert m.author == "Ann, Bob"
    assert m.published == datetime(2021, 8, 24, 15, 7, 13, tzinfo=CST)
    assert m.image == "https://example.com/img/lead.jpg"
    assert m.site_name == "Example News"


def test_open_graph_then_twitter_then_meta() -> None:
    m = meta(
        "<meta name='twitter:title' content='Tw title'><meta property='og:title' content='OG &amp; title'>"
        "<meta name='twitter:image' content='https://cdn.example.com/tw.jpg'>"
        "<meta property='article:published_time' content='2020-01-02T03:04:05-05:00'>"
        "<meta name='author' content='Jane Doe'><link rel=canonical href='/news/a'>"
        "<meta name=description content='  A   description. '><meta property='og:site_name' content='Ex'>"
    )
    assert m.title == "OG & title"
    assert m.image == "https://cdn.example.com/tw.jpg"
    assert m.published == datetime(2020, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-5)))
    assert m.author == "Jane Doe"
    assert m.canonical == "https://example.com/news/a"
    assert m.description == "A description."


def test_title_site_suffix_stripped() -> None:
    site = "<meta property='og:site_name' content='Example News'>"
    assert meta(f"<title>Big News Today - Example News</title>{site}").title == "Big News Today"
    assert meta("<title>最强中国芯本月商用_新浪财经_新浪网</title>").title == "最强中国芯本月商用"
    assert meta("<title>Some Story | Site</title>", "<h1>Some Story</h1>").title == "Some Story"
    # A separator inside the title proper stays.
    title = "Rock - Paper - Scissors: a history"
    assert meta(f"<title>{title}</title>").title == title


def test_chinese_dateline_byline_and_editor() -> None:
    m = meta(
        "<title>新闻标题_网易新闻</title>",
        "<h1>新闻标题</h1><div class=post_info>2021年08月24日 15:07 来源：新华网 作者：李四</div>"
        "<div id=artibody><p>正文内容，正文内容。</p><p class=editor>责任编辑：张三</p></div>",
    )
    assert m.title == "新闻标题"
    assert m.published == datetime(2021, 8, 24, 15, 7)
    assert m.author == "李四"


def test_editor_is_not_the_author() -> None:
    m = meta("", "<div class=article><p>正文内容。</p></div><p class=show_author>责任编辑：张三</p>")
    assert m.author is None or "张三" not in m.author


def test_microdata() -> None:
    m = meta(
        "",
        "<article itemscope><h1 itemprop=headline>Micro title</h1>"
        "<time itemprop=datePublished datetime='2019-05-06T07:08:09Z'>May 6</time>"
        "<span itemprop=author itemscope><span itemprop=name>Max Mustermann</span></span></article>",
    )
    assert m.title == "Micro title"
    assert m.published == datetime(2019, 5, 6, 7, 8, 9, tzinfo=UTC)
    assert m.author == "Max Mustermann"


@pytest.mark.parametrize(
    "head",
    [
        "<script type='application/ld+json'>{not json</script>",
        "<script type='application/ld+json'>" + "[" * 100_000 + "</script>",
        '<script type=\'application/ld+json\'>{"@type": "NewsArticle", "headline": 5, '
        '"author": {"name": [1]},'
        ' "datePublished": {"x": 1}, "image": [[[]]]}</script>',
        "<meta property='og:title' content='" + "x" * 1_000_000 + "'>",
        "<meta property='article:published_time' content='2021-99-99T99:99:99+99:99'>",
        "<link rel=canonical href='http://[bad'>",
    ],
)
def test_hostile_input_never_raises(head: str) -> None:
    m = meta(head)
    assert m.title is None or len(m.title) <= 2000


def test_empty_page() -> None:
    assert meta() == PageMeta(None, None, None, None, None, None, None, None, None)


GOLDEN = sorted(p.stem for p in FIXTURES.glob("*.html"))


def _as_json(m: PageMeta) -> dict[str, str | None]:
    return {
        "title": m.title,
        "author": m.author,
        "published": m.published.isoformat() if m.published else None,
        "image": m.image,
        "site_name": m.site_name,
        "language": m.language,
        "canonical": m.canonical,
    }


@pytest.mark.parametrize("name", GOLDEN)
def test_golden_metadata(name: str) -> None:
    # Reviewed by eye once; regenerate with UPDATE_GOLDEN=1 after a deliberate change.
    expected_path = FIXTURES / f"{name}.expected.json"
    expected = json.loads(expected_path.read_text("utf8"))
    tree = LexborHTMLParser((FIXTURES / f"{name}.html").read_text("utf8"))
    got = _as_json(page_metadata(tree, expected["url"]))
    if os.environ.get("UPDATE_GOLDEN") == "1":
        expected["meta"] = got
        expected_path.write_text(json.dumps(expected, ensure_ascii=False, indent=1) + "\n", "utf8")
    assert got == expected["meta"]


_PIECES = [
    "<meta property='og:title' content='T'>",
    "<meta name='date' content='2021-02-30'>",
    "<script type='application/ld+json'>",
    "</script>",
    '{"@type": "NewsArticle", "datePublished": ',
    '"@graph": [',
    "<h1>",
    "</h1>",
    "<time datetime='x'>",
    "<span class=byline>By ",
    "作者：",
    "2021年13月40日 25:61",
]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_PIECES), st.text(max_size=30)), max_size=40))
def test_random_markup_never_raises(pieces: list[str]) -> None:
    m = page_metadata(LexborHTMLParser("".join(pieces)), "https://example.com/")
    assert isinstance(m, PageMeta)


@pytest.mark.parametrize(
    ("byline", "author"),
    [
        ("<span class=byline>By Jane Doe March 25, 2015 | Updated 3:46 PM</span>", "Jane Doe"),
        ("<div class=author-box>By\n\t\tJOHN ROE\n</div>", "JOHN ROE"),
        ("<p class=byline>Par Sébastien Farcis</p>", "Sébastien Farcis"),
    ],
)
def test_visible_byline_is_reduced_to_the_name(byline: str, author: str) -> None:
    assert meta("", byline + "<article><p>Text of the story.</p></article>").author == author


def test_menu_caught_by_an_author_class_is_not_a_name() -> None:
    menu = "<div class=authorization>" + " | ".join(f"Menu entry {i}" for i in range(12)) + "</div>"
    assert meta("", menu).author is None


def test_title_suffix_after_double_dash_stripped() -> None:
    site = "<meta property='og:site_name' content='Sott.net'>"
    assert meta(f"<meta property='og:title' content='Court files expose a spy team -- Sott.net'>{site}").title == (
        "Court files expose a spy team"
    )


def test_cjk_title_suffix_after_bare_hyphen_stripped() -> None:
    assert (
        meta("<title>短缺药品保供稳价 全力保障临床用药需求-新华网</title>").title
        == "短缺药品保供稳价 全力保障临床用药需求"
    )
    # A hyphen inside the title proper stays.
    assert meta("<title>京津冀-长三角协同发展</title>").title == "京津冀-长三角协同发展"


def _sina_like(published_time: str, dateline: str) -> PageMeta:
    return meta(
        f"<meta property='article:published_time' content='{published_time}'><title>新闻标题_新浪网</title>",
        "<h1 class=channel-logo><a href='/'>新闻中心</a></h1><h1 class=main-title>新闻标题</h1>"
        "<div class=top-bar><div class=second-title>新闻标题</div>"
        f"<div class=date-source><span class=date>{dateline}</span> <a class=source>北京日报</a></div></div>"
        "<div id=article><p>正文内容，正文内容。</p></div>",
    )


def test_header_dateline_beats_a_reindexed_meta_date() -> None:
    # Sina rewrites article:published_time when it re-indexes; the dateline under the headline holds.
    m = _sina_like("2019-09-07T06:52:51+08:00", "2019年09月07日 04:04")
    assert m.published == datetime(2019, 9, 7, 4, 4, tzinfo=CST)
    m = _sina_like("2018-12-28T19:56:29+08:00", "2018年12月28日 19:55")
    assert m.published == datetime(2018, 12, 28, 19, 55, tzinfo=CST)


@pytest.mark.parametrize(
    ("published_time", "dateline", "expected"),
    [
        # Agrees to the minute: the metadata's seconds are kept.
        ("2019-09-09T20:52:38+08:00", "2019年09月09日 20:52", datetime(2019, 9, 9, 20, 52, 38, tzinfo=CST)),
        # UTC in the meta, local time on the page: the same instant, not a disagreement.
        ("2019-09-06T20:04:43Z", "2019年09月07日 04:04", datetime(2019, 9, 6, 20, 4, 43, tzinfo=UTC)),
        # Days apart: not a clock slip but another event; the metadata stays.
        ("2019-09-01T06:52:51+08:00", "2019年09月07日 04:04", datetime(2019, 9, 1, 6, 52, 51, tzinfo=CST)),
        # The metadata gave the day only: the dateline adds the time.
        ("2019-09-07", "2019-09-07 04:04", datetime(2019, 9, 7, 4, 4)),
    ],
)
def test_meta_date_against_header_dateline(published_time: str, dateline: str, expected: datetime) -> None:
    assert _sina_like(published_time, dateline).published == expected


def test_update_time_under_the_headline_is_not_the_dateline() -> None:
    m = _sina_like("2019-09-07T04:04:43+08:00", "更新时间：2019年09月07日 09:08")
    assert m.published == datetime(2019, 9, 7, 4, 4, 43, tzinfo=CST)
