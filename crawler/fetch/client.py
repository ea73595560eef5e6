"""The Fetcher: polite HTTP GETs, answering "what did the server say". One request's flow, in order:

    get(request)                      retries (crawler.fetch.retries): a bare first try, then tenacity
      _follow                         redirects, up to http.max_redirects; a feed moved for good is noted
        _exchange                     the URL's checks, the address pre-check, robots.txt (article pages only)
          Politeness.within           the host's cap and delay, the global cap (crawler.fetch.politeness)
            _send                     one request on the wire through the host's client (crawler.fetch.clients)
              read_body               the body within http.max_bytes, decoded (crawler.fetch.decoding)
        _raise_for_status             an error status -> FetchError (bot challenge, Retry-After, 4xx/5xx)

Every failure is a FetchError (crawler.fetch.messages) whose `kind` says what happened. One Fetcher may serve a daemon
across reloads of feeds.yaml: `reconfigure` applies new settings to later requests and keeps the per-host state.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from crawler import __version__
from crawler.config.settings import HttpConfig, PolitenessConfig
from crawler.fetch import addresses
from crawler.fetch.capture import exchange_of
from crawler.fetch.clients import Clients, HostSlot
from crawler.fetch.connections import ALLOW_PRIVATE, AddressRefused
from crawler.fetch.decoding import read_body
from crawler.fetch.messages import (
    Exchange,
    FetchError,
    FetchKind,
    Request,
    Response,
    parse_retry_after,
    parse_url,
    reason_of,
    sendable,
)
from crawler.fetch.politeness import HostLoad, HostPace, HostTurns, Politeness
from crawler.fetch.retries import RETRY_STATUSES, RetryPolicy, retry_failed
from crawler.fetch.robots import REDIRECT_STATUSES, Robots

PROJECT_URL = "https://github.com/feed-crawler/feed-crawler"
PERMANENT_REDIRECTS = frozenset({301, 308})
ACCEPT_ENCODING = "gzip, deflate"  # only what crawler.fetch.decoding can undo in bounded pieces


def user_agent(http: HttpConfig) -> str:
    """The User-Agent we send: the configured one, else the project's name, version and a contact URL."""
    if http.user_agent:
        return http.user_agent
    return f"feed-crawler/{__version__} (+{http.contact or PROJECT_URL})"


