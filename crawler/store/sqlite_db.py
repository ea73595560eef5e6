"""The SQLite state database's queries, synchronous: `SqliteDatabase` is only ever called on the store's own thread
(see store/sqlite.py, which is what the rest of the crawler awaits). The SQL is plain, with `?` placeholders."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from crawler.identity.keys import ItemFacts
from crawler.store import sqlite_claims, sqlite_history, sqlite_images, sqlite_raw
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
    LostClaim,
    NewEntry,
    PendingEntry,
    RawRecord,
    RecordedArticle,
    SelectorCheck,
    SelectorMisses,
    StoreError,
    optional_text,
)
from crawler.store.history import ArticleText
from crawler.store.migrations import SchemaStatus
from crawler.store.schema import schema_status, upgrade

T = TypeVar("T")


class SqliteDatabase:
    """The state on one SQLite file (WAL mode), synchronous; used from one thread only (the store's)."""

    def __init__(self, path: Path, *, timeout: float = 10.0, read_only: bool = False) -> None:
        self._path = path
        self.applied: list[str] = []  # the migration steps this open applied
        if read_only:
            self._open_read_only(path, timeout)
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=timeout, isolation_level=None)
            self._db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            enter_wal(self._db, timeout)
            # NORMAL in WAL mode loses nothing when the process dies, only (at worst) the last commits on power loss;
            # the archive files themselves are fsynced, and a lost record only means a re-check, never a duplicate.
            self._db.execute("PRAGMA synchronous = NORMAL")
            # Versioned steps (store/schema.py), under SQLite's write lock; nothing to do on the usual start.
            self.applied = upgrade(self._db, str(path))
            # Which file this is, to notice when the path comes to name another one (or none) while we run.
            self._identity = _file_identity(path)
        except sqlite3.DatabaseError as exc:
            raise StoreError(_explain(path, exc)) from None
        except OSError as exc:
            raise StoreError(f"{path}: cannot open the state database: {exc.strerror or exc}") from None

    def schema_status(self) -> SchemaStatus:
        """Where the database's schema stands against this crawler's."""
        try:
            return schema_status(self._db, str(self._path))
        except sqlite3.DatabaseError as exc:
            raise StoreError(_explain(self._path, exc)) from None

    def _open_read_only(self, path: Path, timeout: float) -> None:
        """Open an existing database so that nothing can be written to it (`fetch --dry-run`, `list`): any write
        fails with StoreError instead of changing the state."""
        try:
            self._db = sqlite3.connect(
                f"{path.resolve().as_uri()}?mode=ro",
                uri=True,
                timeout=timeout,
                isolation_level=None,
            )
            self._db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            self._db.execute("SELECT COUNT(*) FROM articles").fetchone()
            self._identity = _file_identity(path)
        except sqlite3.DatabaseError as exc:
            raise StoreError(_explain(path, exc)) from None

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            raise StoreError(_explain(self._path, exc)) from None

    def _query(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._db.execute(sql, args).fetchall()
        except sqlite3.DatabaseError as exc:
            raise StoreError(_explain(self._path, exc)) from None

    def feed_state(self, name: str) -> FeedState:
        """The stored state of feed `name` (a fresh one if it was never polled)."""
        rows = self._query(f"SELECT {_FEED_COLUMNS} FROM feeds WHERE name = ?", (name,))
        return FeedState.of_row(rows[0]) if rows else FeedState(name=name)

    def all_feed_states(self) -> list[FeedState]:
        """Every feed the database knows of."""
        return [FeedState.of_row(row) for row in self._query(f"SELECT {_FEED_COLUMNS} FROM feeds ORDER BY name")]

    def save_feed_state(self, state: FeedState) -> None:
        """Replace the stored state of `state.name`."""
        self.save_feed_states([state])

    def save_feed_states(self, states: Sequence[FeedState]) -> None:
        """Replace the stored state of each of `states`, in order, in one transaction."""
        rows = [state.row() for state in states]
        with self._transaction() as db:
            db.executemany(
                f"INSERT OR REPLACE INTO feeds ({_FEED_COLUMNS}) VALUES ({', '.join('?' * len(rows[0]))})", rows
            )

    def known_keys(self, feed: str, keys: Iterable[str]) -> set[str]:
        """Which of `keys` the feed has listed before (archived, duplicate or pending)."""
        wanted = list(keys)
        known: set[str] = set()
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            rows = self._query(
                f"SELECT entry_key FROM entries WHERE feed = ? AND entry_key IN ({marks})", (feed, *chunk)
            )
            known.update(str(row[0]) for row in rows)
        return known

    def known_items(self, feed: str, keys: Iterable[str]) -> dict[str, ItemFacts]:
        """The link and title of each of `keys` the feed has listed before: what tells a repeated GUID's items apart."""
        wanted = list(dict.fromkeys(keys))
        known: dict[str, ItemFacts] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            # The title is read from the stored entry in SQL: no entry's whole payload is loaded for it.
            rows = self._query(
                "SELECT entry_key, link, json_extract(payload, '$.title') FROM entries "
                f"WHERE feed = ? AND entry_key IN ({marks})",
                (feed, *chunk),
            )
            known.update(
                (str(row[0]), ItemFacts(link=optional_text(row[1]), title=optional_text(row[2]))) for row in rows
            )
        return known

    def article_for_url(self, url: str) -> str | None:
        """The id of the article known by normalized `url`, if any."""
        rows = self._query("SELECT article_id FROM urls WHERE url = ?", (url,))
        return str(rows[0][0]) if rows else None

    def article_for_body(self, body_hash: str) -> str | None:
        """The id of an article whose body text hashes to `body_hash`, if any."""
        rows = self._query("SELECT id FROM articles WHERE body_hash = ? LIMIT 1", (body_hash,))
        return str(rows[0][0]) if rows else None

    def article_path(self, article_id: str) -> str | None:
        """The archive-relative path of article `article_id`, if archived."""
        rows = self._query("SELECT path FROM articles WHERE id = ?", (article_id,))
        return str(rows[0][0]) if rows else None

    def add_pending(self, feed: str, entries: Iterable[NewEntry], seen_at: float) -> int:
        """Record new entries as pending (before any page is fetched); return how many were new."""
        return self._add_entries(feed, entries, seen_at, PENDING)

    def add_skipped(self, feed: str, entries: Iterable[NewEntry], seen_at: float) -> int:
        """Record new entries as skipped: known from now on, never fetched; return how many were new."""
        return self._add_entries(feed, entries, seen_at, SKIPPED)

    def _add_entries(self, feed: str, entries: Iterable[NewEntry], seen_at: float, state: str) -> int:
        added = 0
        with self._transaction() as db:
            for entry in entries:
                cursor = db.execute(
                    "INSERT OR IGNORE INTO entries (feed, entry_key, link, state, payload, first_seen) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (feed, entry.key, entry.link, state, entry.payload, seen_at),
                )
                added += cursor.rowcount
        return added

    def pending(self, feed: str) -> list[PendingEntry]:
        """The feed's entries not yet archived, oldest first."""
        rows = self._query(
            "SELECT entry_key, link, payload, first_seen, attempts, last_error FROM entries "
            "WHERE feed = ? AND state = ? ORDER BY first_seen, rowid",
            (feed, PENDING),
        )
        return [PendingEntry.of_row(feed, row) for row in rows]

    def record_archived_all(self, archived: Sequence[tuple[str, str, ArchivedArticle]]) -> list[LostClaim]:
        """Each (feed, entry key, article) whose file is in place: record the article, the URLs it is known by, and
        the entry as done; all in one transaction. Return those whose claim was taken over meanwhile (not recorded;
        see sqlite_claims.overtaken)."""
        now = time.time()
        lost: list[LostClaim] = []
        with self._transaction() as db:
            for feed, key, article in archived:
                overtaken = sqlite_claims.overtaken(db, feed, key, article)
                if overtaken is not None:
                    _record_overtaken(db, overtaken, article.urls)
                    lost.append(overtaken)
                    continue
                db.execute(
                    "INSERT OR REPLACE INTO articles (id, path, body_hash, archived_at) VALUES (?, ?, ?, ?)",
                    (article.article_id, article.path, article.body_hash, now),
                )
                _add_urls(db, article.article_id, article.urls)
                db.execute(
                    "UPDATE entries SET state = ?, article_id = ?, last_error = NULL WHERE feed = ? AND entry_key = ?",
                    (ARCHIVED, article.article_id, feed, key),
                )
                # Recorded: its names are now the urls and articles rows, which every later claim finds.
                db.execute("DELETE FROM claims WHERE feed = ? AND entry_key = ?", (feed, key))
                sqlite_history.archived(db, feed, article, now)
        return lost

    def record_duplicate(self, feed: str, key: str, article_id: str, urls: Iterable[str]) -> None:
        """The entry is an article already archived under another name: remember the names, write nothing."""
        with self._transaction() as db:
            _mark_duplicate(db, feed, key, article_id, urls)

    def claim(self, claim: ArticleClaim, now: float) -> Claim:
        """Claim the article's names for its entry, in one transaction (see sqlite_claims.claim)."""
        with self._transaction() as db:
            return sqlite_claims.claim(db, claim, now)

    def release_claim(self, feed: str, entry_key: str) -> None:
        """Give up the names the entry claimed (its file could not be written)."""
        with self._transaction() as db:
            db.execute("DELETE FROM claims WHERE feed = ? AND entry_key = ?", (feed, entry_key))

    def record_failure(self, feed: str, key: str, error: str) -> int:
        """Count a failed attempt at the entry's page; return the attempts so far."""
        with self._transaction() as db:
            db.execute(
                "UPDATE entries SET attempts = attempts + 1, last_error = ? WHERE feed = ? AND entry_key = ?",
                (error, feed, key),
            )
            row = db.execute("SELECT attempts FROM entries WHERE feed = ? AND entry_key = ?", (feed, key)).fetchone()
        return int(row[0]) if row else 0

    def counts(self, feed: str) -> FeedCounts:
        """Archived and pending entry counts of one feed."""
        rows = self._query(
            "SELECT state, COUNT(*), SUM(attempts > 0) FROM entries WHERE feed = ? GROUP BY state", (feed,)
        )
        by_state = {str(state): int(str(count)) for state, count, _failing in rows}
        failing = next((int(str(failed or 0)) for state, _count, failed in rows if state == PENDING), 0)
        return FeedCounts(
            archived=by_state.get(ARCHIVED, 0) + by_state.get(DUPLICATE, 0),
            pending=by_state.get(PENDING, 0),
            failing=failing,
        )

    def worst_failing(self, feed: str) -> PendingEntry | None:
        """The feed's pending entry that has failed most often (the newest of those), or None when none failed."""
        rows = self._query(
            "SELECT entry_key, link, payload, first_seen, attempts, last_error FROM entries "
            "WHERE feed = ? AND state = ? AND attempts > 0 ORDER BY attempts DESC, first_seen DESC, rowid DESC LIMIT 1",
            (feed, PENDING),
        )
        return PendingEntry.of_row(feed, rows[0]) if rows else None

    def record_selectors(self, checks: Sequence[SelectorCheck]) -> None:
        """Remember whether each feed's `body:` selector matched on each page, in one transaction; only a feed's last
        SELECTOR_CHECKS_KEPT pages are kept."""
        with self._transaction() as db:
            db.executemany(
                "INSERT INTO selector_checks (feed, at, url, selector, missed) VALUES (?, ?, ?, ?, ?)",
                [(c.feed, c.at, c.url, c.selector, int(c.missed)) for c in checks],
            )
            db.executemany(
                "DELETE FROM selector_checks WHERE feed = ? AND rowid NOT IN "
                "(SELECT rowid FROM selector_checks WHERE feed = ? ORDER BY at DESC, rowid DESC LIMIT ?)",
                [(feed, feed, SELECTOR_CHECKS_KEPT) for feed in dict.fromkeys(c.feed for c in checks)],
            )

    def selector_misses(self, feed: str, selector: str | None) -> SelectorMisses:
        """How the feed's current `body:` selector fared on its last pages (checks of an earlier selector do not
        count: fixing the selector clears the feed's record)."""
        if not selector:
            return SelectorMisses(0, 0)
        rows = self._query(
            "SELECT missed, url FROM selector_checks WHERE feed = ? AND selector = ? ORDER BY at DESC, rowid DESC",
            (feed, selector),
        )
        last = next((str(url) for missed, url in rows if missed), None)
        return SelectorMisses(sum(int(missed) for missed, _url in rows), len(rows), last, selector)

    def archived_counts(self) -> dict[str, ArchivedCounts]:
        """Per feed, its articles counted once: an article listed by several feeds belongs to the one that archived
        it (else the one that listed it first); to the others it is `also_listed`."""
        rows = self._query(
            "WITH listed AS (SELECT DISTINCT feed, article_id FROM entries "
            "  WHERE state IN (?, ?) AND article_id IS NOT NULL), "
            "owner AS (SELECT article_id, feed FROM (SELECT article_id, feed, ROW_NUMBER() OVER ("
            "  PARTITION BY article_id ORDER BY state != ?, first_seen, rowid) AS rank FROM entries "
            "  WHERE state IN (?, ?) AND article_id IS NOT NULL) WHERE rank = 1) "
            "SELECT listed.feed, SUM(owner.feed = listed.feed), SUM(owner.feed != listed.feed) "
            "FROM listed JOIN owner USING (article_id) GROUP BY listed.feed",
            (ARCHIVED, DUPLICATE, ARCHIVED, ARCHIVED, DUPLICATE),
        )
        return {str(feed): ArchivedCounts(int(own or 0), int(other or 0)) for feed, own, other in rows}

    def article_count(self) -> int:
        """How many archived articles the database records."""
        return int(str(self._query("SELECT COUNT(*) FROM articles")[0][0]))

    def rebuild_articles(self, articles: Iterable[IndexedArticle]) -> int:
        """Make the articles table list exactly `articles` (the archive's files), in one transaction; return how
        many rows it now holds. Entries, URLs and feed state are kept as they are."""
        articles = tuple(articles)
        rows = [(a.article_id, a.path, a.body_hash, a.archived_at) for a in articles]
        with self._transaction() as db:
            db.execute("DELETE FROM articles")
            db.executemany(
                "INSERT OR REPLACE INTO articles (id, path, body_hash, archived_at) VALUES (?, ?, ?, ?)", rows
            )
            count = db.execute("SELECT COUNT(*) FROM articles").fetchone()
            sqlite_history.rebuild_index(db, articles)
        return int(count[0])

    def articles(self) -> list[RecordedArticle]:
        """Every archived article the database records, with the feeds whose entries named it (archived first)."""
        feeds: dict[str, list[str]] = {}
        for article_id, feed in self._query(
            "SELECT article_id, feed FROM entries WHERE article_id IS NOT NULL AND state IN (?, ?) "
            "GROUP BY article_id, feed ORDER BY article_id, MAX(state = ?) DESC, MIN(first_seen), feed",
            (ARCHIVED, DUPLICATE, ARCHIVED),
        ):
            feeds.setdefault(str(article_id), []).append(str(feed))
        rows = self._query("SELECT id, path, body_hash, archived_at FROM articles ORDER BY id")
        return [
            RecordedArticle(
                article_id=str(row[0]),
                path=str(row[1]),
                body_hash=optional_text(row[2]),
                archived_at=float(row[3]),
                feeds=tuple(feeds.get(str(row[0]), ())),
            )
            for row in rows
        ]

    def archived_entry_ids(self) -> set[str]:
        """The ids of every article that some feed's entry was archived as (or recognised as a duplicate of),
        whether or not the articles table still lists it (`reindex` drops the rows of files that are gone)."""
        rows = self._query(
            "SELECT DISTINCT article_id FROM entries WHERE article_id IS NOT NULL AND state IN (?, ?)",
            (ARCHIVED, DUPLICATE),
        )
        return {str(row[0]) for row in rows}

    def entries_of(self, article_id: str) -> list[PendingEntry]:
        """The entries that were archived as article `article_id` (or as duplicates of it), the archived one first:
        what `refetch` rebuilds the article from."""
        rows = self._query(
            "SELECT entry_key, link, payload, first_seen, attempts, last_error, feed FROM entries "
            "WHERE article_id = ? AND state IN (?, ?) ORDER BY state = ? DESC, first_seen, rowid",
            (article_id, ARCHIVED, DUPLICATE, ARCHIVED),
        )
        return [PendingEntry.of_row(str(row[6]), row) for row in rows]

    def record_refetched(
        self, article_id: str, body_hash: str, urls: Iterable[str], text: ArticleText | None = None
    ) -> None:
        """The file of `article_id` was rewritten in place: record its new body key and any new URL it is known by
        (and index its new text, when given)."""
        with self._transaction() as db:
            db.execute("UPDATE articles SET body_hash = ? WHERE id = ?", (body_hash, article_id))
            _add_urls(db, article_id, urls)
            if text is not None:
                sqlite_history.reindexed(db, article_id, text)

    def requeue(self, article_ids: Iterable[str]) -> int:
        """Forget articles whose files are gone and set the entries archived as them pending again, so that the
        next poll of their feeds archives them anew; return how many entries were queued."""
        ids = sorted(set(article_ids))
        queued = 0
        with self._transaction() as db:
            for article_id in ids:
                db.execute("DELETE FROM articles WHERE id = ?", (article_id,))
                # Its URLs would make the pipeline take each entry for an article already archived.
                db.execute("DELETE FROM urls WHERE article_id = ?", (article_id,))
                cursor = db.execute(
                    "UPDATE entries SET state = ?, article_id = NULL, attempts = 0, last_error = NULL "
                    "WHERE article_id = ? AND state IN (?, ?)",
                    (PENDING, article_id, ARCHIVED, DUPLICATE),
                )
                queued += cursor.rowcount
            sqlite_history.forget(db, ids)
        return queued

    # -- history and search (store/sqlite_history.py) ----------------------------------------------------------------

    def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn` on the connection in one write transaction."""
        with self._transaction() as db:
            return fn(db)

    def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run the reads of `fn` on the connection; a database error becomes StoreError."""
        try:
            return fn(self._db)
        except sqlite3.DatabaseError as exc:
            raise StoreError(_explain(self._path, exc)) from None

    def replaced(self) -> str | None:
        """Why the file at the store's path is no longer the database this store has open (deleted, or another file
        renamed into its place), or None while it still is. One stat: cheap enough for every poll."""
        now = _file_identity(self._path)
        if now == self._identity:
            return None
        what = "deleted" if now is None else "replaced by another file"
        return f"{self._path}: the state database was {what} while the crawler was using it"

    # --- Raw records (crawler.store.sqlite_raw) ---------------------------------------------------------------------

    def record_raw_all(self, records: Sequence[tuple[str, RawRecord]]) -> None:
        """Each article's raw record, in one transaction."""
        with self._transaction() as db:
            _create(db, sqlite_raw.STATEMENTS)
            sqlite_raw.record_all(db, records)

    def raw_record(self, article_id: str) -> RawRecord | None:
        """The raw record article `article_id` was made from, or None."""
        return self._read_added(sqlite_raw.record_of, None, article_id)

    def _read_added(self, query: Callable[..., T], empty: T, *args: object) -> T:
        """A query of a table made at its first write (sqlite_raw, sqlite_images): `empty` until it exists."""
        try:
            return query(self._db, *args)
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return empty
            raise StoreError(_explain(self._path, exc)) from None
        except sqlite3.DatabaseError as exc:
            raise StoreError(_explain(self._path, exc)) from None

    # --- Missing images (crawler.store.sqlite_images) ----------------------------------------------------------------

    def record_missing_images(self, feed: str, article_id: str, urls: Sequence[str]) -> None:
        """The article's missing images are now `urls`."""
        with self._transaction() as db:
            _create(db, sqlite_images.STATEMENTS)
            sqlite_images.record(db, feed, article_id, urls)

    def record_kept_image(self, url: str, name: str) -> None:
        """`url` is kept as `name`."""
        with self._transaction() as db:
            _create(db, sqlite_images.STATEMENTS)
            sqlite_images.record_kept(db, url, name)

    def kept_images(self, urls: Sequence[str]) -> dict[str, str]:
        """The kept name of each of `urls` that was kept."""
        return self._read_added(sqlite_images.kept, {}, urls)

    def articles_missing_images(self, feed: str, limit: int) -> list[tuple[str, str]]:
        """(article id, path) of the feed's articles with missing images, longest waiting first."""
        return self._read_added(sqlite_images.waiting, [], feed, limit)

    def close(self) -> None:
        """Close the database."""
        with contextlib.suppress(sqlite3.Error):
            self._db.close()


def _create(db: sqlite3.Connection, statements: Sequence[str]) -> None:
    # Inside the caller's write transaction; a table already there costs a look at the schema, no write.
    for statement in statements:
        db.execute(statement)


_FEED_COLUMNS = ", ".join(FeedState.COLUMNS)


def _mark_duplicate(db: sqlite3.Connection, feed: str, key: str, article_id: str, urls: Iterable[str]) -> None:
    _add_urls(db, article_id, urls)
    db.execute(
        "UPDATE entries SET state = ?, article_id = ?, last_error = NULL WHERE feed = ? AND entry_key = ?",
        (DUPLICATE, article_id, feed, key),
    )


def _record_overtaken(db: sqlite3.Connection, lost: LostClaim, urls: Iterable[str]) -> None:
    """An entry whose claim was taken over: a duplicate of the article archived under its names, else still pending
    (its next try finds the article being written now); either way its names are not its own any more."""
    if lost.archived and lost.holder is not None:
        _mark_duplicate(db, lost.feed, lost.entry_key, lost.holder, urls)
    db.execute("DELETE FROM claims WHERE feed = ? AND entry_key = ?", (lost.feed, lost.entry_key))


def _add_urls(db: sqlite3.Connection, article_id: str, urls: Iterable[str]) -> None:
    db.executemany(
        "INSERT OR IGNORE INTO urls (url, article_id) VALUES (?, ?)",
        [(url, article_id) for url in set(urls) if url],
    )


def _file_identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of the file at `path`, or None when there is none."""
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_dev, info.st_ino


def enter_wal(db: sqlite3.Connection, timeout: float) -> None:
    """Put the database in WAL mode, waiting up to `timeout` seconds for other processes opening it.

    Why not one PRAGMA: the first switch of a new file takes SQLite's exclusive lock from a shared one, and SQLite
    answers "database is locked" at once there instead of calling the busy handler (it could deadlock), so
    processes creating the same database at the same moment failed. Once the file is in WAL mode (it stays so) the
    PRAGMA takes no such lock."""
    deadline = time.monotonic() + timeout
    delay = 0.002
    while True:
        try:
            db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
        pause(delay)
        delay = min(delay * 2, 0.1)


def pause(seconds: float) -> None:
    """Wait between tries of a lock SQLite will not wait for (its own seam so a test can act at that moment)."""
    time.sleep(seconds)


def _explain(path: Path, exc: sqlite3.DatabaseError) -> str:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return f"{path}: the state database is locked by another process (is another crawler running?)"
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return (
            f"{path}: the state database is corrupt ({text}); run `crawler reindex` to move it aside and "
            "rebuild it from the archive"
        )
    return f"{path}: state database error: {text}"
