"""Boilerplate inside the article's own block (issue 19): each kind goes, what only looks like it stays, and the
feed item's title and teaser guide the choice. Small pages in tests/fixtures/boilerplate, one kind each."""

from __future__ import annotations

from pathlib import Path

import pytest
from selectolax.lexbor import LexborHTMLParser

from crawler.extract.auto import FeedHint, extract_main
from crawler.extract.auto.boilerplate import Kind, is_dateline, name_kind, text_kind, trailing_credit
from crawler.extract.page import extract_page
from tests.conftest import Workdir
from tests.support.feeds import RSS, Item, config, rss
from tests.support.server import TestServer

FIXTURES = Path(__file__).parent / "fixtures" / "boilerplate"
# The first words of each of the article's six paragraphs: all must survive every clean-up.
ARTICLE = (
    "The city council voted on Tuesday",
    "Engineers told the council",
    "Opponents argued that the money",
    "The new bridge will have two lanes",
    "Construction is due to begin",
    "Residents will be able to comment",
)
TITLE = "Council votes to rebuild the harbour bridge"


def extract(name: str, hint: FeedHint | None = None) -> str:
    html = (FIXTURES / f"{name}.html").read_text("utf8")
    result = extract_main(LexborHTMLParser(html), "https://example.com/news/bridge", hint)
    assert result is not None
    return result


def text(html: str) -> str:
    body = LexborHTMLParser(f"<body>{html}</body>").body
    return " ".join((body.text(separator=" ") if body else "").split())


@pytest.mark.parametrize(
    ("page", "gone"),
    [
        ("caption_outside_figure", ["Jane Roe", "Getty"]),
        ("photo_credit", ["Jane Roe/Reuters", "Harbour Authority archive"]),
        ("byline_dateline", ["Alex Example", "Updated 10:42"]),
        ("byline_text", ["Alex Example", "4 min read"]),
        ("share_bar", ["Facebook", "Twitter", "Tweet"]),
        ("related_list", ["Related", "Ferry fares rise again", "Town hall to be renovated"]),
        ("more_from_list", ["More from", "Ferry fares rise again"]),
        ("read_more_inline", ["Read more", "closed to buses in 2019"]),
        ("newsletter_box", ["morning briefing", "Sign up"]),
        ("newsletter_text", ["Sign up for our newsletter"]),
        ("ad_slot", ["Advertisement", "ADVERTISEMENT"]),
    ],
)
def test_boilerplate_inside_the_article_block_goes(page: str, gone: list[str]) -> None:
    got = text(extract(page))
    for words in ARTICLE:
        assert words in got
    for words in gone:
        assert words not in got, f"{words!r} kept on {page}"


def test_a_figure_caption_that_describes_the_figure_stays_without_its_credit() -> None:
    html = extract("figcaption_kept")
    caption = LexborHTMLParser(html).css_first("figcaption")
    assert caption is not None
    assert caption.text().strip() == "The old harbour bridge at dusk, seen from the ferry pier."
    assert all(words in text(html) for words in ARTICLE)


def test_text_that_merely_mentions_related_or_starts_with_by_stays() -> None:
    got = text(extract("related_mention_kept"))
    assert "Related debates in other cities" in got
    assert "By the river, the market traders" in got  # mid-article: not a byline


def test_the_headline_matching_the_item_title_marks_where_the_article_starts() -> None:
    plain = text(extract("hinted"))
    guided = text(extract("hinted", FeedHint(title=TITLE)))
    assert "HARBOUR NEWS" in plain and "Fish market reopens" in plain
    assert "HARBOUR NEWS" not in guided and "Fish market reopens" not in guided
    assert all(words in guided for words in ARTICLE)


TEASER = "<p>The city council voted on Tuesday to rebuild the old harbour bridge, ending a debate…</p>"


def test_the_block_holding_the_item_teaser_is_chosen_as_the_article() -> None:
    plain = text(extract("other_block"))
    guided = text(extract("other_block", FeedHint(title=TITLE, teaser=TEASER)))
    assert "regional football league" in plain and "harbour bridge" not in plain  # the larger block wins alone
    assert "regional football league" not in guided
    assert all(words in guided for words in ARTICLE)


