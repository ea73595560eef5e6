"""The store's contract: what every backend must do, written against the interface (crawler/store/base.py) only.
Each test runs once per backend in conftest.BACKENDS."""

from __future__ import annotations

import asyncio
import json

import pytest

from crawler.store.base import (
    CLAIM_LEASE,
    SELECTOR_CHECKS_KEPT,
    ArchivedArticle,
    ArchivedCounts,
    ArticleClaim,
    Claim,
    ClaimStatus,
    FeedState,
    IndexedArticle,
    LostClaim,
    NewEntry,
    SelectorCheck,
    SelectorMisses,
    Store,
    StoreError,
)
from tests.store.conftest import Backend

pytestmark = pytest.mark.anyio

NOW = 1_000_000.0


def entry(key: str, link: str | None = None, title: str | None = None) -> NewEntry:
    return NewEntry(key=key, link=link, payload=json.dumps({"title": title}))


def claim(feed: str, key: str, article_id: str, *urls: str, body: str | None = None) -> ArticleClaim:
    return ArticleClaim(feed=feed, entry_key=key, article_id=article_id, urls=urls, body_hash=body)


async def archive(store: Store, feed: str, key: str, article_id: str, *urls: str, body: str = "b") -> None:
    """What the pipeline does for a new article: claim its names, (write its file,) record it."""
    assert await store.claim(claim(feed, key, article_id, *urls, body=body), NOW) == Claim(ClaimStatus.WON, article_id)
    article = ArchivedArticle(article_id=article_id, path=f"2024/{article_id}.md", body_hash=body, urls=urls)
    await store.record_archived_all([(feed, key, article)])


# -- feeds' poll state ------------------------------------------------------------------------------------------


async def test_a_feed_never_polled_has_a_fresh_state(store: Store) -> None:
    assert await store.feed_state("new") == FeedState(name="new")
    assert await store.all_feed_states() == []


async def test_a_saved_feed_state_reads_back_whole_and_replaces_the_last(store: Store) -> None:
    state = FeedState("b", "https://b/feed", '"e"', "Mon", "h", 1.0, 2.0, 3.0, 4.0, 5, "err", True, "https://m", 60.0)
    await store.save_feed_state(FeedState(name="b", failures=9))
    await store.save_feed_state(state)
    await store.save_feed_state(FeedState(name="a"))

    assert await store.feed_state("b") == state
    assert [s.name for s in await store.all_feed_states()] == ["a", "b"]


# -- entries ----------------------------------------------------------------------------------------------------


async def test_entries_are_added_once_and_known_by_key_link_and_title(store: Store) -> None:
    assert await store.add_pending("f", [entry("k1", "https://x/1", "One"), entry("k2")], 1.0) == 2
    assert await store.add_pending("f", [entry("k1", "https://x/1", "One")], 2.0) == 0
    assert await store.add_skipped("f", [entry("k3", "https://x/3"), entry("k2")], 3.0) == 1

    assert await store.known_keys("f", ["k1", "k2", "k3", "k4"]) == {"k1", "k2", "k3"}
    assert await store.known_keys("other", ["k1"]) == set()
    items = await store.known_items("f", ["k1", "k4"])
    assert list(items) == ["k1"] and (items["k1"].link, items["k1"].title) == ("https://x/1", "One")
    assert [p.key for p in await store.pending("f")] == ["k1", "k2"]  # oldest first; skipped ones are not pending
    counts = await store.counts("f")
    assert (counts.archived, counts.pending, counts.failing) == (0, 2, 0)


async def test_known_keys_answers_for_more_keys_than_one_query_holds(store: Store) -> None:
    keys = [f"k{i}" for i in range(1200)]
    await store.add_pending("f", [entry(k) for k in keys[::2]], 1.0)

    assert await store.known_keys("f", keys) == set(keys[::2])


async def test_failures_are_counted_and_the_worst_one_is_named(store: Store) -> None:
    await store.add_pending("f", [entry("k1", "https://x/1"), entry("k2", "https://x/2")], 1.0)
    assert await store.worst_failing("f") is None

    assert await store.record_failure("f", "k1", "HTTP 500") == 1
    assert await store.record_failure("f", "k2", "timeout") == 1
    assert await store.record_failure("f", "k2", "HTTP 502") == 2
    assert await store.record_failure("f", "missing", "x") == 0

    worst = await store.worst_failing("f")
    assert worst is not None and (worst.key, worst.attempts, worst.last_error) == ("k2", 2, "HTTP 502")
    assert (await store.counts("f")).failing == 2


