"""One feed's refresh (`Pipeline.refresh`): the only place that calls the stages in order.

poll the feed (conditional GET) -> parse -> record new entries as pending -> for each pending entry (pipeline/
article.py): fetch the page -> extract -> deduplicate -> render -> write the file atomically -> record it as archived.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from dataclasses import replace

from crawler.archive import files as archive
from crawler.archive.warcfiles import WarcWriter
from crawler.config.settings import Config, FeedConfig
from crawler.feeds.parse import Entry, FeedError, ParsedFeed, parse_feed
from crawler.fetch import Fetcher, FetchError, Response
from crawler.identity import keys as identity
from crawler.pipeline import images, rules
from crawler.pipeline.article import ArticleArchiver, crash_line
from crawler.pipeline.executor import Executor
from crawler.pipeline.feedrequest import feed_request, sent_validators, state_for, unchanged, unconditional_304
from crawler.pipeline.images import Images
from crawler.pipeline.results import EntryStatus, FeedResult, Progress
from crawler.schedule import Timing, due_after_failure, due_after_success
from crawler.store.base import FeedState, NewEntry, Store, StoreError
from crawler.store.history import PollRecord
from crawler.workers import Workers

log = logging.getLogger("crawler")

MIN_REFRESHES_IN_FLIGHT = 100  # feeds refreshed at once by `crawler fetch`, at least (twice max_connections if more)
WORKER_MODULES = ("crawler.pipeline.compose", "crawler.feeds.parse")  # what the jobs sent to worker processes run
# What they run besides for `raw: warc` feeds (the pages' records are built with their articles): imported by the
# fork server once, rather than by each worker at its first such job. surt is not among them: imported by name it
# would bring the tldextract that crawler.archive.warc leaves out (130 ms of CPU); that way it costs each worker 5 ms.
RAW_WORKER_MODULES = ("crawler.archive.warc", "crawler.fetch.messages")


def worker_modules(config: Config) -> tuple[str, ...]:
    """The modules worker processes import before their first job, for `config`'s feeds."""
    raw = any(feed.raw == "warc" for feed in config.feeds)
    return WORKER_MODULES + RAW_WORKER_MODULES if raw else WORKER_MODULES


def _new_entry(entry: Entry) -> NewEntry:
    return NewEntry(key=entry.key, link=entry.link, payload=entry.to_json())


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
        self._store = store
        self._fetcher = fetcher
        self._progress = progress or Progress()
        # Once set, articles not yet started stay pending for the next run; those under way finish. The daemon sets
        # it only when its grace period is nearly over: until then a stopping daemon still archives what polls found.
        self._entries = ArticleArchiver(
            config, store, fetcher, self._progress, stopping or asyncio.Event(), self._workers, raw, images
        )
        # Feeds parsed at once: as many as there are workers. The jobs are run in turn, and forty changed feeds
        # queued at once (10-30 ms each) put every article of the first feed behind the last feed's parse, with
        # its fetched page waiting in memory and the network idle; one parse per worker keeps articles flowing.
        self._parsing = asyncio.Semaphore(max(1, self._workers.processes))

    @property
    def articles_left(self) -> int:
        """Articles listed by polls under way and not yet done (archived, failed or deferred): what a drain waits on."""
        return self._entries.articles_left

    def reconfigure(self, config: Config) -> None:
        """Use a reloaded config for what starts from now on (the executor is resized by its owner). What is in
        flight stays as it is: the deduplication of articles under way, their commits, their turns."""
        self._config = config
        self._entries.reconfigure(config)

    async def refresh(self, feed: FeedConfig, stored: FeedState | None = None) -> FeedResult:
        """Poll `feed` once and archive every new (and every still pending) entry. A bug or an unforeseen input
        fails this feed with a one-line error, never the whole run; only a broken state database stops it.
        `stored`: the feed's stored state when the caller has just read it (the daemon, taking the feed's lease),
        saving a second read."""
        started, clock = time.time(), time.monotonic()
        checks = self._entries.start_checks(feed)
        try:
            try:
                result = await self._refresh(feed, stored)
            except (StoreError, asyncio.CancelledError):
                raise
            except Exception as exc:
                log.exception("feed crashed", extra={"feed": feed.name, "url": feed.url})
                result = await self._feed_crashed(feed, exc)
            # One write for the poll's selector checks, not one a page (they only inform `crawler status`).
            await self._store.record_selectors(checks)
        finally:
            self._entries.end_checks(feed)
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
            return replace(result, errors=(f"feed '{feed.name}': {feed.url}: {crash_line(exc)}",))

    async def _refresh(self, feed: FeedConfig, stored: FeedState | None) -> FeedResult:
        result = FeedResult(feed=feed.name, url=feed.url)
        state = state_for(feed, stored) if stored is not None else await self._state_for(feed)
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
        outcomes = await self._entries.archive_pending(feed)
        if feed.images == "keep" and self._images is not None:
            await images.retry(self._images, self._store, feed, await self._entries.private_allowed(feed))
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
        reason = (
            exc.reason if isinstance(exc, FetchError) else str(exc) if isinstance(exc, FeedError) else crash_line(exc)
        )
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


def poll_record(result: FeedResult, started: float, seconds: float) -> PollRecord:
    """What the poll log keeps of one poll."""
    error = result.errors[0] if result.errors else None
    return PollRecord(result.feed, started, result.outcome, seconds, result.new, result.failed, error)
