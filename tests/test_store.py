"""The state database: what it keeps, and databases made by earlier versions."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from crawler.store.base import FeedState, NewEntry, Store
from tests.support.store import on_store

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
