"""One feed's pending entries archived (`ArticleArchiver.archive_pending`): for each, fetch the page -> extract ->
deduplicate -> render -> write the file atomically -> record it as archived; the feed's own content stands in for a
page that cannot be had. `pipeline/refresh.py` polls the feed and hands its entries here.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace
from pathlib import Path

from crawler.archive import files as archive
from crawler.archive.commit import Commits, Overtaken
from crawler.archive.warcfiles import WarcWriter
from crawler.config.settings import Config, FeedConfig
from crawler.feeds.parse import Entry
from crawler.fetch import Fetcher, FetchError, Request, not_html, private_addresses_allowed
from crawler.fetch.messages import Exchange
from crawler.identity import dedup
from crawler.identity.dedup import Dedup
from crawler.identity.urls import normalize_url
from crawler.pipeline import images
from crawler.pipeline.compose import FetchedPage, Staged, stage_article
from crawler.pipeline.executor import Executor
from crawler.pipeline.images import Images
from crawler.pipeline.results import EntryOutcome, EntryStatus, Progress
from crawler.render import fixes
from crawler.store.base import ArchivedArticle, PendingEntry, RawRecord, SelectorCheck, Store, StoreError
from crawler.workers import WorkerCrashed

log = logging.getLogger("crawler")

MAX_PAGE_ATTEMPTS = 3  # polls on which a passing page failure is retried before the feed's content is archived
WHOLE_ARTICLE_CHARS = 1200  # `content: auto`: an item this long (in text) is an article, not a teaser
ARTICLES_IN_FLIGHT_PER_FEED = 16  # the fetcher's per-host caps decide the pace; this bounds what waits for them
ARTICLES_IN_FLIGHT_PER_CONNECTION = 2
PRIVATE_CHECK_TTL = 600.0


class ArticleArchiver:
    """Archives feeds' pending entries; one per Pipeline, sharing its store, fetcher and executor, and holding what
    is shared between every feed's articles: the deduplication of those under way, the commit groups, the turns."""

    def __init__(
        self,
        config: Config,
        store: Store,
        fetcher: Fetcher,
        progress: Progress,
        stopping: asyncio.Event,
        workers: Executor,
        raw: WarcWriter | None = None,
        images: Images | None = None,
    ) -> None:
        self._config = config
        self._store = store
        self._fetcher = fetcher
        self._progress = progress
        # Once set, articles not yet started stay pending for the next run; those under way finish.
        self._stopping = stopping
        self._workers = workers
        self._raw = raw  # where `raw: warc` feeds' responses are kept (the runner's; None: nowhere)
        self._images = images  # what keeps `images: keep` feeds' images (None: they stay remote)
        # Articles listed by polls under way and not yet done (archived, failed or deferred): what a drain waits on.
        self.articles_left = 0
        # Whether each entry is a new article: the store's claims, and the pages and commits under way here.
        self._dedup = Dedup(store)
        # Articles of all feeds under way at once: enough to keep every allowed connection busy and the workers fed,
        # few enough that fetched pages waiting for a worker never pile up in memory.
        self._articles = asyncio.Semaphore(ARTICLES_IN_FLIGHT_PER_CONNECTION * config.politeness.max_connections)
        self._private_ok: dict[str, tuple[bool, float]] = {}
        self._selector_checks: dict[str, list[SelectorCheck]] = {}  # feed name -> its poll's checks so far
        self._commits = Commits(config.archive, store, raw)

    def reconfigure(self, config: Config) -> None:
        """Use a reloaded config for the articles that start from now on; those under way finish as they began."""
        old, self._config = self._config, config
        if config.politeness.max_connections != old.politeness.max_connections:
            self._articles = asyncio.Semaphore(ARTICLES_IN_FLIGHT_PER_CONNECTION * config.politeness.max_connections)
        if config.archive != old.archive:
            self._commits = Commits(config.archive, self._store, self._raw)
        if self._images is not None:
            self._images.reconfigure(config)

    def start_checks(self, feed: FeedConfig) -> list[SelectorCheck]:
        """The list this feed's poll collects its body-selector checks in, until `end_checks`."""
        checks: list[SelectorCheck] = []
        self._selector_checks[feed.name] = checks
        return checks

    def end_checks(self, feed: FeedConfig) -> None:
        """The feed's poll is over."""
        self._selector_checks.pop(feed.name, None)

    async def archive_pending(self, feed: FeedConfig) -> list[EntryOutcome]:
        pending = await self._store.pending(feed.name)
        self.articles_left += len(pending)
        self._progress.found(len(pending))
        self._workers.expect(len(pending))
        # Articles wait for a turn here rather than inside the fetcher, where a stop could no longer hold them back.
        turns = asyncio.Semaphore(ARTICLES_IN_FLIGHT_PER_FEED)
        return list(await asyncio.gather(*(self._archive_in_turn(turns, feed, item) for item in pending)))

    async def _archive_in_turn(self, turns: asyncio.Semaphore, feed: FeedConfig, item: PendingEntry) -> EntryOutcome:
        try:
            async with turns, self._articles:
                if self._stopping.is_set():
                    self._progress.done()
                    return EntryOutcome(EntryStatus.DEFERRED)
                return await self._archive_one(feed, item)
        finally:
            self.articles_left -= 1

    async def _archive_one(self, feed: FeedConfig, item: PendingEntry) -> EntryOutcome:
        try:
            return await self._archive_entry(feed, item)
        except (StoreError, asyncio.CancelledError):
            raise
        except Exception as exc:
            # Counted as an attempt, so `crawler status` shows it failing; after as many crashes as a page may fail,
            # the feed's own content is archived instead, as for a page that cannot be had: never a crash per poll.
            log.exception("article crashed", extra={"feed": feed.name, "url": item.link})
            crash = crash_line(exc)
            attempts = await self._store.record_failure(feed.name, item.key, crash)
            if attempts >= MAX_PAGE_ATTEMPTS:
                return await self._archive_feed_text(feed, item, f"{crash} ({attempts} times)")
            return EntryOutcome(EntryStatus.FAILED, error=f"feed '{feed.name}': {item.link or item.key}: {crash}")
        finally:
            self._progress.done()

    async def _archive_feed_text(self, feed: FeedConfig, item: PendingEntry, reason: str) -> EntryOutcome:
        """Archive the item's own content, skipping its page (the last resort for an article that keeps crashing);
        if even that fails, it stays pending and says so."""
        entry = Entry.from_json(item.payload)
        link = normalize_url(entry.link) if entry.link else None
        try:
            staged = await self._stage(feed, item, entry, None, entry.link or feed.url)
            outcome, _ = await self._commit(feed, item, entry, link, staged, fallback=True)
        except (StoreError, asyncio.CancelledError):
            raise
        except Exception as exc:
            log.exception("article crashed on the feed's own content too", extra={"feed": feed.name, "url": item.link})
            return EntryOutcome(
                EntryStatus.FAILED, error=f"feed '{feed.name}': {item.link or item.key}: {crash_line(exc)}"
            )
        if outcome.status is EntryStatus.NEW:
            note = f"feed '{feed.name}': {entry.link or item.key}: {reason}; archived from the feed's own content"
            outcome = replace(outcome, note=note)
        return outcome

    async def _archive_entry(self, feed: FeedConfig, item: PendingEntry) -> EntryOutcome:
        entry = Entry.from_json(item.payload)
        link = normalize_url(entry.link) if entry.link else None
        async with self._dedup.page_turn(feed.name, item.key, link) as turn:
            if turn.known is not None:
                return EntryOutcome(EntryStatus.KNOWN)
            outcome, turn.archived_id = await self._build_and_write(feed, item, entry, link)
            return outcome

    async def _build_and_write(
        self, feed: FeedConfig, item: PendingEntry, entry: Entry, link: str | None
    ) -> tuple[EntryOutcome, str | None]:
        page: FetchedPage | None = None
        exchanges: tuple[Exchange, ...] = ()  # the page's, for its raw record (`raw: warc`)
        raw: RawRecord | None = None  # the page's raw record, once written
        final_url = entry.link or feed.url
        fallback_reason: str | None = None
        if entry.link and wants_page(feed, entry):
            try:
                response = await self._fetcher.get(
                    Request(
                        url=entry.link,
                        headers=feed.headers,
                        proxy=feed.proxy,
                        check_robots=True,
                        allow_private=await self.private_allowed(feed),
                        capture=feed.raw == "warc" and self._raw is not None,
                    )
                )
                final_url = response.final_url
                # An image, a PDF, a zip ... is no page to read as text: the feed's own content stands in (no retry).
                fallback_reason = not_html(response.content_type, response.content)
                if fallback_reason is None:
                    page = FetchedPage(response.content, response.content_type, response.final_url)
                    if self._raw is not None:
                        exchanges = response.exchanges
            except FetchError as exc:
                attempts = await self._store.record_failure(feed.name, item.key, exc.reason)
                if exc.transient and attempts < MAX_PAGE_ATTEMPTS:
                    again = f"will try again on the next poll (attempt {attempts} of {MAX_PAGE_ATTEMPTS})"
                    return EntryOutcome(
                        EntryStatus.FAILED, error=f"feed '{feed.name}': {exc.url}: {exc.reason}; {again}"
                    ), None
                fallback_reason = exc.reason
        try:
            try:
                staged = await self._stage(feed, item, entry, page, final_url, exchanges)
            except WorkerCrashed as exc:
                attempts = await self._store.record_failure(feed.name, item.key, str(exc))
                if page is None or attempts < MAX_PAGE_ATTEMPTS:
                    return EntryOutcome(
                        EntryStatus.FAILED, error=f"feed '{feed.name}': {entry.link or feed.url}: {exc}"
                    ), None
                # This page took a worker down on every try (a crash in a C library on hostile markup, say): the
                # feed's own content is archived instead, as for a page that cannot be fetched.
                fallback_reason = f"{exc} ({attempts} times)"
                staged = await self._stage(feed, item, entry, None, final_url)
        except archive.ArchiveError as exc:
            return EntryOutcome(EntryStatus.FAILED, error=f"feed '{feed.name}': {entry.link or feed.url}: {exc}"), None
        if staged.records is not None and self._raw is not None:
            try:
                raw = await self._raw.append(staged.records)
            except archive.ArchiveError as exc:  # kept raw or not archived: it is tried again later
                archive.discard(Path(staged.temp))
                return EntryOutcome(EntryStatus.FAILED, error=f"feed '{feed.name}': {exc}"), None
        if staged.kept_feed_text:
            log.warning(
                "extraction shorter than the feed's text; keeping the feed's",
                extra={"feed": feed.name, "url": final_url},
            )
        missed = await self._selector_checked(feed, page, staged)
        lost = 0
        if feed.images == "keep" and self._images is not None:
            allowed = await self.private_allowed(feed)
            lost = await images.keep_for_article(
                self._images, self._store, feed, Path(staged.temp), staged.article_id, allowed
            )
        outcome, archived_id = await self._commit_staged(feed, item, entry, link, staged, fallback_reason, raw)
        return replace(outcome, selector_missed=missed, images_missing=lost), archived_id

    async def _selector_checked(self, feed: FeedConfig, page: FetchedPage | None, staged: Staged) -> str | None:
        """Record whether the feed's `body:` selector matched the page; a warning line when it did not."""
        if page is None or not feed.body:
            return None
        missed = staged.selector_missed is not None
        self._selector_checks[feed.name].append(SelectorCheck(feed.name, page.url, feed.body, missed, time.time()))
        if staged.selector_missed is None:
            return None
        how = _INSTEAD.get(staged.method, "the feed's own content was archived")
        log.warning(
            "body selector matched nothing",
            extra={"feed": feed.name, "url": page.url, "selector": feed.body, "how": staged.method},
        )
        return f"feed '{feed.name}': {page.url}: body selector {feed.body!r} matched nothing; {how}"

    async def _commit_staged(
        self,
        feed: FeedConfig,
        item: PendingEntry,
        entry: Entry,
        link: str | None,
        staged: Staged,
        fallback_reason: str | None,
        raw: RawRecord | None = None,
    ) -> tuple[EntryOutcome, str | None]:
        fallback_reason = fallback_reason or staged.extract_error
        if fallback_reason is None:
            return await self._commit(feed, item, entry, link, staged, fallback=False, raw=raw)
        log.warning(
            "archiving the feed's content instead of the page",
            extra={"feed": feed.name, "url": entry.link, "error": fallback_reason},
        )
        outcome, archived_id = await self._commit(feed, item, entry, link, staged, fallback=True)
        if outcome.status is EntryStatus.NEW:
            note = f"feed '{feed.name}': {entry.link}: {fallback_reason}; archived from the feed's own content"
            outcome = replace(outcome, note=note)
        return outcome, archived_id

    async def _stage(
        self,
        feed: FeedConfig,
        item: PendingEntry,
        entry: Entry,
        page: FetchedPage | None,
        final_url: str,
        exchanges: tuple[Exchange, ...] = (),
    ) -> Staged:
        return await self._workers.run(
            stage_article,
            self._config.archive,
            feed,
            entry,
            page,
            final_url,
            item.first_seen,
            self._config.archive_timezone,
            archive.new_temp_tag(),  # how the files of a job whose worker died are told from the others'
            exchanges,  # its raw records are built there too, beside the page (the same bytes, sent once)
        )

    async def private_allowed(self, feed: FeedConfig) -> bool:
        # Whether the feed's own host is private needs a DNS lookup: once per feed and ten minutes, not per article.
        cached = self._private_ok.get(feed.url)
        now = time.monotonic()
        if cached is not None and now - cached[1] < PRIVATE_CHECK_TTL:
            return cached[0]
        allowed = await private_addresses_allowed(feed.url, self._config.private_allowed(feed))
        self._private_ok[feed.url] = (allowed, now)
        return allowed

    async def _commit(
        self,
        feed: FeedConfig,
        item: PendingEntry,
        entry: Entry,
        link: str | None,
        staged: Staged,
        *,
        fallback: bool,
        raw: RawRecord | None = None,
    ) -> tuple[EntryOutcome, str | None]:
        names = dedup.names_of(link, staged.names)
        claim = dedup.article_claim(feed.name, item.key, staged.article_id, names, staged.body_hash, staged.text_chars)
        async with self._dedup.claimed(claim) as written:
            if written.existing is not None:
                archive.discard(Path(staged.temp))
                return EntryOutcome(EntryStatus.KNOWN), written.existing
            article = ArchivedArticle(
                article_id=staged.article_id,
                path=staged.path,
                body_hash=staged.body_hash,
                urls=names,
                text=staged.search,
                body_is_name=claim.body_hash is not None,
            )
            try:
                await self._commits.commit(feed.name, item.key, Path(staged.temp), article, raw)
            except archive.ArchiveError as exc:
                if isinstance(exc, Overtaken) and exc.lost.archived:
                    return EntryOutcome(EntryStatus.KNOWN), exc.lost.holder
                error = f"feed '{feed.name}': {entry.link or feed.url}: {exc}"
                return EntryOutcome(EntryStatus.FAILED, error=error), None
            written.committed()
        how = "feed text" if fallback else staged.method
        log.info("archived", extra={"feed": feed.name, "url": entry.link, "path": staged.path, "how": how})
        return EntryOutcome(EntryStatus.NEW, fallback=fallback), staged.article_id


# What stood in for a `body:` selector that matched nothing, as the warning line says it.
_INSTEAD = {"site-rule": "body found by the site rule", "automatic": "body found by automatic extraction"}


def crash_line(exc: Exception) -> str:
    """An unforeseen exception as the one line a feed's or an article's error shows."""
    first_line = (str(exc).splitlines() or [""])[0][:200]
    return f"unexpected error {type(exc).__name__}: {first_line} (a bug: please report it with the log)"


def wants_page(feed: FeedConfig, entry: Entry) -> bool:
    """Whether the entry's page is fetched for its body (`content:`), rather than the feed's own text archived."""
    if feed.content == "feed":
        return False
    if feed.content == "auto" and entry.content:
        return len(fixes.body_text(entry.content)) < WHOLE_ARTICLE_CHARS
    return True