# -- articles, names and claims ---------------------------------------------------------------------------------


async def test_an_archived_article_is_known_by_its_urls_body_and_id(store: Store) -> None:
    await store.add_pending("f", [entry("k", "https://x/a")], 1.0)
    await archive(store, "f", "k", "id-a", "https://x/a", "https://x/canonical", body="body-a")

    assert await store.article_for_url("https://x/a") == "id-a"
    assert await store.article_for_url("https://x/canonical") == "id-a"
    assert await store.article_for_url("https://x/other") is None
    assert await store.article_for_body("body-a") == "id-a"
    assert await store.article_path("id-a") == "2024/id-a.md"
    assert await store.pending("f") == []
    assert (await store.counts("f")).archived == 1
    assert await store.article_count() == 1


@pytest.mark.parametrize(
    "other",
    [
        claim("g", "k2", "id-b", "https://x/a"),  # the same URL
        claim("g", "k2", "id-b", "https://y/b", body="body-a"),  # the same body key
        claim("g", "k2", "id-a", "https://y/b"),  # the same article id (its canonical URL)
    ],
)
async def test_a_claim_of_an_archived_name_answers_the_archived_article(store: Store, other: ArticleClaim) -> None:
    await store.add_pending("f", [entry("k", "https://x/a")], 1.0)
    await archive(store, "f", "k", "id-a", "https://x/a", body="body-a")

    assert await store.claim(other, NOW) == Claim(ClaimStatus.ARCHIVED, "id-a")


async def test_two_concurrent_claims_of_one_url_have_one_winner(backend: Backend) -> None:
    # Two stores on one database: two connections, as two processes would have.
    first, second = await backend.location.open(), await backend.location.open()
    try:
        answers = await asyncio.gather(
            first.claim(claim("f", "k1", "id-1", "https://x/a"), NOW),
            second.claim(claim("g", "k2", "id-2", "https://x/a"), NOW),
        )
    finally:
        await first.close()
        await second.close()

    won = [a for a in answers if a.status is ClaimStatus.WON]
    assert len(won) == 1
    assert [a for a in answers if a.status is not ClaimStatus.WON] == [Claim(ClaimStatus.HELD, won[0].article_id)]


async def test_a_held_name_is_free_again_once_released_and_final_once_recorded(store: Store) -> None:
    await store.add_pending("f", [entry("k1")], 1.0)
    assert (await store.claim(claim("f", "k1", "id-1", "https://x/a"), NOW)).status is ClaimStatus.WON
    assert await store.claim(claim("g", "k2", "id-2", "https://x/a"), NOW) == Claim(ClaimStatus.HELD, "id-1")

    await store.release_claim("f", "k1")
    assert (await store.claim(claim("g", "k2", "id-2", "https://x/a"), NOW)).status is ClaimStatus.WON
    await store.record_archived_all([("g", "k2", ArchivedArticle("id-2", "p.md", "b", ("https://x/a",)))])

    assert await store.claim(claim("f", "k1", "id-1", "https://x/a"), NOW) == Claim(ClaimStatus.ARCHIVED, "id-2")


async def test_an_entry_claiming_again_takes_over_its_own_claim(store: Store) -> None:
    # What a retry after a crash between claim and record does: the entry's earlier claim is no obstacle.
    assert (await store.claim(claim("f", "k", "id-1", "https://x/a"), NOW)).status is ClaimStatus.WON
    assert (await store.claim(claim("f", "k", "id-1", "https://x/a", "https://x/b"), NOW + 1)).status is ClaimStatus.WON
    # Its new claim replaced the old one: releasing it frees every name.
    await store.release_claim("f", "k")
    assert (await store.claim(claim("g", "k2", "id-2", "https://x/a"), NOW)).status is ClaimStatus.WON


async def test_a_claim_older_than_the_lease_is_taken_over(store: Store) -> None:
    assert (await store.claim(claim("f", "k1", "id-1", "https://x/a"), NOW)).status is ClaimStatus.WON

    later = await store.claim(claim("g", "k2", "id-2", "https://x/a"), NOW + CLAIM_LEASE + 1)

    assert later == Claim(ClaimStatus.WON, "id-2")


