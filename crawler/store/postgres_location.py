"""`PostgresLocation`: a PostgreSQL state database before it is opened (`state: postgresql://USER@HOST:PORT/DB`).

Opening it applies the schema migrations still due (under pg_advisory_lock: several nodes starting at once apply
each step once) and then builds the store's connection pool. The database itself must exist (`createdb`): making
one needs rights a crawler should not hold.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from crawler.store import postgres_schema
from crawler.store.base import StoreError
from crawler.store.migrations import SchemaStatus
from crawler.store.owners import owner
from crawler.store.postgres import (
    CONNECT_TIMEOUT,
    LOCK_TIMEOUT_MS,
    POOL_SIZE,
    PostgresStore,
)
from crawler.store.postgres_rows import Conn, explain
from crawler.store.postgres_url import without_password


class PostgresLocation:
    """A PostgreSQL database named by a URL; the password, if any, comes from the URL, PGPASSWORD or ~/.pgpass."""

    def __init__(self, url: str, *, pool_size: int = POOL_SIZE, lease: float = 60.0, node: str | None = None) -> None:
        self.url = url
        self._node = node  # None: this process (tests open several nodes in one)
        self._pool_size = pool_size
        self._lease = lease

    def describe(self) -> str:
        """The URL without its password, as messages name the database."""
        return without_password(self.url)

    @contextlib.asynccontextmanager
    async def _connect(self, *, read_only: bool = False) -> AsyncIterator[Conn]:
        try:
            conn = await AsyncConnection.connect(self.url, autocommit=True, **self._session(read_only))
        except psycopg.Error as exc:
            raise StoreError(_unreachable(self.describe(), exc)) from None
        try:
            async with conn:
                yield conn
        except psycopg.Error as exc:
            raise StoreError(explain(self.describe(), exc)) from None

    def _session(self, read_only: bool) -> dict[str, Any]:
        """Connection settings: how long to wait to connect and for a row lock; read-only sessions refuse writes;
        the node's id as the application name (pg_stat_activity then shows which node holds what)."""
        options = f"-c lock_timeout={LOCK_TIMEOUT_MS}"
        if read_only:
            options += " -c default_transaction_read_only=on"
        name = f"crawler {self._node or owner()}"[:63]
        return {"connect_timeout": CONNECT_TIMEOUT, "options": options, "application_name": name}

    async def exists(self) -> bool:
        """Whether the crawler's tables are in the database (opening creates them where they are not)."""
        async with self._connect(read_only=True) as conn:
            cursor = await conn.execute("SELECT to_regclass('meta') IS NOT NULL")
            row = await cursor.fetchone()
        return bool(row and row[0])

    async def problem(self) -> str | None:
        """Nothing to find from outside: PostgreSQL keeps its own files whole (a schema newer than this crawler's
        is refused when the store is opened)."""
        return None

    async def set_aside(self) -> str:
        """Move the crawler's tables, whole, into a new schema `crawler_aside_<time>`; return where they went."""
        aside = f"crawler_aside_{time.strftime('%Y%m%dT%H%M%S')}"
        async with self._connect() as conn, conn.transaction():
            await conn.execute(f'CREATE SCHEMA "{aside}"'.encode())
            for table in postgres_schema.TABLES:
                await conn.execute(f'ALTER TABLE IF EXISTS public."{table}" SET SCHEMA "{aside}"'.encode())
        return f"{self.describe()} (schema {aside})"

    async def open(self, *, read_only: bool = False) -> PostgresStore:
        """Apply the migrations still due (unless `read_only`), then open the store's pool; raise StoreError when
        the database cannot be reached or its schema is newer than this crawler's."""
        async with self._connect(read_only=read_only) as conn:
            applied = [] if read_only else await postgres_schema.upgrade(conn, self.describe())
            if read_only and await postgres_schema.current_version(conn) == 0:
                raise StoreError(f"{self.describe()}: no state database there yet (nothing was polled with it)")
            cursor = await conn.execute("SELECT value FROM meta WHERE key = 'instance'")
            row = await cursor.fetchone()
        pool: AsyncConnectionPool[Conn] = AsyncConnectionPool(
            self.url,
            min_size=1,
            max_size=self._pool_size,
            kwargs={"autocommit": True, **self._session(read_only)},
            open=False,
            name="crawler-store",
        )
        try:
            await pool.open(wait=True, timeout=CONNECT_TIMEOUT)
        except PoolTimeout:
            await pool.close()
            raise StoreError(f"{self.describe()}: cannot open connections to the state database") from None
        store = PostgresStore(pool, self.describe(), str(row[0]) if row else "", self._lease, self._node)
        store.applied = applied
        return store

    async def schema_status(self) -> SchemaStatus:
        """Where the database's schema stands (version 0 before the crawler's tables are made); changes nothing."""
        async with self._connect(read_only=True) as conn:
            return await postgres_schema.schema_status(conn, self.describe())

    async def upgrade(self) -> list[str]:
        """Apply the migrations still due; return "N name" of each step applied."""
        async with self._connect() as conn:
            return await postgres_schema.upgrade(conn, self.describe())


def _unreachable(where: str, exc: psycopg.Error) -> str:
    text = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
    if "does not exist" in text and "database" in text:
        return f"{where}: {text}; create it first (`createdb`), the crawler makes its tables itself"
    if "password" in text:
        return f"{where}: {text}; give the password in PGPASSWORD or ~/.pgpass (or the URL)"
    return f"{where}: cannot connect to the state database: {text}"
