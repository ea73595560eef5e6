"""The SQLite backend: `SqliteStore`, the Store on one SQLite file, and `SqliteLocation`, the file before it is opened.

Every call runs on the store's own thread (StoreThread): SQLite's busy wait on a locked database (up to
the timeout, 10 s) then holds that thread, never the event loop, and calls are served one at a time, in order, on
the one connection that thread opened. (`replaced`, one stat of the file, touches no connection and runs where it
is called.)
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any, ParamSpec, TypeVar, cast

from crawler.identity.keys import ItemFacts
from crawler.store import schema, sqlite_history
from crawler.store.base import (
    ArchivedArticle,
    ArchivedCounts,
    ArticleClaim,
    Claim,
    FeedCounts,
    FeedState,
    IndexedArticle,
    LostClaim,
    NewEntry,
    PendingEntry,
    RawRecord,
    RecordedArticle,
    SelectorCheck,
    SelectorMisses,
    StoreError,
)
from crawler.store.groups import Grouped
from crawler.store.history import ArticleHit, ArticleQuery, ArticleText, FeedDay, FeedSummary, PollRecord
from crawler.store.migrations import SchemaStatus
from crawler.store.sqlite_db import SqliteDatabase

P = ParamSpec("P")
T = TypeVar("T")

BUSY_TIMEOUT = 10.0  # seconds SQLite waits for another process's write lock before the call fails with StoreError


class SqliteStore:
    """The Store on one SQLite file (WAL mode); build it with `SqliteStore.open` (or `crawler.store.open_store`)."""

    def __init__(self, thread: StoreThread, db: SqliteDatabase) -> None:
        self._thread = thread
        self._db = db
        # Calls made while the thread is busy go to it together, in order: one hand-off each way for all of them.
        self._calls: Grouped[Callable[[], object], object] = Grouped(self._run_calls)
        self._polls: Grouped[PollRecord, None] = Grouped(self._record_polls)
        self._states: Grouped[FeedState, None] = Grouped(self._save_feed_states)
        self.applied = db.applied  # the migration steps opening it applied

    @classmethod
    async def open(cls, path: Path, *, timeout: float = BUSY_TIMEOUT, read_only: bool = False) -> SqliteStore:
        """Open (creating unless `read_only`) the database at `path` on a thread of its own; read-only, any write
        fails with StoreError instead of changing the state."""
        thread = StoreThread()
        try:
            db = await thread.run(functools.partial(SqliteDatabase, path, timeout=timeout, read_only=read_only))
        except BaseException:
            thread.stop()
            raise
        return cls(thread, db)

    async def _call(self, method: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return cast(T, await self._calls(functools.partial(method, *args, **kwargs)))

    async def _run_calls(self, calls: list[Callable[[], object]]) -> list[object]:
        return await self._thread.run(functools.partial(_each, calls))

    async def feed_state(self, name: str) -> FeedState:
        """The stored state of feed `name` (a fresh one if it was never polled)."""
        return await self._call(self._db.feed_state, name)

    async def save_feed_state(self, state: FeedState) -> None:
        """Replace the stored state of `state.name`. The states saved while one group is being written go together
        in the next, in one transaction (an unchanged poll writes nothing else)."""
        await self._states(state)

    async def _save_feed_states(self, states: list[FeedState]) -> list[None]:
        await self._call(self._db.save_feed_states, states)
        return [None] * len(states)

    async def all_feed_states(self) -> list[FeedState]:
        """Every feed the database knows of."""
        return await self._call(self._db.all_feed_states)

    async def known_keys(self, feed: str, keys: Iterable[str]) -> set[str]:
        """Which of `keys` the feed has listed before (archived, duplicate, skipped or pending)."""
        return await self._call(self._db.known_keys, feed, tuple(keys))

    async def known_items(self, feed: str, keys: Iterable[str]) -> dict[str, ItemFacts]:
        """The link and title of each of `keys` the feed has listed before."""
        return await self._call(self._db.known_items, feed, tuple(keys))

    async def add_pending(self, feed: str, entries: Iterable[NewEntry], seen_at: float) -> int:
        """Record new entries as pending (before any page is fetched); return how many were new."""
        return await self._call(self._db.add_pending, feed, tuple(entries), seen_at)

    async def add_skipped(self, feed: str, entries: Iterable[NewEntry], seen_at: float) -> int:
        """Record new entries as skipped: known from now on, never fetched; return how many were new."""
        return await self._call(self._db.add_skipped, feed, tuple(entries), seen_at)

    async def pending(self, feed: str) -> list[PendingEntry]:
        """The feed's entries not yet archived, oldest first."""
        return await self._call(self._db.pending, feed)

    async def record_failure(self, feed: str, key: str, error: str) -> int:
        """Count a failed attempt at the entry's page; return the attempts so far."""
        return await self._call(self._db.record_failure, feed, key, error)

    async def article_for_url(self, url: str) -> str | None:
        """The id of the article known by normalized `url`, if any."""
        return await self._call(self._db.article_for_url, url)

    async def article_for_body(self, body_hash: str) -> str | None:
        """The id of an article whose body key is `body_hash`, if any."""
        return await self._call(self._db.article_for_body, body_hash)

    async def article_path(self, article_id: str) -> str | None:
        """The archive-relative path of article `article_id`, if archived."""
        return await self._call(self._db.article_path, article_id)

    async def claim(self, claim: ArticleClaim, now: float) -> Claim:
        """Claim the article's names for its entry, in one transaction (see SqliteDatabase.claim)."""
        return await self._call(self._db.claim, claim, now)

    async def release_claim(self, feed: str, entry_key: str) -> None:
        """Give up the names the entry claimed."""
        await self._call(self._db.release_claim, feed, entry_key)

    async def record_archived_all(self, archived: Sequence[tuple[str, str, ArchivedArticle]]) -> list[LostClaim]:
        """Each (feed, entry key, article) whose file is in place: recorded, with its URLs, in one transaction; those
        whose claim was taken over meanwhile are returned instead (see SqliteDatabase.record_archived_all)."""
        return await self._call(self._db.record_archived_all, tuple(archived))

    async def record_duplicate(self, feed: str, key: str, article_id: str, urls: Iterable[str]) -> None:
        """The entry is an article already archived under another name: remember the names, write nothing."""
        await self._call(self._db.record_duplicate, feed, key, article_id, tuple(urls))

    async def counts(self, feed: str) -> FeedCounts:
        """Archived and pending entry counts of one feed."""
        return await self._call(self._db.counts, feed)

    async def worst_failing(self, feed: str) -> PendingEntry | None:
        """The feed's pending entry that has failed most often (the newest of those), or None."""
        return await self._call(self._db.worst_failing, feed)

    async def record_selectors(self, checks: Sequence[SelectorCheck]) -> None:
        """Remember whether each feed's `body:` selector matched on each page (a poll's checks at once)."""
        if checks:
            await self._call(self._db.record_selectors, tuple(checks))

    async def selector_misses(self, feed: str, selector: str | None) -> SelectorMisses:
        """How the feed's current `body:` selector fared on its last pages."""
        return await self._call(self._db.selector_misses, feed, selector)

    async def archived_counts(self) -> dict[str, ArchivedCounts]:
        """Per feed, its articles counted once (see SqliteDatabase.archived_counts)."""
        return await self._call(self._db.archived_counts)

    async def article_count(self) -> int:
        """How many archived articles the database records."""
        return await self._call(self._db.article_count)

    async def articles(self) -> list[RecordedArticle]:
        """Every archived article the database records, with the feeds whose entries named it."""
        return await self._call(self._db.articles)

    async def archived_entry_ids(self) -> set[str]:
        """The ids of every article some feed's entry was archived as (or recognised as a duplicate of)."""
        return await self._call(self._db.archived_entry_ids)

    async def entries_of(self, article_id: str) -> list[PendingEntry]:
        """The entries archived as article `article_id` (or as duplicates of it), the archived one first."""
        return await self._call(self._db.entries_of, article_id)

    async def rebuild_articles(self, articles: Iterable[IndexedArticle]) -> int:
        """Make the articles table list exactly `articles`, in one transaction; return how many rows it holds."""
        return await self._call(self._db.rebuild_articles, tuple(articles))

    async def requeue(self, article_ids: Iterable[str]) -> int:
        """Forget articles whose files are gone and set their entries pending again; return how many."""
        return await self._call(self._db.requeue, tuple(article_ids))

    async def record_refetched(
        self, article_id: str, body_hash: str, urls: Iterable[str], text: ArticleText | None = None
    ) -> None:
        """The file of `article_id` was rewritten in place: record its new body key and any new URL (and index
        its new text, when given)."""
        await self._call(self._db.record_refetched, article_id, body_hash, tuple(urls), text)

    # -- history and search (store/history.py, store/sqlite_history.py) ---------------------------------------------

    async def record_poll(self, poll: PollRecord) -> None:
        """Log one poll and count it in its day (the history keeps HISTORY_DAYS days, POLLS_KEPT_PER_FEED polls).
        The polls recorded while one group is being written go together in the next, in one transaction."""
        await self._polls(poll)

    async def _record_polls(self, polls: list[PollRecord]) -> list[None]:
        await self._call(self._db.write, functools.partial(sqlite_history.record_polls, polls=polls))
        return [None] * len(polls)

    async def poll_log(self, feed: str, limit: int) -> list[PollRecord]:
        """The feed's last `limit` polls, newest first."""
        return await self._call(self._db.read, functools.partial(sqlite_history.poll_log, feed=feed, limit=limit))

    async def days(self, feed: str | None, since: date) -> list[FeedDay]:
        """Per-day totals from `since` on, oldest first: one feed's, or (None) every feed's together."""
        return await self._call(self._db.read, functools.partial(sqlite_history.days, feed=feed, since=since))

    async def archived_days_by_feed(
        self, since: date, feeds: Sequence[str] | None = None
    ) -> dict[str, dict[date, int]]:
        """Each feed's (or each of `feeds`') articles archived per day from `since` on (days with none left out)."""
        read = functools.partial(sqlite_history.archived_days_by_feed, since=since, feeds=feeds)
        return await self._call(self._db.read, read)

    async def feed_summaries(self) -> dict[str, FeedSummary]:
        """Every feed's pending, failing and archived counts, in one go."""
        return await self._call(self._db.read, sqlite_history.feed_summaries)

    async def all_selector_misses(self) -> dict[tuple[str, str], SelectorMisses]:
        """For each (feed, selector) tried on the feed's last pages: how it fared."""
        return await self._call(self._db.read, sqlite_history.all_selector_misses)

    async def search_articles(self, query: ArticleQuery) -> list[ArticleHit]:
        """The indexed articles matching `query`, newest first."""
        return await self._call(self._db.read, functools.partial(sqlite_history.search, query=query))

    async def indexed_article(self, article_id: str) -> ArticleHit | None:
        """One indexed article, or None."""
        return await self._call(self._db.read, functools.partial(sqlite_history.article, article_id=article_id))

    # --- Raw records (RawIndex) ---

    async def record_raw_all(self, records: Sequence[tuple[str, RawRecord]]) -> None:
        """Record (or replace) the raw record of each article id, in one transaction."""
        await self._call(self._db.record_raw_all, tuple(records))

    async def raw_record(self, article_id: str) -> RawRecord | None:
        """The raw record article `article_id` was made from, or None."""
        return await self._call(self._db.raw_record, article_id)

    # --- Missing images (MissingImages) ---

    async def record_missing_images(self, feed: str, article_id: str, urls: Sequence[str]) -> None:
        """Replace the article's missing images with `urls` (none: all kept)."""
        await self._call(self._db.record_missing_images, feed, article_id, tuple(urls))

    async def record_kept_image(self, url: str, name: str) -> None:
        """`url` is kept as `name` (an archive-relative path under assets/)."""
        await self._call(self._db.record_kept_image, url, name)

    async def kept_images(self, urls: Sequence[str]) -> dict[str, str]:
        """The kept name of each of `urls` that was kept."""
        return await self._call(self._db.kept_images, tuple(urls))

    async def articles_missing_images(self, feed: str, limit: int) -> list[tuple[str, str]]:
        """Up to `limit` (article id, path) of the feed's articles missing images, longest waiting first."""
        return await self._call(self._db.articles_missing_images, feed, limit)

    def coordination(self) -> None:
        """None: an SQLite file is one node's (several processes on one machine share it through its locks)."""
        return None

    async def replaced(self) -> str | None:
        """Why the file at the store's path is no longer the database this store has open, or None."""
        # One stat of the path, no use of the connection: done here rather than handed to the store's thread and
        # back, which the daemon would pay on every poll.
        return self._db.replaced()

    async def close(self) -> None:
        """Close the database and stop its thread."""
        try:
            await self._call(self._db.close)
        finally:
            self._thread.stop()


