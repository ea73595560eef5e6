"""The store's contract for history and search (store/history.py, base.py's history section): what every backend
must keep for the web console. Each test runs once per backend in conftest.BACKENDS."""

from __future__ import annotations

import json
import random
from datetime import timedelta

import pytest

from crawler.store.base import (
    ArchivedArticle,
    ArticleClaim,
    IndexedArticle,
    NewEntry,
    SelectorCheck,
    SelectorMisses,
    Store,
)
from crawler.store.history import (
    HISTORY_DAYS,
    INDEXED_TEXT_CHARS,
    POLLS_KEPT_PER_FEED,
    ArticleQuery,
    ArticleText,
    FeedDay,
    FeedSummary,
    PollRecord,
    day_of,
)

pytestmark = pytest.mark.anyio

DAY = 86_400.0
NOW = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC


async def archive(store: Store, feed: str, article_id: str, title: str, text: str, published: float | None) -> None:
    """What the pipeline does for a new article: list it, claim it, record it with its text."""
    await store.add_pending(feed, [NewEntry(article_id, None, json.dumps({}))], NOW)
    await store.claim(ArticleClaim(feed, article_id, article_id, (f"https://x/{article_id}",), None), NOW)
    article = ArchivedArticle(
        article_id, f"2023/{article_id}.md", f"h-{article_id}", (f"https://x/{article_id}",),
        text=ArticleText(title, text, published),
    )  # fmt: skip
    await store.record_archived_all([(feed, article_id, article)])


async def test_a_poll_is_logged_and_counted_in_its_day(store: Store) -> None:
    await store.record_poll(PollRecord("a", NOW, "ok", 1.5, new=2))
    await store.record_poll(PollRecord("a", NOW + 60, "failed", 0.25, error="HTTP 503"))
    await store.record_poll(PollRecord("b", NOW, "not_modified", 0.1))
    log = await store.poll_log("a", 10)
    assert log == [
        PollRecord("a", NOW + 60, "failed", 0.25, error="HTTP 503"),
        PollRecord("a", NOW, "ok", 1.5, new=2),
    ]
    today = day_of(NOW)
    assert await store.days("a", today) == [FeedDay("a", today, ok=1, failed=1)]
    assert await store.days(None, today) == [FeedDay("", today, ok=1, not_modified=1, failed=1)]


async def test_the_poll_log_keeps_a_bounded_number_of_polls_per_feed(store: Store) -> None:
    for n in range(POLLS_KEPT_PER_FEED + 5):
        await store.record_poll(PollRecord("a", NOW + n, "ok", 0.1))
    log = await store.poll_log("a", POLLS_KEPT_PER_FEED + 100)
    assert len(log) == POLLS_KEPT_PER_FEED
    assert log[0].at == NOW + POLLS_KEPT_PER_FEED + 4


async def test_history_older_than_its_days_is_dropped(store: Store) -> None:
    old = NOW - HISTORY_DAYS * DAY
    await store.record_poll(PollRecord("a", old, "ok", 0.1))
    await store.record_poll(PollRecord("a", NOW, "ok", 0.1))
    assert [p.at for p in await store.poll_log("a", 10)] == [NOW]
    assert [d.day for d in await store.days("a", day_of(old))] == [day_of(NOW)]
    assert [d.day for d in await store.days(None, day_of(old))] == [day_of(NOW)]


async def test_an_archived_article_is_counted_in_its_feeds_day_and_found_by_search(store: Store) -> None:
    await archive(store, "news", "a1", "Economy grows", "The economy grew by three percent.", NOW - DAY)
    days = await store.days("news", day_of(NOW) - timedelta(days=5))
    assert [(d.day, d.archived) for d in days] == [(day_of(await _now_of(store)), 1)]
    by_feed = await store.archived_days_by_feed(day_of(NOW) - timedelta(days=HISTORY_DAYS))
    assert sum(by_feed["news"].values()) == 1
    hits = await store.search_articles(ArticleQuery(text="economy"))
    assert [(h.article_id, h.feed, h.title, h.published) for h in hits] == [("a1", "news", "Economy grows", NOW - DAY)]
    assert (await store.indexed_article("a1")) == hits[0]


async def _now_of(store: Store) -> float:
    # The day an article is counted in is the day it was recorded: the store's clock, not the test's.
    hit = await store.indexed_article("a1")
    assert hit is not None
    return hit.archived_at


async def test_search_finds_english_words_by_their_stem_and_every_word_given(store: Store) -> None:
    await archive(store, "f", "a1", "Markets", "Investors were buying bonds.", NOW)
    await archive(store, "f", "a2", "Weather", "Rain is expected tomorrow; investors stay home.", NOW + 1)
    assert [h.article_id for h in await store.search_articles(ArticleQuery(text="investor"))] == ["a2", "a1"]
    assert [h.article_id for h in await store.search_articles(ArticleQuery(text="investors bonds"))] == ["a1"]
    assert await store.search_articles(ArticleQuery(text="absent")) == []


