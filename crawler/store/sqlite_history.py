"""History and search on SQLite (the tables of schema.HISTORY_SCHEMA): the poll log, per-day totals and the full-text
index of articles. Plain functions on a connection, called by `SqliteDatabase` on the store's own thread, inside its
transactions where they write (so an article's index row and day count are committed with the article itself).

The index is an FTS5 table without content of its own (`content=''`: the text is not stored twice), over the terms
store/history.py makes of each title and body. A contentless table cannot delete one row without its old text, so
an article indexed again gets a new row and its old one is left behind unjoined (`article_index` names only the new
one); `crawler reindex` rebuilds the index from nothing.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import date

from crawler.store.base import ARCHIVED, DUPLICATE, PENDING, ArchivedArticle, IndexedArticle, SelectorMisses
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
    character_terms,
    day_number,
    first_kept_day,
    from_day_number,
    match_query,
    summary_of,
)

_OUTCOME_COLUMNS = {"ok": "ok", "not_modified": "not_modified", "failed": "failed"}


def record_polls(db: sqlite3.Connection, polls: Sequence[PollRecord]) -> None:
    """Log polls and count each in its day, in the caller's one transaction; drop what falls out of the history's
    bounds for their feeds. Many polls at once cost about what one did: a statement of each kind, run for them all."""
    db.executemany(
        "INSERT INTO poll_log (feed, at, outcome, seconds, new, failed, error) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(p.feed, p.at, p.outcome, p.seconds, p.new, p.failed, p.error) for p in polls],
    )
    by_feed = Counter((p.feed, day_number_of(p.at), _OUTCOME_COLUMNS.get(p.outcome, "failed")) for p in polls)
    _count_days(db, by_feed)
    oldest = first_kept_day(max(p.at for p in polls))
    feeds = [(feed,) for feed in dict.fromkeys(p.feed for p in polls)]
    db.executemany(f"DELETE FROM poll_log WHERE feed = ? AND at < {oldest * DAY_SECONDS:.1f}", feeds)
    db.executemany(
        "DELETE FROM poll_log WHERE feed = ?1 AND at < (SELECT at FROM poll_log WHERE feed = ?1 "
        f"ORDER BY at DESC LIMIT 1 OFFSET {POLLS_KEPT_PER_FEED - 1})",
        feeds,
    )
    # Whole days leave every feed's history at once (feed_days is indexed by day): nothing to do but on a new day.
    db.execute("DELETE FROM feed_days WHERE day < ?", (oldest,))
    db.execute("DELETE FROM all_days WHERE day < ?", (oldest,))


def day_number_of(moment: float) -> int:
    """The stored day number of an epoch time (UTC)."""
    return int(moment // 86_400)


def _count_day(db: sqlite3.Connection, feed: str, day: int, column: str, by: int = 1) -> None:
    # `column` is one of a fixed set of names, never a value from outside.
    for table, key in (("feed_days", (feed, day)), ("all_days", (day,))):
        names = "feed, day" if table == "feed_days" else "day"
        marks = ", ".join("?" * len(key))
        db.execute(
            f"INSERT INTO {table} ({names}, {column}) VALUES ({marks}, ?) "
            f"ON CONFLICT DO UPDATE SET {column} = {column} + excluded.{column}",
            (*key, by),
        )


def _count_days(db: sqlite3.Connection, counts: Mapping[tuple[str, int, str], int]) -> None:
    """Add each (feed, day, column)'s count to its feed's day and to every feed's day."""
    every: Counter[tuple[int, str]] = Counter()
    for (_, day, column), by in counts.items():
        every[(day, column)] += by
    # `column` is one of a fixed set of names, never a value from outside.
    for column in dict.fromkeys(column for _, _, column in counts):
        db.executemany(
            f"INSERT INTO feed_days (feed, day, {column}) VALUES (?, ?, ?) "
            f"ON CONFLICT DO UPDATE SET {column} = {column} + excluded.{column}",
            [(feed, day, by) for (feed, day, named), by in counts.items() if named == column],
        )
        db.executemany(
            f"INSERT INTO all_days (day, {column}) VALUES (?, ?) "
            f"ON CONFLICT DO UPDATE SET {column} = {column} + excluded.{column}",
            [(day, by) for (day, named), by in every.items() if named == column],
        )


