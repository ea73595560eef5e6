"""The SQLite state database's schema, and the migration of databases made by earlier versions."""

from __future__ import annotations

import sqlite3

SCHEMA_VERSION = 2

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS feeds (
    name TEXT PRIMARY KEY,
    url TEXT,
    etag TEXT,
    last_modified TEXT,
    body_hash TEXT,
    last_poll REAL,
    last_success REAL,
    next_poll REAL,
    last_unconditional REAL,
    failures INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    gone INTEGER NOT NULL DEFAULT 0,
    moved_to TEXT,
    ttl REAL
);
CREATE TABLE IF NOT EXISTS entries (
    feed TEXT NOT NULL,
    entry_key TEXT NOT NULL,
    link TEXT,
    state TEXT NOT NULL,
    payload TEXT NOT NULL,
    article_id TEXT,
    first_seen REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    PRIMARY KEY (feed, entry_key)
);
CREATE INDEX IF NOT EXISTS entries_state ON entries (feed, state);
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    body_hash TEXT,
    archived_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS articles_body ON articles (body_hash);
CREATE TABLE IF NOT EXISTS urls (url TEXT PRIMARY KEY, article_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS selector_checks (
    feed TEXT NOT NULL,
    at REAL NOT NULL,
    url TEXT NOT NULL,
    selector TEXT NOT NULL,
    missed INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS selector_checks_feed ON selector_checks (feed, at);
-- A name (`url ...`, `body ...`, `id ...`) an entry is about to write an article file under: the primary key lets one
-- entry at a time hold it, whichever process it runs in, until its article is recorded (or the claim is released).
-- `owner` names the process ("host pid"): a claim whose process is gone is taken over at once.
CREATE TABLE IF NOT EXISTS claims (
    name TEXT PRIMARY KEY,
    article_id TEXT NOT NULL,
    feed TEXT NOT NULL,
    entry_key TEXT NOT NULL,
    claimed_at REAL NOT NULL,
    owner TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS claims_entry ON claims (feed, entry_key);
"""


def migrate(db: sqlite3.Connection) -> None:
    """Bring a database made by an earlier version up to this schema (columns and tables are only ever added; the
    tables are made by SCHEMA's CREATE IF NOT EXISTS)."""
    columns = {str(row[1]) for row in db.execute("PRAGMA table_info(feeds)")}
    if "ttl" not in columns:
        db.execute("ALTER TABLE feeds ADD COLUMN ttl REAL")
    if "owner" not in {str(row[1]) for row in db.execute("PRAGMA table_info(claims)")}:
        db.execute("ALTER TABLE claims ADD COLUMN owner TEXT NOT NULL DEFAULT ''")
    db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
    db.execute(
        "UPDATE meta SET value = ? WHERE key = 'schema' AND CAST(value AS INTEGER) < ?", (str(SCHEMA_VERSION),) * 2
    )


# History and search, for the web console (store/history.py says what they keep; store/sqlite_history.py queries
# them). A block of its own: made by CREATE IF NOT EXISTS in every database, old ones included.
HISTORY_SCHEMA = """
CREATE TABLE IF NOT EXISTS poll_log (
    feed TEXT NOT NULL,
    at REAL NOT NULL,
    outcome TEXT NOT NULL,
    seconds REAL NOT NULL,
    new INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    error TEXT
);
CREATE INDEX IF NOT EXISTS poll_log_feed ON poll_log (feed, at);
CREATE TABLE IF NOT EXISTS feed_days (
    feed TEXT NOT NULL,
    day INTEGER NOT NULL,
    ok INTEGER NOT NULL DEFAULT 0,
    not_modified INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    archived INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (feed, day)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS feed_days_day ON feed_days (day);
-- Every feed's days together, kept beside feed_days so the dashboard's plots read 90 rows, not 90 per feed.
CREATE TABLE IF NOT EXISTS all_days (
    day INTEGER PRIMARY KEY,
    ok INTEGER NOT NULL DEFAULT 0,
    not_modified INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    archived INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS article_index (
    n INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    feed TEXT,
    title TEXT NOT NULL,
    path TEXT NOT NULL,
    published REAL,
    archived_at REAL NOT NULL,
    sort_at REAL NOT NULL,
    summary TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS article_index_sort ON article_index (sort_at);
CREATE INDEX IF NOT EXISTS article_index_feed ON article_index (feed, sort_at);
CREATE VIRTUAL TABLE IF NOT EXISTS article_text USING fts5 (
    title, body, content = '', tokenize = 'porter unicode61 remove_diacritics 2'
);
-- The dashboard counts every feed's pending entries in one read.
CREATE INDEX IF NOT EXISTS entries_pending ON entries (feed) WHERE state = 'pending';
"""