async def test_search_finds_two_character_chinese_and_japanese_words(store: Store) -> None:
    await archive(store, "zh", "c1", "中国经济增长", "今年中国经济增长百分之五。", NOW)
    await archive(store, "zh", "c2", "天气", "明天有雨。", NOW + 1)
    await archive(store, "ja", "j1", "東京の天気", "東京は明日雨が降るでしょう。", NOW + 2)
    assert [h.article_id for h in await store.search_articles(ArticleQuery(text="经济"))] == ["c1"]
    assert [h.article_id for h in await store.search_articles(ArticleQuery(text="经济增长"))] == ["c1"]
    assert [h.article_id for h in await store.search_articles(ArticleQuery(text="济经"))] == []
    assert [h.article_id for h in await store.search_articles(ArticleQuery(text="天气"))] == ["c2"]
    assert [h.article_id for h in await store.search_articles(ArticleQuery(text="東京"))] == ["j1"]
    assert [h.article_id for h in await store.search_articles(ArticleQuery(text="雨"))] == ["j1", "c2"]


async def test_search_takes_quotes_and_operators_literally(store: Store) -> None:
    await archive(store, "f", "a1", "A title", 'He said "NOT" OR AND (x*) NEAR', NOW)
    for text in ('"', 'said "NOT', "OR", "(x*)", "NEAR(", "-", "*"):
        await store.search_articles(ArticleQuery(text=text))  # no error


async def test_articles_list_newest_first_by_feed_and_since_and_page(store: Store) -> None:
    for n in range(5):
        await archive(store, "f" if n % 2 else "g", f"a{n}", f"T{n}", "text", NOW + n * DAY)
    assert [h.article_id for h in await store.search_articles(ArticleQuery())] == ["a4", "a3", "a2", "a1", "a0"]
    assert [h.article_id for h in await store.search_articles(ArticleQuery(feed="f"))] == ["a3", "a1"]
    assert [h.article_id for h in await store.search_articles(ArticleQuery(since=NOW + 3 * DAY))] == ["a4", "a3"]
    page = await store.search_articles(ArticleQuery(limit=2, offset=2))
    assert [h.article_id for h in page] == ["a2", "a1"]


async def test_reindex_rebuilds_the_search_index_from_the_texts_given(store: Store) -> None:
    await archive(store, "f", "a1", "Old title", "old words", NOW)
    rebuilt = [
        IndexedArticle("a1", "2023/a1.md", "h", NOW, text=ArticleText("New title", "fresh words", NOW)),
        IndexedArticle("a9", "2023/a9.md", "h9", NOW, text=ArticleText("Found file", "other words", None)),
    ]
    await store.rebuild_articles(rebuilt)
    assert await store.search_articles(ArticleQuery(text="old")) == []
    hits = await store.search_articles(ArticleQuery(text="fresh"))
    assert [(h.article_id, h.feed, h.title) for h in hits] == [("a1", "f", "New title")]
    assert [(h.article_id, h.feed) for h in await store.search_articles(ArticleQuery(text="other"))] == [("a9", None)]


async def test_requeued_articles_leave_the_index(store: Store) -> None:
    await archive(store, "f", "a1", "Title", "words", NOW)
    await store.requeue(["a1"])
    assert await store.search_articles(ArticleQuery(text="words")) == []
    assert await store.indexed_article("a1") is None


async def test_feed_summaries_count_pending_failing_and_archived_of_every_feed(store: Store) -> None:
    await archive(store, "f", "a1", "Title", "words", NOW)
    await store.add_pending("f", [NewEntry("p1", None, "{}"), NewEntry("p2", None, "{}")], NOW)
    await store.record_failure("f", "p1", "HTTP 500")
    await store.add_pending("g", [NewEntry("p3", None, "{}")], NOW)
    assert await store.feed_summaries() == {
        "f": FeedSummary(pending=2, failing=1, archived=1),
        "g": FeedSummary(pending=1, failing=0, archived=0),
    }


async def test_selector_misses_of_every_feed_in_one_read(store: Store) -> None:
    await store.record_selectors(
        [
            SelectorCheck("f", "https://x/1", "#body", False, 1.0),
            SelectorCheck("f", "https://x/2", "#body", True, 2.0),
            SelectorCheck("g", "https://y/1", "main", False, 1.0),
        ]
    )
    assert await store.all_selector_misses() == {
        ("f", "#body"): SelectorMisses(1, 2, "https://x/2", "#body"),
        ("g", "main"): SelectorMisses(0, 1, None, "main"),
    }


async def test_a_refetched_article_is_found_by_its_new_text(store: Store) -> None:
    await archive(store, "f", "a1", "Title", "teaser words", NOW)
    await store.record_refetched("a1", "h2", ["https://x/a1"], ArticleText("Title", "the whole article", NOW))
    assert await store.search_articles(ArticleQuery(text="teaser")) == []
    assert [(h.article_id, h.feed) for h in await store.search_articles(ArticleQuery(text="whole"))] == [("a1", "f")]


async def test_an_article_of_much_cjk_text_is_indexed_and_found(store: Store) -> None:
    # Near every bigram of random Han characters is a term of its own, half of them of 4-byte characters (the
    # extension planes): the most an article's terms can weigh.
    draw = random.Random(15)
    ranges = ((0x4E00, 0x9FFF), (0x20000, 0x2A6DF))
    chars = "".join(chr(draw.randrange(*ranges[n % 2])) for n in range(INDEXED_TEXT_CHARS + 1000))
    await archive(store, "zh", "long", "长文", chars, NOW)
    assert [h.article_id for h in await store.search_articles(ArticleQuery(text=chars[:4]))] == ["long"]
    assert [h.article_id for h in await store.search_articles(ArticleQuery(text="长文"))] == ["long"]
