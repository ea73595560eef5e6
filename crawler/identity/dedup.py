"""Deduplication, in one place: whether an entry is an article already archived (or being archived) under one of
its names, and the claim an entry holds on those names while it writes its file.

Names are the entry's normalised link, every URL its page is known by (canonical, final), its article id and, when
its text is long enough to tell articles apart, its body key (identity.body_key). The guarantee rests on the store:
`Store.claim` checks the archived names and the claims of other entries and takes the names, in one transaction, so
that two entries (in one process or in two) never both write an article known by one name. A claim is dropped when
its article is recorded (in the same transaction) or its write fails; a claim left by a process that died is taken
over (see the backend's `claim`). What stays in memory only saves work: an entry whose page another entry of this
process is fetching waits for that one instead of fetching the page a second time, and an entry that finds a name
held by an entry of this process waits for its commit rather than asking the store again and again.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from crawler.store.base import ArticleClaim, ClaimStatus, Store, StoreError

MIN_DEDUP_TEXT = 200  # shorter bodies are too generic to prove two URLs are one article
HELD_RECHECK = (0.05, 2.0)  # first and longest wait before asking again about a name another process holds


@dataclass
class PageTurn:
    """An entry's turn at its page: `known` is the article its link already names (the entry was recorded as
    another name of it; fetch nothing), else the caller fetches the page and sets `archived_id` when done."""

    known: str | None = None
    archived_id: str | None = None


@dataclass
class Written:
    """The outcome of a claim: `existing` is the article the entry turned out to duplicate (recorded as such; write
    nothing), else the entry holds the names and calls `committed()` once its article is recorded."""

    claim: ArticleClaim
    existing: str | None = None
    recorded: bool = False

    def committed(self) -> None:
        """The article is recorded: its names are the store's now, and the claim is over."""
        self.recorded = True


def names_of(link: str | None, page_names: tuple[str, ...]) -> tuple[str, ...]:
    """Every URL an entry's article is known by: its link first, then its page's (no repeats, no empties)."""
    return tuple(dict.fromkeys(url for url in (link, *page_names) if url))


def article_claim(
    feed: str, entry_key: str, article_id: str, urls: tuple[str, ...], body_hash: str, text_chars: int
) -> ArticleClaim:
    """The claim an entry makes before writing its file; a body too short to tell articles apart is not a name."""
    body = body_hash if text_chars >= MIN_DEDUP_TEXT else None
    return ArticleClaim(feed=feed, entry_key=entry_key, article_id=article_id, urls=urls, body_hash=body)


class Dedup:
    """Decides, with the store, whether each entry is a new article; one per pipeline, sharing its store."""

    def __init__(self, store: Store) -> None:
        self._store = store
        # Normalised link -> the article its entry became (None: it failed), for entries whose page is being fetched.
        self._pages: dict[str, asyncio.Future[str | None]] = {}
        # Claimed name -> the article recorded under it (None: the write failed), for claims this process holds.
        self._claims: dict[str, asyncio.Future[str | None]] = {}

    @contextlib.asynccontextmanager
    async def page_turn(self, feed: str, entry_key: str, link: str | None) -> AsyncIterator[PageTurn]:
        """Before an entry's page is fetched: if its link names an archived article (or one another entry of this
        process is archiving), record the entry as another name of it and yield `known`; else the entry fetches."""
        turn = PageTurn()
        if link is None:
            yield turn
            return
        existing = await self._store.article_for_url(link)
        if existing is None and link in self._pages:
            existing = await asyncio.shield(self._pages[link])
        if existing is not None:
            await self._store.record_duplicate(feed, entry_key, existing, (link,))
            turn.known = existing
            yield turn
            return
        fetched: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self._pages[link] = fetched
        try:
            yield turn
        finally:
            if self._pages.get(link) is fetched:
                del self._pages[link]
            if not fetched.done():
                fetched.set_result(turn.archived_id)

    @contextlib.asynccontextmanager
    async def claimed(self, claim: ArticleClaim) -> AsyncIterator[Written]:
        """Claim the names of a staged article: yield `existing` (the entry is recorded as a duplicate of it) or the
        right to write the file; a write that does not end in `committed()` gives the names back."""
        existing = await self._claim(claim)
        if existing is not None:
            await self._store.record_duplicate(claim.feed, claim.entry_key, existing, claim.urls)
            yield Written(claim, existing)
            return
        written = Written(claim)
        recorded: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        names = _names(claim)
        for name in names:
            self._claims[name] = recorded
        try:
            yield written
        finally:
            for name in names:
                if self._claims.get(name) is recorded:
                    del self._claims[name]
            recorded.set_result(claim.article_id if written.recorded else None)
            if not written.recorded:
                # The store would let the claim lapse anyway (CLAIM_LEASE); giving it back lets others go on now.
                with contextlib.suppress(StoreError):
                    await self._store.release_claim(claim.feed, claim.entry_key)

    async def _claim(self, claim: ArticleClaim) -> str | None:
        """None once the entry holds the names; the id of the archived article it duplicates otherwise."""
        wait = HELD_RECHECK[0]
        while True:
            answer = await self._store.claim(claim, time.time())
            if answer.status is ClaimStatus.WON:
                return None
            if answer.status is ClaimStatus.ARCHIVED:
                return answer.article_id
            here = next((self._claims[name] for name in _names(claim) if name in self._claims), None)
            if here is not None:
                # An entry of this process holds it: its commit decides; if it failed, ask again.
                await asyncio.shield(here)
                continue
            # Held by another process (or another pipeline of this one): ask again shortly, then less often.
            await asyncio.sleep(wait)
            wait = min(wait * 2, HELD_RECHECK[1])


def _names(claim: ArticleClaim) -> tuple[str, ...]:
    """The in-memory keys of a claim's names (the store keeps its own)."""
    body = (f"body {claim.body_hash}",) if claim.body_hash else ()
    return (*(f"url {url}" for url in claim.urls), *body, f"id {claim.article_id}")
