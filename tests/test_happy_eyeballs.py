"""Connecting to a host with several addresses: a dead route costs a quarter of a second, not the connect timeout.

The one stand-in in this file: a route that swallows connection attempts (a broken IPv6 path) cannot be made on
127.0.0.1, so the addresses here are names given to a `connect` that hangs, refuses, or opens a real socket pair."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable

import httpcore
import pytest

from crawler.fetch.connections import happy_eyeballs, interleaved_families

Connect = Callable[[str], Awaitable[httpcore.AsyncNetworkStream]]


class Stream(httpcore.AsyncNetworkStream):
    """A connected stream (one end of a real socket pair) that records being closed."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.closed = False
        self._socket, self._peer = socket.socketpair()

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._socket.recv(max_bytes)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._socket.sendall(buffer)

    async def aclose(self) -> None:
        self.closed = True
        self._socket.close()
        self._peer.close()


def routes(behaviour: dict[str, str]) -> tuple[Connect, dict[str, Stream], set[str]]:
    """A `connect` whose outcome by address is "hang", "refuse" or "open" (after 10 ms); the streams it opened, and
    the addresses whose attempt was cancelled."""
    opened: dict[str, Stream] = {}
    cancelled: set[str] = set()

    async def connect(address: str) -> httpcore.AsyncNetworkStream:
        try:
            if behaviour[address] == "hang":
                await asyncio.sleep(30)
            if behaviour[address] == "refuse":
                raise httpcore.ConnectError(f"{address}: connection refused")
            await asyncio.sleep(0.01)
            opened[address] = Stream(address)
            return opened[address]
        except asyncio.CancelledError:
            cancelled.add(address)
            raise

    return connect, opened, cancelled


def test_a_dead_first_address_costs_the_delay_not_the_timeout_and_is_given_up() -> None:
    connect, _, cancelled = routes({"2001:db8::1": "hang", "192.0.2.1": "open"})
    started = time.monotonic()

    stream = asyncio.run(happy_eyeballs(["2001:db8::1", "192.0.2.1"], connect, delay=0.2))

    assert isinstance(stream, Stream) and stream.name == "192.0.2.1"
    assert time.monotonic() - started >= 0.2  # the first address had its turn
    assert cancelled == {"2001:db8::1"}


def test_a_refused_address_moves_on_at_once_and_all_refused_raises_the_last_error() -> None:
    connect, _, _ = routes({"192.0.2.1": "refuse", "192.0.2.2": "open"})
    # A delay far longer than the test: the next address starts because the first failed, not because time passed.
    stream = asyncio.run(happy_eyeballs(["192.0.2.1", "192.0.2.2"], connect, delay=600))
    assert isinstance(stream, Stream) and stream.name == "192.0.2.2"

    connect, _, _ = routes({"192.0.2.1": "refuse", "192.0.2.2": "refuse"})
    with pytest.raises(httpcore.ConnectError, match=r"^192\.0\.2\.2: connection refused$"):
        asyncio.run(happy_eyeballs(["192.0.2.1", "192.0.2.2"], connect, delay=600))


def test_when_two_connect_at_once_the_loser_is_closed() -> None:
    gate = asyncio.Event()  # both attempts are under way when it opens, and both connect in that same moment

    async def connect(address: str) -> httpcore.AsyncNetworkStream:
        await gate.wait()
        opened.append(Stream(address))
        return opened[-1]

    async def race() -> httpcore.AsyncNetworkStream:
        asyncio.get_running_loop().call_later(0.2, gate.set)
        return await happy_eyeballs(["192.0.2.1", "192.0.2.2"], connect, delay=0.05)

    opened: list[Stream] = []
    stream = asyncio.run(race())

    assert isinstance(stream, Stream) and not stream.closed
    assert len(opened) == 2 and [s.closed for s in opened if s is not stream] == [True]


def test_families_take_turns_starting_with_the_resolvers_first_choice() -> None:
    assert interleaved_families(["2001:db8::1", "2001:db8::2", "192.0.2.1", "192.0.2.2"]) == [
        "2001:db8::1",
        "192.0.2.1",
        "2001:db8::2",
        "192.0.2.2",
    ]
    assert interleaved_families(["192.0.2.1", "2001:db8::1", "192.0.2.2"]) == ["192.0.2.1", "2001:db8::1", "192.0.2.2"]
