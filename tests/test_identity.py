"""The pure decisions of crawler/identity.py and crawler/urls.py: what makes two items or pages one article."""

from __future__ import annotations

import pytest

from crawler.feeds.parse import Entry
from crawler.identity.keys import (
    ItemFacts,
    assign_keys,
    body_key,
    item_key,
    linkless_article_id,
    same_item,
    same_site,
    trusted_canonical,
)
from crawler.identity.urls import article_id, normalize_url


def entry(guid: str | None, link: str | None, title: str | None, content: str | None = None) -> Entry:
    return Entry(
        key=item_key(guid, link, title, content),
        guid=guid,
        link=link,
        title=title,
        author=None,
        categories=(),
        published=None,
        updated=None,
        content=content,
        image=None,
    )


PAGE = "https://www.example.co.uk/news/2021/harbour-plan"


@pytest.mark.parametrize(
    ("canonical", "page"),
    [
        ("https://www.example.co.uk/news/2021/harbour-plan", PAGE),
        ("https://example.co.uk/news/2021/harbour-plan?id=7", PAGE),  # www. and the bare domain: one site
        ("https://m.example.co.uk/news/2021/harbour-plan", PAGE),
        ("https://www.example.co.uk/news/2021/harbour-plan", "http://www.example.co.uk:80/amp/harbour"),
        ("http://127.0.0.1:8080/story/1", "http://127.0.0.1:8080/story/1?page=2"),
        ("https://example.com/harbour-plan.html", "https://example.com/print/7"),  # one segment, but a file
    ],
)
def test_a_canonical_on_the_pages_own_site_and_port_is_trusted(canonical: str, page: str) -> None:
    assert trusted_canonical(canonical, page)


@pytest.mark.parametrize(
    ("canonical", "page"),
    [
        ("https://victim.co.uk/news/2021/harbour-plan", "https://evil.co.uk/news/2021/harbour-plan"),
        ("https://victim.github.io/posts/harbour", "https://attacker.github.io/posts/harbour"),
        ("https://victim.example/posts/harbour", "https://attacker.example/posts/harbour"),
        ("https://co.uk/news/harbour", "https://evil.co.uk/news/harbour"),  # a public suffix is no one's site
        ("http://127.0.0.1:8080/story/1", "http://127.0.0.1:9090/story/2"),  # the same host's other port
        ("http://127.0.0.1/story/1", "http://127.0.0.2/story/1"),  # addresses are their own site
        ("https://example.com:8443/story/1", "http://example.com:8443/story/1"),  # one port, two schemes
        ("https://www.example.co.uk/", PAGE),  # the home page
        ("https://www.example.co.uk", PAGE),
        ("https://www.example.co.uk/?lang=en", PAGE),
        ("https://www.example.co.uk/news/", PAGE),  # a section above the page
        ("https://www.example.co.uk/news/2021", PAGE),
        ("https://www.example.co.uk/sport", PAGE),  # a one-segment section index
        # Conservative: an ancestor path, or the home page with a query, is never trusted, even where it may be the
        # article (an AMP page naming its original): ignoring it only leaves the merge to the body text.
        ("https://www.example.co.uk/news/2021/harbour-plan", "https://www.example.co.uk/news/2021/harbour-plan/amp"),
        ("https://example.com/?p=123", "https://example.com/?p=123&amp=1"),
        ("ftp://www.example.co.uk/news/2021/harbour-plan", PAGE),
        ("/news/2021/harbour-plan", PAGE),  # never resolved here: metadata gives absolute URLs
        ("https://www.example.co.uk:99999/news/a", PAGE),
        ("", PAGE),
        (None, PAGE),
    ],
)
def test_a_canonical_from_another_site_port_or_an_index_is_not_trusted(canonical: str | None, page: str) -> None:
    assert not trusted_canonical(canonical, page)


def test_sites_follow_the_public_suffix_list() -> None:
    assert same_site("www.bbc.co.uk", "m.bbc.co.uk")
    assert same_site("News.Example.COM.", "example.com")
    assert not same_site("a.co.uk", "b.co.uk")
    assert not same_site("x.github.io", "y.github.io")
    assert not same_site("x.blogspot.com", "y.blogspot.com")
    assert not same_site("10.0.0.1", "10.0.0.2")
    assert not same_site("localhost", "other")
    assert not same_site("", "example.com")


def test_a_guid_repeated_for_items_with_other_links_and_titles_gives_each_its_own_key() -> None:
    items = [entry("post", f"https://example.com/{n}", f"Story {n}") for n in range(3)]

    keyed = assign_keys(items, {})

    assert len({e.key for e in keyed.entries}) == 3
    assert keyed.entries[0].key == "post"
    assert [e.link for e in keyed.repeated] == ["https://example.com/1", "https://example.com/2"]


