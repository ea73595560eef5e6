"""The PostgreSQL backend's connection type and its errors as messages."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import AsyncConnection, errors

Conn = AsyncConnection[tuple[Any, ...]]  # a connection of the store's pool, rows as tuples


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
