"""The PostgreSQL backend: `PostgresStore`, the Store on one PostgreSQL database shared by any number of crawler
processes (nodes), and `PostgresLocation`, the database before it is opened (`state: postgresql://USER@HOST:PORT/DB`).

Calls are asynchronous (psycopg 3 and its AsyncConnectionPool): a slow or locked database holds the call, never the
event loop. The password comes from the URL, PGPASSWORD or ~/.pgpass, as libpq finds it. Statements are written for
PostgreSQL (ON CONFLICT, unnest, FILTER); what makes one claimant win is in store/postgres_claims.py.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

import psycopg
from psycopg import errors
from psycopg_pool import AsyncConnectionPool

from crawler.identity.keys import ItemFacts
from crawler.store import postgres_claims, postgres_history
from crawler.store.base import (
    ARCHIVED,
    DUPLICATE,
    PENDING,
    SELECTOR_CHECKS_KEPT,
    SKIPPED,
    ArchivedArticle,
    ArchivedCounts,
    ArticleClaim,
    Claim,
    FeedCounts,
    FeedState,
    IndexedArticle,
    LeaseLost,
    LostClaim,
    NewEntry,
    PendingEntry,
    RecordedArticle,
    SelectorCheck,
    SelectorMisses,
    StoreError,
    optional_text,
)
from crawler.store.groups import Grouped
from crawler.store.history import DAY_SECONDS, ArticleText
from crawler.store.owners import owner, owner_alive
from crawler.store.postgres_history import PostgresHistory
from crawler.store.postgres_nodes import PostgresNodes
from crawler.store.postgres_raw import PostgresRawImages
from crawler.store.postgres_rows import Conn, explain

CONNECT_TIMEOUT = 10  # seconds to reach the server before the call fails with StoreError
LOCK_TIMEOUT_MS = 10_000  # how long a statement waits for another's row lock (SQLite's busy wait is 10 s too)
_FEED_COLUMNS = ", ".join(FeedState.COLUMNS)
# Each column's array type, for writing many feeds' states in one statement (unnest of one array per column).
_FEED_ARRAYS = (
    "text[]",  # name
    "text[]",  # url
    "text[]",  # etag
    "text[]",  # last_modified
    "text[]",  # body_hash
    "double precision[]",  # last_poll
    "double precision[]",  # last_success
    "double precision[]",  # next_poll
    "double precision[]",  # last_unconditional
    "integer[]",  # failures
    "text[]",  # last_error
    "boolean[]",  # gone
    "text[]",  # moved_to
    "double precision[]",  # ttl
)
_FLOAT_COLUMNS = frozenset(i for i, kind in enumerate(_FEED_ARRAYS) if kind.startswith("double"))
# Many feeds' states written in one statement (unnest of one array per column), fenced in the statement itself:
# `held` is (feed, token) of each feed this node holds a lease on; the lease rows are read FOR SHARE (held to the
# commit, so a grant to another node waits for it: no write of a node that lost its lease lands after the new
# holder's first), and a feed whose token is no longer this node's is not written. The names written come back; a
# held feed missing from them was refused. Every statement that locks several lease rows locks them in the feeds'
# order (ORDER BY under the lock): two of them taking one set in different orders deadlocked (a group's state write
# against the beat's renewal, seen with 100,000 feeds).
_SAVE_STATES = (
    "WITH held AS (SELECT * FROM unnest(%s::text[], %s::bigint[]) AS h(feed, token)), "
    "current AS (SELECT l.feed, l.token FROM feed_leases l JOIN held h USING (feed) ORDER BY l.feed FOR SHARE OF l), "
    "refused AS (SELECT h.feed FROM held h LEFT JOIN current c USING (feed) WHERE c.token IS DISTINCT FROM h.token) "
    f"INSERT INTO feeds ({_FEED_COLUMNS}) SELECT * FROM unnest("
    + ", ".join(f"%s::{kind}" for kind in _FEED_ARRAYS)
    + f") AS s({_FEED_COLUMNS}) WHERE s.name NOT IN (SELECT feed FROM refused) ON CONFLICT (name) DO UPDATE SET "
    + ", ".join(f"{column} = EXCLUDED.{column}" for column in FeedState.COLUMNS[1:])
    + " RETURNING name"
).encode()
_READ_STATES = f"SELECT {_FEED_COLUMNS} FROM feeds WHERE name = ANY(%s)".encode()
_READ_PENDING = (
    "SELECT entry_key, link, payload, first_seen, attempts, last_error, feed FROM entries "
    f"WHERE feed = ANY(%s) AND state = '{PENDING}' ORDER BY first_seen, seq"
).encode()
POOL_SIZE = 10  # connections per process: calls are short, and a poll holds one only while a call runs


class PostgresStore(PostgresHistory, PostgresRawImages):
    """The Store on one PostgreSQL database; build it with `PostgresLocation.open` (or `crawler.store.open_store`);
    its history and search methods are store/postgres_history.py's, its raw-record and image methods
    store/postgres_raw.py's."""

    def __init__(
        self, pool: AsyncConnectionPool[Conn], where: str, instance: str, lease: float, node: str | None = None
    ) -> None:
        self._pool = pool
        self._where = where
        self._instance = instance
        self.applied: list[str] = []  # the migration steps opening it applied
        self.owner = node or owner()  # what this node's claims are held under: its id, "host pid token"
        # The feeds this node holds a lease on, and the token of each: every write for one of them is refused once
        # the token in the database is another's (see _fence).
        self._fences: dict[str, int] = {}
        self._nodes = PostgresNodes(pool, where, self._fences, lease, self.owner)
        # The calls every poll makes, unchanged or not, go to the database in groups: those made while one group's
        # round trip is under way go together in the next (store/groups.py). With thousands of feeds polled, one
        # statement then serves dozens of them, where each took a pool checkout and a round trip or four.
        self._state_reads: Grouped[str, FeedState] = Grouped(self._read_states)
        self._pending_reads: Grouped[str, list[PendingEntry]] = Grouped(self._read_pending)
        self._state_writes: Grouped[FeedState, None] = Grouped(self._save_feed_states)
        self._count_reads: Grouped[str, FeedCounts] = Grouped(self._read_counts)
        self._replaced_reads: Grouped[None, str | None] = Grouped(self._read_replaced)

    def coordination(self) -> PostgresNodes:
        """This node's side of the coordination between nodes (leases, hosts, who is alive)."""
        return self._nodes

    # -- plumbing -------------------------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _conn(self) -> AsyncIterator[Conn]:
        try:
            async with self._pool.connection() as conn:
                yield conn
        except psycopg.Error as exc:
            raise StoreError(explain(self._where, exc)) from None

    @contextlib.asynccontextmanager
    async def _write(self) -> AsyncIterator[Conn]:
        async with self._conn() as conn, conn.transaction():
            yield conn

    @contextlib.asynccontextmanager
    async def _pipelined_write(self) -> AsyncIterator[Conn]:
        """A write whose statements go without waiting for each other's results (pipeline mode): for writes that
        read nothing back, BEGIN, the statements and COMMIT travel together."""
        async with self._conn() as conn, conn.pipeline(), conn.transaction():
            yield conn

    async def _fence(self, conn: Conn, feeds: Iterable[str]) -> None:
        """Inside a write's transaction: raise LeaseLost if another node was granted one of `feeds` since this node
        was (its token replaced); see _lost."""
        lost = await self._lost(conn, feeds)
        if lost:
            raise _lease_lost(self._where, lost[0])

    async def _lost(self, conn: Conn, feeds: Iterable[str]) -> list[str]:
        """Inside a write's transaction: those of `feeds` this node held a lease on and no longer does (another node
        was granted it since, or this node gave it back). FOR SHARE holds the lease rows until the write commits,
        so a grant to another node waits for it: no write of a node that lost its lease can land after the new
        holder's first."""
        held = {feed: self._fences[feed] for feed in feeds if feed in self._fences}
        if not held:
            return []
        cursor = await conn.execute(
            "SELECT feed, token FROM feed_leases WHERE feed = ANY(%s) ORDER BY feed FOR SHARE", (sorted(held),)
        )
        current = {str(row[0]): int(row[1]) for row in await cursor.fetchall()}
        return sorted(feed for feed, token in held.items() if current.get(feed) != token)

    async def _rows(self, sql: str | bytes, args: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        async with self._conn() as conn:
            cursor = await conn.execute(sql.encode() if isinstance(sql, str) else sql, args)
            return await cursor.fetchall()

    # -- feeds' poll state ----------------------------------------------------------------------------------------

    async def feed_state(self, name: str) -> FeedState:
        """The stored state of feed `name` (a fresh one if it was never polled)."""
        return await self._state_reads(name)

    async def _read_states(self, names: list[str]) -> list[FeedState]:
        rows = await self._rows(_READ_STATES, (list(dict.fromkeys(names)),))
        found = {str(row[0]): FeedState.of_row(row) for row in rows}
        return [found.get(name) or FeedState(name=name) for name in names]

    async def save_feed_state(self, state: FeedState) -> None:
        """Replace the stored state of `state.name`. The states saved while one group is being written go together
        in the next, in one transaction (an unchanged poll writes nothing else); each is fenced on its own: a feed
        whose lease this node lost is refused (LeaseLost), the others are written."""
        await self._state_writes(state)

    async def _save_feed_states(self, states: list[FeedState]) -> list[BaseException | None]:
        last = {state.name: state for state in states}  # one feed saved twice in a group: the later state stands
        held = {name: self._fences[name] for name in last if name in self._fences}
        rows = [state.row() for state in last.values()]
        columns = [
            [_float(row[i]) for row in rows] if i in _FLOAT_COLUMNS else [row[i] for row in rows]
            for i in range(len(FeedState.COLUMNS))
        ]
        async with self._conn() as conn:  # one statement, committed on its own (autocommit)
            cursor = await conn.execute(_SAVE_STATES, [list(held), list(held.values()), *columns])
            written = {str(row[0]) for row in await cursor.fetchall()}
        return [None if state.name in written else _lease_lost(self._where, state.name) for state in states]

    async def all_feed_states(self) -> list[FeedState]:
        """Every feed the database knows of."""
        rows = await self._rows(f'SELECT {_FEED_COLUMNS} FROM feeds ORDER BY name COLLATE "C"')
        return [FeedState.of_row(row) for row in rows]

    # -- entries ---------------------------------------------------------------------------------------------------

    async def known_keys(self, feed: str, keys: Iterable[str]) -> set[str]:
        """Which of `keys` the feed has listed before (archived, duplicate, skipped or pending)."""
        rows = await self._rows(
            "SELECT entry_key FROM entries WHERE feed = %s AND entry_key = ANY(%s)", (feed, list(keys))
        )
        return {str(row[0]) for row in rows}

    async def known_items(self, feed: str, keys: Iterable[str]) -> dict[str, ItemFacts]:
        """The link and title of each of `keys` the feed has listed before."""
        rows = await self._rows(
            "SELECT entry_key, link, payload::jsonb ->> 'title' FROM entries WHERE feed = %s AND entry_key = ANY(%s)",
            (feed, list(dict.fromkeys(keys))),
        )
        return {str(row[0]): ItemFacts(link=optional_text(row[1]), title=optional_text(row[2])) for row in rows}

    async def add_pending(self, feed: str, entries: Iterable[NewEntry], seen_at: float) -> int:
        """Record new entries as pending (before any page is fetched); return how many were new."""
        return await self._add_entries(feed, entries, seen_at, PENDING)

    async def add_skipped(self, feed: str, entries: Iterable[NewEntry], seen_at: float) -> int:
        """Record new entries as skipped: known from now on, never fetched; return how many were new."""
        return await self._add_entries(feed, entries, seen_at, SKIPPED)

    async def _add_entries(self, feed: str, entries: Iterable[NewEntry], seen_at: float, state: str) -> int:
        listed = list(entries)
        if not listed:
            return 0
        async with self._write() as conn:
            await self._fence(conn, [feed])
            # One statement for the lot; WITH ORDINALITY keeps the feed's order for `pending`.
            cursor = await conn.execute(
                "INSERT INTO entries (feed, entry_key, link, state, payload, first_seen) "
                "SELECT %s, key, link, %s, payload, %s FROM unnest(%s::text[], %s::text[], %s::text[]) "
                "WITH ORDINALITY AS e(key, link, payload, n) ORDER BY n ON CONFLICT (feed, entry_key) DO NOTHING",
                (
                    feed,
                    state,
                    seen_at,
                    [e.key for e in listed],
                    [e.link for e in listed],
                    [e.payload for e in listed],
                ),
            )
            return max(cursor.rowcount, 0)

    async def pending(self, feed: str) -> list[PendingEntry]:
        """The feed's entries not yet archived, oldest first (asked for in groups, as feed_state)."""
        return await self._pending_reads(feed)

    async def _read_pending(self, feeds: list[str]) -> list[list[PendingEntry]]:
        found: dict[str, list[PendingEntry]] = {feed: [] for feed in feeds}
        for row in await self._rows(_READ_PENDING, (list(found),)):
            found[str(row[6])].append(PendingEntry.of_row(str(row[6]), row))
        return [list(found[feed]) for feed in feeds]

    async def record_failure(self, feed: str, key: str, error: str) -> int:
        """Count a failed attempt at the entry's page; return the attempts so far."""
        async with self._write() as conn:
            await self._fence(conn, [feed])
            cursor = await conn.execute(
                "UPDATE entries SET attempts = attempts + 1, last_error = %s WHERE feed = %s AND entry_key = %s "
                "RETURNING attempts",
                (error, feed, key),
            )
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    # -- articles, names and claims ------------------------------------------------------------------------------

    async def article_for_url(self, url: str) -> str | None:
        """The id of the article known by normalized `url`, if any."""
        rows = await self._rows("SELECT article_id FROM urls WHERE url = %s", (url,))
        return str(rows[0][0]) if rows else None

    async def article_for_body(self, body_hash: str) -> str | None:
        """The id of an article whose body key is `body_hash`, if any."""
        rows = await self._rows("SELECT id FROM articles WHERE body_hash = %s LIMIT 1", (body_hash,))
        return str(rows[0][0]) if rows else None

    async def article_path(self, article_id: str) -> str | None:
        """The archive-relative path of article `article_id`, if archived."""
        rows = await self._rows("SELECT path FROM articles WHERE id = %s", (article_id,))
        return str(rows[0][0]) if rows else None

    async def claim(self, claim: ArticleClaim, now: float) -> Claim:
        """Claim the article's names for its entry, in one transaction (see postgres_claims.claim)."""
        async with self._write() as conn:
            await self._fence(conn, [claim.feed])
            return await postgres_claims.claim(conn, claim, now, self.owner, owner_alive)

    async def release_claim(self, feed: str, entry_key: str) -> None:
        """Give up the names the entry claimed."""
        async with self._write() as conn:
            await self._fence(conn, [feed])
            await conn.execute("DELETE FROM claims WHERE feed = %s AND entry_key = %s", (feed, entry_key))

    async def record_archived_all(self, archived: Sequence[tuple[str, str, ArchivedArticle]]) -> list[LostClaim]:
        """Each (feed, entry key, article) whose file is in place: recorded, with its URLs, in one transaction; those
        whose claim was taken over meanwhile are returned instead (see postgres_claims.overtaken)."""
        if not archived:
            return []
        now = time.time()
        lost: list[LostClaim] = []
        async with self._write() as conn:
            await self._fence(conn, {feed for feed, _key, _article in archived})
            names = [
                n for _f, _k, a in archived for n in postgres_claims.article_names(a.article_id, a.urls, a.body_hash)
            ]
            await postgres_claims.lock_names(conn, names)
            for feed, key, article in archived:
                overtaken = await postgres_claims.overtaken(conn, feed, key, article)
                if overtaken is not None:
                    if overtaken.archived and overtaken.holder is not None:
                        await _mark_duplicate(conn, feed, key, overtaken.holder, article.urls)
                    await conn.execute("DELETE FROM claims WHERE feed = %s AND entry_key = %s", (feed, key))
                    lost.append(overtaken)
                    continue
                await conn.execute(
                    "INSERT INTO articles (id, path, body_hash, archived_at) VALUES (%s, %s, %s, %s) "
                    "ON CONFLICT (id) DO UPDATE SET path = EXCLUDED.path, body_hash = EXCLUDED.body_hash, "
                    "archived_at = EXCLUDED.archived_at",
                    (article.article_id, article.path, article.body_hash, now),
                )
                await _add_urls(conn, article.article_id, article.urls)
                await conn.execute(
                    "UPDATE entries SET state = %s, article_id = %s, last_error = NULL "
                    "WHERE feed = %s AND entry_key = %s",
                    (ARCHIVED, article.article_id, feed, key),
                )
                # Recorded: its names are now the urls and articles rows, which every later claim finds.
                await conn.execute("DELETE FROM claims WHERE feed = %s AND entry_key = %s", (feed, key))
                await postgres_history.archived(conn, feed, article, now)
            day = int(now // DAY_SECONDS)
            lost_keys = {(one.feed, one.entry_key) for one in lost}
            archived_by = Counter((feed, day, "archived") for feed, key, _a in archived if (feed, key) not in lost_keys)
            await postgres_history.count_days(conn, archived_by)  # last: see count_days
        return lost

    async def record_duplicate(self, feed: str, key: str, article_id: str, urls: Iterable[str]) -> None:
        """The entry is an article already archived under another name: remember the names, write nothing."""
        listed = [url for url in set(urls) if url]
        async with self._write() as conn:
            await self._fence(conn, [feed])
            await postgres_claims.lock_names(conn, [f"url {url}" for url in listed])
            await _mark_duplicate(conn, feed, key, article_id, listed)

    # -- what status reports ---------------------------------------------------------------------------------------

    async def counts(self, feed: str) -> FeedCounts:
        """Archived and pending entry counts of one feed (asked for in groups: the daemon asks after every poll)."""
        return await self._count_reads(feed)

    async def _read_counts(self, feeds: list[str]) -> list[FeedCounts]:
        rows = await self._rows(
            "SELECT feed, state, count(*), count(*) FILTER (WHERE attempts > 0) FROM entries WHERE feed = ANY(%s) "
            "GROUP BY feed, state",
            (list(dict.fromkeys(feeds)),),
        )
        by_feed: dict[str, dict[str, tuple[int, int]]] = {}
        for feed, state, count, failing in rows:
            by_feed.setdefault(str(feed), {})[str(state)] = (int(count), int(failing))
        return [_counts(by_feed.get(feed, {})) for feed in feeds]

    async def worst_failing(self, feed: str) -> PendingEntry | None:
        """The feed's pending entry that has failed most often (the newest of those), or None."""
        rows = await self._rows(
            "SELECT entry_key, link, payload, first_seen, attempts, last_error FROM entries "
            "WHERE feed = %s AND state = %s AND attempts > 0 ORDER BY attempts DESC, first_seen DESC, seq DESC LIMIT 1",
            (feed, PENDING),
        )
        return PendingEntry.of_row(feed, rows[0]) if rows else None

    async def record_selectors(self, checks: Sequence[SelectorCheck]) -> None:
        """Remember whether each feed's `body:` selector matched on each page, in one transaction (its last pages
        only)."""
        if not checks:
            return
        feeds = list(dict.fromkeys(c.feed for c in checks))
        async with self._write() as conn:
            await self._fence(conn, feeds)
            cursor = conn.cursor()
            await cursor.executemany(
                "INSERT INTO selector_checks (feed, at, url, selector, missed) VALUES (%s, %s, %s, %s, %s)",
                [(c.feed, c.at, c.url, c.selector, c.missed) for c in checks],
            )
            await conn.execute(
                "DELETE FROM selector_checks s USING (SELECT id, row_number() OVER (PARTITION BY feed "
                "ORDER BY at DESC, id DESC) AS n FROM selector_checks WHERE feed = ANY(%s)) r "
                "WHERE s.id = r.id AND r.n > %s",
                (feeds, SELECTOR_CHECKS_KEPT),
            )

    async def selector_misses(self, feed: str, selector: str | None) -> SelectorMisses:
        """How the feed's current `body:` selector fared on its last pages."""
        if not selector:
            return SelectorMisses(0, 0)
        rows = await self._rows(
            "SELECT missed, url FROM selector_checks WHERE feed = %s AND selector = %s ORDER BY at DESC, id DESC",
            (feed, selector),
        )
        last = next((str(url) for missed, url in rows if missed), None)
        return SelectorMisses(sum(bool(missed) for missed, _url in rows), len(rows), last, selector)

    async def archived_counts(self) -> dict[str, ArchivedCounts]:
        """Per feed, its articles counted once: an article belongs to the feed that archived it (else the one that
        listed it first); to the others it is `also_listed`."""
        rows = await self._rows(
            "WITH listed AS (SELECT DISTINCT feed, article_id FROM entries "
            "  WHERE state IN (%s, %s) AND article_id IS NOT NULL), "
            "owner AS (SELECT article_id, feed FROM (SELECT article_id, feed, row_number() OVER ("
            "  PARTITION BY article_id ORDER BY state <> %s, first_seen, seq) AS rank FROM entries "
            "  WHERE state IN (%s, %s) AND article_id IS NOT NULL) ranked WHERE rank = 1) "
            "SELECT listed.feed, count(*) FILTER (WHERE owner.feed = listed.feed), "
            "count(*) FILTER (WHERE owner.feed <> listed.feed) "
            "FROM listed JOIN owner USING (article_id) GROUP BY listed.feed",
            (ARCHIVED, DUPLICATE, ARCHIVED, ARCHIVED, DUPLICATE),
        )
        return {str(feed): ArchivedCounts(int(own), int(other)) for feed, own, other in rows}

    async def article_count(self) -> int:
        """How many archived articles the database records."""
        return int((await self._rows("SELECT count(*) FROM articles"))[0][0])

    # -- repair and rebuild ----------------------------------------------------------------------------------------

    async def articles(self) -> list[RecordedArticle]:
        """Every archived article the database records, with the feeds whose entries named it (archived first)."""
        feeds: dict[str, list[str]] = {}
        for article_id, feed in await self._rows(
            "SELECT article_id, feed FROM entries WHERE article_id IS NOT NULL AND state IN (%s, %s) "
            'GROUP BY article_id, feed ORDER BY article_id COLLATE "C", bool_or(state = %s) DESC, min(first_seen), '
            'feed COLLATE "C"',
            (ARCHIVED, DUPLICATE, ARCHIVED),
        ):
            feeds.setdefault(str(article_id), []).append(str(feed))
        rows = await self._rows('SELECT id, path, body_hash, archived_at FROM articles ORDER BY id COLLATE "C"')
        return [
            RecordedArticle(str(r[0]), str(r[1]), optional_text(r[2]), float(r[3]), tuple(feeds.get(str(r[0]), ())))
            for r in rows
        ]

    async def archived_entry_ids(self) -> set[str]:
        """The ids of every article some feed's entry was archived as (or recognised as a duplicate of)."""
        rows = await self._rows(
            "SELECT DISTINCT article_id FROM entries WHERE article_id IS NOT NULL AND state IN (%s, %s)",
            (ARCHIVED, DUPLICATE),
        )
        return {str(row[0]) for row in rows}

    async def entries_of(self, article_id: str) -> list[PendingEntry]:
        """The entries archived as article `article_id` (or as duplicates of it), the archived one first."""
        rows = await self._rows(
            "SELECT entry_key, link, payload, first_seen, attempts, last_error, feed FROM entries "
            "WHERE article_id = %s AND state IN (%s, %s) ORDER BY state <> %s, first_seen, seq",
            (article_id, ARCHIVED, DUPLICATE, ARCHIVED),
        )
        return [PendingEntry.of_row(str(row[6]), row) for row in rows]

    async def rebuild_articles(self, articles: Iterable[IndexedArticle]) -> int:
        """Make the articles table list exactly `articles`, in one transaction; return how many rows it holds."""
        listed = list({a.article_id: a for a in articles}.values())
        async with self._write() as conn:
            await conn.execute("DELETE FROM articles")
            await conn.execute(
                "INSERT INTO articles (id, path, body_hash, archived_at) "
                "SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::double precision[])",
                (
                    [a.article_id for a in listed],
                    [a.path for a in listed],
                    [a.body_hash for a in listed],
                    [a.archived_at for a in listed],
                ),
            )
            cursor = await conn.execute("SELECT count(*) FROM articles")
            row = await cursor.fetchone()
            await postgres_history.rebuild_index(conn, listed)
        return int(row[0]) if row else 0

    async def requeue(self, article_ids: Iterable[str]) -> int:
        """Forget articles whose files are gone and set their entries pending again; return how many."""
        ids = sorted(set(article_ids))
        async with self._write() as conn:
            await conn.execute("DELETE FROM articles WHERE id = ANY(%s)", (ids,))
            await postgres_history.forget(conn, ids)
            # Its URLs would make the pipeline take each entry for an article already archived.
            await conn.execute("DELETE FROM urls WHERE article_id = ANY(%s)", (ids,))
            cursor = await conn.execute(
                "UPDATE entries SET state = %s, article_id = NULL, attempts = 0, last_error = NULL "
                "WHERE article_id = ANY(%s) AND state IN (%s, %s)",
                (PENDING, ids, ARCHIVED, DUPLICATE),
            )
            return max(cursor.rowcount, 0)

    async def record_refetched(
        self, article_id: str, body_hash: str, urls: Iterable[str], text: ArticleText | None = None
    ) -> None:
        """The file of `article_id` was rewritten in place: record its new body key and any new URL (and index
        its new text, when given)."""
        listed = [url for url in set(urls) if url]
        async with self._write() as conn:
            await postgres_claims.lock_names(conn, postgres_claims.article_names(article_id, listed, body_hash))
            await conn.execute("UPDATE articles SET body_hash = %s WHERE id = %s", (body_hash, article_id))
            await _add_urls(conn, article_id, listed)
            if text is not None:
                await postgres_history.reindexed(conn, article_id, text)

    # -- the store itself -----------------------------------------------------------------------------------------

    async def replaced(self) -> str | None:
        """Why the database is no longer the one this store opened (its tables dropped, or others put in their
        place), or None while it is (or when the server cannot be asked: the poll's own calls will say so). The
        daemon asks before every poll: the asks made while one is under way share the next answer."""
        return await self._replaced_reads(None)

    async def _read_replaced(self, asks: list[None]) -> list[str | None]:
        return [await self._ask_replaced()] * len(asks)

    async def _ask_replaced(self) -> str | None:
        try:
            async with self._pool.connection() as conn:
                cursor = await conn.execute(b"SELECT value FROM meta WHERE key = 'instance'")
                row = await cursor.fetchone()
        except errors.UndefinedTable:
            return f"{self._where}: the state database's tables were deleted while the crawler was using them"
        except psycopg.Error:
            return None
        if row is None or str(row[0]) != self._instance:
            return f"{self._where}: the state database was replaced by another while the crawler was using it"
        return None

    async def close(self) -> None:
        """Hand back the hosts this node holds with nothing in flight, then close every connection of the pool."""
        try:
            await self._nodes.hand_back_idle()
        finally:
            await self._pool.close()


def _counts(by_state: dict[str, tuple[int, int]]) -> FeedCounts:
    """A feed's counts from its (count, failing) per entry state."""
    return FeedCounts(
        archived=by_state.get(ARCHIVED, (0, 0))[0] + by_state.get(DUPLICATE, (0, 0))[0],
        pending=by_state.get(PENDING, (0, 0))[0],
        failing=by_state.get(PENDING, (0, 0))[1],
    )


def _lease_lost(where: str, feed: str) -> LeaseLost:
    return LeaseLost(
        f"{where}: feed {feed}: this node no longer holds its lease (another node took it over, or its poll "
        "ended); this node writes nothing more for it"
    )


def _float(value: object) -> float | None:
    # One array holds one type: an int where a float is kept (a ttl of 3600) is sent as the float it stands for.
    return None if value is None else float(value)  # type: ignore[arg-type]


async def _mark_duplicate(conn: Conn, feed: str, key: str, article_id: str, urls: Iterable[str]) -> None:
    await _add_urls(conn, article_id, urls)
    await conn.execute(
        "UPDATE entries SET state = %s, article_id = %s, last_error = NULL WHERE feed = %s AND entry_key = %s",
        (DUPLICATE, article_id, feed, key),
    )


async def _add_urls(conn: Conn, article_id: str, urls: Iterable[str]) -> None:
    listed = sorted({url for url in urls if url})
    if listed:
        await conn.execute(
            "INSERT INTO urls (url, article_id) SELECT url, %s FROM unnest(%s::text[]) AS url ON CONFLICT DO NOTHING",
            (article_id, listed),
        )