async def test_an_entry_whose_claim_was_taken_over_is_not_recorded_over_the_article_that_took_it(store: Store) -> None:
    # The first entry's process stalled past the lease while writing its file: the second took the body's name
    # over, wrote and recorded its article. When the first comes back to record, it must not add a second article.
    await store.add_pending("f", [entry("k1", "https://x/a")], 1.0)
    await store.add_pending("g", [entry("k2", "https://y/a")], 1.0)
    assert (await store.claim(claim("f", "k1", "id-1", "https://x/a", body="b"), NOW)).status is ClaimStatus.WON
    assert (await store.claim(claim("g", "k2", "id-2", "https://y/a", body="b"), NOW + CLAIM_LEASE + 1)).status is (
        ClaimStatus.WON
    )
    second = ArchivedArticle("id-2", "2024/id-2.md", "b", ("https://y/a",))
    assert await store.record_archived_all([("g", "k2", second)]) == []

    first = ArchivedArticle("id-1", "2024/id-1.md", "b", ("https://x/a",))
    lost = await store.record_archived_all([("f", "k1", first)])

    assert lost == [LostClaim("f", "k1", "id-1", holder="id-2", archived=True)]
    assert [a.article_id for a in await store.articles()] == ["id-2"]
    assert await store.article_for_url("https://x/a") == "id-2"  # its names are the winner's now
    assert await store.pending("f") == [] and (await store.counts("f")).archived == 1


async def test_an_entry_whose_claim_is_held_by_a_writer_not_done_yet_stays_pending(store: Store) -> None:
    await store.add_pending("f", [entry("k1", "https://x/a")], 1.0)
    assert (await store.claim(claim("f", "k1", "id-1", "https://x/a"), NOW)).status is ClaimStatus.WON
    assert (await store.claim(claim("g", "k2", "id-2", "https://x/a"), NOW + CLAIM_LEASE + 1)).status is (
        ClaimStatus.WON
    )

    first = ArchivedArticle("id-1", "2024/id-1.md", "b", ("https://x/a",), body_is_name=False)
    lost = await store.record_archived_all([("f", "k1", first)])

    assert lost == [LostClaim("f", "k1", "id-1", holder="id-2", archived=False)]
    assert await store.article_count() == 0
    assert [p.key for p in await store.pending("f")] == ["k1"]
    # The holder is unhindered: it records its article, and the first entry's next try finds it.
    second = ArchivedArticle("id-2", "2024/id-2.md", "b", ("https://x/a",), body_is_name=False)
    assert await store.record_archived_all([("g", "k2", second)]) == []
    assert await store.claim(claim("f", "k1", "id-1", "https://x/a"), NOW + CLAIM_LEASE + 2) == Claim(
        ClaimStatus.ARCHIVED, "id-2"
    )


async def test_a_body_too_short_to_compare_is_no_name(store: Store) -> None:
    await archive(store, "f", "k1", "id-1", "https://x/a", body="short")

    answer = await store.claim(claim("g", "k2", "id-2", "https://y/b", body=None), NOW)

    assert answer == Claim(ClaimStatus.WON, "id-2")


async def test_a_duplicate_is_counted_as_done_and_adds_its_names(store: Store) -> None:
    await store.add_pending("f", [entry("k1", "https://x/a")], 1.0)
    await store.add_pending("g", [entry("k2", "https://y/b")], 2.0)
    await archive(store, "f", "k1", "id-1", "https://x/a")

    await store.record_duplicate("g", "k2", "id-1", ["https://y/b", ""])

    assert await store.article_for_url("https://y/b") == "id-1"
    assert (await store.counts("g")).archived == 1 and await store.pending("g") == []
    assert await store.archived_counts() == {"f": ArchivedCounts(1, 0), "g": ArchivedCounts(0, 1)}
    [recorded] = await store.articles()
    assert (recorded.article_id, recorded.feeds) == ("id-1", ("f", "g"))
    assert [e.feed for e in await store.entries_of("id-1")] == ["f", "g"]
    assert await store.archived_entry_ids() == {"id-1"}


# -- what status reports ----------------------------------------------------------------------------------------


async def test_selector_checks_keep_the_last_pages_of_the_current_selector(store: Store) -> None:
    await store.record_selectors([SelectorCheck("f", "https://x/old", "div.old", True, 1.0)])
    # One poll's checks come in one batch; another feed's in the same batch are kept apart.
    checks = [SelectorCheck("f", f"https://x/{i}", "div.body", i in (3, 24), 10.0 + i) for i in range(22)]
    await store.record_selectors([*checks, SelectorCheck("g", "https://y/1", "main", True, 5.0)])
    more = [SelectorCheck("f", f"https://x/{i}", "div.body", i in (3, 24), 10.0 + i) for i in range(22, 25)]
    await store.record_selectors(more)

    misses = await store.selector_misses("f", "div.body")

    assert (misses.missed, misses.checked, misses.last_url) == (1, SELECTOR_CHECKS_KEPT, "https://x/24")
    assert (await store.selector_misses("f", "div.old")).checked == 0  # pushed out by the newer pages
    assert (await store.selector_misses("f", None)).checked == 0
    assert await store.selector_misses("g", "main") == SelectorMisses(1, 1, "https://y/1", "main")


