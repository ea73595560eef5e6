"""History and search on PostgreSQL (the tables of postgres_schema.HISTORY): the poll log, per-day totals and the
full-text index of articles, for the web console. The SQLite side is store/sqlite_history.py; the rules both follow
are store/history.py's, and tests/store/test_history_contract.py runs on both.

Search: each article's row holds a tsvector of the terms history.index_terms makes of its title and body (CJK runs
as overlapping bigrams), under the text search configuration `crawler_text` (the default parser, English Snowball
stems, no stop words) and a GIN index; a query is history.query_terms' words, bigram phrases and prefixes, each
turned into a tsquery by PostgreSQL's own functions from a parameter (no reader's text is ever SQL or tsquery
syntax), all ANDed. Unlike SQLite's contentless FTS5 table, a row's terms are replaced in place when it is indexed
again.

`PostgresHistory` is the Store's history section, mixed into PostgresStore; the writes that go with an article
(`archived`, `reindexed`, `forget`, `rebuild_index`) are functions PostgresStore calls inside its own transactions,
so an article's index row and day count are committed with the article itself.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import date
from typing import Any

from crawler.store.base import (
    ARCHIVED,
    DUPLICATE,
    PENDING,
    ArchivedArticle,
    IndexedArticle,
    SelectorMisses,
    optional_text,
)
from crawler.store.groups import Grouped
from crawler.store.history import (
    DAY_SECONDS,
    INDEXED_TEXT_CHARS,
    POLLS_KEPT_PER_FEED,
    ArticleHit,
    ArticleQuery,
    ArticleText,
    FeedDay,
    FeedSummary,
    PollRecord,
    QueryTerm,
    day_number,
    first_kept_day,
    from_day_number,
    index_terms,
    query_terms,
    summary_of,
)
from crawler.store.postgres_rows import Conn

_OUTCOME_COLUMNS = {"ok": "ok", "not_modified": "not_modified", "failed": "failed"}
_CONFIG = "crawler_text"
# A tsvector holds at most 1 MB, and a body of CJK text can make a term of up to 8 bytes (a bigram), with its
# position, of nearly each character (10 to 12 bytes a character, measured): the body's text is indexed up to a
# quarter of what SQLite takes, 50,000 characters (the title always; the summary is kept either way).
# tests/store/test_history_contract.py indexes the worst case.
INDEXED_BODY_CHARS = INDEXED_TEXT_CHARS // 4
_TERMS = f"to_tsvector('{_CONFIG}', %s) || to_tsvector('{_CONFIG}', %s)"
_HIT_COLUMNS = "id, feed, title, path, published, archived_at, summary"


class PostgresHistory:
    """The Store's history and search methods on PostgreSQL (mixed into PostgresStore, which gives `_conn`,
    `_write` and `_rows`)."""

    def _write(self) -> AbstractAsyncContextManager[Conn]:
        raise NotImplementedError  # PostgresStore's: a connection in a transaction

    def _pipelined_write(self) -> AbstractAsyncContextManager[Conn]:
        raise NotImplementedError  # PostgresStore's: the same, its statements sent without waiting for each

    async def _rows(self, sql: str, args: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError  # PostgresStore's: one read's rows

    _polls: Grouped[PollRecord, None] | None = None  # made at the first poll, on the store's event loop

    async def record_poll(self, poll: PollRecord) -> None:
        """Log one poll and count it in its day; drop what falls out of the history's bounds for that feed. Not
        fenced by the feed's lease: a poll that happened is logged whichever node made it. The polls logged while
        one group is being written go together in the next, in one transaction."""
        if self._polls is None:
            self._polls = Grouped(self._record_polls)
        await self._polls(poll)

    async def _record_polls(self, polls: list[PollRecord]) -> list[None]:
        oldest = first_kept_day(max(p.at for p in polls))
        feeds = list(dict.fromkeys(p.feed for p in polls))
        counts = Counter((p.feed, int(p.at // DAY_SECONDS), _OUTCOME_COLUMNS.get(p.outcome, "failed")) for p in polls)
        # Nothing here reads a result: pipelined, the whole transaction is one or two round trips, not ten.
        async with self._pipelined_write() as conn, conn.cursor() as cursor:
            await cursor.executemany(
                "INSERT INTO poll_log (feed, at, outcome, seconds, new, failed, error) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                [(p.feed, p.at, p.outcome, p.seconds, p.new, p.failed, p.error) for p in polls],
            )
            await cursor.executemany(
                "DELETE FROM poll_log WHERE feed = %s AND at < %s", [(f, oldest * float(DAY_SECONDS)) for f in feeds]
            )
            await cursor.executemany(
                "DELETE FROM poll_log WHERE feed = %s AND at < (SELECT at FROM poll_log WHERE feed = %s "
                f"ORDER BY at DESC LIMIT 1 OFFSET {POLLS_KEPT_PER_FEED - 1})",
                [(f, f) for f in feeds],
            )
            # Whole days leave every feed's history at once (feed_days is indexed by day).
            await cursor.execute("DELETE FROM feed_days WHERE day < %s", (oldest,))
            await cursor.execute("DELETE FROM all_days WHERE day < %s", (oldest,))
            # Last: today's all_days row is every writer's, locked from here to the commit only.
            await count_days(conn, counts)
        return [None] * len(polls)

    async def poll_log(self, feed: str, limit: int) -> list[PollRecord]:
        """The feed's last `limit` polls, newest first."""
        rows = await self._rows(
            "SELECT feed, at, outcome, seconds, new, failed, error FROM poll_log WHERE feed = %s "
            "ORDER BY at DESC, seq DESC LIMIT %s",
            (feed, limit),
        )
        return [PollRecord(str(r[0]), float(r[1]), str(r[2]), float(r[3]), int(r[4]), int(r[5]), r[6]) for r in rows]

    async def days(self, feed: str | None, since: date) -> list[FeedDay]:
        """Per-day totals from `since` on, oldest first: one feed's, or (None) every feed's together."""
        if feed is None:
            rows = await self._rows(
                "SELECT '', day, ok, not_modified, failed, archived FROM all_days WHERE day >= %s ORDER BY day",
                (day_number(since),),
            )
        else:
            rows = await self._rows(
                "SELECT feed, day, ok, not_modified, failed, archived FROM feed_days WHERE feed = %s AND day >= %s "
                "ORDER BY day",
                (feed, day_number(since)),
            )
        return [
            FeedDay(str(r[0]), from_day_number(int(r[1])), int(r[2]), int(r[3]), int(r[4]), int(r[5])) for r in rows
        ]

    async def archived_days_by_feed(
        self, since: date, feeds: Sequence[str] | None = None
    ) -> dict[str, dict[date, int]]:
        """Each feed's (or each of `feeds`') articles archived per day from `since` on (days with none left out)."""
        sql = "SELECT feed, day, archived FROM feed_days WHERE day >= %s AND archived > 0"
        args: tuple[object, ...] = (day_number(since),)
        if feeds is not None:
            sql += " AND feed = ANY(%s)"
            args += (list(feeds),)
        by_feed: dict[str, dict[date, int]] = {}
        for feed, day, count in await self._rows(sql, args):
            by_feed.setdefault(str(feed), {})[from_day_number(int(day))] = int(count)
        return by_feed

    async def feed_summaries(self) -> dict[str, FeedSummary]:
        """Every feed's pending, failing and archived counts, in two grouped reads."""
        pending = {
            str(feed): (int(count), int(failing))
            for feed, count, failing in await self._rows(
                "SELECT feed, count(*), count(*) FILTER (WHERE attempts > 0) FROM entries WHERE state = %s "
                "GROUP BY feed",
                (PENDING,),
            )
        }
        archived_by = {
            str(feed): int(count)
            for feed, count in await self._rows(
                "SELECT feed, count(*) FROM article_index WHERE feed IS NOT NULL GROUP BY feed"
            )
        }
        summaries: dict[str, FeedSummary] = {}
        for feed in pending.keys() | archived_by.keys():
            waiting, failing = pending.get(feed, (0, 0))
            summaries[feed] = FeedSummary(pending=waiting, failing=failing, archived=archived_by.get(feed, 0))
        return summaries

    async def all_selector_misses(self) -> dict[tuple[str, str], SelectorMisses]:
        """For each (feed, selector) tried: how often it matched nothing, of how many pages, and the last page
        missed."""
        rows = await self._rows(
            "SELECT feed, selector, count(*) FILTER (WHERE missed), count(*), "
            "(array_agg(url ORDER BY at DESC, id DESC) FILTER (WHERE missed))[1] "
            "FROM selector_checks GROUP BY feed, selector"
        )
        return {
            (str(feed), str(selector)): SelectorMisses(int(missed), int(count), optional_text(last), str(selector))
            for feed, selector, missed, count, last in rows
        }

    async def search_articles(self, query: ArticleQuery) -> list[ArticleHit]:
        """The indexed articles matching `query`, newest first (by date, else when archived)."""
        where: list[str] = []
        args: list[object] = []
        if query.text:
            terms = query_terms(query.text)
            if not terms:
                return []
            where.append("terms @@ (" + " && ".join(_tsquery(term) for term in terms) + ")")
            args.extend(term.text if not term.prefix else f"{term.text}:*" for term in terms)
        if query.feed:
            where.append("feed = %s")
            args.append(query.feed)
        if query.since is not None:
            where.append("sort_at >= %s")
            args.append(query.since)
        sql = f"SELECT {_HIT_COLUMNS} FROM article_index"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += ' ORDER BY sort_at DESC, id COLLATE "C" LIMIT %s OFFSET %s'
        return [_hit(row) for row in await self._rows(sql, (*args, query.limit, query.offset))]

    async def indexed_article(self, article_id: str) -> ArticleHit | None:
        """One indexed article, or None."""
        rows = await self._rows(f"SELECT {_HIT_COLUMNS} FROM article_index WHERE id = %s", (article_id,))
        return _hit(rows[0]) if rows else None


