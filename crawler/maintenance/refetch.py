"""`crawler refetch`: fetch archived articles' pages again and rewrite their files in place, after a selector fix
or for an article archived from the feed's teaser.

The stages are the pipeline's (fetch with the feed's settings, then article.stage_article, then an atomic rename);
what differs is that the article keeps its id, its path and its date: the file is replaced, never moved, and the
state's body key follows it. A page that cannot be had, or in which no body is found, leaves the file as it is.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from crawler.archive import files as archive
from crawler.config.settings import Config, FeedConfig
from crawler.errors import CrawlerError
from crawler.feeds.parse import Entry
from crawler.fetch import Fetcher, FetchError, Request, not_html, private_addresses_allowed
from crawler.identity.urls import normalize_url
from crawler.maintenance.reindex import read_article
from crawler.pipeline.compose import FetchedPage, Staged, stage_article
from crawler.pipeline.refresh import wants_page
from crawler.store import describe_state, open_store, store_location
from crawler.store.base import PendingEntry, Store, StoreError

_ID_RE = re.compile(r"[0-9a-f]{16}\Z")

REWRITTEN = "rewritten"
UNCHANGED = "unchanged"
FAILED = "failed"


class RefetchError(CrawlerError):
    """What to refetch cannot be found (an id or URL not archived, a feed with no articles); one line."""


@dataclass(frozen=True)
class Selection:
    """What `crawler refetch` is asked for: one article (by id or URL), or a feed's articles (since a moment)."""

    article: str | None = None
    feed: str | None = None
    since: datetime | None = None


@dataclass(frozen=True)
class Refetched:
    """What became of one article."""

    article_id: str
    path: str
    feed: str | None
    url: str | None
    status: str  # REWRITTEN, UNCHANGED or FAILED
    detail: str | None = None  # why it failed


@dataclass(frozen=True)
class _Target:
    article_id: str
    path: str
    entry: PendingEntry | None  # the entry it was archived from, in a feed still in feeds.yaml
    feed: FeedConfig | None


async def refetch(config: Config, selection: Selection) -> list[Refetched]:
    """Refetch the selected articles and rewrite each file in place; raise RefetchError when nothing matches."""
    if not await store_location(config).exists():
        raise StoreError(
            f"{describe_state(config)}: no state database, so no record of what each article was archived from"
        )
    store = await open_store(config)
    try:
        targets = await _targets(config, store, selection)
        return await _refetch_all(config, store, targets)
    finally:
        await store.close()


async def _targets(config: Config, store: Store, selection: Selection) -> list[_Target]:
    if selection.article is not None:
        article_id = await _resolve(store, selection.article)
        path = await store.article_path(article_id)
        if path is None:
            raise RefetchError(f"{selection.article}: not archived")
        return [await _target(config, store, article_id, path)]
    targets: list[_Target] = []
    for article in await store.articles():
        if selection.feed not in article.feeds:
            continue
        if selection.since is not None:
            found = read_article(config.archive / article.path)
            if found is None or found.date is None or found.date < selection.since:
                continue
        targets.append(await _target(config, store, article.article_id, article.path))
    if not targets:
        since = f" since {selection.since:%Y-%m-%d %H:%M}" if selection.since else ""
        raise RefetchError(f"feed '{selection.feed}': no archived articles{since}")
    return targets


async def _resolve(store: Store, wanted: str) -> str:
    """The article id named by `wanted`: an id as it is, a URL by the state's record of the URLs articles have."""
    if _ID_RE.match(wanted):
        return wanted
    try:
        found = await store.article_for_url(normalize_url(wanted))
    except ValueError:
        found = None
    if found is None:
        raise RefetchError(f"{wanted}: not archived (no article is known by this URL)")
    return found


async def _target(config: Config, store: Store, article_id: str, path: str) -> _Target:
    for entry in await store.entries_of(article_id):
        feed = config.feed(entry.feed)
        if feed is not None:
            return _Target(article_id, path, entry, feed)
    return _Target(article_id, path, None, None)


async def _refetch_all(config: Config, store: Store, targets: list[_Target]) -> list[Refetched]:
    async with Fetcher(config.http, config.politeness) as fetcher:
        return list(await asyncio.gather(*(_refetch_one(config, store, fetcher, t) for t in targets)))


async def _refetch_one(config: Config, store: Store, fetcher: Fetcher, target: _Target) -> Refetched:
    if target.entry is None or target.feed is None:
        why = "no feed in feeds.yaml listed it, so there are no settings to fetch it with"
        return Refetched(target.article_id, target.path, None, None, FAILED, why)
    feed, item = target.feed, target.entry
    entry = Entry.from_json(item.payload)
    done = Refetched(target.article_id, target.path, feed.name, entry.link, UNCHANGED)
    archived = read_article(config.archive / target.path)
    if archived is None:
        return replace(done, status=FAILED, detail="the file is gone or not an archive file (see check --archive)")
    # The archived date wins over anything the page says now: the file keeps its date, so it keeps its place.
    entry = replace(entry, published=archived.date or entry.published, updated=None)
    page: FetchedPage | None = None
    final_url = entry.link or feed.url
    if entry.link and wants_page(feed, entry):
        try:
            allowed = await private_addresses_allowed(feed.url, config.private_allowed(feed))
            request = Request(
                url=entry.link, headers=feed.headers, proxy=feed.proxy, check_robots=True, allow_private=allowed
            )
            response = await fetcher.get(request)
        except FetchError as exc:
            return replace(done, status=FAILED, detail=f"{exc.reason}; file kept")
        refused = not_html(response.content_type, response.content)
        if refused is not None:
            return replace(done, status=FAILED, detail=f"{refused}; file kept")
        final_url = response.final_url
        page = FetchedPage(response.content, response.content_type, response.final_url)
    try:
        staged = await asyncio.to_thread(
            stage_article, config.archive, feed, entry, page, final_url, item.first_seen, config.archive_timezone
        )
    except archive.ArchiveError as exc:
        return replace(done, status=FAILED, detail=str(exc))
    replaced = await asyncio.to_thread(_replace_file, config, target, staged, done)
    if replaced.status == REWRITTEN:
        await store.record_refetched(target.article_id, staged.body_hash, staged.names, staged.search)
    return replaced


def _replace_file(config: Config, target: _Target, staged: Staged, done: Refetched) -> Refetched:
    temp = Path(staged.temp)
    if staged.extract_error is not None:
        # The pipeline would fall back to the feed's text; here that would overwrite a body with a teaser.
        archive.discard(temp)
        return replace(done, status=FAILED, detail=f"{staged.extract_error}; file kept")
    current = config.archive / target.path
    if temp.read_bytes() == current.read_bytes():
        archive.discard(temp)
        return done
    # Into the recorded place even if the page now names another canonical URL: the article keeps its id.
    archive.commit(temp, config.archive, Path(target.path))
    return replace(done, status=REWRITTEN)