# -- repair and rebuild -----------------------------------------------------------------------------------------


async def test_rebuild_makes_the_articles_exactly_the_archives_files(store: Store) -> None:
    await store.add_pending("f", [entry("k1", "https://x/a")], 1.0)
    await archive(store, "f", "k1", "id-1", "https://x/a")

    count = await store.rebuild_articles(
        [IndexedArticle("id-2", "2024/b.md", "hb", 5.0), IndexedArticle("id-3", "2024/c.md", None, 6.0)]
    )

    assert count == 2
    assert [(a.article_id, a.path, a.body_hash) for a in await store.articles()] == [
        ("id-2", "2024/b.md", "hb"),
        ("id-3", "2024/c.md", None),
    ]
    assert await store.archived_entry_ids() == {"id-1"}  # the entries are kept as they are


async def test_requeue_forgets_a_lost_article_and_sets_its_entries_pending(store: Store) -> None:
    await store.add_pending("f", [entry("k1", "https://x/a")], 1.0)
    await store.add_pending("g", [entry("k2", "https://y/a")], 2.0)
    await archive(store, "f", "k1", "id-1", "https://x/a")
    await store.record_duplicate("g", "k2", "id-1", ["https://y/a"])

    assert await store.requeue(["id-1", "id-1", "unknown"]) == 2

    assert await store.article_for_url("https://x/a") is None and await store.article_path("id-1") is None
    assert [p.key for p in await store.pending("f")] + [p.key for p in await store.pending("g")] == ["k1", "k2"]
    assert (await store.claim(claim("f", "k1", "id-1", "https://x/a"), NOW)).status is ClaimStatus.WON


async def test_a_refetched_article_records_its_new_body_and_names(store: Store) -> None:
    await archive(store, "f", "k1", "id-1", "https://x/a", body="old")

    await store.record_refetched("id-1", "new", ["https://x/a", "https://x/new"])

    assert await store.article_for_body("new") == "id-1" and await store.article_for_body("old") is None
    assert await store.article_for_url("https://x/new") == "id-1"


# -- the store itself -------------------------------------------------------------------------------------------


async def test_a_store_opened_read_only_reads_and_refuses_every_write(backend: Backend) -> None:
    writable = await backend.location.open()
    await writable.save_feed_state(FeedState(name="f", etag="e"))
    await writable.close()

    store = await backend.location.open(read_only=True)
    try:
        assert (await store.feed_state("f")).etag == "e"
        with pytest.raises(StoreError):
            await store.save_feed_state(FeedState(name="f", etag="changed"))
        with pytest.raises(StoreError):
            await store.add_pending("f", [entry("k")], 1.0)
        with pytest.raises(StoreError):
            await store.claim(claim("f", "k", "id", "https://x/a"), NOW)
        assert (await store.feed_state("f")).etag == "e"
    finally:
        await store.close()


async def test_a_store_says_when_its_database_was_lost_under_it(backend: Backend, store: Store) -> None:
    assert await store.replaced() is None

    backend.lose()

    lost = await store.replaced()
    assert lost is not None and "deleted" in lost


async def test_a_location_exists_once_opened_and_a_broken_one_is_set_aside(backend: Backend) -> None:
    assert not await backend.location.exists()
    store = await backend.location.open()
    await store.close()
    assert await backend.location.exists() and await backend.location.problem() is None

    aside = await backend.location.set_aside()

    assert aside != backend.location.describe() and not await backend.location.exists()


async def test_a_locked_database_does_not_stall_the_event_loop(backend: Backend, store: Store) -> None:
    # Another connection, on a thread the test controls, holds the write lock until the test lets it go. A store
    # that waited on the loop would hold this coroutine there (for SQLite's 10 s, then fail): the loop must instead
    # go round while the write is outstanding, and the write must go through once the lock is let go.
    with backend.write_locked():
        write = asyncio.create_task(store.save_feed_state(FeedState(name="f", etag="written")))
        ran: list[bool] = []
        for _ in range(20):  # rounds of the loop while the write is outstanding
            await asyncio.sleep(0)
            ran.append(not write.done())
        assert all(ran)
    await write  # the lock is gone (the holder rolled back): the waiting write goes through

    assert (await store.feed_state("f")).etag == "written"
