"""`images: keep`: an archive file's images fetched through the crawler's one Fetcher (the same per-host caps and
delays, robots.txt, size limit and address policy as pages), kept once by content (crawler.archive.assets), and the
file pointed at them (crawler.render.images). An image that cannot be had keeps its remote URL; the caller records
it, and a later poll tries it again (`retry`).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from crawler.archive import assets
from crawler.archive.files import ArchiveError, write_atomic
from crawler.config.settings import Config, FeedConfig
from crawler.fetch import Fetcher, FetchError, Request
from crawler.render.images import image_urls, point_at
from crawler.store.base import Store

log = logging.getLogger("crawler")

REMEMBERED = 10_000  # image URLs whose kept name is remembered: a site's logo is fetched once per run, not per article
RETRIES_PER_POLL = 20  # articles whose missing images a poll tries again


@dataclass(frozen=True)
class Kept:
    """A file's text pointed at the images kept, and the image URLs that could not be had."""

    text: str
    missing: tuple[str, ...]


class Images:
    """Keeps images for the pipeline; one per run, sharing the run's Fetcher and store. Without a fetcher
    (`crawler reextract`) only images already kept are pointed at."""

    def __init__(self, config: Config, fetcher: Fetcher | None, store: Store) -> None:
        self._config = config
        self._fetcher = fetcher
        self._store = store
        self._known: OrderedDict[str, str] = OrderedDict()

    def reconfigure(self, config: Config) -> None:
        """Use a reloaded config (URL prefix, size limit) from now on."""
        self._config = config

    async def keep(self, feed: FeedConfig, text: str, allow_private: bool) -> Kept:
        """`text` with every image it shows kept and pointed at; the images that could not be had listed."""
        prefix = self._config.assets.url
        urls = image_urls(text, prefix)
        if not urls:
            return Kept(text, ())
        stored = await self._store.kept_images([url for url in urls if url not in self._known])
        for url, name in stored.items():
            if (self._config.archive / name).is_file():
                self._remember(url, name)
        names = await asyncio.gather(*(self._one(feed, url, allow_private) for url in urls))
        local = {
            url: prefix + name.removeprefix(f"{assets.FOLDER}/") for url, name in zip(urls, names, strict=True) if name
        }
        missing = tuple(url for url, name in zip(urls, names, strict=True) if name is None)
        return Kept(point_at(text, local), missing)

    async def keep_staged(self, feed: FeedConfig, temp: Path, allow_private: bool) -> tuple[str, ...]:
        """Keep the images of a staged file (a temp file no reader sees yet, rewritten where it is, flushed to disk
        before its commit); return the image URLs still missing."""
        text = await asyncio.to_thread(temp.read_text, encoding="utf-8")
        kept = await self.keep(feed, text, allow_private)
        if kept.text != text:
            await asyncio.to_thread(_overwrite, temp, kept.text)
        return kept.missing

    async def missing_in(self, relative: str) -> int:
        """How many remote images an archived file still shows (0 when it is gone)."""
        try:
            text = await asyncio.to_thread((self._config.archive / relative).read_text, encoding="utf-8")
        except OSError:
            return 0
        return len(image_urls(text, self._config.assets.url))

    async def keep_archived(self, feed: FeedConfig, relative: str, allow_private: bool) -> tuple[str, ...] | None:
        """Try an archived file's missing images again and rewrite it atomically if any was kept; return the image
        URLs still missing, or None when the file is gone."""
        path = self._config.archive / relative
        try:
            text = await asyncio.to_thread(path.read_text, encoding="utf-8")
        except OSError:
            return None
        kept = await self.keep(feed, text, allow_private)
        if kept.text != text:
            await asyncio.to_thread(write_atomic, self._config.archive, Path(relative), kept.text)
        return kept.missing

    async def _one(self, feed: FeedConfig, url: str, allow_private: bool) -> str | None:
        known = self._known.get(url)
        if known is not None:
            self._known.move_to_end(url)
            return known
        if self._fetcher is None:
            return None
        try:
            response = await self._fetcher.get(
                Request(url=url, headers=feed.headers, proxy=feed.proxy, check_robots=True, allow_private=allow_private)
            )
        except FetchError as exc:
            log.info("image not kept", extra={"feed": feed.name, "url": url, "error": exc.reason})
            return None
        ext = assets.extension(response.content_type)
        if ext is None or not response.content or len(response.content) > self._config.assets.max_bytes:
            log.info("image not kept", extra={"feed": feed.name, "url": url, "type": response.content_type})
            return None
        try:
            name = await asyncio.to_thread(assets.keep, self._config.archive, response.content, ext)
        except ArchiveError as exc:
            log.warning("image not kept", extra={"feed": feed.name, "url": url, "error": str(exc)})
            return None
        await self._store.record_kept_image(url, name)
        self._remember(url, name)
        return name

    def _remember(self, url: str, name: str) -> None:
        self._known[url] = name
        if len(self._known) > REMEMBERED:
            self._known.popitem(last=False)


def _overwrite(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


async def keep_for_article(
    images: Images, store: Store, feed: FeedConfig, temp: Path, article_id: str, allow_private: bool
) -> int:
    """Keep a staged article's images before its commit and record those missing, for a later poll; return how many
    are missing."""
    missing = await images.keep_staged(feed, temp, allow_private)
    await store.record_missing_images(feed.name, article_id, missing)
    return len(missing)


async def retry(images: Images, store: Store, feed: FeedConfig, allow_private: bool) -> int:
    """Try the missing images of the feed's longest-waiting articles again (RETRIES_PER_POLL of them), rewriting
    each file that gains one; return how many images were kept now."""
    kept = 0
    for article_id, path in await store.articles_missing_images(feed.name, RETRIES_PER_POLL):
        before = await images.missing_in(path)
        missing = await images.keep_archived(feed, path, allow_private)
        await store.record_missing_images(feed.name, article_id, missing or ())
        kept += max(0, before - len(missing or ()))
    return kept
