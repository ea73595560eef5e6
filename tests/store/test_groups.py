"""store/groups.py: what callers hand in while a group runs goes together in the next, and each caller still gets
its own result or error."""

from __future__ import annotations

import asyncio

import pytest

from crawler.store.groups import Grouped

pytestmark = pytest.mark.anyio


class Doubler:
    """Doubles numbers in groups; a group waits for `release` so that more callers can queue behind it."""

    def __init__(self) -> None:
        self.groups: list[list[int]] = []
        self.release = asyncio.Event()

    async def run(self, items: list[int]) -> list[int | BaseException]:
        self.groups.append(items)
        await self.release.wait()
        return [ValueError(f"no {n}") if n < 0 else 2 * n for n in items]


async def test_callers_arriving_during_a_group_go_together_in_the_next_in_order() -> None:
    doubler = Doubler()
    grouped = Grouped(doubler.run)
    first = asyncio.ensure_future(grouped(1))
    await asyncio.sleep(0)  # the first group starts with the first caller alone
    rest = [asyncio.ensure_future(grouped(n)) for n in (2, 3, 4)]
    await asyncio.sleep(0)
    doubler.release.set()
    assert await first == 2
    assert [await r for r in rest] == [4, 6, 8]
    assert doubler.groups == [[1], [2, 3, 4]]


async def test_each_caller_gets_its_own_error() -> None:
    doubler = Doubler()
    doubler.release.set()
    grouped = Grouped(doubler.run)
    outcomes = await asyncio.gather(grouped(1), grouped(-1), grouped(3), return_exceptions=True)
    assert outcomes[0] == 2 and outcomes[2] == 6
    assert isinstance(outcomes[1], ValueError)


async def test_a_failing_group_fails_each_of_its_callers_and_the_next_group_runs() -> None:
    calls: list[list[int]] = []

    async def run(items: list[int]) -> list[int | BaseException]:
        calls.append(items)
        if len(calls) == 1:
            raise OSError("disk full")
        return list(items)

    grouped = Grouped(run)
    with pytest.raises(OSError, match="disk full"):
        await grouped(1)
    assert await grouped(2) == 2


async def test_a_cancelled_caller_leaves_the_others_their_results() -> None:
    doubler = Doubler()
    grouped = Grouped(doubler.run)
    gone = asyncio.ensure_future(grouped(1))
    kept = asyncio.ensure_future(grouped(2))
    await asyncio.sleep(0)
    gone.cancel()
    doubler.release.set()
    assert await kept == 4
    assert doubler.groups == [[1, 2]]