def test_the_same_guid_with_the_same_link_or_title_is_one_item_updated() -> None:
    items = [
        entry("post", "https://example.com/a", "Story"),
        entry("post", "https://example.com/a?utm_source=rss", "Story (updated)"),
        entry("post", "https://example.com/moved", "Story"),
    ]

    keyed = assign_keys(items, {})

    assert [e.key for e in keyed.entries] == ["post"]
    assert keyed.repeated == ()


def test_repeat_keys_are_stable_across_polls_whatever_the_order() -> None:
    first_poll = [entry("post", f"https://example.com/{n}", f"Story {n}") for n in range(3)]
    first = assign_keys(first_poll, {})
    # What the store remembers of the key: the item that took it first.
    stored = {"post": ItemFacts("https://example.com/0", "Story 0")}
    newcomer = entry("post", "https://example.com/9", "Story 9")

    second = assign_keys([newcomer, *reversed(first_poll)], stored)

    assert {e.key for e in first.entries} < {e.key for e in second.entries}
    assert next(e.key for e in second.entries if e.link == "https://example.com/0") == "post"
    assert next(e.key for e in second.entries if e.link == "https://example.com/9") != "post"


def test_link_and_hash_keys_are_never_split() -> None:
    same_link = [entry(None, "https://example.com/a", "One"), entry(None, "https://example.com/a", "Two")]
    assert [e.key for e in assign_keys(same_link, {}).entries] == ["https://example.com/a"]


def test_same_item_needs_another_link_and_another_title_to_differ() -> None:
    assert same_item(ItemFacts("https://e.com/a", "A"), ItemFacts("https://e.com/a#x", "B"))
    assert same_item(ItemFacts("https://e.com/a", "A  b"), ItemFacts("https://e.com/b", "A b"))
    assert same_item(ItemFacts(None, None), ItemFacts(None, None))
    assert not same_item(ItemFacts("https://e.com/a", "A"), ItemFacts("https://e.com/b", "B"))
    assert not same_item(ItemFacts(None, "A"), ItemFacts("https://e.com/b", "B"))


def test_linkless_items_get_ids_of_their_own_never_the_feeds() -> None:
    feed = "https://example.com/statuses.rss"
    ids = {linkless_article_id(feed, item_key(f"status-{n}", None, None, None)) for n in range(5)}

    assert len(ids) == 5
    assert article_id(normalize_url(feed)) not in ids
    assert linkless_article_id(feed, "status-1") == linkless_article_id(feed, "status-1")
    assert linkless_article_id(feed, "status-1") != linkless_article_id("https://other.example/rss", "status-1")
    # Without a GUID, the title and content name the item.
    assert item_key(None, None, "Note", "<p>one</p>") != item_key(None, None, "Note", "<p>two</p>")


def test_the_body_key_joins_the_title_to_the_text() -> None:
    notice = "Subscribe to continue reading."
    assert body_key("Story one", notice) != body_key("Story two", notice)
    assert body_key(" Story  one\n", f"  {notice}\n") == body_key("Story one", notice)
    assert body_key("A", "B C") != body_key("A B", "C")


def test_tracking_parameters_of_the_maintained_list_and_format_are_removed() -> None:
    assert normalize_url("https://www.bbc.co.uk/news/world-1?at_medium=RSS&at_campaign=KARANGA") == (
        "https://www.bbc.co.uk/news/world-1"
    )
    # From the ClearURLs list, not from a list of ours.
    assert normalize_url("https://example.com/a?oly_anon_id=1&__hssc=2&_openstat=3&x=1") == "https://example.com/a?x=1"
    # A site's own rule applies on that site only.
    assert normalize_url("https://www.bbc.com/news/a?xtor=AL-1") == "https://www.bbc.com/news/a"
    assert normalize_url("https://example.com/news/a?xtor=AL-1") == "https://example.com/news/a?xtor=AL-1"


def test_parameters_that_name_the_article_are_kept() -> None:
    url = "https://example.com/read?id=7&p=3&article=5&story=9&aid=4&page=2&utm_source=rss"
    assert normalize_url(url) == "https://example.com/read?id=7&p=3&article=5&story=9&aid=4&page=2"
    # Nothing to drop: the query stays exactly as written.
    assert normalize_url("https://example.com/q?a=x%20y&b=1+2") == "https://example.com/q?a=x%20y&b=1+2"
