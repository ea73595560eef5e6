"""Missing images on the SQLite backend (`images: keep`): one row per image an archived article could not keep
yet, in a table of its own; the queries run inside SqliteDatabase's connection."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence

_SCHEMA = """
-- Images an archived article still links remotely because they could not be had (crawler.pipeline.images): a later
-- poll of `feed` tries them again and, once kept, rewrites the article's file and deletes the rows.
CREATE TABLE IF NOT EXISTS missing_images (
    article_id TEXT NOT NULL,
    url TEXT NOT NULL,
    feed TEXT NOT NULL,
    since REAL NOT NULL,
    PRIMARY KEY (article_id, url)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS missing_images_feed ON missing_images (feed, since);
-- Each image URL kept, and the name its bytes are kept under (assets/ab/cdef....jpg): a later article showing the
-- same URL, another run, or `crawler reextract` (which makes no request) points at it without fetching it again.
CREATE TABLE IF NOT EXISTS kept_images (url TEXT PRIMARY KEY, name TEXT NOT NULL) WITHOUT ROWID;
"""


# Created at the first write, not with the database (see sqlite_raw.STATEMENTS).
STATEMENTS = tuple(part.strip() for part in _SCHEMA.split(";") if "CREATE" in part)


def record(db: sqlite3.Connection, feed: str, article_id: str, urls: Sequence[str]) -> None:
    """Inside the caller's transaction: the article's missing images are now `urls`; those still missing keep the
    time they first went missing."""
    marks = ", ".join("?" * len(urls))
    keep = f" AND url NOT IN ({marks})" if urls else ""
    db.execute(f"DELETE FROM missing_images WHERE article_id = ?{keep}", (article_id, *urls))
    now = time.time()
    db.executemany(
        "INSERT OR IGNORE INTO missing_images (article_id, url, feed, since) VALUES (?, ?, ?, ?)",
        [(article_id, url, feed, now) for url in urls],
    )


def waiting(db: sqlite3.Connection, feed: str, limit: int) -> list[tuple[str, str]]:
    """(article id, path) of the feed's archived articles with missing images, longest waiting first."""
    rows = db.execute(
        "SELECT m.article_id, a.path FROM missing_images m JOIN articles a ON a.id = m.article_id "
        "WHERE m.feed = ? GROUP BY m.article_id ORDER BY MIN(m.since) LIMIT ?",
        (feed, limit),
    ).fetchall()
    return [(str(row[0]), str(row[1])) for row in rows]


def record_kept(db: sqlite3.Connection, url: str, name: str) -> None:
    """Inside the caller's transaction: `url` is kept as `name`."""
    db.execute("INSERT OR REPLACE INTO kept_images (url, name) VALUES (?, ?)", (url, name))


def kept(db: sqlite3.Connection, urls: Sequence[str]) -> dict[str, str]:
    """The kept name of each of `urls` that was kept."""
    found: dict[str, str] = {}
    for start in range(0, len(urls), 500):  # within SQLite's limit on a statement's parameters
        part = urls[start : start + 500]
        rows = db.execute(f"SELECT url, name FROM kept_images WHERE url IN ({', '.join('?' * len(part))})", part)
        found.update((str(url), str(name)) for url, name in rows)
    return found
