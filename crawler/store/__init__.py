"""The store: the crawler's state of feeds, entries and archived articles, behind one interface (store/base.py).

`open_store` is the only place a store is built: every command, the daemon and the tests open theirs here, from the
config, so that a second backend is one branch in `store_location`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from crawler.config.settings import Config
from crawler.store.base import Store, StoreLocation
from crawler.store.sqlite import SqliteLocation


def store_location(config: Config) -> StoreLocation:
    """Where the config's state lives (today always an SQLite file, `state:` in feeds.yaml)."""
    return SqliteLocation(config.state)


async def open_store(config: Config, *, read_only: bool = False) -> Store:
    """Open the config's store, creating it unless `read_only` (then every write fails with StoreError); raise
    StoreError when it cannot be opened. The caller awaits `close()` when done."""
    return await store_location(config).open(read_only=read_only)


def scratch_config(config: Config, folder: Path) -> Config:
    """`config` with its state in `folder` (an empty, throw-away store: `fetch --dry-run` without a database)."""
    return replace(config, state=folder / "state.db")
