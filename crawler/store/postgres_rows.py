"""Rows of the PostgreSQL backend to and from the store's dataclasses, and its errors as messages."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import AsyncConnection, errors

from crawler.store.base import FeedState, PendingEntry

Conn = AsyncConnection[tuple[Any, ...]]  # a connection of the store's pool, rows as tuples

FEED_COLUMN_LIST = (
    "name",
    "url",
    "etag",
    "last_modified",
    "body_hash",
    "last_poll",
    "last_success",
    "next_poll",
    "last_unconditional",
    "failures",
    "last_error",
    "gone",
    "moved_to",
    "ttl",
)
FEED_COLUMNS = ", ".join(FEED_COLUMN_LIST)


def feed_values(state: FeedState) -> tuple[object, ...]:
    """A feed's state as the values of FEED_COLUMNS."""
    return (
        state.name,
        state.url,
        state.etag,
        state.last_modified,
        state.body_hash,
        state.last_poll,
        state.last_success,
        state.next_poll,
        state.last_unconditional,
        state.failures,
        state.last_error,
        state.gone,
        state.moved_to,
        state.ttl,
    )


def feed_state_of(row: tuple[Any, ...]) -> FeedState:
    """A row of FEED_COLUMNS as a feed's state."""
    return FeedState(
        name=str(row[0]),
        url=opt(row[1]),
        etag=opt(row[2]),
        last_modified=opt(row[3]),
        body_hash=opt(row[4]),
        last_poll=row[5],
        last_success=row[6],
        next_poll=row[7],
        last_unconditional=row[8],
        failures=int(row[9]),
        last_error=opt(row[10]),
        gone=bool(row[11]),
        moved_to=opt(row[12]),
        ttl=row[13],
    )


def pending_of(feed: str, r: tuple[Any, ...]) -> PendingEntry:
    """(key, link, payload, first_seen, attempts, last_error) as a pending entry of `feed`."""
    return PendingEntry(feed, str(r[0]), opt(r[1]), str(r[2]), float(r[3]), int(r[4]), opt(r[5]))


def opt(value: object) -> str | None:
    """The value as text, None kept."""
    return None if value is None else str(value)


def explain(where: str, exc: psycopg.Error) -> str:
    """One line an operator can act on, for a database error."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, errors.ReadOnlySqlTransaction):
        return f"{where}: the state database was opened read-only"
    if isinstance(exc, errors.LockNotAvailable):
        return f"{where}: the state database is locked by another process (a long transaction or migration?)"
    if isinstance(exc, psycopg.OperationalError):
        return f"{where}: cannot use the state database: {text}"
    return f"{where}: state database error: {text}"