class StoreThread:
    """The store's one thread: runs the functions handed to it one at a time, in order, and hands each outcome back
    to the caller's event loop. What a ThreadPoolExecutor and run_in_executor do, for less: a queue put, and one
    call_soon_threadsafe back (not a concurrent future chained to an asyncio one, a lock and a condition per call);
    the daemon makes a few such calls on every poll. A function whose caller stopped waiting still runs, as one
    already under way would (the stores' Grouped calls promise no more)."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        # A daemon thread: a store never closed (a crash) must not keep the process alive at exit.
        self._thread = threading.Thread(target=self._serve, name="crawler-store", daemon=True)
        self._thread.start()

    async def run(self, fn: Callable[[], T]) -> T:
        """`fn()`, run on the thread."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[T] = loop.create_future()
        self._queue.put((fn, done, loop))
        return await done

    def stop(self) -> None:
        """End the thread once what was handed to it is done."""
        self._queue.put(None)

    def _serve(self) -> None:
        while (job := self._queue.get()) is not None:
            fn, done, loop = job
            settle: Callable[[asyncio.Future[Any], object], None] = _succeed
            try:
                outcome: object = fn()
            except BaseException as exc:  # the caller's to handle
                outcome, settle = exc, _fail
            with contextlib.suppress(RuntimeError):  # the loop is closed: no one is waiting any more
                loop.call_soon_threadsafe(settle, done, outcome)


