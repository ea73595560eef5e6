"""The PostgreSQL state database's schema as numbered migrations (store/migrations.py), and their runner.

Each step is SQL run in one transaction with the row that records it in `schema_migrations`; steps run under a
session advisory lock, so that of several nodes starting at once one applies them and the others wait, then find
nothing due. A step never changes once released; new ones append to STEPS.
"""

from __future__ import annotations

from psycopg import AsyncConnection

from crawler.store.migrations import Migration, SchemaStatus, due, status

# pg_advisory_lock's key for schema changes: any fixed number, the same in every crawler.
MIGRATION_LOCK = 0x63726177_6C6572  # "crawler"

BASE = """
CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);
-- Which database this is: a store notices when the tables it opened are dropped or put back from elsewhere.
INSERT INTO meta (key, value) VALUES ('instance', md5(random()::text || clock_timestamp()::text));
CREATE TABLE feeds (
    name text PRIMARY KEY,
    url text,
    etag text,
    last_modified text,
    body_hash text,
    last_poll double precision,
    last_success double precision,
    next_poll double precision,
    last_unconditional double precision,
    failures integer NOT NULL DEFAULT 0,
    last_error text,
    gone boolean NOT NULL DEFAULT false,
    moved_to text,
    ttl double precision
);
CREATE TABLE entries (
    seq bigserial UNIQUE,  -- the order entries were recorded in (SQLite's rowid)
    feed text NOT NULL,
    entry_key text NOT NULL,
    link text,
    state text NOT NULL,
    payload text NOT NULL,
    article_id text,
    first_seen double precision NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    last_error text,
    PRIMARY KEY (feed, entry_key)
);
CREATE INDEX entries_state ON entries (feed, state);
CREATE INDEX entries_article ON entries (article_id) WHERE article_id IS NOT NULL;
CREATE TABLE articles (
    id text PRIMARY KEY,
    path text NOT NULL,
    body_hash text,
    archived_at double precision NOT NULL
);
CREATE INDEX articles_body ON articles (body_hash);
CREATE TABLE urls (url text PRIMARY KEY, article_id text NOT NULL);
CREATE INDEX urls_article ON urls (article_id);
CREATE TABLE selector_checks (
    id bigserial PRIMARY KEY,
    feed text NOT NULL,
    at double precision NOT NULL,
    url text NOT NULL,
    selector text NOT NULL,
    missed boolean NOT NULL
);
CREATE INDEX selector_checks_feed ON selector_checks (feed, at);
-- A name (`url ...`, `body ...`, `id ...`) an entry is about to write an article file under: the primary key lets
-- one entry at a time hold it, on whichever node, until its article is recorded or the claim released or lapsed.
CREATE TABLE claims (
    name text PRIMARY KEY,
    article_id text NOT NULL,
    feed text NOT NULL,
    entry_key text NOT NULL,
    claimed_at double precision NOT NULL,
    owner text NOT NULL DEFAULT ''
);
CREATE INDEX claims_entry ON claims (feed, entry_key);
"""

# Several nodes on one database (store/postgres_nodes.py). Times are the database's clock (seconds since the epoch):
# the one clock every node reads, so a lease's end means the same instant to all of them.
NODES = """
-- Each crawler process that polls (`crawler run`): it beats while alive; one whose beat is older than its lease is
-- dead, and what it held (feeds, claims, temp files) is taken over.
CREATE TABLE nodes (
    id text PRIMARY KEY,
    host text NOT NULL,
    pid integer NOT NULL,
    lease double precision NOT NULL,
    started_at double precision NOT NULL,
    seen_at double precision NOT NULL,
    stopped_at double precision
);
-- Who polls each feed now: `token` grows with every grant (the fence: a write for the feed carries the token its
-- node was granted, and is refused once another grant replaced it).
CREATE SEQUENCE lease_tokens;
CREATE TABLE feed_leases (
    feed text PRIMARY KEY,
    node text,
    token bigint NOT NULL DEFAULT 0,
    until double precision NOT NULL DEFAULT 0
);
ALTER SEQUENCE lease_tokens OWNED BY feed_leases.token;  -- set aside with its table
CREATE INDEX feed_leases_node ON feed_leases (node);
-- Who may send requests to each host now, and when its next request may start: the per-host cap and delay are a
-- promise to the site, kept across nodes by handing the host from node to node (crawler/fetch/politeness.py).
CREATE TABLE host_leases (
    host text PRIMARY KEY,
    node text,
    until double precision NOT NULL DEFAULT 0,
    next_start double precision NOT NULL DEFAULT 0
);
"""

