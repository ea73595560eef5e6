"""The SQLite backend beyond the contract: databases made by earlier versions, and claims held by other processes
(one file on one machine: whether a claim's process still runs can be asked)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from crawler.store.base import ArchivedArticle, ArticleClaim, Claim, ClaimStatus, FeedState, NewEntry, Store
from crawler.store.history import ArticleQuery, ArticleText, index_terms
from tests.conftest import REPO
from tests.support.store import on_store

# Another crawler process: claims https://x/a for its entry, says so, then waits for a line on stdin before exiting
# (without releasing or recording anything, as a process killed between its claim and its commit).
_OTHER_PROCESS = """
import asyncio, sys, time
from pathlib import Path
from crawler.store.base import ArticleClaim
from crawler.store.sqlite import SqliteLocation

async def main():
    store = await SqliteLocation(Path(sys.argv[1])).open()
    answer = await store.claim(ArticleClaim("other", "k", "id-other", ("https://x/a",), None), time.time())
    print(answer.status.value, flush=True)
    sys.stdin.readline()
    await store.close()

asyncio.run(main())
"""

OLD_FEEDS_TABLE = """CREATE TABLE feeds (name TEXT PRIMARY KEY, url TEXT, etag TEXT, last_modified TEXT,
body_hash TEXT, last_poll REAL, last_success REAL, next_poll REAL, last_unconditional REAL,
failures INTEGER NOT NULL DEFAULT 0, last_error TEXT, gone INTEGER NOT NULL DEFAULT 0, moved_to TEXT)"""


def test_a_database_from_before_the_ttl_column_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with sqlite3.connect(path) as db:
        db.execute(OLD_FEEDS_TABLE)
        db.execute("INSERT INTO feeds (name, url, etag, failures) VALUES ('old', 'https://x/feed', '\"v1\"', 2)")

    async def upgraded(store: Store) -> None:
        old = await store.feed_state("old")
        assert (old.etag, old.failures, old.ttl) == ('"v1"', 2, None)
        await store.save_feed_state(FeedState(name="new", url="https://y/feed", ttl=3600.0))
        assert (await store.feed_state("new")).ttl == 3600.0

    on_store(path, upgraded)


def test_pending_entries_survive_a_reopen_and_are_counted(tmp_path: Path) -> None:
    path = tmp_path / "state.db"

    async def add(store: Store) -> None:
        assert await store.add_pending("f", [NewEntry("k1", "https://x/1", "{}"), NewEntry("k2", None, "{}")], 1.0) == 2
        assert await store.add_pending("f", [NewEntry("k1", "https://x/1", "{}")], 2.0) == 0

    async def reopened(store: Store) -> None:
        assert [p.key for p in await store.pending("f")] == ["k1", "k2"]
        assert await store.known_keys("f", ["k1", "k3"]) == {"k1"}
        counts = await store.counts("f")
        assert (counts.archived, counts.pending) == (0, 2)

    on_store(path, add)
    on_store(path, reopened)


def test_a_claim_is_held_while_its_process_runs_and_taken_over_once_it_is_gone(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    on_store(path, lambda store: store.feed_state("made"))
    other = subprocess.Popen(
        [sys.executable, "-c", _OTHER_PROCESS, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    mine = ArticleClaim("mine", "k", "id-mine", ("https://x/a",), None)
    try:
        assert other.stdout is not None and other.stdout.readline().strip() == "won"
        assert on_store(path, lambda store: store.claim(mine, time.time())) == Claim(ClaimStatus.HELD, "id-other")
    finally:
        assert other.stdin is not None
        other.stdin.close()
        other.wait(30)

    # Its process has exited without recording its article (as one killed between claim and commit would).
    assert on_store(path, lambda store: store.claim(mine, time.time())) == Claim(ClaimStatus.WON, "id-mine")


def test_articles_indexed_with_bigram_terms_before_are_still_found_beside_new_ones(tmp_path: Path) -> None:
    # Databases indexed before 2026-12-05 hold CJK text as bigrams; a search must find those rows as well as the
    # rows indexed now (single characters) until `crawler reindex` rewrites them.
    path = tmp_path / "state.db"

    async def index_new(store: Store) -> None:
        await store.add_pending("f", [NewEntry("new", None, "{}")], 1.0)
        text = ArticleText("新的经济增长", "今年的经济增长很快。")
        await store.record_archived_all([("f", "new", ArchivedArticle("n1", "2026/n1.md", "h1", (), text=text))])

    on_store(path, index_new)
    with sqlite3.connect(path) as db:  # a row as the bigram index wrote it
        cursor = db.execute(
            "INSERT INTO article_index (id, feed, title, path, published, archived_at, sort_at, summary) "
            "VALUES ('o1', 'f', '旧的经济', '2025/o1.md', NULL, 1.0, 1.0, '')"
        )
        db.execute(
            "INSERT INTO article_text (rowid, title, body) VALUES (?, ?, ?)",
            (cursor.lastrowid, index_terms("旧的经济"), index_terms("去年的经济增长很慢")),
        )

    async def search(store: Store) -> dict[str, list[str]]:
        found = {}
        for query in ("经济增长", "经济", "经", "增长很", "很快", "很慢", "济很"):
            found[query] = sorted(h.article_id for h in await store.search_articles(ArticleQuery(text=query)))
        return found

    assert on_store(path, search) == {
        "经济增长": ["n1", "o1"],
        "经济": ["n1", "o1"],
        "经": ["n1", "o1"],
        "增长很": ["n1", "o1"],
        "很快": ["n1"],
        "很慢": ["o1"],
        "济很": [],
    }
