"""Versioned schema migrations (crawler/store/migrations.py) on both backends: each step applied once, in order,
under the backend's lock; databases made before versions upgraded in place; a database newer than the code refused."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from crawler.store import schema, sqlite_db
from crawler.store.base import FeedState, StoreError
from crawler.store.migrations import Migration, MigrationError, due
from crawler.store.sqlite import SqliteLocation

pytestmark = pytest.mark.anyio


def test_the_steps_due_are_those_after_the_current_version_in_order() -> None:
    steps = (Migration(1, "a", ""), Migration(2, "b", ""), Migration(3, "c", ""))

    assert [s.version for s in due(steps, 0, "db")] == [1, 2, 3]
    assert [s.version for s in due(steps, 2, "db")] == [3]
    assert due(steps, 3, "db") == []


def test_a_database_newer_than_the_code_is_refused_with_what_to_do() -> None:
    with pytest.raises(MigrationError, match="upgrade the crawler"):
        due((Migration(1, "a", ""),), 2, "db")


def test_steps_numbered_with_a_gap_are_a_mistake() -> None:
    with pytest.raises(AssertionError):
        due((Migration(1, "a", ""), Migration(3, "c", "")), 0, "db")


async def test_a_database_made_before_versions_is_upgraded_in_place_with_its_data(tmp_path: Path) -> None:
    # What today's unversioned code leaves: every table, "schema" 2 in meta, and no "migrations" key.
    path = tmp_path / "state.db"
    with sqlite3.connect(path) as db:
        db.executescript(schema.BASE)
        db.execute("INSERT INTO meta (key, value) VALUES ('schema', '2')")
        db.execute("INSERT INTO feeds (name, etag, ttl) VALUES ('kept', '\"v\"', 60)")

    location = SqliteLocation(path)
    assert (await location.schema_status()).current == 0
    applied = await location.upgrade()

    assert [step.split()[0] for step in applied] == [str(s.version) for s in schema.STEPS]
    status = await location.schema_status()
    assert status.up_to_date and status.current == schema.STEPS[-1].version
    store = await location.open()
    try:
        assert (await store.feed_state("kept")).etag == '"v"'
    finally:
        await store.close()
    assert await location.upgrade() == []  # nothing due the second time


async def test_a_database_made_by_the_console_before_versions_keeps_its_history(tmp_path: Path) -> None:
    # What the unversioned web console's code left: its history tables beside the rest, "schema" 2, no "migrations".
    path = tmp_path / "state.db"
    with sqlite3.connect(path) as db:
        db.executescript(schema.BASE + schema.HISTORY_SCHEMA)
        db.execute("INSERT INTO meta (key, value) VALUES ('schema', '2')")
        db.execute("INSERT INTO poll_log (feed, at, outcome, seconds) VALUES ('kept', 1700000000, 'ok', 0.5)")

    applied = await SqliteLocation(path).upgrade()

    assert [step.split()[0] for step in applied] == [str(s.version) for s in schema.STEPS]
    store = await SqliteLocation(path).open()
    try:
        assert [p.feed for p in await store.poll_log("kept", 10)] == ["kept"]
    finally:
        await store.close()


async def test_a_database_from_before_the_console_gets_its_tables_in_place(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = await SqliteLocation(path).open()
    await store.save_feed_state(FeedState(name="kept", etag="v"))
    await store.close()
    with sqlite3.connect(path) as db:  # back to version 2, as the crawler before the console left it
        for table in ("poll_log", "feed_days", "all_days", "article_index", "article_text"):
            db.execute(f"DROP TABLE {table}")
        db.execute("UPDATE meta SET value = '2' WHERE key = 'migrations'")

    assert (await SqliteLocation(path).upgrade())[0].startswith("3 ")

    store = await SqliteLocation(path).open()
    try:
        assert (await store.feed_state("kept")).etag == "v"
        assert await store.poll_log("kept", 10) == []
    finally:
        await store.close()


async def test_a_database_from_before_the_owner_column_gets_it(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE claims (name TEXT PRIMARY KEY, article_id TEXT NOT NULL, feed TEXT NOT NULL, "
            "entry_key TEXT NOT NULL, claimed_at REAL NOT NULL)"
        )

    await SqliteLocation(path).upgrade()

    with sqlite3.connect(path) as db:
        assert "owner" in {row[1] for row in db.execute("PRAGMA table_info(claims)")}


async def test_an_sqlite_database_newer_than_the_code_is_not_opened(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    await SqliteLocation(path).upgrade()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = '999' WHERE key = 'migrations'")

    with pytest.raises(StoreError, match="version 999"):
        await SqliteLocation(path).open()


async def test_processes_opening_a_new_database_at_once_apply_each_step_once(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    stores = await asyncio.gather(*(SqliteLocation(path).open() for _ in range(4)))
    try:
        applied = [step for store in stores for step in store.applied]
        assert sorted(applied) == sorted(f"{s.version} {s.name}" for s in schema.STEPS)
        await stores[0].save_feed_state(FeedState(name="f"))
    finally:
        for store in stores:
            await store.close()


def test_a_new_database_waits_for_another_process_switching_it_to_wal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SQLite does not call its busy handler when the switch to WAL finds another connection holding the write lock
    # (it answers "locked" at once): the open must wait for that lock itself. The other connection lets go the first
    # time the open pauses.
    path = tmp_path / "state.db"
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("CREATE TABLE t (x)")
    other.execute("BEGIN IMMEDIATE")  # as another process creating the database holds it
    pauses: list[float] = []

    def let_go(seconds: float) -> None:
        pauses.append(seconds)
        if other.in_transaction:
            other.execute("COMMIT")

    monkeypatch.setattr(sqlite_db, "pause", let_go)
    db = sqlite_db.SqliteDatabase(path, timeout=30)
    try:
        assert pauses, "the open never met the other connection's lock"
    finally:
        db.close()
    with sqlite3.connect(path) as check:
        assert check.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    other.close()