_Job = tuple[Callable[[], Any], "asyncio.Future[Any]", asyncio.AbstractEventLoop]


def _succeed(done: asyncio.Future[Any], result: object) -> None:
    if not done.done():  # its caller was cancelled
        done.set_result(result)


def _fail(done: asyncio.Future[Any], error: object) -> None:
    if not done.done():
        assert isinstance(error, BaseException)
        done.set_exception(error)


def _each(calls: list[Callable[[], object]]) -> list[object]:
    """Each call's result, or the error it raised (on the store's thread)."""
    outcomes: list[object] = []
    for call in calls:
        try:
            outcomes.append(call())
        except Exception as exc:  # its caller's to handle, not the other calls'
            outcomes.append(exc)
    return outcomes


class SqliteLocation:
    """A state database's file, before it is opened."""

    def __init__(self, path: Path, *, timeout: float = BUSY_TIMEOUT) -> None:
        self.path = path
        self._timeout = timeout

    def describe(self) -> str:
        """The path, as messages name the database."""
        return str(self.path)

    async def exists(self) -> bool:
        """Whether there is a database file (opening one where there is none creates it)."""
        return await asyncio.to_thread(self.path.exists)

    async def problem(self) -> str | None:
        """Why the file cannot be used as it is (not a database, corrupt), or None when it can (or is missing)."""
        return await asyncio.to_thread(database_problem, self.path) if await self.exists() else None

    async def set_aside(self) -> str:
        """Move the file (and its -wal and -shm) aside, never deleting it; return the new name of the main file."""
        return await asyncio.to_thread(_move_aside, self.path)

    async def open(self, *, read_only: bool = False) -> SqliteStore:
        """Open the store (see SqliteStore.open)."""
        return await SqliteStore.open(self.path, timeout=self._timeout, read_only=read_only)

    async def schema_status(self) -> SchemaStatus:
        """Where the file's schema stands (version 0 where there is no file yet); changes nothing."""
        return await asyncio.to_thread(_schema_status, self.path, self._timeout)

    async def upgrade(self) -> list[str]:
        """Apply the migrations still due, creating the database where there is none; return the steps applied."""
        store = await self.open()
        try:
            return store.applied
        finally:
            await store.close()


