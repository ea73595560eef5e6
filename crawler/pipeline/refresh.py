"""One feed's refresh (`Pipeline.refresh`): the only place that calls the stages in order.

poll the feed (conditional GET) -> parse -> record new entries as pending -> for each pending entry: fetch the
page -> extract -> deduplicate -> render -> write the file atomically -> record it as archived.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Protocol, TypeVar

from crawler.archive import files as archive
from crawler.archive.commit import Commits, Overtaken
from crawler.archive.warcfiles import WarcWriter
from crawler.config.settings import Config, FeedConfig
from crawler.feeds.parse import Entry, FeedError, ParsedFeed, parse_feed
from crawler.fetch import Fetcher, FetchError, Request, Response, not_html, private_addresses_allowed
from crawler.identity import dedup
from crawler.identity import keys as identity
from crawler.identity.dedup import Dedup
from crawler.identity.urls import normalize_url
from crawler.pipeline import images, rules
from crawler.pipeline.compose import FetchedPage, Staged, stage_article
from crawler.pipeline.feedrequest import feed_request, sent_validators, state_for, unchanged, unconditional_304
from crawler.pipeline.images import Images
from crawler.pipeline.results import EntryOutcome, EntryStatus, FeedResult, Progress
from crawler.render import fixes
from crawler.schedule import Timing, due_after_failure, due_after_success
from crawler.store.base import (
    ArchivedArticle,
    FeedState,
    NewEntry,
    PendingEntry,
    RawRecord,
    SelectorCheck,
    Store,
    StoreError,
)
from crawler.store.history import PollRecord
from crawler.workers import WorkerCrashed, Workers

log = logging.getLogger("crawler")
T = TypeVar("T")

MAX_PAGE_ATTEMPTS = 3  # polls on which a passing page failure is retried before the feed's content is archived
WHOLE_ARTICLE_CHARS = 1200  # `content: auto`: an item this long (in text) is an article, not a teaser
ARTICLES_IN_FLIGHT_PER_FEED = 16  # the fetcher's per-host caps decide the pace; this bounds what waits for them
ARTICLES_IN_FLIGHT_PER_CONNECTION = 2
PRIVATE_CHECK_TTL = 600.0
MIN_REFRESHES_IN_FLIGHT = 100  # feeds refreshed at once by `crawler fetch`, at least (twice max_connections if more)
WORKER_MODULES = ("crawler.pipeline.compose", "crawler.feeds.parse")  # what the jobs sent to worker processes run


def _new_entry(entry: Entry) -> NewEntry:
    return NewEntry(key=entry.key, link=entry.link, payload=entry.to_json())


class Executor(Protocol):
    """Where the pipeline's CPU-heavy jobs run: a `Workers`, or the runner's `WorkerPool` that outlives reloads."""

    @property
    def processes(self) -> int:
        """Worker processes it may start (0: jobs run in a thread)."""
        ...

    def prepare(self) -> None:
        """A burst of jobs is likely: start the processes now."""
        ...

    def expect(self, jobs: int) -> None:
        """`jobs` more jobs are about to come."""
        ...

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """`fn(*args)`, run there."""
        ...


class Pipeline:
    """Refreshes feeds into the archive; one instance per run (the daemon's lives as long as it does, across
    reloads), sharing a Store, a Fetcher and its in-flight deduplication between every feed it refreshes."""

    def __init__(
        self,
        config: Config,
        store: Store,
        fetcher: Fetcher,
        progress: Progress | None = None,
        stopping: asyncio.Event | None = None,
        workers: Executor | None = None,
        raw: WarcWriter | None = None,
        images: Images | None = None,
    ) -> None:
        self._config = config
        self._raw = raw  # where `raw: warc` feeds' responses are kept (the runner's; None: nowhere)
        self._images = images  # what keeps `images: keep` feeds' images (None: they stay remote)
        # Pages are extracted and rendered there; without one, in threads of this process.
        self._workers: Executor = workers or Workers(0)
        # Once set, articles not yet started stay pending for the next run; those under way finish. The daemon sets
        # it only when its grace period is nearly over: until then a stopping daemon still archives what polls found.
        self._stopping = stopping or asyncio.Event()
        # Articles listed by polls under way and not yet done (archived, failed or deferred): what a drain waits on.
        self.articles_left = 0
        self._store = store
        self._fetcher = fetcher
        self._progress = progress or Progress()
        # Whether each entry is a new article: the store's claims, and the pages and commits under way here.
        self._dedup = Dedup(store)
        # Articles of all feeds under way at once: enough to keep every allowed connection busy and the workers fed,
        # few enough that fetched pages waiting for a worker never pile up in memory.
        self._articles = asyncio.Semaphore(ARTICLES_IN_FLIGHT_PER_CONNECTION * config.politeness.max_connections)
        self._private_ok: dict[str, tuple[bool, float]] = {}
        self._selector_checks: dict[str, list[SelectorCheck]] = {}  # feed name -> its poll's checks so far
        self._commits = Commits(config.archive, store, raw)
        # Feeds parsed at once: as many as there are workers. The jobs are run in turn, and forty changed feeds
        # queued at once (10-30 ms each) put every article of the first feed behind the last feed's parse, with
        # its fetched page waiting in memory and the network idle; one parse per worker keeps articles flowing.
        self._parsing = asyncio.Semaphore(max(1, self._workers.processes))

    def reconfigure(self, config: Config) -> None:
        """Use a reloaded config for what starts from now on (the executor is resized by its owner). What is in
        flight stays as it is: the deduplication of articles under way, their commits, their turns."""
        old, self._config = self._config, config
        if config.politeness.max_connections != old.politeness.max_connections:
            self._articles = asyncio.Semaphore(ARTICLES_IN_FLIGHT_PER_CONNECTION * config.politeness.max_connections)
        if config.archive != old.archive:
            self._commits = Commits(config.archive, self._store, self._raw)
        if self._images is not None:
            self._images.reconfigure(config)
        self._parsing = asyncio.Semaphore(max(1, self._workers.processes))

    async def refresh(self, feed: FeedConfig) -> FeedResult:
        """Poll `feed` once and archive every new (and every still pending) entry. A bug or an unforeseen input
        fails this feed with a one-line error, never the whole run; only a broken state database stops it."""
        started, clock = time.time(), time.monotonic()
        checks = self._selector_checks[feed.name] = []
        try:
            try:
                result = await self._refresh(feed)
            except (StoreError, asyncio.CancelledError):
                raise
            except Exception as exc:
                log.exception("feed crashed", extra={"feed": feed.name, "url": feed.url})
                result = await self._feed_crashed(feed, exc)
            # One write for the poll's selector checks, not one a page (they only inform `crawler status`).
            await self._store.record_selectors(checks)
        finally:
            del self._selector_checks[feed.name]
        await self._store.record_poll(poll_record(result, started, time.monotonic() - clock))
        return result

    async def _feed_crashed(self, feed: FeedConfig, exc: Exception) -> FeedResult:
        """A crashed poll fails like any other failure: counted, shown by `crawler status` and backed off, so that a
        poll that crashes every time is not tried again at once, forever."""
        result = FeedResult(feed=feed.name, url=feed.url)
        try:
            return await self._feed_failed(feed, await self._state_for(feed), result, exc, time.time())
        except StoreError:
            raise
        except Exception:
            log.exception("feed crashed, and so did recording it", extra={"feed": feed.name, "url": feed.url})
            return replace(result, errors=(f"feed '{feed.name}': {feed.url}: {_crash(exc)}",))

    async def _refresh(self, feed: FeedConfig) -> FeedResult:
        result = FeedResult(feed=feed.name, url=feed.url)
        state = await self._state_for(feed)
        now = time.time()
        if state.gone:
            return replace(
                result,
                errors=(f"feed '{feed.name}': {feed.url}: gone (HTTP 410); remove it from feeds.yaml",),
                timing=Timing.of(state),
            )
        request, unconditional = feed_request(feed, state, now)
        try:
            response = await self._fetcher.get(request)
            if response.not_modified and not sent_validators(request):
                raise unconditional_304(response)
            parsed = await self._parse(feed, state, response)
        except (FetchError, FeedError) as exc:
            return await self._feed_failed(feed, state, result, exc, now)
        notes: list[str] = []
        if response.permanent_redirect:
            notes.append(
                f"feed '{feed.name}': {feed.url} moved permanently to {response.permanent_redirect}; "
                "update its url in feeds.yaml"
            )
        known = skipped = 0
        ttl = state.ttl  # a 304 says nothing new about the feed's <ttl>: keep what it said last
        if parsed is not None:
            notes.extend(await self._keep_feed_raw(feed, response))
            known, skipped, repeats = await self._record_entries(feed, parsed)
            notes.extend(repeats)
            ttl = parsed.ttl
        outcomes = await self._archive_pending(feed)
        if feed.images == "keep" and self._images is not None:
            await images.retry(self._images, self._store, feed, await self._private_allowed(feed))
        saved = replace(
            state,
            url=feed.url,
            etag=response.etag if response.status == 200 else state.etag,
            last_modified=response.last_modified if response.status == 200 else state.last_modified,
            body_hash=hashlib.sha256(response.content).hexdigest() if response.status == 200 else state.body_hash,
            last_poll=now,
            last_success=now,
            last_unconditional=now if unconditional else state.last_unconditional,
            failures=0,
            last_error=None,
            moved_to=response.permanent_redirect,
            ttl=ttl,
            next_poll=due_after_success(feed, self._config, now, ttl, response.cache_lifetime()),
        )
        await self._store.save_feed_state(saved)
        errors = tuple(o.error for o in outcomes if o.error)
        notes.extend(o.selector_missed for o in outcomes if o.selector_missed)
        notes.extend(o.note for o in outcomes if o.note)
        return replace(
            result,
            new=sum(o.status is EntryStatus.NEW for o in outcomes),
            known=known + sum(o.status is EntryStatus.KNOWN for o in outcomes),
            skipped=skipped,
            failed=sum(o.status is EntryStatus.FAILED for o in outcomes),
            fallback=sum(o.fallback for o in outcomes),
            deferred=sum(o.status is EntryStatus.DEFERRED for o in outcomes),
            selector_missed=sum(o.selector_missed is not None for o in outcomes),
            images_missing=sum(o.images_missing for o in outcomes),
            not_modified=parsed is None,
            errors=errors,
            notes=tuple(notes),
            timing=Timing.of(saved),
        )

    async def _keep_feed_raw(self, feed: FeedConfig, response: Response) -> list[str]:
        """Write the raw records of a feed that was read (`raw: warc`); a failure is a note, not a failed poll: the
        entries' pages still get theirs."""
        if not response.exchanges or self._raw is None:
            return []
        try:
            await self._raw.write(response.exchanges)
        except archive.ArchiveError as exc:
            log.warning("cannot keep the feed's raw record", extra={"feed": feed.name, "error": str(exc)})
            return [f"feed '{feed.name}': {feed.url}: raw record not kept: {exc}"]
        return []

    async def _state_for(self, feed: FeedConfig) -> FeedState:
        return state_for(feed, await self._store.feed_state(feed.name))

    async def _parse(self, feed: FeedConfig, state: FeedState, response: Response) -> ParsedFeed | None:
        """The parsed feed, or None when it is unchanged (304, or the same bytes as last time)."""
        if unchanged(state, response):
            return None
        self._workers.prepare()  # a changed feed is the first sign of a burst of new articles
        async with self._parsing:
            return await self._workers.run(parse_feed, response.content, response.final_url, response.content_type)

    async def _feed_failed(
        self, feed: FeedConfig, state: FeedState, result: FeedResult, exc: Exception, now: float
    ) -> FeedResult:
        failures = state.failures + 1
        gone = isinstance(exc, FetchError) and exc.status == 410
        reason = exc.reason if isinstance(exc, FetchError) else str(exc) if isinstance(exc, FeedError) else _crash(exc)
        message = f"feed '{feed.name}': {feed.url}: {reason}"
        if gone:
            message += " (gone; remove it from feeds.yaml)"
        saved = replace(
            state,
            url=feed.url,
            last_poll=now,
            failures=failures,
            last_error=reason,
            gone=gone,
            # A server that asked for a longer pause (Retry-After beyond http.max_retry_after) gets it.
            next_poll=due_after_failure(feed, now, failures, exc.retry_after if isinstance(exc, FetchError) else None),
        )
        await self._store.save_feed_state(saved)
        log.warning("feed failed", extra={"feed": feed.name, "url": feed.url, "error": reason})
        return replace(result, errors=(message,), failed=0, timing=Timing.of(saved))

    async def _record_entries(self, feed: FeedConfig, parsed: ParsedFeed) -> tuple[int, int, list[str]]:
        """Record the feed's new entries as pending, or as skipped where its rules leave them out; return how many
        were already known, how many were skipped, and a line for each GUID the feed newly repeats for another item
        (a broken feed: each such item is kept as its own)."""
        stored = await self._store.known_items(feed.name, (entry.key for entry in parsed.entries))
        keyed = identity.assign_keys(parsed.entries, stored)
        known = await self._store.known_keys(feed.name, (entry.key for entry in keyed.entries))
        fresh = [entry for entry in keyed.entries if entry.key not in known]
        # The stored state, not _state_for's: a feed pointed at a new URL is not polled for the first time.
        first_poll = (await self._store.feed_state(feed.name)).last_success is None
        chosen = rules.select(fresh, rules.Rules.of(feed), first_poll=first_poll)
        seen_at = time.time()
        await self._store.add_pending(feed.name, map(_new_entry, chosen.wanted), seen_at)
        await self._store.add_skipped(feed.name, map(_new_entry, chosen.skipped), seen_at)
        fresh_repeats: dict[str, list[Entry]] = {}
        for entry in keyed.repeated:
            if entry.key not in known and entry.guid is not None:  # a repeat already recorded was reported then
                fresh_repeats.setdefault(entry.guid, []).append(entry)
        repeats: list[str] = []
        for guid, others in fresh_repeats.items():
            log.warning("feed repeats a GUID for other items", extra={"feed": feed.name, "url": feed.url, "guid": guid})
            repeats.append(
                f"feed '{feed.name}': {feed.url}: broken feed: GUID {guid!r} is repeated for {len(others)} other "
                f"item(s) with another link and title; each is archived as an article of its own"
            )
        return len(known), len(chosen.skipped), repeats

    async def _archive_pending(self, feed: FeedConfig) -> list[EntryOutcome]:
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
            crash = _crash(exc)
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
            return EntryOutcome(EntryStatus.FAILED, error=f"feed '{feed.name}': {item.link or item.key}: {_crash(exc)}")
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
        raw: RawRecord | None = None  # the page's raw record (`raw: warc`), once written
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
                        allow_private=await self._private_allowed(feed),
                        capture=feed.raw == "warc" and self._raw is not None,
                    )
                )
                final_url = response.final_url
                # An image, a PDF, a zip ... is no page to read as text: the feed's own content stands in (no retry).
                fallback_reason = not_html(response.content_type, response.content)
                if fallback_reason is None:
                    page = FetchedPage(response.content, response.content_type, response.final_url)
                    if self._raw is not None and response.exchanges:
                        try:
                            raw = await self._raw.write(response.exchanges)
                        except archive.ArchiveError as exc:  # kept raw or not archived: it is tried again later
                            return EntryOutcome(EntryStatus.FAILED, error=f"feed '{feed.name}': {exc}"), None
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
                staged = await self._stage(feed, item, entry, page, final_url)
            except WorkerCrashed as exc:
                attempts = await self._store.record_failure(feed.name, item.key, str(exc))
                if page is None or attempts < MAX_PAGE_ATTEMPTS:
                    return EntryOutcome(
                        EntryStatus.FAILED, error=f"feed '{feed.name}': {entry.link or feed.url}: {exc}"
                    ), None
                # This page took a worker down on every try (a crash in a C library on hostile markup, say): the
                # feed's own content is archived instead, as for a page that cannot be fetched.
                fallback_reason = f"{exc} ({attempts} times)"
                staged, raw = await self._stage(feed, item, entry, None, final_url), None
        except archive.ArchiveError as exc:
            return EntryOutcome(EntryStatus.FAILED, error=f"feed '{feed.name}': {entry.link or feed.url}: {exc}"), None
        if staged.kept_feed_text:
            log.warning(
                "extraction shorter than the feed's text; keeping the feed's",
                extra={"feed": feed.name, "url": final_url},
            )
        missed = await self._selector_checked(feed, page, staged)
        lost = 0
        if feed.images == "keep" and self._images is not None:
            allowed = await self._private_allowed(feed)
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
        self, feed: FeedConfig, item: PendingEntry, entry: Entry, page: FetchedPage | None, final_url: str
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
        )

    async def _private_allowed(self, feed: FeedConfig) -> bool:
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


def _crash(exc: Exception) -> str:
    first_line = (str(exc).splitlines() or [""])[0][:200]
    return f"unexpected error {type(exc).__name__}: {first_line} (a bug: please report it with the log)"


def poll_record(result: FeedResult, started: float, seconds: float) -> PollRecord:
    """What the poll log keeps of one poll."""
    error = result.errors[0] if result.errors else None
    return PollRecord(result.feed, started, result.outcome, seconds, result.new, result.failed, error)


def wants_page(feed: FeedConfig, entry: Entry) -> bool:
    """Whether the entry's page is fetched for its body (`content:`), rather than the feed's own text archived."""
    if feed.content == "feed":
        return False
    if feed.content == "auto" and entry.content:
        return len(fixes.body_text(entry.content)) < WHOLE_ARTICLE_CHARS
    return True
