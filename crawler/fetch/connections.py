"""Connections opened only to addresses the address policy allows: the httpx transport behind every direct request.

Checking a host name before a request and letting the HTTP client resolve it again to connect leaves a gap (DNS
rebinding): a hostile DNS server can answer a public address to the check and 127.0.0.1 to the connection. Here the
name is resolved once, every address is judged, and the socket is opened to one of those very addresses; the URL
keeps the name, so the Host header, TLS SNI and certificate checks are unchanged.

    GuardedTransport(ssl_context, http2, limits, address_allowed)
      a request whose extensions say ALLOW_PRIVATE: True  -> a pool connecting by name, as httpx would
      any other request                                  -> a pool whose connections are vetted (AddressRefused)

Two pools, so a connection opened for a request that may reach a private address is never reused by one that may not.
Proxied requests never come here: through a proxy the proxy connects, and only the pre-check on the name applies.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import select
import socket
import ssl
import time
import urllib.request
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from typing import Any

import httpcore
import httpx

from crawler.errors import CrawlerError

ALLOW_PRIVATE = "crawler.allow_private"  # request extension: True when the request may reach non-public addresses


class AddressRefused(CrawlerError):
    """A connection refused because the host name resolved to an address the policy does not allow."""

    def __init__(self, host: str, address: str) -> None:
        super().__init__(f"{host} resolved to {address} at connect time, not a public address")
        self.host = host
        self.address = address


class GuardedTransport(httpx.AsyncBaseTransport):
    """An httpx transport over two httpcore pools: requests marked ALLOW_PRIVATE connect by name, every other
    request only to addresses `address_allowed` accepts (judged on the very addresses connected to)."""

    def __init__(
        self,
        ssl_context: ssl.SSLContext,
        http2: bool,
        limits: httpx.Limits,
        address_allowed: Callable[[str], bool],
    ) -> None:
        self._open = _pool(ssl_context, http2, limits, _PollingBackend(httpcore.AnyIOBackend()))
        self._vetted = _pool(
            ssl_context, http2, limits, VettingBackend(address_allowed, _PollingBackend(httpcore.AnyIOBackend()))
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send `request` through the pool its ALLOW_PRIVATE extension picks (the vetted one when absent)."""
        assert isinstance(request.stream, httpx.AsyncByteStream)
        pool = self._open if request.extensions.get(ALLOW_PRIVATE) is True else self._vetted
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _httpx_errors():
            answer = await pool.handle_async_request(core)
        assert isinstance(answer.stream, AsyncIterable)
        return httpx.Response(
            status_code=answer.status,
            headers=answer.headers,
            stream=_Body(answer.stream),
            extensions=answer.extensions,
        )

    async def aclose(self) -> None:
        """Close both pools."""
        await self._open.aclose()
        await self._vetted.aclose()


class VettingBackend(httpcore.AsyncNetworkBackend):
    """Resolves a host name once, refuses it if any address is not allowed, and connects to one of those addresses,
    racing them as browsers do (`happy_eyeballs`); the name stays with httpcore for TLS."""

    def __init__(
        self, address_allowed: Callable[[str], bool], inner: httpcore.AsyncNetworkBackend | None = None
    ) -> None:
        self._allowed = address_allowed
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """A stream to an allowed address of `host`; AddressRefused when any address it resolves to is not allowed."""
        deadline = None if timeout is None else time.monotonic() + timeout
        addresses = await _resolve(host, port, timeout)
        for address in addresses:
            # Any refused address refuses the name, as the pre-check does: a mixed answer is no accident.
            if not self._allowed(address):
                raise AddressRefused(host, address)
        if not addresses:
            raise httpcore.ConnectError(f"{host} resolved to no address")

        async def connect(address: str) -> httpcore.AsyncNetworkStream:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            return await self._inner.connect_tcp(
                address, port, timeout=left, local_address=local_address, socket_options=socket_options
            )

        return await happy_eyeballs(interleaved_families(addresses), connect)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None
    ) -> httpcore.AsyncNetworkStream:
        """Refused: a Unix socket is never an internet address (and the crawler never configures one)."""
        raise AddressRefused(path, "a Unix socket")

    async def sleep(self, seconds: float) -> None:
        """Sleep, as the wrapped backend does (httpcore's connect retries)."""
        await self._inner.sleep(seconds)


