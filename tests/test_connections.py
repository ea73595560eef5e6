"""The crawler's own transport notices a server that closed a kept-alive connection, and opens a new one."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable

import httpx
import pytest

from crawler.fetch.connections import ALLOW_PRIVATE, GuardedTransport


def _close_after_each_answer(
    closed: asyncio.Queue[None],
) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Answers as if the connection stayed open (HTTP/1.1, no "Connection: close"), then closes it: what a server
        # does when its keep-alive timeout is shorter than the client's.
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok")
        await writer.drain()
        writer.close()
        await writer.wait_closed()
        closed.put_nowait(None)

    return answer


@pytest.mark.parametrize("allow_private", [True, False])  # both of the transport's pools
def test_a_connection_the_server_closed_while_idle_is_not_reused(allow_private: bool) -> None:
    async def scenario() -> list[int]:
        closed: asyncio.Queue[None] = asyncio.Queue()
        server = await asyncio.start_server(_close_after_each_answer(closed), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        limits = httpx.Limits(max_connections=1)
        transport = GuardedTransport(ssl.create_default_context(), False, limits, lambda address: True)
        statuses = []
        try:
            async with httpx.AsyncClient(transport=transport) as client:
                for _ in range(3):
                    url = f"http://127.0.0.1:{port}/"
                    answer = await client.get(url, extensions={ALLOW_PRIVATE: allow_private})
                    statuses.append(answer.status_code)
                    # The server has closed this connection (its FIN is sent) before the next request picks one.
                    await asyncio.wait_for(closed.get(), timeout=60)
        finally:
            server.close()
            await server.wait_closed()
        return statuses

    assert asyncio.run(scenario()) == [200, 200, 200]
