"""OPML reading and writing, and the feed names derived from titles."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crawler.config.editor import derive_name, slugify
from crawler.config.opml import OpmlError, OpmlFeed, read_opml, write_opml
from crawler.config.settings import NAME_RE, FeedConfig
from tests.conftest import FIXTURES


def test_feedly_export_gives_every_feed_with_its_folder_as_category() -> None:
    feeds = read_opml((FIXTURES / "opml" / "feedly-export.opml").read_bytes(), "feedly-export.opml")

    assert len(feeds) == 17
    assert feeds[0] == OpmlFeed(
        url="https://www.williamtai.moe/feed/",
        title="白髮‧青春",
        categories=("博客",),
        site="https://www.williamtai.moe",
    )
    assert {feed.categories for feed in feeds} == {("博客",), ("移民",), ("前端",), ("Tech",)}


def test_a_feed_in_two_folders_is_one_feed_with_both_categories() -> None:
    data = b"""<opml version="2.0"><body>
      <outline text="News"><outline text="Feed" xmlUrl="https://a.example/feed"/></outline>
      <outline title="World"><outline title="Nested"><outline text="Feed" xmlUrl="https://a.example/feed"/></outline>
      </outline>
      <outline text="Loose" xmlUrl="https://b.example/rss" category="/Tech/Rust,/Misc"/>
    </body></opml>"""

    feeds = read_opml(data, "x.opml")

    assert feeds == [
        OpmlFeed(url="https://a.example/feed", title="Feed", categories=("News", "World", "Nested")),
        OpmlFeed(url="https://b.example/rss", title="Loose", categories=("Tech", "Rust", "Misc")),
    ]


@pytest.mark.parametrize(
    "data",
    [b"not xml at all <", b"<rss><channel/></rss>", b"<opml version='2.0'><head/></opml>"],
)
def test_what_is_not_opml_is_an_error_naming_the_file(data: bytes) -> None:
    with pytest.raises(OpmlError, match=r"^x\.opml: "):
        read_opml(data, "x.opml")


def test_entity_expansion_is_refused() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaa">]><opml><body>&a;</body></opml>'
    with pytest.raises(OpmlError):
        read_opml(bomb, "bomb.opml")


def test_export_lists_each_feed_once_and_reads_back_every_category() -> None:
    feeds = [
        FeedConfig(name="a", url="https://a.example/feed", title='Quotes " & <tags>', categories=("X", "Y")),
        FeedConfig(name="b", url="https://b.example/feed"),
    ]

    back = read_opml(write_opml(feeds).encode("utf-8"), "export.opml")

    assert back == [
        OpmlFeed(url="https://a.example/feed", title='Quotes " & <tags>', categories=("X", "Y")),
        OpmlFeed(url="https://b.example/feed", title="b", categories=()),
    ]


def test_html_url_is_the_site_and_is_written_back() -> None:
    data = b"""<opml version="2.0"><body>
      <outline text="A" xmlUrl="https://a.example/feed" htmlUrl=" https://a.example/ "/>
      <outline text="B" xmlUrl="https://b.example/feed"/>
      <outline text="News"><outline text="B" xmlUrl="https://b.example/feed" htmlUrl="https://b.example/"/></outline>
    </body></opml>"""

    feeds = read_opml(data, "x.opml")

    assert [(feed.url, feed.site) for feed in feeds] == [
        ("https://a.example/feed", "https://a.example/"),
        ("https://b.example/feed", "https://b.example/"),  # the second listing of a feed fills in a missing site
    ]
    configs = [
        FeedConfig(name="a", url=feeds[0].url, site=feeds[0].site),
        FeedConfig(name="c", url="https://c.example/"),
    ]
    written = write_opml(configs)
    assert 'xmlUrl="https://a.example/feed" htmlUrl="https://a.example/"' in written
    assert [feed.site for feed in read_opml(written.encode("utf-8"), "export.opml")] == ["https://a.example/", None]


@pytest.mark.parametrize(
    ("title", "url", "expected"),
    [
        ("Edison Xu's Blog", "http://edisonxu.com/atom.xml", "edison-xu-s-blog"),
        ("Miao1007の記事", "https://miao1007.github.io/feed.xml", "miao1007"),
        ("白髮‧青春", "https://www.williamtai.moe/feed/", "williamtai.moe-feed"),
        (None, "https://tech.meituan.com/atom.xml", "tech.meituan.com-atom"),
        ("Café Déjà Vu", "https://x.example/", "cafe-deja-vu"),
    ],
)
def test_names_come_from_titles_else_from_the_url(title: str | None, url: str, expected: str) -> None:
    assert derive_name(title, url, []) == expected


def test_a_taken_name_gets_a_number() -> None:
    assert derive_name("Blog", "https://a.example/", ["blog", "blog-2"]) == "blog-3"


@given(st.text(max_size=80), st.sets(st.text(alphabet="abc-", min_size=1, max_size=5), max_size=5))
def test_derived_names_are_always_valid_and_unique(title: str, taken: set[str]) -> None:
    name = derive_name(title, "https://x.example/feed", taken)
    assert NAME_RE.match(name)
    assert name not in taken
    assert len(name) <= 60


def test_slugify_keeps_only_name_characters() -> None:
    assert slugify("  Hello, World! / 2024  ") == "hello-world-2024"
    assert slugify("——") == ""
