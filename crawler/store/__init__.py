"""The store: the crawler's state of feeds, entries and archived articles, behind one interface (store/base.py).

`open_store` is the only place a store is built: every command, the daemon and the tests open theirs here, from the
config; `store_location` is the one branch between the backends (an SQLite file, or a PostgreSQL URL).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from crawler.config.settings import Config
from crawler.store.base import Store, StoreError, StoreLocation
from crawler.store.postgres_url import without_password
from crawler.store.sqlite import SqliteLocation


def store_location(config: Config) -> StoreLocation:
    """Where the config's state lives: `state:` in feeds.yaml, an SQLite file or a PostgreSQL database."""
    if config.state_url is None:
        return SqliteLocation(config.state)
    try:
        # Imported only here: psycopg is an optional extra, and SQLite users never load it.
        from crawler.store.postgres_location import PostgresLocation
    except ImportError as exc:
        raise StoreError(
            f"state: a PostgreSQL database needs psycopg ({exc.name} is missing): pip install 'feed-crawler[postgres]'"
        ) from None
    return PostgresLocation(config.state_url, lease=config.lease)


async def open_store(config: Config, *, read_only: bool = False) -> Store:
    """Open the config's store, creating it (and applying the migrations still due) unless `read_only` (then every
    write fails with StoreError); raise StoreError when it cannot be opened. The caller awaits `close()` when done."""
    return await store_location(config).open(read_only=read_only)


def describe_state(config: Config) -> str:
    """The config's state as messages name it (a path, or the URL without its password)."""
    if config.state_url is None:
        return str(config.state)
    return without_password(config.state_url)


def scratch_config(config: Config, folder: Path) -> Config:
    """`config` with its state in `folder` (an empty, throw-away SQLite store: `fetch --dry-run` without a
    database, whatever the config's backend)."""
    return replace(config, state=folder / "state.db", state_url=None)
