"""Work that travels in groups: what callers hand in while one group is being done waits, and goes together in the
next. Each caller still waits for its own item and gets its own result or error, so grouping changes the cost, not
what a caller sees. The stores use it to take the store's thread (store/sqlite.py) or the database (the poll log)
once for many callers: with many feeds polled at once, one hand-off or one transaction serves dozens of them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

I = TypeVar("I")  # noqa: E741 - an item handed in
R = TypeVar("R")  # its result

# What `run` gives back for each item, in order: its result, or the error it raised.
Outcomes = Sequence["R | BaseException"]


class Grouped(Generic[I, R]):
    """`await grouped(item)` is `run([item])[0]`, except that the items handed in while a group is running go
    together in the next group, in the order they came. At most one group runs at a time, so items are done in
    order; an item whose caller stopped waiting is done all the same (as a call already under way would be)."""

    def __init__(self, run: Callable[[list[I]], Awaitable[Sequence[R | BaseException]]]) -> None:
        self._run = run
        self._waiting: list[tuple[I, asyncio.Future[R]]] = []
        self._pump: asyncio.Task[None] | None = None

    async def __call__(self, item: I) -> R:
        done: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, done))
        if self._pump is None:
            self._pump = asyncio.get_running_loop().create_task(self._groups())
        return await done

    async def _groups(self) -> None:
        try:
            while self._waiting:
                group, self._waiting = self._waiting, []
                try:
                    outcomes = await self._run([item for item, _ in group])
                except Exception as exc:  # every caller of the group gets it
                    outcomes = [exc] * len(group)
                except BaseException:  # the loop is going away: so are its callers
                    for _, done in (*group, *self._waiting):
                        done.cancel()
                    self._waiting = []
                    raise
                _settle(group, outcomes)
        finally:
            self._pump = None


def _settle(group: list[tuple[I, asyncio.Future[R]]], outcomes: Sequence[R | BaseException]) -> None:
    for (_, done), outcome in zip(group, outcomes, strict=True):
        if done.done():  # its caller was cancelled
            continue
        if isinstance(outcome, BaseException):
            done.set_exception(outcome)
        else:
            done.set_result(outcome)