def archived(db: sqlite3.Connection, feed: str, article: ArchivedArticle, now: float) -> None:
    """An article was recorded: count it in its feed's day, and index it when its text came with it."""
    _count_day(db, feed, day_number_of(now), "archived")
    if article.text is not None:
        index_article(db, article.article_id, feed, article.path, article.text, now)


def index_article(
    db: sqlite3.Connection, article_id: str, feed: str | None, path: str, text: ArticleText, archived_at: float
) -> None:
    """(Re)index one article under its id."""
    sort_at = text.published if text.published is not None else archived_at
    cursor = db.execute(
        "INSERT OR REPLACE INTO article_index (id, feed, title, path, published, archived_at, sort_at, summary) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (article_id, feed, text.title, path, text.published, archived_at, sort_at, summary_of(text.text)),
    )
    db.execute(
        "INSERT INTO article_text (rowid, title, body) VALUES (?, ?, ?)",
        (cursor.lastrowid, character_terms(text.title), character_terms(text.text[:INDEXED_TEXT_CHARS])),
    )


def reindexed(db: sqlite3.Connection, article_id: str, text: ArticleText) -> None:
    """An article's file was rewritten in place (`crawler refetch`): index its new text under its feed and path."""
    row = db.execute("SELECT feed, path, archived_at FROM article_index WHERE id = ?", (article_id,)).fetchone()
    if row is None:
        row = db.execute("SELECT NULL, path, archived_at FROM articles WHERE id = ?", (article_id,)).fetchone()
    if row is not None:
        index_article(db, article_id, row[0], str(row[1]), text, float(row[2]))


def forget(db: sqlite3.Connection, article_ids: Iterable[str]) -> None:
    """Articles whose files are gone leave the browser (their index rows stay behind unjoined until a reindex)."""
    db.executemany("DELETE FROM article_index WHERE id = ?", [(article_id,) for article_id in article_ids])


def rebuild_index(db: sqlite3.Connection, articles: Iterable[IndexedArticle]) -> None:
    """Make the index list exactly `articles` that came with their text, each under the feed whose entry was
    archived as it (else the first that listed it)."""
    db.execute("DELETE FROM article_index")
    db.execute("INSERT INTO article_text (article_text) VALUES ('delete-all')")
    owners = {
        str(article_id): str(feed)
        for article_id, feed in db.execute(
            "SELECT article_id, feed FROM (SELECT article_id, feed, ROW_NUMBER() OVER (PARTITION BY article_id "
            "ORDER BY state != ?, first_seen, rowid) AS rank FROM entries WHERE state IN (?, ?) "
            "AND article_id IS NOT NULL) WHERE rank = 1",
            (ARCHIVED, ARCHIVED, DUPLICATE),
        )
    }
    for article in articles:
        if article.text is not None:
            index_article(
                db, article.article_id, owners.get(article.article_id), article.path, article.text, article.archived_at
            )


def poll_log(db: sqlite3.Connection, feed: str, limit: int) -> list[PollRecord]:
    """The feed's last `limit` polls, newest first."""
    rows = db.execute(
        "SELECT feed, at, outcome, seconds, new, failed, error FROM poll_log WHERE feed = ? "
        "ORDER BY at DESC, rowid DESC LIMIT ?",
        (feed, limit),
    ).fetchall()
    return [PollRecord(str(r[0]), float(r[1]), str(r[2]), float(r[3]), int(r[4]), int(r[5]), r[6]) for r in rows]


def days(db: sqlite3.Connection, feed: str | None, since: date) -> list[FeedDay]:
    """Per-day totals from `since` on, oldest first: one feed's, or (feed None) every feed's together."""
    if feed is None:
        rows = db.execute(
            "SELECT '', day, ok, not_modified, failed, archived FROM all_days WHERE day >= ? ORDER BY day",
            (day_number(since),),
        ).fetchall()
    else:
        rows = db.execute(
            "SELECT feed, day, ok, not_modified, failed, archived FROM feed_days WHERE feed = ? AND day >= ? "
            "ORDER BY day",
            (feed, day_number(since)),
        ).fetchall()
    return [_feed_day(row) for row in rows]


