"""Tests that set up or read the state database of a work folder directly, through the Store interface."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from crawler.store.base import Store
from crawler.store.sqlite import SqliteLocation

T = TypeVar("T")


def on_store(path: Path, use: Callable[[Store], Awaitable[T]]) -> T:
    """Open the SQLite state database at `path` (creating it), await `use(store)`, close it; return what use gave."""

    async def run() -> T:
        store = await SqliteLocation(path).open()
        try:
            return await use(store)
        finally:
            await store.close()

    return asyncio.run(run())


async def nothing(store: Store) -> None:
    """For `on_store(path, nothing)`: a fresh, empty database made at `path`."""
