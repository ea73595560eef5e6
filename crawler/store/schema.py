"""The SQLite state database's schema as numbered migrations (store/migrations.py), and their runner.

Step 1 is the schema as it stood when versions began, step 2 the columns added before that (`feeds.ttl`,
`claims.owner`), step 3 the web console's history and search tables: all are written to be harmless on a database
that already has them, because databases made by the unversioned code (which recorded "schema" 1 or 2 in `meta`
without promising what that meant, and may hold the console's tables) are upgraded in place by running them again.
New steps append to STEPS; a step never changes once released.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from crawler.store.migrations import Migration, SchemaStatus, due, status

BASE = """
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

Step = Callable[[sqlite3.Connection], None]


def _script(sql: str) -> Step:
    """A step of plain statements, run one by one inside the caller's transaction (`executescript` would commit)."""

    def run(db: sqlite3.Connection) -> None:
        for statement in split_statements(sql):
            db.execute(statement)

    return run


def _columns_before_versions(db: sqlite3.Connection) -> None:
    # SQLite has no ADD COLUMN IF NOT EXISTS: ask first.
    if "ttl" not in _columns(db, "feeds"):
        db.execute("ALTER TABLE feeds ADD COLUMN ttl REAL")
    if "owner" not in _columns(db, "claims"):
        db.execute("ALTER TABLE claims ADD COLUMN owner TEXT NOT NULL DEFAULT ''")


# History and search, for the web console (store/history.py says what they keep; store/sqlite_history.py queries
# them): step 3. CREATE IF NOT EXISTS because databases made by the console's code before versions already have them.
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


STEPS: tuple[Migration[Step], ...] = (
    Migration(1, "feeds, entries, articles, urls, selector checks, claims", _script(BASE)),
    Migration(2, "feeds.ttl and claims.owner", _columns_before_versions),
    Migration(3, "the console's poll history, day counts and search index", _script(HISTORY_SCHEMA)),
)

# The version is kept under its own key: the unversioned code kept "schema" (1 or 2) in `meta` without promising
# which tables that meant, so a database without "migrations" runs every step from 1 (each harmless where done).
_KEY = "migrations"


def current_version(db: sqlite3.Connection) -> int:
    """The schema version recorded in the database (0: none, a new database or one made before versions)."""
    try:
        row = db.execute("SELECT value FROM meta WHERE key = ?", (_KEY,)).fetchone()
    except sqlite3.OperationalError:  # no meta table: nothing was ever created here
        return 0
    return int(str(row[0])) if row is not None else 0


def upgrade(db: sqlite3.Connection, where: str) -> list[str]:
    """Apply the steps the database still needs, each in a transaction of its own under BEGIN IMMEDIATE (SQLite's
    write lock: of two processes starting at once, one applies each step and the other sees it done); return "N
    name" of each step applied. Raise MigrationError when the database is newer than this code, sqlite3.Error when
    a step fails (its transaction is rolled back: the database stays at the version before it)."""
    if not due(STEPS, current_version(db), where):
        return []  # the usual start: one read, no write lock taken
    applied: list[str] = []
    for step in STEPS:
        db.execute("BEGIN IMMEDIATE")
        try:
            if step.version > current_version(db):
                step.apply(db)
                db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (_KEY, str(step.version)))
                applied.append(f"{step.version} {step.name}")
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
    return applied


def schema_status(db: sqlite3.Connection, where: str) -> SchemaStatus:
    """Where this database's schema stands."""
    return status(STEPS, current_version(db), where, "sqlite")


def _columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {str(row[1]) for row in db.execute(f"PRAGMA table_info({table})")}


def split_statements(sql: str) -> list[str]:
    """The complete statements of an SQL script, in order (SQLite's own test of completeness decides)."""
    statements: list[str] = []
    current = ""
    for line in sql.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    if current.strip() and not current.strip().startswith("--"):
        statements.append(current.strip())
    return statements
