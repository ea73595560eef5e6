"""The httpx clients behind the Fetcher: one per target host and route (direct, a configured proxy, or none at all),
its connection pool no larger than the host's cap (at most 10: httpx's pool slows sharply beyond that), all sharing
one TLS context. Direct requests go through GuardedTransport (crawler.fetch.connections), which connects only to
addresses the address policy allows; the environment's proxies (HTTP(S)_PROXY, NO_PROXY) are mounted here, since
httpx reads them only for a transport of its own.

    Clients(http, politeness, transport)
      .take(host, proxy) -> HostSlot     the client to send with, counted in use until .give_back(slot)
      .reconfigure(http, politeness)     clients built from changed settings are retired, closed once idle
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass

import httpx

from crawler.config.settings import DIRECT, HttpConfig, PolitenessConfig
from crawler.fetch.addresses import address_is_public
from crawler.fetch.connections import GuardedTransport, environment_proxies


@dataclass(frozen=True)
class _Build:
    """What a client was built from: a client whose settings changed is replaced, not reused."""

    route: str | None  # the proxy it goes through (DIRECT and no proxy both None)
    direct: bool  # the feed said `proxy: direct`: no proxy at all, the environment's included
    http2: bool
    concurrency: int


@dataclass(eq=False)
class HostSlot:
    """One way of reaching a host: a client of its own, direct or through `proxy`."""

    client: httpx.AsyncClient
    proxy: str | None  # the proxy the client uses, if configured (environment proxies are httpx's business)
    # The one transport every request of this slot goes to, when no proxy (configured or from the environment) can
    # route one elsewhere: requests then go to it straight, with the client's cookies. The client's own layers
    # (request building, auth, redirects, cookie jar, hooks) cost 0.2 ms of CPU per request, 28% of a 100 KB GET.
    transport: httpx.AsyncBaseTransport | None
    build: _Build
    active: int = 0  # requests sending through it now
    retired: bool = False  # replaced after a change of settings; closed once `active` falls to 0


class Clients:
    """Every host's clients, built on first use."""

    def __init__(
        self, http: HttpConfig, politeness: PolitenessConfig, transport: httpx.AsyncBaseTransport | None
    ) -> None:
        self._http = http
        self._politeness = politeness
        # A test's or bench's transport, used by every client instead of ours. Closing a client closes it too (as
        # `aclose` always did): a retired client closes it early, harmless for the in-memory ones tests inject.
        self._transport = transport
        self._timeouts = httpx.Timeout(http.read_timeout, connect=http.connect_timeout)
        self._slots: dict[tuple[str, str | None], HostSlot] = {}
        self._cookies: dict[tuple[str, str | None], httpx.Cookies] = {}  # a retired client's, for its successor
        self._retired: set[HostSlot] = set()
        self._closing: set[asyncio.Task[None]] = set()
        self._ssl_context: ssl.SSLContext | None = None

    def take(self, host: str, proxy: str | None) -> HostSlot:
        """The client for `host` through `proxy` (see Request.proxy), counted in use until `give_back`."""
        slot = self._slots.get((host, proxy))
        if slot is None:
            slot = self._slots[(host, proxy)] = self._build(host, proxy)
        slot.active += 1
        return slot

    def give_back(self, slot: HostSlot) -> None:
        """A request is done with `slot`; a retired slot is closed when its last request is."""
        slot.active -= 1
        if slot.retired and not slot.active:
            self._close(slot)

    def reconfigure(self, http: HttpConfig, politeness: PolitenessConfig) -> None:
        """Apply new settings: a client whose route, HTTP version or pool size changed is replaced for later requests
        (keeping its cookies) and closed once its requests in flight are done; every other client stays, with its
        open connections."""
        self._http = http
        self._politeness = politeness
        self._timeouts = httpx.Timeout(http.read_timeout, connect=http.connect_timeout)
        for key, slot in list(self._slots.items()):
            if slot.build != self._plan(*key):
                del self._slots[key]
                self._cookies[key] = slot.client.cookies
                slot.retired = True
                self._retired.add(slot)
                if not slot.active:
                    self._close(slot)

    async def aclose(self) -> None:
        """Close every client, retired ones included, and wait for the closings under way."""
        slots = [*self._slots.values(), *self._retired]
        self._slots, self._retired, self._cookies = {}, set(), {}
        await asyncio.gather(*(slot.client.aclose() for slot in slots), *self._closing, return_exceptions=True)

    @property
    def timeouts(self) -> httpx.Timeout:
        """The timeouts every request is sent with."""
        return self._timeouts

    def _close(self, slot: HostSlot) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # reconfigured outside the loop: `aclose` closes it
            return
        self._retired.discard(slot)
        task = loop.create_task(slot.client.aclose())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def _plan(self, host: str, proxy: str | None) -> _Build:
        # A feed's own proxy wins over http.proxy, which wins over the environment's; `direct` refuses them all.
        route = None if proxy == DIRECT else proxy or self._http.proxy
        concurrency, _, _ = self._politeness.for_host(host)
        return _Build(route=route, direct=proxy == DIRECT, http2=self._http.http2, concurrency=concurrency)

    def _build(self, host: str, proxy: str | None) -> HostSlot:
        build = self._plan(host, proxy)
        transport = self._transport or self._direct_transport(build.concurrency)
        mounts = None if build.direct else self._environment_mounts(build.route, build.concurrency)
        limits = httpx.Limits(max_connections=build.concurrency, max_keepalive_connections=build.concurrency)
        client = httpx.AsyncClient(
            verify=self._tls_context(),
            http2=build.http2,
            proxy=build.route,
            trust_env=True,
            follow_redirects=False,
            timeout=self._timeouts,
            limits=limits,
            transport=transport,
            mounts=mounts,
            cookies=self._cookies.pop((host, proxy), None),
        )
        return HostSlot(
            client=client,
            proxy=build.route,
            transport=None if build.route or mounts else transport,
            build=build,
        )

    def _tls_context(self) -> ssl.SSLContext:
        # One context for every host's client: each loads the whole CA bundle (about 1 MB of memory a client).
        if self._ssl_context is None:
            self._ssl_context = httpx.create_ssl_context(trust_env=True)
        return self._ssl_context

    def _direct_transport(self, concurrency: int) -> httpx.AsyncBaseTransport:
        # Every request not sent through a proxy: connections open only to addresses the request may reach.
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        return GuardedTransport(self._tls_context(), self._http.http2, limits, address_is_public)

    def _environment_mounts(
        self, configured: str | None, concurrency: int
    ) -> dict[str, httpx.AsyncBaseTransport | None] | None:
        # httpx reads HTTP(S)_PROXY / ALL_PROXY / NO_PROXY only when it builds its own transport; ours replaces it, so
        # the environment's proxies are mounted here. A configured proxy wins over them, as it did; a test's transport
        # never had them.
        if self._transport is not None or configured:
            return None
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        return {
            pattern: None
            if url is None
            else httpx.AsyncHTTPTransport(
                verify=self._tls_context(), http2=self._http.http2, limits=limits, proxy=url, trust_env=True
            )
            for pattern, url in environment_proxies().items()
        }