class _PollingBackend(httpcore.AsyncNetworkBackend):
    """The wrapped backend, its streams answering `is_readable` by polling their socket directly.

    httpcore asks it of every idle connection on every request and every response, to notice a server that closed a
    kept-alive connection. anyio's streams answer by building their whole table of attributes, a getpeername()
    system call included, each time: with six connections a host that was a tenth of the event loop's time in the
    bench's first crawl. The answer is the same: whether a read would return at once (data, or the end of it)."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend) -> None:
        self._inner = inner

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """A stream to `host`, from the wrapped backend."""
        stream = await self._inner.connect_tcp(
            host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )
        return _PollingStream(stream)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None
    ) -> httpcore.AsyncNetworkStream:
        """A stream to a Unix socket, from the wrapped backend."""
        return _PollingStream(await self._inner.connect_unix_socket(path, timeout, socket_options))

    async def sleep(self, seconds: float) -> None:
        """Sleep, as the wrapped backend does."""
        await self._inner.sleep(seconds)


class _PollingStream(httpcore.AsyncNetworkStream):
    """A network stream that answers `is_readable` from its socket, found once (see `_PollingBackend`)."""

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._socket: socket.socket | None = inner.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.AsyncNetworkStream:
        return _PollingStream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            return _readable(self._socket)
        return self._inner.get_extra_info(info)


def _readable(sock: socket.socket | None) -> bool:
    # As httpcore judges it: a socket that is gone counts as readable (its next read is the end of the stream).
    fd = -1 if sock is None else sock.fileno()
    if fd < 0:
        return True
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


HAPPY_EYEBALLS_DELAY = 0.25  # seconds an address has to connect before the next one is tried too (RFC 8305)


async def happy_eyeballs(
    addresses: Sequence[str],
    connect: Callable[[str], Awaitable[httpcore.AsyncNetworkStream]],
    delay: float = HAPPY_EYEBALLS_DELAY,
) -> httpcore.AsyncNetworkStream:
    """The first stream `connect` opens to one of `addresses`, tried in order, each `delay` after the one before or at
    once when one fails: a dead route (IPv6 that goes nowhere, one server of several down) costs a quarter of a
    second, not the whole connect timeout. The attempts that lose are cancelled, or closed if they connected."""
    waiting = list(addresses)
    running: set[asyncio.Task[httpcore.AsyncNetworkStream]] = set()
    failure: BaseException = httpcore.ConnectError("no address to connect to")
    try:
        while waiting or running:
            if waiting:
                running.add(asyncio.ensure_future(connect(waiting.pop(0))))
            done, running = await asyncio.wait(
                running, timeout=delay if waiting else None, return_when=asyncio.FIRST_COMPLETED
            )
            opened = [attempt.result() for attempt in done if attempt.exception() is None]
            if opened:
                for extra in opened[1:]:
                    await extra.aclose()
                return opened[0]
            for attempt in done:
                error = attempt.exception()
                if isinstance(error, (httpcore.ConnectError, httpcore.ConnectTimeout)):
                    failure = error
                elif error is not None:  # not a failure to connect: a bug, or a refusal
                    raise error
        raise failure
    finally:
        for attempt in running:
            attempt.cancel()
        for outcome in await asyncio.gather(*running, return_exceptions=True):
            if isinstance(outcome, httpcore.AsyncNetworkStream):
                await outcome.aclose()


def interleaved_families(addresses: Sequence[str]) -> list[str]:
    """`addresses` with the two families taking turns, the first address's family first (RFC 8305): a dead IPv6 route
    must not make every IPv4 address wait behind every IPv6 one."""
    first = [a for a in addresses if (":" in a) == (":" in addresses[0])]
    other = [a for a in addresses if (":" in a) != (":" in addresses[0])]
    mixed: list[str] = []
    for index in range(max(len(first), len(other))):
        mixed += first[index : index + 1] + other[index : index + 1]
    return mixed


async def _resolve(host: str, port: int, timeout: float | None) -> list[str]:
    """Every address `host` resolves to, once, in the resolver's order of preference (an IP literal is itself)."""
    try:
        ipaddress.ip_address(host)
        return [host]
    except ValueError:
        pass
    try:
        async with asyncio.timeout(timeout):
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except TimeoutError:
        raise httpcore.ConnectTimeout(f"resolving {host} took longer than {timeout:g}s") from None
    except (socket.gaierror, UnicodeError) as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from None
    addresses: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def environment_proxies() -> dict[str, str | None]:
    """The environment's proxies (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY; NO_PROXY as None, meaning direct) as httpx mount
    patterns, read as httpx reads them: httpx does so only when it builds its own transport, and ours replaces it."""
    found = urllib.request.getproxies()
    mounts: dict[str, str | None] = {}
    for scheme in ("http", "https", "all"):
        url = found.get(scheme)
        if url:
            mounts[f"{scheme}://"] = url if "://" in url else f"http://{url}"
    for name in (part.strip() for part in found.get("no", "").split(",")):
        # curl's NO_PROXY conventions, as httpx applies them: "*" is every host, "example.com" also its subdomains.
        if name == "*":
            return {}
        if "://" in name:
            mounts[name] = None
        elif _is_ip(name, ipaddress.IPv4Address) or name.lower() == "localhost":
            mounts[f"all://{name}"] = None
        elif _is_ip(name, ipaddress.IPv6Address):
            mounts[f"all://[{name}]"] = None
        elif name:
            mounts[f"all://*{name}"] = None
    return mounts


def _is_ip(name: str, kind: type[ipaddress.IPv4Address] | type[ipaddress.IPv6Address]) -> bool:
    try:
        kind(name.split("/")[0])
    except ValueError:
        return False
    return True


def _pool(
    ssl_context: ssl.SSLContext, http2: bool, limits: httpx.Limits, backend: httpcore.AsyncNetworkBackend | None
) -> httpcore.AsyncConnectionPool:
    # The same settings httpx.AsyncHTTPTransport gives its own pool.
    return httpcore.AsyncConnectionPool(
        ssl_context=ssl_context,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        http1=True,
        http2=http2,
        network_backend=backend,
    )


class _Body(httpx.AsyncByteStream):
    """A response body from httpcore, its errors raised as httpx's."""

    def __init__(self, stream: AsyncIterable[bytes]) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _httpx_errors():
            async for part in self._stream:
                yield part

    async def aclose(self) -> None:
        closer = getattr(self._stream, "aclose", None)
        if closer is not None:
            await closer()


# httpcore's errors and httpx's names for them (what httpx.AsyncHTTPTransport does, minus proxies), most specific
# first: the caller tells a timeout from a reset from a refused connection by these types.
_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


@contextlib.contextmanager
def _httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        for core, mapped in _ERRORS:
            if isinstance(exc, core):
                raise mapped(str(exc)) from exc
        raise