def test_the_item_teaser_marks_where_the_article_starts_among_joined_blocks() -> None:
    plain = text(extract("two_stories"))
    guided = text(extract("two_stories", FeedHint(teaser=TEASER)))
    assert "regional football league" in plain and "harbour bridge" in plain  # same-class columns join
    assert "regional football league" not in guided
    assert all(words in guided for words in ARTICLE)


def test_a_hint_found_nowhere_changes_nothing() -> None:
    nowhere = FeedHint(title="Something else entirely happened", teaser="Nothing of this text is on the page at all.")
    assert extract("related_mention_kept", nowhere) == extract("related_mention_kept")


def test_extract_page_passes_the_hint_to_automatic_extraction() -> None:
    html = (FIXTURES / "other_block.html").read_text("utf8")
    hint = FeedHint(teaser="The city council voted on Tuesday to rebuild the old harbour bridge")
    extracted = extract_page(html, "https://example.com/news/bridge", hint=hint)
    assert extracted.method == "automatic"
    assert "harbour bridge" in extracted.text and "football" not in extracted.text


@pytest.mark.parametrize(
    ("hint", "kind"),
    [
        ("caption__credit", Kind.CREDIT),
        ("image-caption", Kind.CAPTION),
        ("article-byline", Kind.BYLINE),
        ("share-tools", Kind.SHARE),
        ("related-stories", Kind.RELATED),
        ("newsletter-signup", Kind.NEWSLETTER),
        ("ad-container", Kind.AD),
        ("ad", Kind.AD),
        ("sr-only", Kind.LABEL),
        ("article-body share-enabled", None),  # the article itself, whatever else it says
        ("header badge", None),  # "ad" inside a word is no ad
    ],
)
def test_class_names_tell_the_kind(hint: str, kind: Kind | None) -> None:
    assert name_kind(hint) == kind


@pytest.mark.parametrize(
    ("line", "edge", "kind"),
    [
        ("Photo: Jane Roe", False, Kind.CREDIT),
        ("Kevin Frayer/Getty Images", False, Kind.CREDIT),
        ("© Reuters", False, Kind.CREDIT),
        ("图/pixabay", False, Kind.CREDIT),
        ("Advertisement", False, Kind.AD),
        ("Share Tweet Email", False, Kind.SHARE),
        ("Twitter", False, None),  # one word alone may be the article's
        ("Related articles", False, Kind.RELATED),
        ("By Jane Roe", True, Kind.BYLINE),
        ("By Jane Roe", False, None),
        ("责任编辑：张三", True, Kind.BYLINE),
        ("May 20, 2019", True, Kind.DATELINE),
        ("1", True, None),  # a number is not a date
        ("Source: the agency said on Monday that the bridge would stay open until a new one opens.", False, None),
    ],
)
def test_short_lines_tell_the_kind(line: str, edge: bool, kind: Kind | None) -> None:
    assert text_kind(line, edge=edge) == kind


def test_datelines_and_trailing_credits() -> None:
    assert is_dateline("Updated 0203 GMT, November 28, 2013")
    assert not is_dateline("Chapter 3")
    caption = "A street in Huwara, West Bank. Photograph: Dan Kitwood/Getty Images"
    start = trailing_credit(caption)
    assert start is not None and caption[:start].rstrip() == "A street in Huwara, West Bank."
    assert trailing_credit("A street in Huwara, West Bank.") is None


def test_the_crawler_guides_extraction_by_the_feed_items_teaser(server: TestServer, work: Workdir) -> None:
    """Through the real CLI: the item's teaser picks the article block on a page where another story is larger."""
    item = Item(server.url("/bridge"), title=TITLE, description=TEASER)
    server.add("/feed.xml", body=rss(item), content_type=RSS)
    server.add("/bridge", body=(FIXTURES / "other_block.html").read_text("utf8"))
    work.write_config(config({"name": "news", "url": server.url("/feed.xml"), "body": None}))

    result = work.run("fetch")

    assert result.code == 0, result.stderr
    archived = work.files()[0].read_text(encoding="utf-8")
    assert "Residents will be able to comment" in archived
    assert "regional football league" not in archived