def archived_days_by_feed(
    db: sqlite3.Connection, since: date, feeds: Sequence[str] | None = None
) -> dict[str, dict[date, int]]:
    """Each feed's (or each of `feeds`') articles archived per day from `since` on (days with none left out): the
    sparklines."""
    first = day_number(since)
    if feeds is None:
        rows = db.execute("SELECT feed, day, archived FROM feed_days WHERE day >= ? AND archived > 0", (first,))
        found = rows.fetchall()
    else:
        found = []
        wanted = list(feeds)
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            found += db.execute(
                f"SELECT feed, day, archived FROM feed_days WHERE feed IN ({', '.join('?' * len(chunk))}) "
                "AND day >= ? AND archived > 0",
                (*chunk, first),
            ).fetchall()
    by_feed: dict[str, dict[date, int]] = {}
    for feed, day, count in found:
        by_feed.setdefault(str(feed), {})[from_day_number(int(day))] = int(count)
    return by_feed


def _feed_day(row: tuple[object, ...]) -> FeedDay:
    return FeedDay(
        feed=str(row[0]),
        day=from_day_number(int(str(row[1]))),
        ok=int(str(row[2])),
        not_modified=int(str(row[3])),
        failed=int(str(row[4])),
        archived=int(str(row[5])),
    )


def feed_summaries(db: sqlite3.Connection) -> dict[str, FeedSummary]:
    """Every feed's pending, failing and archived counts, in two grouped reads."""
    pending = {
        str(feed): (int(count), int(failing or 0))
        for feed, count, failing in db.execute(
            "SELECT feed, COUNT(*), SUM(attempts > 0) FROM entries WHERE state = ? GROUP BY feed", (PENDING,)
        )
    }
    archived_by = {
        str(feed): int(count)
        for feed, count in db.execute("SELECT feed, COUNT(*) FROM article_index WHERE feed IS NOT NULL GROUP BY feed")
    }
    summaries: dict[str, FeedSummary] = {}
    for feed in pending.keys() | archived_by.keys():
        waiting, failing = pending.get(feed, (0, 0))
        summaries[feed] = FeedSummary(pending=waiting, failing=failing, archived=archived_by.get(feed, 0))
    return summaries


def all_selector_misses(db: sqlite3.Connection) -> dict[tuple[str, str], SelectorMisses]:
    """For each (feed, selector) tried: how often it matched nothing, of how many pages, and the last page missed."""
    rows = db.execute("SELECT feed, selector, SUM(missed), COUNT(*) FROM selector_checks GROUP BY feed, selector")
    last: dict[tuple[str, str], str] = {}
    for feed, selector, url in db.execute(
        "SELECT feed, selector, url FROM selector_checks WHERE missed ORDER BY at, rowid"
    ):  # the latest miss of each comes last
        last[(str(feed), str(selector))] = str(url)
    return {
        (str(feed), str(selector)): SelectorMisses(int(missed), int(count), last.get((feed, selector)), str(selector))
        for feed, selector, missed, count in rows
    }


def search(db: sqlite3.Connection, query: ArticleQuery) -> list[ArticleHit]:
    """The articles matching `query`, newest first (by date, else when archived)."""
    where: list[str] = []
    args: list[object] = []
    if query.text:
        expression = match_query(query.text)
        if expression is None:
            return []
        where.append("n IN (SELECT rowid FROM article_text WHERE article_text MATCH ?)")
        args.append(expression)
    if query.feed:
        where.append("feed = ?")
        args.append(query.feed)
    if query.since is not None:
        where.append("sort_at >= ?")
        args.append(query.since)
    sql = f"SELECT {_HIT_COLUMNS} FROM article_index"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY sort_at DESC, id LIMIT ? OFFSET ?"
    rows = db.execute(sql, (*args, query.limit, query.offset)).fetchall()
    return [_hit(row) for row in rows]


def article(db: sqlite3.Connection, article_id: str) -> ArticleHit | None:
    """One indexed article, or None."""
    row = db.execute(f"SELECT {_HIT_COLUMNS} FROM article_index WHERE id = ?", (article_id,)).fetchone()
    return _hit(row) if row else None


_HIT_COLUMNS = "id, feed, title, path, published, archived_at, summary"


def _hit(row: tuple[object, ...]) -> ArticleHit:
    return ArticleHit(
        article_id=str(row[0]),
        feed=None if row[1] is None else str(row[1]),
        title=str(row[2]),
        path=str(row[3]),
        published=None if row[4] is None else float(str(row[4])),
        archived_at=float(str(row[5])),
        summary=str(row[6]),
    )
