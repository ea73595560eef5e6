"""A worker process that died: the error its job gets, and what its lost jobs may have left behind."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from crawler.errors import CrawlerError

log = logging.getLogger("crawler.workers")


class WorkerCrashed(CrawlerError):
    """A worker process died while running a job (killed, out of memory, or a crash in a C extension)."""


@dataclass(frozen=True)
class LostJob:
    """A job whose result died with its worker process (for `on_crash`): it may have left files behind, and it is
    run again."""

    fn: Callable[..., Any]
    args: tuple[object, ...]


OnCrash = Callable[[Sequence[LostJob]], object]
Sent = tuple[concurrent.futures.Future[Any], Sequence[LostJob]]  # a group handed to a pool, and its jobs


def clear_after_crash(
    pool: ProcessPoolExecutor, sent: Sequence[Sent], on_crash: OnCrash, lost: Sequence[LostJob] = ()
) -> None:
    """Once every process of a broken pool has exited (none writes any more), hand `on_crash` the jobs of the
    groups whose results did not come back (and `lost`). The jobs of groups that did come back are not among them,
    even those run by the very process that died: their files wait for their commit. Blocks: run it on a thread."""
    pool.shutdown(wait=True, cancel_futures=True)
    on_crash([*lost, *(job for future, group in sent if not _came_back(future) for job in group)])


def _came_back(sent: concurrent.futures.Future[Any]) -> bool:
    return sent.done() and not sent.cancelled() and sent.exception() is None


def cleanup_failed(cleaning: asyncio.Future[None]) -> None:
    """Log a cleanup after a dead worker that failed (a done-callback: nobody else awaits its error)."""
    if not cleaning.cancelled() and cleaning.exception() is not None:
        log.warning("cleaning up after a dead worker failed", extra={"error": str(cleaning.exception())})
