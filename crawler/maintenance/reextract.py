"""`crawler reextract`: rebuild archived files from their raw records (`raw: warc`) with today's config and
extractor, without the network. The rewrite is refetch's (crawler.maintenance.refetch.rewrite: same id, same path,
same date, replaced atomically, the state's body key following); only the page's source differs: the response
record the article was made from, read back from its WARC file. An article made from the feed's own text is rebuilt
from the feed item kept in the state; one that needed its page and has no raw record (archived before `raw: warc`)
is left as it is, and says so. With `images: keep`, the rebuilt file points at the images already kept (by URL, in
the state); one never kept stays remote and is recorded missing, for the next poll to fetch.
"""

from __future__ import annotations

import asyncio
import functools

from crawler.archive.files import ArchiveError
from crawler.archive.warcread import read_page
from crawler.config.settings import Config, FeedConfig
from crawler.feeds.parse import Entry
from crawler.fetch import not_html
from crawler.maintenance.refetch import Refetched, Selection, Source, Target, rewrite, targets
from crawler.pipeline.article import wants_page
from crawler.pipeline.compose import FetchedPage
from crawler.pipeline.images import Images
from crawler.store import open_store, store_location
from crawler.store.base import Store, StoreError


async def reextract(config: Config, selection: Selection) -> list[Refetched]:
    """Rebuild the selected articles from their raw records; raise RefetchError when nothing matches."""
    if not await store_location(config).exists():
        raise StoreError(f"{config.state}: no state database, so no record of what each article was made from")
    store = await open_store(config)
    try:
        chosen = await targets(config, store, selection)
        source = functools.partial(_kept, config, store)
        images = Images(config, None, store)  # no fetcher: images already kept are pointed at, none is fetched
        # One at a time: each is CPU work in a thread, and the order of the summary follows the selection.
        return [await rewrite(config, store, target, source, images) for target in chosen]
    finally:
        await store.close()


async def _kept(config: Config, store: Store, feed: FeedConfig, entry: Entry, target: Target) -> Source | str:
    """The page as it was received, from the article's raw record; or the feed's text for an article made from it."""
    record = await store.raw_record(target.article_id)
    if record is None:
        if entry.link and wants_page(feed, entry):
            return "no raw record (archived without raw: warc); `crawler refetch` fetches the page again; file kept"
        return Source(None, entry.link or feed.url)
    try:
        page = await asyncio.to_thread(read_page, config.archive, record)
    except ArchiveError as exc:
        return f"{exc}; file kept"
    refused = not_html(page.content_type, page.content)
    if refused is not None:
        return f"{refused}; file kept"
    return Source(FetchedPage(page.content, page.content_type, page.url), page.url)
