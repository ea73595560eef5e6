"""Fetcher.reconfigure: new settings for the requests that start from now on, with one politeness state (each host's
cap, its pace, its robots.txt) across requests started before and after, as the daemon's reloads need."""

from __future__ import annotations

import asyncio
import threading

from crawler.config.settings import HttpConfig, PolitenessConfig
from crawler.fetch import Fetcher, Request
from tests.support.server import Answer, Seen, TestServer

POLITENESS = PolitenessConfig(per_host=1, delay=0.0, robots=False)


def _held(server: TestServer, path: str) -> tuple[threading.Event, threading.Event]:
    """Serve `path` only once the returned `release` is set; `arrived` is set when it is asked for."""
    arrived, release = threading.Event(), threading.Event()

    def answer(_seen: Seen) -> Answer:
        arrived.set()
        release.wait(30)
        return Answer(body=b"held")

    server.add_dynamic(path, answer)
    return arrived, release


async def _settle() -> None:
    for _ in range(50):  # let every task run up to its next wait (no request reaches the wire without one)
        await asyncio.sleep(0)


def test_a_request_after_a_reconfigure_waits_for_the_hosts_cap_held_by_one_from_before(server: TestServer) -> None:
    arrived, release = _held(server, "/held")
    server.add("/next", body="next")

    async def scenario() -> tuple[str, str]:
        async with Fetcher(HttpConfig(user_agent="old/1.0"), POLITENESS) as fetcher:
            first = asyncio.create_task(fetcher.get(Request(server.url("/held"))))
            await asyncio.to_thread(arrived.wait, 30)
            fetcher.reconfigure(HttpConfig(user_agent="new/2.0", read_timeout=20.0), POLITENESS)
            second = asyncio.create_task(fetcher.get(Request(server.url("/next"))))
            await _settle()
            release.set()
            old, new = await asyncio.gather(first, second)
            return old.content.decode(), new.content.decode()

    assert asyncio.run(scenario()) == ("held", "next")  # the old client finished its request, not closed under it
    held, after = server.requests("/held")[0], server.requests("/next")[0]
    assert after.started >= held.finished  # one per-host cap for both
    assert server.max_active == 1
    assert held.headers["user-agent"].startswith("old/1.0")
    assert after.headers["user-agent"].startswith("new/2.0")


def test_a_cap_raised_by_a_reconfigure_lets_another_request_start_at_once(server: TestServer) -> None:
    arrived, release = _held(server, "/held")
    second_arrived, second_release = _held(server, "/also-held")

    async def scenario() -> None:
        async with Fetcher(HttpConfig(), POLITENESS) as fetcher:
            first = asyncio.create_task(fetcher.get(Request(server.url("/held"))))
            await asyncio.to_thread(arrived.wait, 30)
            fetcher.reconfigure(HttpConfig(), PolitenessConfig(per_host=2, delay=0.0, robots=False))
            second = asyncio.create_task(fetcher.get(Request(server.url("/also-held"))))
            assert await asyncio.to_thread(second_arrived.wait, 30)  # sent while the first is still held
            release.set()
            second_release.set()
            await asyncio.gather(first, second)

    asyncio.run(scenario())
    assert server.max_active == 2