class Fetcher:
    """Polite HTTP GETs: one client per host, per-host concurrency and delay, a global cap, retries."""

    def __init__(
        self,
        http: HttpConfig,
        politeness: PolitenessConfig,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._politeness = Politeness(politeness, clock, sleep)
        self._clients = Clients(http, politeness, transport)
        self._robots = Robots(user_agent(http), http.max_retry_after)
        self._settle(http)

    def _settle(self, http: HttpConfig) -> None:
        """What every request is sent with, worked out once per setting: most requests send exactly these."""
        self._http = http
        self._retry_policy = RetryPolicy.from_config(http)
        # The client's defaults, which a request sent straight to a transport does not get. httpx copies what it is
        # given, never changes it, so one object serves every request.
        self._base_headers = httpx.Headers(
            {
                "Accept": "*/*",
                "Accept-Encoding": ACCEPT_ENCODING,
                "Connection": "keep-alive",
                "User-Agent": user_agent(http),
            }
        )
        self._timeouts_extension = self._clients.timeouts.as_dict()  # how a transport is told them

    def reconfigure(self, http: HttpConfig, politeness: PolitenessConfig) -> None:
        """Apply new settings to every later request, keeping what is still valid: each host's pace (its next start,
        the requests in flight against its cap, which may grow or shrink), robots.txt already read, and the clients
        (with their open connections) whose route, HTTP version and pool size are unchanged. A request already on
        the wire finishes on the client it was sent with; its later redirects and retries follow the new settings."""
        self._politeness.reconfigure(politeness)
        self._clients.reconfigure(http, politeness)
        self._robots.reconfigure(user_agent(http), http.max_retry_after)
        self._settle(http)

    def share_hosts(self, turns: HostTurns) -> None:
        """Keep each host's cap and delay across several nodes (see Politeness.share)."""
        self._politeness.share(turns)

    def load(self, host: str) -> HostLoad:
        """How many requests to `host` are in flight now, and how many wait for their turn."""
        return self._politeness.load(host.lower())

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every client."""
        await self._clients.aclose()

    async def get(self, request: Request) -> Response:
        """GET with retries on passing failures (timeouts, resets, 408/425/429/5xx), honouring Retry-After."""
        # The first attempt runs bare (crawler.fetch.retries says why, measured); a retryable failure enters tenacity.
        try:
            return await self._get_once(request)
        except FetchError as exc:
            first = exc
        return await retry_failed(self._retry_policy, first, lambda: self._get_once(request))

    async def _get_once(self, request: Request) -> Response:
        try:
            return await self._follow(request)
        except (httpx.InvalidURL, UnicodeError, ValueError, OverflowError) as exc:
            # What the checks in _exchange did not foresee that httpx, the IDNA codec or the socket layer refuse:
            # still a FetchError with its reason, never a crash; a later poll would meet it again.
            raise FetchError(
                request.url,
                FetchKind.URL,
                f"cannot be requested: {type(exc).__name__}: {reason_of(exc)}",
                transient=False,
            ) from None

    async def _follow(self, request: Request) -> Response:
        url = request.url
        only_permanent = True  # a feed moved for good only when every hop said so
        hops: tuple[Exchange, ...] = ()  # with `capture`, each hop's exchange, kept for the raw record
        for hop in range(self._http.max_redirects + 1):
            response = await self._exchange(url, request)
            hops += response.exchanges
            if response.status not in REDIRECT_STATUSES:
                moved = url if hop and only_permanent else None
                return Response(
                    url=request.url,
                    final_url=url,
                    status=response.status,
                    headers=response.headers,
                    content=response.content,
                    permanent_redirect=moved,
                    exchanges=hops,
                )
            location = response.headers.get("location")
            if not location:
                raise FetchError(
                    url,
                    FetchKind.STATUS,
                    f"HTTP {response.status} redirect without a Location",
                    transient=False,
                    status=response.status,
                )
            only_permanent = only_permanent and response.status in PERMANENT_REDIRECTS
            url = urljoin(url, location.strip())
        raise FetchError(
            request.url,
            FetchKind.REDIRECTS,
            f"more than {self._http.max_redirects} redirects (a redirect loop?)",
            transient=False,
        )

    async def _exchange(self, url: str, request: Request) -> Response:
        """One request/response on the wire, no redirects followed, with every check before it."""
        target = parse_url(url)
        if isinstance(target, str):
            raise FetchError(url, FetchKind.URL, f"invalid URL: {target}", transient=False)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError(url, FetchKind.SCHEME, f"only http and https URLs are fetched, not {url}", transient=False)
        host = parts.hostname.lower()
        if not request.allow_private and not await addresses.host_is_public(host):
            raise FetchError(
                url,
                FetchKind.ADDRESS,
                f"refused: {host} is not a public address (set allow_private_addresses: true to allow it)",
                transient=False,
            )
        pace = self._politeness.pace(host)
        if request.check_robots and pace.robots:
            await self._robots.check(url, pace, request, self._send_robots)
        headers = self._base_headers
        if request.etag or request.last_modified or request.headers:
            headers = headers.copy()
            # A validator stored before it was vetted (see `sendable`) is left out: the request goes unconditional.
            if request.etag and sendable(request.etag):
                headers["If-None-Match"] = request.etag
            if request.last_modified and sendable(request.last_modified):
                headers["If-Modified-Since"] = request.last_modified
            # The feed's own headers win, whatever their case (a `user-agent:` key replaces ours, not joins it).
            headers.update(request.headers)
        response = await self._polite_send(pace, host, url, headers, request, target)
        self._raise_for_status(url, pace, response)
        return response

    async def _send_robots(self, host: str, url: str, headers: httpx.Headers, request: Request) -> Response:
        return await self._polite_send(self._politeness.pace(host), host, url, headers, request)

    async def _polite_send(
        self,
        pace: HostPace,
        host: str,
        url: str,
        headers: httpx.Headers,
        request: Request,
        target: httpx.URL | None = None,
    ) -> Response:
        """Send once the host's cap, its delay and the global cap all allow it, through the host's client as it is
        then (taken at the last moment, so a client replaced by `reconfigure` meanwhile is not used). `target` is
        `url` parsed already, if it was."""

        async def send() -> Response:
            slot = self._clients.take(host, request.proxy)
            try:
                return await self._send(
                    slot, url, headers, request.allow_private, capture=request.capture, target=target
                )
            finally:
                self._clients.give_back(slot)

        return await self._politeness.within(pace, send)

    async def _send(
        self,
        slot: HostSlot,
        url: str,
        headers: httpx.Headers,
        allow_private: bool,
        *,
        capture: bool = False,
        target: httpx.URL | None = None,
    ) -> Response:
        # The transport connects only to addresses the same policy allows, unless this request may reach any.
        extensions = {ALLOW_PRIVATE: allow_private}
        try:
            async with asyncio.timeout(self._http.timeout):
                started = time.time()
                async with self._open(slot, target or url, headers, extensions) as answer:
                    if not capture:
                        content = await read_body(answer, url, self._http.max_bytes)
                        return Response(url, url, answer.status_code, answer.headers, content)
                    decoded, raw = answer.is_stream_consumed, list[bytes]()
                    content = await read_body(answer, url, self._http.max_bytes, raw)
                    kept = exchange_of(answer, url, content, raw, decoded=decoded, started=started)
                    return Response(url, url, answer.status_code, answer.headers, content, exchanges=(kept,))
        except TimeoutError:
            raise FetchError(
                url, FetchKind.TIMEOUT, f"no complete answer within {self._http.timeout:g}s", transient=True
            ) from None
        except AddressRefused as exc:
            raise FetchError(
                url,
                FetchKind.ADDRESS,
                f"refused at connect: {exc.host} now resolves to {exc.address}, not a public address "
                "(set allow_private_addresses: true to allow it)",
                transient=False,
            ) from None
        except zlib.error as exc:
            raise FetchError(url, FetchKind.NETWORK, f"undecodable compressed body: {exc}", transient=True) from None
        except httpx.TimeoutException as exc:
            raise FetchError(url, FetchKind.TIMEOUT, f"timed out ({type(exc).__name__})", transient=True) from None
        except httpx.DecodingError as exc:
            raise FetchError(url, FetchKind.NETWORK, f"undecodable response body: {exc}", transient=True) from None
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            raise FetchError(url, FetchKind.RESET, f"connection broken: {reason_of(exc)}", transient=True) from None
        except httpx.ConnectError as exc:
            # Through a proxy the only connection we open is to the proxy: name it, or the site gets the blame.
            where = f" to proxy {_without_credentials(slot.proxy)}" if slot.proxy else ""
            raise FetchError(
                url, FetchKind.NETWORK, f"cannot connect{where}: {reason_of(exc)}", transient=True
            ) from None
        except httpx.HTTPError as exc:
            raise FetchError(url, FetchKind.NETWORK, reason_of(exc), transient=True) from None

    @contextlib.asynccontextmanager
    async def _open(
        self, slot: HostSlot, url: httpx.URL | str, headers: httpx.Headers, extensions: Mapping[str, object]
    ) -> AsyncIterator[httpx.Response]:
        """A GET's response, its body still to be read; closed on leaving."""
        transport = slot.transport
        if transport is None:
            async with slot.client.stream(
                "GET", url, headers=headers, extensions=extensions, timeout=self._clients.timeouts
            ) as answer:
                yield answer
            return
        request = get_request(
            url if isinstance(url, httpx.URL) else httpx.URL(url),
            headers,
            {**extensions, "timeout": self._timeouts_extension},
        )
        cookies = slot.client.cookies
        if cookies:
            cookies.set_cookie_header(request)
        answer = await transport.handle_async_request(request)
        answer.request = request
        try:
            if "set-cookie" in answer.headers:
                cookies.extract_cookies(answer)
            yield answer
        finally:
            await answer.aclose()

    def _raise_for_status(self, url: str, pace: HostPace, response: Response) -> None:
        status = response.status
        if status < 400:
            return
        if response.is_challenge:
            # Retrying at once would only look more like a bot; a later poll may pass (the article waits for it).
            raise FetchError(
                url,
                FetchKind.BOT_PROTECTION,
                f"HTTP {status}: blocked by bot protection (a challenge page); not retried in this poll",
                transient=True,
                status=status,
            )
        if status in RETRY_STATUSES:
            wait = parse_retry_after(response.headers.get("retry-after"))
            if wait is not None and wait > self._http.max_retry_after:
                raise FetchError(
                    url,
                    FetchKind.RETRY_AFTER,
                    f"HTTP {status} asks us to wait {wait:.0f}s, more than "
                    f"http.max_retry_after ({self._http.max_retry_after:.0f}s); giving up for this poll",
                    transient=True,
                    status=status,
                    retry_after=wait,
                )
            if wait is not None:
                # The whole host asked for a pause, not just this URL: hold back every request to it.
                pace.hold_back(self._politeness.now() + wait)
            raise FetchError(url, FetchKind.STATUS, f"HTTP {status}", transient=True, status=status, retry_after=wait)
        raise FetchError(url, FetchKind.STATUS, f"HTTP {status}", transient=status >= 500, status=status)


_NO_BODY = httpx.ByteStream(b"")


def get_request(url: httpx.URL, headers: httpx.Headers, extensions: dict[str, Any]) -> httpx.Request:
    """The GET httpx.Request("GET", url, headers=headers) builds (a Host header first unless `headers` has one, no
    body), built without httpx's body encoding: that looks up Content-Type in the headers, which are without one,
    and a missing header costs httpx a KeyError raised and caught, a tenth of the CPU of a 304."""
    if not any(name.lower() == b"host" for name, _ in headers.raw):
        headers = httpx.Headers([(b"Host", url.netloc), *headers.raw])
    return httpx.Request("GET", url, headers=headers, stream=_NO_BODY, extensions=extensions)


def _without_credentials(url: str) -> str:
    """`url` without a `user:password@` part: a proxy's credentials have no place in an error message or a log."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