def _tsquery(term: QueryTerm) -> str:
    # Each a function of one parameter: a word is parsed and stemmed as the index's words were; a CJK prefix is the
    # character alone (CJK characters are never tsquery syntax) followed by `:*`.
    if term.prefix:
        return f"to_tsquery('{_CONFIG}', %s)"
    if term.phrase:
        return f"phraseto_tsquery('{_CONFIG}', %s)"
    return f"plainto_tsquery('{_CONFIG}', %s)"


async def count_days(conn: Conn, counts: Mapping[tuple[str, int, str], int]) -> None:
    """Add each (feed, day, column)'s count to its feed's day, then to every feed's day. Call it last in a
    transaction: the all_days row of today is shared by every writer, and is locked until the commit."""
    every: Counter[tuple[int, str]] = Counter()
    for (_, day, column), by in counts.items():
        every[(day, column)] += by
    async with conn.cursor() as cursor:
        # `column` is one of a fixed set of names, never a value from outside.
        for column in dict.fromkeys(column for _, _, column in counts):
            await cursor.executemany(
                f"INSERT INTO feed_days AS d (feed, day, {column}) VALUES (%s, %s, %s) "
                f"ON CONFLICT (feed, day) DO UPDATE SET {column} = d.{column} + EXCLUDED.{column}".encode(),
                [(feed, day, by) for (feed, day, named), by in counts.items() if named == column],
            )
        for (day, column), by in sorted(every.items()):  # in one order: two writers never wait on each other
            await cursor.execute(
                f"INSERT INTO all_days AS d (day, {column}) VALUES (%s, %s) "
                f"ON CONFLICT (day) DO UPDATE SET {column} = d.{column} + EXCLUDED.{column}".encode(),
                (day, by),
            )


