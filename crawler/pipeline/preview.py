"""`crawler extract`: fetch one page and build the archive file it would give, writing nothing (for trying
selectors); the runner gives it its fetcher."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

from crawler.config.settings import Config, FeedConfig
from crawler.extract.page import Extracted
from crawler.feeds.parse import Entry
from crawler.fetch import Fetcher, Request
from crawler.pipeline.compose import Composed, FetchedPage, compose, extract_fetched, place


@dataclass(frozen=True)
class Preview:
    """What `crawler extract` shows: the article as it would be archived, and how its body was found."""

    composed: Composed
    page: Extracted
    final_url: str
    relative_path: str


async def preview(
    config: Config, fetcher: Fetcher, url: str, body: str | None = None, remove: Sequence[str] = ()
) -> Preview:
    """Fetch one page and build the archive file it would give, writing nothing (for trying selectors)."""
    feed = FeedConfig(name="extract", url=url, body=body, remove=tuple(remove))
    entry = Entry(
        key=url,
        guid=None,
        link=url,
        title=None,
        author=None,
        categories=(),
        published=None,
        updated=None,
        content=None,
        image=None,
    )
    # The operator named this URL on the command line: no robots.txt or address policy stands between.
    response = await fetcher.get(Request(url=url, headers=feed.headers))
    fetched = FetchedPage(response.content, response.content_type, response.final_url)
    page = await asyncio.to_thread(extract_fetched, feed, fetched)
    composed = compose(feed, entry, page, response.final_url, time.time())
    return Preview(composed, page, response.final_url, place(feed, composed, config.archive_timezone).as_posix())
