"""Raw records on the SQLite backend (`raw: warc`): which WARC record each archived article was made from. Kept in
a table of its own, `raw_records`, beside the articles; the queries run inside SqliteDatabase's connection."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from crawler.store.base import RawRecord

_SCHEMA = """
-- The raw record (crawler.archive.warc) each archived article was made from: one row per article, replaced when it
-- is archived again. The same facts are in the CDXJ files beside the WARC files, keyed by URL for replay tools.
CREATE TABLE IF NOT EXISTS raw_records (
    article_id TEXT PRIMARY KEY,
    filename TEXT NOT NULL,
    offset INTEGER NOT NULL,
    length INTEGER NOT NULL,
    url TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    status INTEGER NOT NULL,
    mime TEXT NOT NULL,
    digest TEXT NOT NULL
) WITHOUT ROWID;
"""

# Created at the first write, not with the database: a crawler that never keeps raw records or images has a
# database without these tables, as small as it was (a new database's first run writes less).
STATEMENTS = tuple(part.strip() for part in _SCHEMA.split(";") if "CREATE" in part)


_COLUMNS = "filename, offset, length, url, timestamp, status, mime, digest"


def record_all(db: sqlite3.Connection, records: Sequence[tuple[str, RawRecord]]) -> None:
    """Inside the caller's transaction: each article's raw record, replacing an earlier one."""
    db.executemany(
        f"INSERT OR REPLACE INTO raw_records (article_id, {_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(article_id, *record.row()) for article_id, record in records],
    )


def record_of(db: sqlite3.Connection, article_id: str) -> RawRecord | None:
    """The raw record of `article_id`, or None."""
    row = db.execute(f"SELECT {_COLUMNS} FROM raw_records WHERE article_id = ?", (article_id,)).fetchone()
    return None if row is None else RawRecord.of_row(row)