async def archived(conn: Conn, feed: str, article: ArchivedArticle, now: float) -> None:
    """An article was recorded: index it when its text came with it (its day is counted by `count_days`, last in
    the transaction)."""
    if article.text is not None:
        await index_article(conn, article.article_id, feed, article.path, article.text, now)


async def index_article(
    conn: Conn, article_id: str, feed: str | None, path: str, text: ArticleText, archived_at: float
) -> None:
    """(Re)index one article under its id."""
    sort_at = text.published if text.published is not None else archived_at
    await conn.execute(
        "INSERT INTO article_index (id, feed, title, path, published, archived_at, sort_at, summary, terms) "
        f"VALUES (%s, %s, %s, %s, %s, %s, %s, %s, {_TERMS}) ON CONFLICT (id) DO UPDATE SET feed = EXCLUDED.feed, "
        "title = EXCLUDED.title, path = EXCLUDED.path, published = EXCLUDED.published, "
        "archived_at = EXCLUDED.archived_at, sort_at = EXCLUDED.sort_at, summary = EXCLUDED.summary, "
        "terms = EXCLUDED.terms".encode(),
        (
            article_id,
            feed,
            text.title,
            path,
            text.published,
            archived_at,
            sort_at,
            summary_of(text.text),
            index_terms(text.title),
            index_terms(text.text[:INDEXED_BODY_CHARS]),
        ),
    )


async def reindexed(conn: Conn, article_id: str, text: ArticleText) -> None:
    """An article's file was rewritten in place (`crawler refetch`): index its new text under its feed and path."""
    cursor = await conn.execute("SELECT feed, path, archived_at FROM article_index WHERE id = %s", (article_id,))
    row = await cursor.fetchone()
    if row is None:
        cursor = await conn.execute("SELECT NULL, path, archived_at FROM articles WHERE id = %s", (article_id,))
        row = await cursor.fetchone()
    if row is not None:
        await index_article(conn, article_id, optional_text(row[0]), str(row[1]), text, float(row[2]))


async def forget(conn: Conn, article_ids: Sequence[str]) -> None:
    """Articles whose files are gone leave the browser and the index."""
    await conn.execute("DELETE FROM article_index WHERE id = ANY(%s)", (list(article_ids),))


async def rebuild_index(conn: Conn, articles: Iterable[IndexedArticle]) -> None:
    """Make the index list exactly `articles` that came with their text, each under the feed whose entry was
    archived as it (else the first that listed it)."""
    await conn.execute("DELETE FROM article_index")
    cursor = await conn.execute(
        "SELECT article_id, feed FROM (SELECT article_id, feed, row_number() OVER (PARTITION BY article_id "
        "ORDER BY state <> %s, first_seen, seq) AS rank FROM entries WHERE state IN (%s, %s) "
        "AND article_id IS NOT NULL) ranked WHERE rank = 1",
        (ARCHIVED, ARCHIVED, DUPLICATE),
    )
    owners = {str(article_id): str(feed) for article_id, feed in await cursor.fetchall()}
    for article in articles:
        if article.text is not None:
            await index_article(
                conn,
                article.article_id,
                owners.get(article.article_id),
                article.path,
                article.text,
                article.archived_at,
            )


def _hit(row: tuple[Any, ...]) -> ArticleHit:
    return ArticleHit(
        article_id=str(row[0]),
        feed=optional_text(row[1]),
        title=str(row[2]),
        path=str(row[3]),
        published=None if row[4] is None else float(row[4]),
        archived_at=float(row[5]),
        summary=str(row[6]),
    )
