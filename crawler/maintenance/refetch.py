"""`crawler refetch`: fetch archived articles' pages again and rewrite their files in place, after a selector fix
or for an article archived from the feed's teaser.

The stages are the pipeline's (fetch with the feed's settings, then article.stage_article, then an atomic rename);
what differs is that the article keeps its id, its path and its date: the file is replaced, never moved, and the
state's body key follows it. A page that cannot be had, or in which no body is found, leaves the file as it is.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import yaml

from crawler.archive import files as archive
from crawler.config.settings import Config, FeedConfig
from crawler.errors import CrawlerError
from crawler.feeds.parse import Entry
from crawler.fetch import Fetcher, FetchError, Request, not_html, private_addresses_allowed
from crawler.identity.urls import normalize_url
from crawler.maintenance.reindex import read_article
from crawler.pipeline.article import wants_page
from crawler.pipeline.compose import FetchedPage, Staged, stage_article
from crawler.pipeline.images import Images, keep_for_article
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
    """What `crawler refetch` (or `reextract`) is asked for: articles by id or URL, or a feed's articles, or all of
    them (`every`), since a moment."""

    article: str | None = None
    feed: str | None = None
    since: datetime | None = None
    articles: tuple[str, ...] = ()
    every: bool = False


@dataclass(frozen=True)
class Refetched:
    """What became of one article."""

    article_id: str
    path: str
    feed: str | None
    url: str | None
    status: str  # REWRITTEN, UNCHANGED or FAILED
    detail: str | None = None  # why it failed
    changed: tuple[str, ...] = ()  # when REWRITTEN: the front-matter fields that changed, and `body`


@dataclass(frozen=True)
class Source:
    """Where a rewrite's page came from: the page (None: the feed's own text is the body) and its final URL."""

    page: FetchedPage | None
    final_url: str


# Gives the page an article is rebuilt from, or a line saying why there is none (the file is then kept).
PageSource = Callable[[FeedConfig, Entry, "Target"], Awaitable[Source | str]]


@dataclass(frozen=True)
class Target:
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
        return await _refetch_all(config, store, await targets(config, store, selection))
    finally:
        await store.close()


async def targets(config: Config, store: Store, selection: Selection) -> list[Target]:
    """The archived articles `selection` names; RefetchError when it names none, or an article not archived."""
    named = ((selection.article,) if selection.article is not None else ()) + selection.articles
    if named:
        chosen: list[Target] = []
        for wanted in named:
            article_id = await _resolve(store, wanted)
            path = await store.article_path(article_id)
            if path is None:
                raise RefetchError(f"{wanted}: not archived")
            chosen.append(await _target(config, store, article_id, path))
        return chosen
    every: list[Target] = []
    for article in await store.articles():
        if not selection.every and selection.feed not in article.feeds:
            continue
        if selection.since is not None:
            found = read_article(config.archive / article.path)
            if found is None or found.date is None or found.date < selection.since:
                continue
        every.append(await _target(config, store, article.article_id, article.path))
    if not every:
        since = f" since {selection.since:%Y-%m-%d %H:%M}" if selection.since else ""
        whose = "the archive" if selection.every else f"feed '{selection.feed}'"
        raise RefetchError(f"{whose}: no archived articles{since}")
    return every


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


async def _target(config: Config, store: Store, article_id: str, path: str) -> Target:
    for entry in await store.entries_of(article_id):
        feed = config.feed(entry.feed)
        if feed is not None:
            return Target(article_id, path, entry, feed)
    return Target(article_id, path, None, None)


async def _refetch_all(config: Config, store: Store, targets: list[Target]) -> list[Refetched]:
    async with Fetcher(config.http, config.politeness) as fetcher:
        fetched = functools.partial(_fetched, config, fetcher)
        images = Images(config, fetcher, store)
        return list(await asyncio.gather(*(rewrite(config, store, t, fetched, images) for t in targets)))


async def _fetched(config: Config, fetcher: Fetcher, feed: FeedConfig, entry: Entry, _target: Target) -> Source | str:
    """The page fetched again with the feed's settings (or none, for an article made from the feed's text)."""
    if not (entry.link and wants_page(feed, entry)):
        return Source(None, entry.link or feed.url)
    try:
        allowed = await private_addresses_allowed(feed.url, config.private_allowed(feed))
        request = Request(
            url=entry.link, headers=feed.headers, proxy=feed.proxy, check_robots=True, allow_private=allowed
        )
        response = await fetcher.get(request)
    except FetchError as exc:
        return f"{exc.reason}; file kept"
    refused = not_html(response.content_type, response.content)
    if refused is not None:
        return f"{refused}; file kept"
    return Source(FetchedPage(response.content, response.content_type, response.final_url), response.final_url)


async def rewrite(
    config: Config, store: Store, target: Target, source: PageSource, images: Images | None = None
) -> Refetched:
    """Rebuild one article's file from the page `source` gives, with today's settings, and replace it in place
    (same id, path and date) when it changed; the state's body key follows it. With `images` and a feed with
    `images: keep`, the new file points at its kept images too."""
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
    found = await source(feed, entry, target)
    if isinstance(found, str):
        return replace(done, status=FAILED, detail=found)
    try:
        staged = await asyncio.to_thread(
            stage_article,
            config.archive,
            feed,
            entry,
            found.page,
            found.final_url,
            item.first_seen,
            config.archive_timezone,
        )
    except archive.ArchiveError as exc:
        return replace(done, status=FAILED, detail=str(exc))
    if images is not None and feed.images == "keep" and staged.extract_error is None:
        allowed = await private_addresses_allowed(feed.url, config.private_allowed(feed))
        await keep_for_article(images, store, feed, Path(staged.temp), target.article_id, allowed)
    replaced = await asyncio.to_thread(_replace_file, config, target, staged, done)
    if replaced.status == REWRITTEN:
        await store.record_refetched(target.article_id, staged.body_hash, staged.names, staged.search)
    return replaced


def _replace_file(config: Config, target: Target, staged: Staged, done: Refetched) -> Refetched:
    temp = Path(staged.temp)
    if staged.extract_error is not None:
        # The pipeline would fall back to the feed's text; here that would overwrite a body with a teaser.
        archive.discard(temp)
        return replace(done, status=FAILED, detail=f"{staged.extract_error}; file kept")
    current = config.archive / target.path
    new, old = temp.read_bytes(), current.read_bytes()
    if new == old:
        archive.discard(temp)
        return done
    # Into the recorded place even if the page now names another canonical URL: the article keeps its id.
    archive.commit(temp, config.archive, Path(target.path))
    return replace(done, status=REWRITTEN, changed=changed_parts(old.decode("utf-8"), new.decode("utf-8")))


def changed_parts(old: str, new: str) -> tuple[str, ...]:
    """What differs between two versions of an archive file: its front matter's fields, by name, and `body`."""
    old_head, old_body = _split(old)
    new_head, new_body = _split(new)
    fields = sorted(key for key in old_head.keys() | new_head.keys() if old_head.get(key) != new_head.get(key))
    return (*fields, "body") if old_body != new_body else tuple(fields)


def _split(text: str) -> tuple[dict[str, object], str]:
    head, _, body = text.removeprefix("---\n").partition("\n---\n")
    try:
        fields = yaml.safe_load(head)
    except yaml.YAMLError:
        fields = None
    return (fields if isinstance(fields, dict) else {}), body
