"""`crawler fetch --dry-run`: poll a feed and say what a real fetch would archive, writing nothing.

The runner opens the state database read-only (a write would fail, never happen); no conditional-GET state is saved,
no temp file is made, and no article page is fetched: what is listed comes from the feeds alone, so a page that
would turn out to be an article already archived under another URL is still listed.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from crawler.config.settings import FeedConfig
from crawler.feeds.parse import Entry, FeedError, parse_feed
from crawler.fetch import Fetcher, FetchError
from crawler.identity import keys as identity
from crawler.identity.urls import normalize_url
from crawler.pipeline.feedrequest import feed_request, state_for, unchanged
from crawler.store.base import Store


@dataclass(frozen=True)
class WouldArchive:
    """What `fetch --dry-run` found for one feed: the entries a real fetch would archive, or why the feed failed."""

    feed: str
    entries: tuple[Entry, ...]
    error: str | None = None


async def would_archive(store: Store, fetcher: Fetcher, feed: FeedConfig) -> WouldArchive:
    """Poll `feed` as a refresh does and list the entries it would archive (new ones and those still pending),
    fetching no article page and recording nothing."""
    state = state_for(feed, await store.feed_state(feed.name))
    if state.gone:  # as a refresh: a feed that answered 410 is not polled again
        return WouldArchive(feed.name, (), f"feed '{feed.name}': {feed.url}: gone (HTTP 410); remove it")
    request, _unconditional = feed_request(feed, state, time.time())
    try:
        response = await fetcher.get(request)
        parsed = None
        if not unchanged(state, response):
            parsed = await asyncio.to_thread(parse_feed, response.content, response.final_url, response.content_type)
    except (FetchError, FeedError) as exc:
        reason = exc.reason if isinstance(exc, FetchError) else str(exc)
        return WouldArchive(feed.name, (), f"feed '{feed.name}': {feed.url}: {reason}")
    listed = [Entry.from_json(item.payload) for item in await store.pending(feed.name)]
    if parsed is not None:
        stored = await store.known_items(feed.name, (entry.key for entry in parsed.entries))
        keyed = identity.assign_keys(parsed.entries, stored).entries
        known = await store.known_keys(feed.name, (entry.key for entry in keyed))
        listed.extend(entry for entry in keyed if entry.key not in known)
    # An entry whose link names an article already archived would be recorded as another name of it.
    new = [e for e in listed if not e.link or await store.article_for_url(normalize_url(e.link)) is None]
    return WouldArchive(feed.name, tuple(new))