# History and search, for the web console (store/history.py says what they keep; store/postgres_history.py queries
# them). The search index is a tsvector per article over the terms history.index_terms makes (CJK runs as bigrams),
# parsed by the text search configuration `crawler_text`: PostgreSQL's default parser, every word stemmed by an
# English Snowball stemmer without stop words (as SQLite's FTS5 porter tokenizer does: no word is left unfindable).
# The configuration is made only where none is (a store set aside leaves its configuration behind in public).
HISTORY = """
DO $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_ts_config WHERE cfgname = 'crawler_text' AND cfgnamespace = current_schema()::regnamespace
    ) THEN
        CREATE TEXT SEARCH DICTIONARY crawler_stem (TEMPLATE = snowball, LANGUAGE = english);
        CREATE TEXT SEARCH CONFIGURATION crawler_text (COPY = simple);
        ALTER TEXT SEARCH CONFIGURATION crawler_text
            ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part, numword, numhword,
                hword_numpart
            WITH crawler_stem;
    END IF;
END
$$;
CREATE TABLE poll_log (
    seq bigserial PRIMARY KEY,  -- the order polls were logged in (SQLite's rowid)
    feed text NOT NULL,
    at double precision NOT NULL,
    outcome text NOT NULL,
    seconds double precision NOT NULL,
    new integer NOT NULL DEFAULT 0,
    failed integer NOT NULL DEFAULT 0,
    error text
);
CREATE INDEX poll_log_feed ON poll_log (feed, at);
CREATE TABLE feed_days (
    feed text NOT NULL,
    day integer NOT NULL,
    ok integer NOT NULL DEFAULT 0,
    not_modified integer NOT NULL DEFAULT 0,
    failed integer NOT NULL DEFAULT 0,
    archived integer NOT NULL DEFAULT 0,
    PRIMARY KEY (feed, day)
);
CREATE INDEX feed_days_day ON feed_days (day);
-- Every feed's days together, kept beside feed_days so the dashboard's plots read 90 rows, not 90 per feed.
CREATE TABLE all_days (
    day integer PRIMARY KEY,
    ok integer NOT NULL DEFAULT 0,
    not_modified integer NOT NULL DEFAULT 0,
    failed integer NOT NULL DEFAULT 0,
    archived integer NOT NULL DEFAULT 0
);
CREATE TABLE article_index (
    id text PRIMARY KEY,
    feed text,
    title text NOT NULL,
    path text NOT NULL,
    published double precision,
    archived_at double precision NOT NULL,
    sort_at double precision NOT NULL,
    summary text NOT NULL,
    terms tsvector NOT NULL
);
CREATE INDEX article_index_sort ON article_index (sort_at);
CREATE INDEX article_index_feed ON article_index (feed, sort_at);
CREATE INDEX article_index_terms ON article_index USING gin (terms);
-- The dashboard counts every feed's pending entries in one read.
CREATE INDEX entries_pending ON entries (feed) WHERE state = 'pending';
"""

# `raw: warc` and `images: keep` (store/postgres_raw.py): which WARC record each archived article was made from,
# each image kept by URL, and the images an archived article still links remotely.
RAW_AND_IMAGES = """
CREATE TABLE raw_records (
    article_id text PRIMARY KEY,
    filename text NOT NULL,
    "offset" bigint NOT NULL,
    length bigint NOT NULL,
    url text NOT NULL,
    timestamp text NOT NULL,
    status integer NOT NULL,
    mime text NOT NULL,
    digest text NOT NULL
);
CREATE TABLE missing_images (
    article_id text NOT NULL,
    url text NOT NULL,
    feed text NOT NULL,
    since double precision NOT NULL,
    PRIMARY KEY (article_id, url)
);
CREATE INDEX missing_images_feed ON missing_images (feed, since);
CREATE TABLE kept_images (url text PRIMARY KEY, name text NOT NULL);
"""

STEPS: tuple[Migration[str], ...] = (
    Migration(1, "feeds, entries, articles, urls, selector checks, claims", BASE),
    Migration(2, "nodes, feed leases, host leases", NODES),
    Migration(3, "the console's poll history, day counts and search index", HISTORY),
    Migration(4, "raw records and kept images", RAW_AND_IMAGES),
)

# Every table the crawler keeps, for setting a store aside (moved whole into another schema).
TABLES = (
    "meta",
    "feeds",
    "entries",
    "articles",
    "urls",
    "selector_checks",
    "claims",
    "nodes",
    "feed_leases",
    "host_leases",
    "poll_log",
    "feed_days",
    "all_days",
    "article_index",
    "raw_records",
    "missing_images",
    "kept_images",
    "schema_migrations",
)


async def current_version(conn: AsyncConnection[tuple[object, ...]]) -> int:
    """The schema version recorded in the database (0: none, nothing created yet)."""
    cursor = await conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL")
    row = await cursor.fetchone()
    if row is None or not row[0]:
        return 0
    cursor = await conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations")
    row = await cursor.fetchone()
    return int(str(row[0])) if row is not None else 0


async def upgrade(conn: AsyncConnection[tuple[object, ...]], where: str) -> list[str]:
    """Apply the steps still due, each in its own transaction, under the migration lock (`conn` in autocommit);
    return "N name" of each step applied. Raise MigrationError when the database is newer than this code."""
    if not due(STEPS, await current_version(conn), where):
        return []  # the usual start: no lock taken
    await conn.execute("SET lock_timeout = 0")  # wait for another node's migration however long it takes
    await conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, "
            "applied_at timestamptz NOT NULL DEFAULT now())"
        )
        applied: list[str] = []
        for step in due(STEPS, await current_version(conn), where):  # read again: another node may have done them
            async with conn.transaction():
                await conn.execute(step.apply.encode())
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (step.version, step.name)
                )
            applied.append(f"{step.version} {step.name}")
        return applied
    finally:
        await conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))


async def schema_status(conn: AsyncConnection[tuple[object, ...]], where: str) -> SchemaStatus:
    """Where this database's schema stands."""
    return status(STEPS, await current_version(conn), where, "postgresql")
