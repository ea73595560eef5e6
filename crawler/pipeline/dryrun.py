"""`crawler fetch --dry-run`: poll the feeds and say what a real fetch would archive, writing nothing.

The state database is opened read-only (a write would fail, never happen), no conditional-GET state is saved, no
temp file is made, and no article page is fetched: what is listed comes from the feeds alone, so a page that would
turn out to be an article already archived under another URL is still listed.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Sequence
from pathlib import Path

from crawler.config.settings import Config, FeedConfig
from crawler.fetch import Fetcher
from crawler.pipeline.poll import Pipeline, WouldArchive
from crawler.store import open_store, scratch_config, store_location


async def dry_run(config: Config, feeds: Sequence[FeedConfig]) -> list[WouldArchive]:
    """Poll `feeds` once and list, per feed, the entries a real `fetch` would archive."""
    with tempfile.TemporaryDirectory(prefix="crawler-dry-run-") as scratch:
        # No state yet: an empty one outside the working folder, so that not even an empty database is left.
        exists = await store_location(config).exists()
        store = (
            await open_store(config, read_only=True)
            if exists
            else await open_store(scratch_config(config, Path(scratch)))
        )
        try:
            async with Fetcher(config.http, config.politeness) as fetcher:
                pipeline = Pipeline(config, store, fetcher)
                return list(await asyncio.gather(*(pipeline.would_archive(feed) for feed in feeds)))
        finally:
            await store.close()
