"""Commit groups (staged files moved into the archive and recorded together) and the clean-up of temp files lost
with a crashed worker: what is left here of the former poll.py, pending its move to archive/commit.py (h-store)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from crawler.archive import files as archive
from crawler.config.settings import Config
from crawler.pipeline.workers import LostJob
from crawler.store.sqlite import ArchivedArticle, Store


def stale_temp_files(config: Config) -> Callable[[Sequence[LostJob]], int]:
    """What clears the archive of the temp files that jobs left when their worker died before their results came
    back (for Workers' `on_crash`). The same worker's finished jobs, whose files wait for their commit, keep them."""
    return functools.partial(_remove_lost_temp_files, config.archive)


def _remove_lost_temp_files(root: Path, lost: Sequence[LostJob]) -> int:
    tags = [arg for job in lost for arg in job.args if isinstance(arg, archive.TempTag)]
    return archive.remove_lost_temp_files(root, tags) if tags else 0


@dataclass(frozen=True)
class _Commit:
    feed: str
    key: str
    temp: Path
    article: ArchivedArticle
    done: asyncio.Future[None]


class Commits:
    """Moves staged files into the archive and records them, in groups: the articles that reach this point while
    one group is being moved go together in the next, with one thread hand-off, one fsync per folder and one
    transaction for all of them. Alone, an article is a group of one, committed at once."""

    def __init__(self, root: Path, store: Store) -> None:
        self._root = root
        self._store = store
        self._waiting: list[_Commit] = []
        self._mover: asyncio.Task[None] | None = None

    async def commit(self, feed: str, key: str, temp: Path, article: ArchivedArticle) -> None:
        """Move `temp` to the article's place, then record it (only then) as done; raise ArchiveError if the file
        could not be moved, StoreError if it could not be recorded."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Commit(feed, key, temp, article, done))
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
            moves = [(one.temp, Path(one.article.path)) for one in group]
            errors = await asyncio.to_thread(archive.commit_all, moves, self._root)
            moved = [one for one, error in zip(group, errors, strict=True) if error is None]
            if moved:
                self._store.record_archived_all([(one.feed, one.key, one.article) for one in moved])
            outcomes = list(errors)
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
