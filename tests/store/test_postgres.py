"""The PostgreSQL backend beyond the contract: migrations under pg_advisory_lock, messages without the password,
and claims that stay exact when many connections race for the same names (what two nodes do)."""

from __future__ import annotations

import asyncio
import random

import psycopg
import pytest

from crawler.store import postgres_schema
from crawler.store.base import ArchivedArticle, ArticleClaim, ClaimStatus, FeedState, NewEntry, StoreError
from crawler.store.history import ArticleQuery, ArticleText
from crawler.store.postgres_location import PostgresLocation

pytestmark = pytest.mark.anyio


async def test_nodes_starting_at_once_apply_each_migration_once(postgres_url: str) -> None:
    stores = await asyncio.gather(*(PostgresLocation(postgres_url, pool_size=2).open() for _ in range(4)))
    try:
        applied = [step for store in stores for step in store.applied]
        assert sorted(applied) == sorted(f"{s.version} {s.name}" for s in postgres_schema.STEPS)
        status = await PostgresLocation(postgres_url).schema_status()
        assert status.up_to_date and status.backend == "postgresql"
    finally:
        for store in stores:
            await store.close()


async def test_a_database_newer_than_the_code_is_not_opened(postgres_url: str) -> None:
    await PostgresLocation(postgres_url).upgrade()
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("INSERT INTO schema_migrations (version, name) VALUES (999, 'from the future')")

    with pytest.raises(StoreError, match="version 999"):
        await PostgresLocation(postgres_url).open()


async def test_messages_never_show_the_password(postgres_url: str) -> None:
    url = postgres_url.replace("postgres@", "postgres:s3cret@").rsplit("/", 1)[0] + "/no_such_database"
    location = PostgresLocation(url)

    with pytest.raises(StoreError) as failed:
        await location.open()

    assert "s3cret" not in str(failed.value) and "s3cret" not in location.describe()
    assert "createdb" in str(failed.value)


async def test_racing_claims_of_shared_names_leave_one_article_per_name(postgres_url: str) -> None:
    # 40 entries on 4 connections claim 10 articles' URLs in a random order; each winner records its article at
    # once. Every URL must end with exactly one article, and no entry may win a name already archived.
    location = PostgresLocation(postgres_url, pool_size=4)
    stores = [await location.open() for _ in range(4)]
    won: list[tuple[str, str]] = []
    rng = random.Random(7)

    async def entry(number: int) -> None:
        url = f"https://x/{number % 10}"
        store = stores[number % 4]
        article = f"id-{number}"
        answer = await store.claim(ArticleClaim(f"feed{number}", "k", article, (url,), None), 1000.0)
        if answer.status is ClaimStatus.WON:
            won.append((url, article))
            await store.record_archived_all([(f"feed{number}", "k", ArchivedArticle(article, "p", None, (url,)))])

    try:
        numbers = list(range(40))
        rng.shuffle(numbers)
        await asyncio.gather(*(entry(n) for n in numbers))
        winners = {url: [a for u, a in won if u == url] for url, _ in won}
        assert all(len(articles) == 1 for articles in winners.values()), winners
        assert await stores[0].article_count() == len(won) == 10
    finally:
        for store in stores:
            await store.close()


async def test_a_read_only_open_of_an_empty_database_says_there_is_none(postgres_url: str) -> None:
    with pytest.raises(StoreError, match="no state database"):
        await PostgresLocation(postgres_url).open(read_only=True)
    store = await PostgresLocation(postgres_url).open()
    await store.save_feed_state(FeedState(name="f"))
    await store.close()


async def test_a_store_set_aside_is_made_again_whole_search_included(postgres_url: str) -> None:
    # Setting aside moves the tables; the text search configuration the index uses stays in place, and the
    # migration that made it finds it there rather than failing on a second one.
    location = PostgresLocation(postgres_url, pool_size=2)
    await (await location.open()).close()
    await location.set_aside()

    store = await location.open()
    try:
        assert [s.split()[0] for s in store.applied] == [str(s.version) for s in postgres_schema.STEPS]
        await store.add_pending("f", [NewEntry("e", None, "{}")], 1.0)
        text = ArticleText("经济 news", "Investors bought bonds.", None)
        article = ArchivedArticle("a1", "2023/a1.md", "h", ("https://x/a1",), text=text)
        await store.record_archived_all([("f", "e", article)])
        for query in ("investor", "经济", "经"):
            assert [h.article_id for h in await store.search_articles(ArticleQuery(text=query))] == ["a1"]
    finally:
        await store.close()


async def test_every_poll_asking_at_once_learns_the_tables_were_dropped(postgres_url: str) -> None:
    # The daemon asks before every poll; the asks made together share one query, and each gets the answer.
    store = await PostgresLocation(postgres_url).open()
    try:
        assert await asyncio.gather(*(store.replaced() for _ in range(5))) == [None] * 5
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute("DROP TABLE meta")

        answers = await asyncio.gather(*(store.replaced() for _ in range(5)))

        assert len(answers) == 5 and all(answer and "tables were deleted" in answer for answer in answers)
    finally:
        await store.close()


async def test_counts_asked_for_together_are_each_the_feeds_own(postgres_url: str) -> None:
    store = await PostgresLocation(postgres_url).open()
    try:
        await store.add_pending("f", [NewEntry("a", None, "{}"), NewEntry("b", None, "{}")], 1.0)
        await store.add_skipped("g", [NewEntry("a", None, "{}")], 1.0)
        await store.record_failure("f", "a", "boom")

        f, g, none = await asyncio.gather(store.counts("f"), store.counts("g"), store.counts("none"))

        assert (f.archived, f.pending, f.failing) == (0, 2, 1)
        assert (g.archived, g.pending, g.failing) == (0, 0, 0) and (none.pending, none.failing) == (0, 0)
    finally:
        await store.close()
