"""The per-host cap (crawler.fetch.politeness.Cap): first come first served, resizable while held, and a waiter
cancelled at any moment neither keeps a place nor loses one for the others."""

from __future__ import annotations

import asyncio

from crawler.fetch.politeness import Cap


async def _settle() -> None:
    for _ in range(5):  # let woken tasks run: no wall clock involved
        await asyncio.sleep(0)


def test_waiters_go_in_first_come_first_served() -> None:
    async def main() -> list[int]:
        cap, order = Cap(1), []
        await cap.acquire()

        async def take(number: int) -> None:
            await cap.acquire()
            order.append(number)
            cap.release()

        tasks = [asyncio.create_task(take(n)) for n in range(3)]
        await _settle()
        cap.release()
        await asyncio.gather(*tasks)
        return order

    assert asyncio.run(main()) == [0, 1, 2]


def test_a_smaller_limit_waits_for_holders_to_leave() -> None:
    async def main() -> None:
        cap = Cap(2)
        await cap.acquire()
        await cap.acquire()
        cap.resize(1)
        waiter = asyncio.create_task(cap.acquire())
        cap.release()  # one holder left: still at the new limit
        await _settle()
        assert not waiter.done() and cap.active == 1
        cap.release()
        await waiter
        assert cap.active == 1

    asyncio.run(main())


def test_a_cancelled_waiter_keeps_no_place() -> None:
    async def main() -> None:
        cap = Cap(1)
        await cap.acquire()
        cancelled = asyncio.create_task(cap.acquire())
        await _settle()
        cancelled.cancel()
        await _settle()
        assert cap.waiting == 0
        cap.release()
        assert cap.active == 0
        await asyncio.wait_for(cap.acquire(), 10)

    asyncio.run(main())


def test_a_waiter_cancelled_just_as_it_was_let_in_hands_its_place_on() -> None:
    async def main() -> None:
        cap = Cap(1)
        await cap.acquire()
        unlucky = asyncio.create_task(cap.acquire())
        next_in_line = asyncio.create_task(cap.acquire())
        await _settle()
        cap.release()  # the place goes to `unlucky` ...
        unlucky.cancel()  # ... cancelled before it runs again
        await asyncio.wait_for(next_in_line, 10)
        assert unlucky.cancelled() and cap.active == 1

    asyncio.run(main())
