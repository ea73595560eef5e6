"""One Fetcher across a change of settings (a reload of feeds.yaml in the daemon): `Fetcher.reconfigure` applies the
new settings to later requests and keeps each host's politeness state, so requests already in flight still count
against the host's cap and the delay since the last start still holds. Against the real local server, one request
held open by the test (a gate it releases), the delays read off a step clock (tests/support/clock.py)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

from crawler.config.settings import HttpConfig, PolitenessConfig
from crawler.fetch import Fetcher, Request, Response
from tests.support.clock import StepClock
from tests.support.feeds import page
from tests.support.server import Answer, Seen, TestServer

HOST_B = "127.0.0.2"
DEADLINE = 60.0  # seconds a condition is polled for, at most (generous: a loaded two-core machine)
EXACT = 1e-9  # float rounding of the step clock's sums, nothing else


def _held(server: TestServer, path: str) -> threading.Event:
    """Serve `path` on HOST_B only once the returned gate is set: the request stays in flight until then."""
    gate = threading.Event()

    def answer(_seen: Seen) -> Answer:
        gate.wait(DEADLINE)
        return Answer(body=page("Held, then answered.").encode())

    server.also_on(HOST_B)
    server.add_dynamic(path, answer)
    return gate


async def _until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


def test_per_host_cap_and_delay_hold_across_a_reconfigure_with_a_request_in_flight(server: TestServer) -> None:
    gate = _held(server, "/held")
    server.add("/next", body=page("Next."))
    held, following = server.url("/held", host=HOST_B), server.url("/next", host=HOST_B)
    clock = StepClock(lambda: len(server.requests(host=HOST_B)))
    before = PolitenessConfig(per_host=1, delay=0.8, robots=False)
    # Changed: the HTTP version (its client is replaced), who we say we are, the global cap; the host's cap and delay
    # are the same, and must not start over.
    after = PolitenessConfig(per_host=1, delay=0.8, robots=False, max_connections=10)
    http_after = HttpConfig(retries=0, http2=False, user_agent="reloaded/2.0")

    async def main() -> tuple[Response, Response]:
        async with Fetcher(HttpConfig(retries=0), before, clock=clock.now, sleep=clock.sleep) as fetcher:
            first = asyncio.create_task(fetcher.get(Request(held)))
            await _until(lambda: len(server.requests("/held")) == 1)

            fetcher.reconfigure(http_after, after)
            second = asyncio.create_task(fetcher.get(Request(following)))
            await _until(lambda: fetcher.load(HOST_B).waiting == 1 or bool(server.requests("/next")))

            assert server.requests("/next") == []  # queued behind the request in flight, not let through
            gate.set()
            return await first, await second

    first, second = asyncio.run(main())

    assert (first.status, second.status) == (200, 200)
    assert server.max_active_on(HOST_B) == 1
    seen_held, seen_next = server.requests("/held")[0], server.requests("/next")[0]
    assert clock.at(seen_next) - clock.at(seen_held) >= 0.8 - EXACT
    assert seen_held.headers["user-agent"].startswith("feed-crawler/")
    assert seen_next.headers["user-agent"] == "reloaded/2.0"  # the new settings apply to later requests


def test_a_larger_per_host_cap_lets_a_waiting_request_in_at_once(server: TestServer) -> None:
    gate = _held(server, "/held")
    server.add("/next", body=page("Next."))
    held, following = server.url("/held", host=HOST_B), server.url("/next", host=HOST_B)

    async def main() -> None:
        async with Fetcher(HttpConfig(retries=0), PolitenessConfig(per_host=1, delay=0, robots=False)) as fetcher:
            first = asyncio.create_task(fetcher.get(Request(held)))
            await _until(lambda: len(server.requests("/held")) == 1)
            second = asyncio.create_task(fetcher.get(Request(following)))
            await _until(lambda: fetcher.load(HOST_B).waiting == 1)

            fetcher.reconfigure(HttpConfig(retries=0), PolitenessConfig(per_host=2, delay=0, robots=False))
            await _until(lambda: bool(server.requests("/next")))  # sent while the first is still held

            assert not gate.is_set()
            gate.set()
            await asyncio.gather(first, second)

    asyncio.run(main())

    assert server.max_active_on(HOST_B) == 2


def test_robots_txt_already_read_is_kept_across_a_reconfigure(server: TestServer) -> None:
    server.add("/robots.txt", body="User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    server.add("/a", body=page("A."))
    server.add("/b", body=page("B."))

    async def main() -> None:
        politeness = PolitenessConfig(delay=0)
        async with Fetcher(HttpConfig(retries=0), politeness) as fetcher:
            await fetcher.get(Request(server.url("/a"), check_robots=True))
            fetcher.reconfigure(HttpConfig(retries=0, http2=False), politeness)
            await fetcher.get(Request(server.url("/b"), check_robots=True))

    asyncio.run(main())

    assert len(server.requests("/robots.txt")) == 1
    assert len(server.requests("/b")) == 1