def _schema_status(path: Path, timeout: float) -> SchemaStatus:
    if not path.exists():
        with contextlib.closing(sqlite3.connect(":memory:")) as empty:
            return schema.schema_status(empty, str(path))
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=timeout)
    except sqlite3.Error as exc:
        raise StoreError(f"{path}: cannot open the state database: {exc}") from None
    try:
        return schema.schema_status(db, str(path))
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: cannot read the state database's schema: {exc}") from None
    finally:
        db.close()


def database_problem(path: Path) -> str | None:
    """Why the SQLite file at `path` cannot be used as it is (not a database, corrupt), or None when it can."""
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT)
    except sqlite3.Error as exc:
        return str(exc)
    try:
        rows = db.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    finally:
        db.close()
    problems = [str(row[0]) for row in rows if row[0] != "ok"]
    return "; ".join(problems[:3]) or None


def _move_aside(state: Path) -> str:
    aside = state.with_name(f"{state.name}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}")
    try:
        for suffix in ("", "-wal", "-shm"):
            source = Path(f"{state}{suffix}")
            if source.exists():
                os.replace(source, Path(f"{aside}{suffix}"))
    except OSError as exc:
        raise StoreError(f"{state}: corrupt, and it cannot be moved aside: {exc.strerror or exc}") from None
    return str(aside)
