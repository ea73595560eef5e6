"""Committing staged articles to the archive, in groups: each file is renamed into place and its folder fsynced
BEFORE its article is recorded in the store, so that a recorded article always has its file (a crash in between
leaves a file the next run records again under the same id, never a record without a file). An article made from a
raw record (`raw: warc`) has that record made durable, and recorded as its own, before its file is moved.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from crawler.archive import files
from crawler.store.base import ArchivedArticle, LostClaim, RawRecord, Store


class Overtaken(files.ArchiveError):
    """Another entry took this one's claim over while its file was being put in place (this process was taken for
    dead: a stall past its node's lease): the file was taken back and the article not recorded."""

    def __init__(self, lost: LostClaim) -> None:
        self.lost = lost
        if lost.archived:
            what = f"it is a duplicate of article {lost.holder}, archived meanwhile"
        else:
            what = f"article {lost.holder} is being written under its names; it is tried again at the next poll"
        super().__init__(f"another process took over this entry's claim while its file was written: {what}")


class RawSink(Protocol):
    """What makes raw records durable (crawler.archive.warcfiles.WarcWriter)."""

    async def durable(self) -> None:
        """Every record written so far is on disk, with its index line."""
        ...


@dataclass(frozen=True)
class _Commit:
    feed: str
    key: str
    temp: Path
    article: ArchivedArticle
    done: asyncio.Future[None]
    raw: RawRecord | None


class Commits:
    """Moves staged files into the archive and records them, in groups: the articles that reach this point while
    one group is being moved go together in the next, with one thread hand-off, one fsync per folder and one
    store transaction for all of them. Alone, an article is a group of one, committed at once."""

    def __init__(self, root: Path, store: Store, raw: RawSink | None = None) -> None:
        self._root = root
        self._store = store
        self._raw = raw
        self._waiting: list[_Commit] = []
        self._mover: asyncio.Task[None] | None = None

    async def commit(
        self, feed: str, key: str, temp: Path, article: ArchivedArticle, raw: RawRecord | None = None
    ) -> None:
        """Move `temp` to the article's place, then record it (only then) as done; raise ArchiveError if the file
        (or its raw record) could not be made durable, StoreError if it could not be recorded."""
        if raw is not None and self._raw is None:
            raise ValueError("a raw record to commit, and no writer to make it durable")
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Commit(feed, key, temp, article, done, raw))
        if self._mover is None:
            self._mover = asyncio.create_task(self._move())
        await done

    async def _move(self) -> None:
        try:
            while self._waiting:
                group, self._waiting = self._waiting, []
                await self._commit_group(group)
        except asyncio.CancelledError:
            for one in self._waiting:
                one.done.cancel()
            self._waiting = []
            raise
        finally:
            self._mover = None

    async def _commit_group(self, group: list[_Commit]) -> None:
        outcomes: list[BaseException | None]
        try:
            raws = [(one.article.article_id, one.raw) for one in group if one.raw is not None]
            if raws and self._raw is not None:
                try:
                    # One fsync of the WARC file (and its index) for the group, before any of its articles counts.
                    await self._raw.durable()
                except files.ArchiveError:
                    for one in group:
                        files.discard(one.temp)
                    raise
                await self._store.record_raw_all(raws)
            moves = [(one.temp, Path(one.article.path)) for one in group]
            errors = await asyncio.to_thread(files.commit_all, moves, self._root)
            moved = [one for one, error in zip(group, errors, strict=True) if error is None]
            lost = await self._store.record_archived_all([(one.feed, one.key, one.article) for one in moved])
            outcomes = list(errors)
            if lost:
                await asyncio.to_thread(_undo_overtaken, group, outcomes, lost, self._root)
        except asyncio.CancelledError:
            for one in group:
                one.done.cancel()
            raise
        except Exception as exc:  # the state database failed (or a bug): each article of the group says so
            outcomes = [exc] * len(group)
        for one, outcome in zip(group, outcomes, strict=True):
            if one.done.done():  # its waiter was cancelled; the group went on without it
                continue
            if outcome is None:
                one.done.set_result(None)
            else:
                one.done.set_exception(outcome)


def _undo_overtaken(
    group: list[_Commit], outcomes: list[BaseException | None], lost: list[LostClaim], root: Path
) -> None:
    """Take back the files of overtaken entries (the holder's file is the article now) and make each one's outcome
    say so. A file is kept when the holder is the same article, whose file goes to the same place."""
    by_entry = {(one.feed, one.entry_key): one for one in lost}
    for index, one in enumerate(group):
        overtaken = by_entry.get((one.feed, one.key))
        if overtaken is None:
            continue
        if overtaken.holder != one.article.article_id:
            files.remove_committed(root, Path(one.article.path))
        outcomes[index] = Overtaken(overtaken)
