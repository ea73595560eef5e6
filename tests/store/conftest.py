"""The backends the store contract runs against. Each gives a location in a test's own folder (SQLite) or database
(PostgreSQL: a real server, tests/support/postgres.py) and the two things only a backend knows how to do from
outside: lose the database behind an open store's back, and hold its write lock from another connection (on a
thread the test controls)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from crawler.store.base import Store, StoreLocation
from crawler.store.sqlite import SqliteLocation

BACKENDS = ["sqlite", "postgres"]


@dataclass(frozen=True)
class Backend:
    """One backend under test."""

    name: str
    location: StoreLocation
    lose: Callable[[], None]  # the database goes away (deleted, or another put in its place) while a store has it
    write_locked: Callable[[], AbstractContextManager[None]]  # another connection holds the write lock meanwhile


def _sqlite(folder: Path) -> Backend:
    path = folder / "state.db"

    def lose() -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    @contextmanager
    def write_locked() -> Iterator[None]:
        locked, release, done = threading.Event(), threading.Event(), threading.Event()
        failure: list[BaseException] = []

        def hold() -> None:
            try:
                db = sqlite3.connect(path, isolation_level=None, timeout=10)
                try:
                    db.execute("BEGIN IMMEDIATE")
                    locked.set()
                    release.wait(60)
                    db.execute("ROLLBACK")
                finally:
                    db.close()
            except BaseException as exc:  # handed to the test, which fails with it
                failure.append(exc)
                locked.set()
            finally:
                done.set()

        threading.Thread(target=hold, name="lock-holder", daemon=True).start()
        locked.wait(30)
        if failure:
            raise failure[0]
        try:
            yield
        finally:
            release.set()
            done.wait(30)

    return Backend("sqlite", SqliteLocation(path), lose, write_locked)


def _postgres(url: str) -> Backend:
    import psycopg

    from crawler.store.postgres_location import PostgresLocation

    def lose() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")

    @contextmanager
    def write_locked() -> Iterator[None]:
        # A transaction holding the feeds table (made by the store the test opened) in EXCLUSIVE mode: every write
        # to it waits until the holder ends.
        with psycopg.connect(url) as conn:
            conn.execute("LOCK TABLE feeds IN EXCLUSIVE MODE")
            try:
                yield
            finally:
                conn.rollback()

    return Backend("postgres", PostgresLocation(url), lose, write_locked)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """Each backend in turn, in a fresh place."""
    if request.param == "sqlite":
        return _sqlite(tmp_path)
    if request.param == "postgres":
        return _postgres(request.getfixturevalue("postgres_url"))
    raise AssertionError(f"unknown backend {request.param}")


@pytest.fixture
async def store(backend: Backend) -> AsyncIterator[Store]:
    """A fresh, empty store of the backend under test."""
    opened = await backend.location.open()
    try:
        yield opened
    finally:
        await opened.close()
