"""The address policy: which IP addresses a request may reach. Article links from a feed on the public internet may
reach only public addresses (no loopback, private, link-local, reserved ...), unless the config allows private ones
or the feed itself lives on one (an intranet, a test server).

Two places apply it: the pre-check here, on the name before a request (`host_is_public`, through `resolve_host`), and
the connection itself (crawler.fetch.connections), which resolves again and judges the very address it connects to,
so a DNS answer that changes between the two (rebinding) cannot slip past.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit


def address_is_public(address: str) -> bool:
    """Whether an IP address is a public internet address (not loopback, private, link-local, reserved ...)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return bool(ip.is_global) and not ip.is_multicast


async def host_is_public(host: str) -> bool:
    """Whether every address `host` resolves to is public; an unresolvable host counts as public
    (the request itself will then fail with a clear network error)."""
    try:
        ipaddress.ip_address(host.strip("[]"))
        return address_is_public(host.strip("[]"))
    except ValueError:
        pass
    return all(address_is_public(address) for address in await resolve_host(host))


async def resolve_host(host: str) -> list[str]:
    """The addresses the pre-check judges `host` by (none when it does not resolve). The connection itself resolves
    again and judges what it connects to (crawler.fetch.connections), so a changed DNS answer cannot slip past."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, ValueError):  # ValueError: a NUL in the name
        return []
    return [str(info[4][0]) for info in infos]


async def private_addresses_allowed(feed_url: str, configured: bool) -> bool:
    """Whether a feed's article links may reach loopback, private or other non-public addresses: when the config
    allows it, or when the feed itself lives on such an address (an intranet, a test server)."""
    if configured:
        return True
    return not await host_is_public(urlsplit(feed_url).hostname or "")
