"""HTTP: clients, politeness, retries, conditional GET and limits; answers "what did the server say".

Errors are one type, FetchError, whose `kind` says what happened and whether a later poll may succeed:

    FetchError
      kind: timeout | reset | status | too-large | redirects | scheme | url | address | robots | bot-protection
            | retry-after | network
      transient: True when a later poll may succeed (timeouts, resets, 5xx, 429, a bot challenge); False for 404,
                 410, robots.txt Disallow, refused addresses, too-large bodies ...

Within one poll only timeouts, resets, network errors and 408/425/429/500/502/503/504 are retried (exponential
backoff with jitter, or the server's Retry-After up to http.max_retry_after). Every request to a host goes through
that host's slot: its own client (at most 10 connections: httpx's pool slows sharply beyond that; one per proxy), a
concurrency cap and a minimum delay between request starts, the same whichever proxy a request goes through; a global
cap bounds all hosts together.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import random
import re
import socket
import ssl
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import httpx
from protego import Protego
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from crawler import __version__
from crawler.config.settings import DIRECT, HttpConfig, PolitenessConfig
from crawler.errors import CrawlerError
from crawler.fetch.connections import ALLOW_PRIVATE, AddressRefused, GuardedTransport, environment_proxies

PROJECT_URL = "https://github.com/feed-crawler/feed-crawler"
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECTS = frozenset({301, 308})
ROBOTS_TTL = 24 * 3600.0
ROBOTS_MAX_BYTES = 512 * 1024
ROBOTS_MAX_REDIRECTS = 5
MAX_RETRY_WAIT = 60.0  # the longest backoff between two attempts within one poll
ACCEPT_ENCODING = "gzip, deflate"  # only what _Decoder can undo in bounded pieces
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_XML_TYPES = frozenset({"text/xml", "application/xml"})
_SNIFF_BYTES = 1445  # what WHATWG's MIME sniffing looks at
_XHTML_ROOT = re.compile(rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*|<!DOCTYPE[^>]*>\s*)*<html[\s>]", re.I | re.S)
_BINARY_BYTES = re.compile(rb"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f]")  # WHATWG's "binary data bytes"
_TEXT_BOMS = (b"\xef\xbb\xbf", b"\xfe\xff", b"\xff\xfe")
_CHALLENGE_MARKERS = (
    b"challenge-platform",
    b"cf-chl-",
    b"cf_chl_",
    b"Just a moment...",
    b"captcha-delivery",
    b"_Incapsula_Resource",
    b"px-captcha",
)


class FetchError(CrawlerError):
    """A request that did not give a usable answer; `str()` is one line naming the URL and the reason."""

    def __init__(
        self,
        url: str,
        kind: str,
        reason: str,
        *,
        transient: bool,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.kind = kind
        self.reason = reason
        self.transient = transient
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class Response:
    """What the server answered: status, final URL after redirects, headers and the whole (decompressed) body."""

    url: str
    final_url: str
    status: int
    headers: httpx.Headers
    content: bytes
    permanent_redirect: str | None = None

    @property
    def not_modified(self) -> bool:
        """Whether the server said the resource is unchanged since our validators."""
        return self.status == 304

    @property
    def content_type(self) -> str | None:
        """The Content-Type header as sent."""
        return _header(self.headers, "content-type")

    @property
    def etag(self) -> str | None:
        """The ETag exactly as the server sent it; None when it could not be sent back (see `sendable`)."""
        return _validator(self.headers, "etag")

    @property
    def last_modified(self) -> str | None:
        """The Last-Modified header exactly as the server sent it; None when it could not be sent back."""
        return _validator(self.headers, "last-modified")

    def cache_lifetime(self) -> float | None:
        """Seconds the response may be cached for, from Cache-Control max-age or Expires."""
        control = self.headers.get("cache-control", "")
        for part in control.split(","):
            name, _, value = part.strip().partition("=")
            if name.lower() == "max-age" and value.strip().isdigit():
                return float(value.strip())
        expires = self.headers.get("expires")
        if expires:
            moment = _http_date(expires)
            if moment is not None:
                return max(0.0, moment - time.time())
        return None


def url_problem(url: str) -> str | None:
    """Why `url` cannot be requested, in a few words, or None when it can: what httpx's parser (non-printable
    characters, a port that is not one, a URL over 64 KB) or the IDNA codec (`xn--a`) would refuse."""
    try:
        # Reading the host decodes an IDNA one (`xn--...`), which is where a bad one is refused.
        _host = httpx.URL(url).host
        _port = urlsplit(url).port  # the stdlib's parser, which the crawler uses on the URL too
    except (httpx.InvalidURL, UnicodeError, ValueError) as exc:
        return _reason(exc)
    return None


def sendable(value: str) -> bool:
    """Whether a header value can be sent as it is: printable ASCII. A validator outside it (a UTF-8 ETag, a
    Last-Modified with a control character) is neither stored nor sent: the next poll is unconditional, and the
    unchanged body is still recognised by its hash."""
    return value.isascii() and value.isprintable()


def not_html(content_type: str | None, content: bytes) -> str | None:
    """Why an answer is not an HTML page to extract an article from (one line), or None when it is one.

    Pages are what a browser renders as HTML: text/html, application/xhtml+xml, and XML whose root is <html>; with no
    Content-Type at all, any body that is not binary (the server said nothing; most such bodies are old HTML).
    text/plain is not a page: a browser shows it as text, never as markup (WHATWG MIME sniffing)."""
    essence = _mime_essence(content_type)
    if essence in _HTML_TYPES:
        return None
    if essence in _XML_TYPES and _XHTML_ROOT.search(content[:_SNIFF_BYTES]):
        return None
    if "/" not in essence:  # missing, or no MIME type at all (WHATWG: as if missing)
        if content.startswith(_TEXT_BOMS) or not _BINARY_BYTES.search(content[:_SNIFF_BYTES]):
            return None
        return "not an HTML page: no Content-Type, and the body is binary"
    return f"not an HTML page: {essence}"


def _mime_essence(content_type: str | None) -> str:
    """The type/subtype of a Content-Type, lower case; of the last valid one when the header came twice (httpx joins
    repeats with commas; WHATWG's "extract a MIME type" takes the last)."""
    essences = [piece.split(";", 1)[0].strip().lower() for piece in (content_type or "").split(",")]
    return next((essence for essence in reversed(essences) if "/" in essence), "")


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header in either form (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    moment = _http_date(value)
    if moment is None:
        return None
    return max(0.0, moment - (time.time() if now is None else now))


def _http_date(value: str) -> float | None:
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def user_agent(http: HttpConfig) -> str:
    """The User-Agent we send: the configured one, else the project's name, version and a contact URL."""
    if http.user_agent:
        return http.user_agent
    return f"feed-crawler/{__version__} (+{http.contact or PROJECT_URL})"


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
    again and judges what it connects to (crawler.connections), so a changed DNS answer cannot slip past."""
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


@dataclass
class _RobotsEntry:
    rules: Protego | None  # None: everything allowed
    expires: float


@dataclass
class _HostPace:
    """One target host's politeness: its concurrency cap, the time its next request may start and its robots.txt.
    Shared by every way of reaching the host (direct or through any proxy): the site is the one to be polite to."""

    limit: asyncio.Semaphore
    delay: float
    robots: bool
    next_start: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass
class _OriginRobots:
    """One origin's robots.txt (RFC 9309: scheme, host and port), loaded once by whichever request comes first."""

    cache: _RobotsEntry | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass(frozen=True)
class _HostSlot:
    """One way of reaching a host: a client of its own (direct or through `proxy`) and the host's shared pace."""

    client: httpx.AsyncClient
    pace: _HostPace
    proxy: str | None  # the proxy the client uses, if configured (environment proxies are httpx's business)
    # The one transport every request of this slot goes to, when no proxy (configured or from the environment) can
    # route one elsewhere: requests then go to it straight, with the client's cookies. The client's own layers
    # (request building, auth, redirects, cookie jar, hooks) cost 0.2 ms of CPU per request, 28% of a 100 KB GET.
    transport: httpx.AsyncBaseTransport | None = None


@dataclass(frozen=True)
class Request:
    """One GET: the URL and what the caller knows about it."""

    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    check_robots: bool = False
    allow_private: bool = True
    proxy: str | None = None  # the feed's `proxy:`: a URL, or DIRECT (no proxy at all); None takes http.proxy


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
        self._http = http
        self._politeness = politeness
        self._transport = transport
        # What the hosts' delays are kept by, injected so that a test can drive them instead of timing a busy machine.
        self._clock = clock
        self._sleep = sleep
        self._slots: dict[tuple[str, str | None], _HostSlot] = {}
        self._paces: dict[str, _HostPace] = {}
        self._robots: dict[tuple[str, str, int | None], _OriginRobots] = {}
        self._global = asyncio.Semaphore(politeness.max_connections)
        self._user_agent = user_agent(http)
        # Built once: most requests send exactly these, and httpx copies what it is given, never changes it.
        # The client's defaults, which a request sent straight to a transport does not get.
        self._base_headers = httpx.Headers(
            {
                "Accept": "*/*",
                "Accept-Encoding": ACCEPT_ENCODING,
                "Connection": "keep-alive",
                "User-Agent": self._user_agent,
            }
        )
        self._timeouts = httpx.Timeout(http.read_timeout, connect=http.connect_timeout)
        self._timeouts_extension = self._timeouts.as_dict()  # how a transport is told them
        self._ssl_context: ssl.SSLContext | None = None
        # Clients replaced by `reconfigure`, with the requests still using each: closed when the last one is done.
        self._retired: dict[httpx.AsyncClient, int] = {}
        self._using: dict[httpx.AsyncClient, int] = {}
        self._closing: set[asyncio.Task[None]] = set()  # retired clients being closed
        self._shrinking: set[asyncio.Task[None]] = set()  # permits being taken back after a cap was lowered

    def reconfigure(self, http: HttpConfig, politeness: PolitenessConfig) -> None:
        """Apply new settings (a reload of feeds.yaml) to every request that starts from now on, keeping each host's
        politeness state (its cap, its pace, its robots.txt) and the global cap: requests already under way and new
        ones count against the same limits, resized to the new values. Clients built for the old settings finish
        the requests on them and are then closed."""
        if (http, politeness) == (self._http, self._politeness):
            return
        old = self._politeness
        for host, pace in self._paces.items():
            concurrency, delay, robots = politeness.for_host(host)
            self._resize(pace.limit, old.for_host(host)[0], concurrency)
            pace.delay, pace.robots = delay, robots  # a robots.txt crawl delay is applied again on its next check
        self._resize(self._global, old.max_connections, politeness.max_connections)
        self._http, self._politeness = http, politeness
        self._user_agent = user_agent(http)
        self._base_headers = self._base_headers.copy()
        self._base_headers["User-Agent"] = self._user_agent
        self._timeouts = httpx.Timeout(http.read_timeout, connect=http.connect_timeout)
        self._timeouts_extension = self._timeouts.as_dict()
        # Clients hold settings (proxy, HTTP/2, timeouts, the host's connection cap): new requests get new ones.
        retired, self._slots = list(self._slots.values()), {}
        for client in {slot.client for slot in retired}:
            self._retired[client] = 0
            self._release_client(client)

    def _resize(self, limit: asyncio.Semaphore, before: int, after: int) -> None:
        """Give `limit` `after` permits instead of `before`: more at once, or fewer as requests under way end."""
        for _ in range(after - before):
            limit.release()
        if after < before:
            task = asyncio.get_running_loop().create_task(self._take(limit, before - after))
            self._shrinking.add(task)
            task.add_done_callback(self._shrinking.discard)

    @staticmethod
    async def _take(limit: asyncio.Semaphore, permits: int) -> None:
        for _ in range(permits):
            await limit.acquire()  # kept for good: the cap is that much lower

    def _release_client(self, client: httpx.AsyncClient) -> None:
        """Close a retired client once no request uses it."""
        if client in self._retired and self._using.get(client, 0) == 0:
            del self._retired[client]
            task = asyncio.get_running_loop().create_task(client.aclose())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every client."""
        slots, self._slots = list(self._slots.values()), {}
        self._paces = {}
        self._robots = {}
        clients = [*(slot.client for slot in slots), *self._retired]
        self._retired = {}
        for task in self._shrinking:
            task.cancel()
        await asyncio.gather(
            *self._shrinking, *self._closing, *(client.aclose() for client in clients), return_exceptions=True
        )

    async def get(self, request: Request) -> Response:
        """GET with retries on passing failures (timeouts, resets, 408/425/429/5xx), honouring Retry-After."""
        # The first attempt runs bare: almost every request succeeds at once, and building tenacity's machinery for
        # each one cost more than the rest of our per-request work. Only a retryable failure enters it.
        try:
            return await self._get_once(request)
        except FetchError as exc:
            if self._http.retries < 1 or not _retryable(exc):
                raise
            first = exc
        await asyncio.sleep(self._wait_after(first, 1))
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._http.retries),
            retry=retry_if_exception(lambda exc: isinstance(exc, FetchError) and _retryable(exc)),
            wait=self._wait,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._get_once(request)
        raise AssertionError("unreachable: tenacity either returns or raises")

    def _wait(self, state: RetryCallState) -> float:
        # Tenacity counts from the second attempt (the first ran in `get`), hence the + 1.
        error = state.outcome.exception() if state.outcome is not None else None
        return self._wait_after(error, state.attempt_number + 1)

    def _wait_after(self, error: BaseException | None, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt`: the server's Retry-After, else the backoff."""
        if isinstance(error, FetchError) and error.retry_after is not None:
            return error.retry_after
        return backoff_wait(self._http.backoff, attempt)

    async def _get_once(self, request: Request) -> Response:
        try:
            return await self._follow(request)
        except (httpx.InvalidURL, UnicodeError, ValueError, OverflowError) as exc:
            # What the checks in _exchange did not foresee that httpx, the IDNA codec or the socket layer refuse:
            # still a FetchError with its reason, never a crash; a later poll would meet it again.
            raise FetchError(
                request.url, "url", f"cannot be requested: {type(exc).__name__}: {_reason(exc)}", transient=False
            ) from None

    async def _follow(self, request: Request) -> Response:
        url = request.url
        only_permanent = True  # a feed moved for good only when every hop said so
        for hop in range(self._http.max_redirects + 1):
            response = await self._exchange(url, request)
            if response.status not in REDIRECT_STATUSES:
                moved = url if hop and only_permanent else None
                return Response(
                    url=request.url,
                    final_url=url,
                    status=response.status,
                    headers=response.headers,
                    content=response.content,
                    permanent_redirect=moved,
                )
            location = response.headers.get("location")
            if not location:
                raise FetchError(
                    url,
                    "status",
                    f"HTTP {response.status} redirect without a Location",
                    transient=False,
                    status=response.status,
                )
            only_permanent = only_permanent and response.status in PERMANENT_REDIRECTS
            url = urljoin(url, location.strip())
        raise FetchError(
            request.url,
            "redirects",
            f"more than {self._http.max_redirects} redirects (a redirect loop?)",
            transient=False,
        )

    async def _exchange(self, url: str, request: Request) -> Response:
        """One request/response on the wire, no redirects followed, with every check before it."""
        problem = url_problem(url)
        if problem is not None:
            raise FetchError(url, "url", f"invalid URL: {problem}", transient=False)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError(url, "scheme", f"only http and https URLs are fetched, not {url}", transient=False)
        host = parts.hostname.lower()
        if not request.allow_private and not await host_is_public(host):
            raise FetchError(
                url,
                "address",
                f"refused: {host} is not a public address (set allow_private_addresses: true to allow it)",
                transient=False,
            )
        slot = self._slot(host, request.proxy)
        if request.check_robots and slot.pace.robots:
            await self._check_robots(slot, url, request)
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
        response = await self._polite_send(slot, url, headers, request.allow_private)
        self._raise_for_status(url, slot, response)
        return response

    async def _polite_send(self, slot: _HostSlot, url: str, headers: httpx.Headers, allow_private: bool) -> Response:
        """Send once the host's cap, its delay and the global cap all allow it."""
        pace = slot.pace
        async with pace.limit:
            async with pace.lock:
                now = self._clock()
                if pace.next_start > now:
                    await self._sleep(pace.next_start - now)
                # The host's turn is taken only with a global permit in hand, so waiting for one can never make this
                # request start closer than the delay to the next one; and no permit is held while sleeping.
                await self._global.acquire()
                pace.next_start = self._clock() + pace.delay
            self._using[slot.client] = self._using.get(slot.client, 0) + 1
            try:
                return await self._send(slot, url, headers, allow_private)
            finally:
                self._global.release()
                self._using[slot.client] -= 1
                if not self._using[slot.client]:
                    del self._using[slot.client]
                    self._release_client(slot.client)

    async def _send(self, slot: _HostSlot, url: str, headers: httpx.Headers, allow_private: bool) -> Response:
        limit = self._http.max_bytes
        # The transport connects only to addresses the same policy allows, unless this request may reach any.
        extensions = {ALLOW_PRIVATE: allow_private}
        try:
            async with asyncio.timeout(self._http.timeout):
                async with self._open(slot, url, headers, extensions) as answer:
                    declared = answer.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > limit:
                        raise _too_large(url, limit)
                    if answer.is_stream_consumed:
                        # Read in full already (an in-memory transport, as in tests and benches): httpx decoded it.
                        if len(answer.content) > limit:
                            raise _too_large(url, limit)
                        return Response(url, url, answer.status_code, answer.headers, answer.content)
                    decoder = _Decoder(url, answer.headers.get("content-encoding", ""))
                    chunks: list[bytes] = []
                    size = 0
                    if decoder.passthrough:
                        # No Content-Encoding (or identity): the raw bytes are the body, no decoder in between.
                        async for raw in answer.aiter_raw():
                            size += len(raw)
                            if size > limit:
                                raise _too_large(url, limit)
                            chunks.append(raw)
                        return Response(url, url, answer.status_code, answer.headers, b"".join(chunks))
                    # Raw bytes are decompressed here in bounded pieces (not by httpx, which inflates a whole
                    # network read at once), so the limit holds after decompression and a gzip bomb stays small.
                    async for raw in answer.aiter_raw():
                        for piece in decoder.feed(raw):
                            size += len(piece)
                            if size > limit:
                                raise _too_large(url, limit)
                            chunks.append(piece)
                    for piece in decoder.flush():
                        size += len(piece)
                        if size > limit:
                            raise _too_large(url, limit)
                        chunks.append(piece)
                    return Response(
                        url=url,
                        final_url=url,
                        status=answer.status_code,
                        headers=answer.headers,
                        content=b"".join(chunks),
                    )
        except TimeoutError:
            raise FetchError(
                url, "timeout", f"no complete answer within {self._http.timeout:g}s", transient=True
            ) from None
        except AddressRefused as exc:
            raise FetchError(
                url,
                "address",
                f"refused at connect: {exc.host} now resolves to {exc.address}, not a public address "
                "(set allow_private_addresses: true to allow it)",
                transient=False,
            ) from None
        except zlib.error as exc:
            raise FetchError(url, "network", f"undecodable compressed body: {exc}", transient=True) from None
        except httpx.TimeoutException as exc:
            raise FetchError(url, "timeout", f"timed out ({type(exc).__name__})", transient=True) from None
        except httpx.DecodingError as exc:
            raise FetchError(url, "network", f"undecodable response body: {exc}", transient=True) from None
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            raise FetchError(url, "reset", f"connection broken: {_reason(exc)}", transient=True) from None
        except httpx.ConnectError as exc:
            # Through a proxy the only connection we open is to the proxy: name it, or the site gets the blame.
            where = f" to proxy {_without_credentials(slot.proxy)}" if slot.proxy else ""
            raise FetchError(url, "network", f"cannot connect{where}: {_reason(exc)}", transient=True) from None
        except httpx.HTTPError as exc:
            raise FetchError(url, "network", _reason(exc), transient=True) from None

    @contextlib.asynccontextmanager
    async def _open(
        self, slot: _HostSlot, url: str, headers: httpx.Headers, extensions: Mapping[str, object]
    ) -> AsyncIterator[httpx.Response]:
        """A GET's response, its body still to be read; closed on leaving."""
        transport = slot.transport
        if transport is None:
            async with slot.client.stream("GET", url, headers=headers, extensions=extensions) as answer:
                yield answer
            return
        request = httpx.Request(
            "GET", url, headers=headers, extensions={**extensions, "timeout": self._timeouts_extension}
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

    def _raise_for_status(self, url: str, slot: _HostSlot, response: Response) -> None:
        status = response.status
        if status < 400:
            return
        if _is_challenge(response):
            # Retrying at once would only look more like a bot; a later poll may pass (the article waits for it).
            raise FetchError(
                url,
                "bot-protection",
                f"HTTP {status}: blocked by bot protection (a challenge page); not retried in this poll",
                transient=True,
                status=status,
            )
        if status in RETRY_STATUSES:
            wait = parse_retry_after(response.headers.get("retry-after"))
            if wait is not None and wait > self._http.max_retry_after:
                raise FetchError(
                    url,
                    "retry-after",
                    f"HTTP {status} asks us to wait {wait:.0f}s, more than "
                    f"http.max_retry_after ({self._http.max_retry_after:.0f}s); giving up for this poll",
                    transient=True,
                    status=status,
                    retry_after=wait,
                )
            if wait is not None:
                # The whole host asked for a pause, not just this URL: hold back every request to it.
                slot.pace.next_start = max(slot.pace.next_start, self._clock() + wait)
            raise FetchError(url, "status", f"HTTP {status}", transient=True, status=status, retry_after=wait)
        raise FetchError(url, "status", f"HTTP {status}", transient=status >= 500, status=status)

    def _tls_context(self) -> ssl.SSLContext:
        # One context for every host's client: each loads the whole CA bundle (about 1 MB of memory a client).
        if self._ssl_context is None:
            self._ssl_context = httpx.create_ssl_context(trust_env=True)
        return self._ssl_context

    def _slot(self, host: str, proxy: str | None) -> _HostSlot:
        key = (host, proxy)
        slot = self._slots.get(key)
        if slot is None:
            concurrency, _, _ = self._politeness.for_host(host)
            transport = self._transport or self._direct_transport(concurrency)
            # A feed's own proxy wins over http.proxy, which wins over the environment's; `direct` refuses them all.
            route = None if proxy == DIRECT else proxy or self._http.proxy
            mounts = None if proxy == DIRECT else self._environment_mounts(route, concurrency)
            client = httpx.AsyncClient(
                verify=self._tls_context(),
                http2=self._http.http2,
                proxy=route,
                trust_env=True,
                follow_redirects=False,
                timeout=self._timeouts,
                limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
                transport=transport,
                mounts=mounts,
            )
            slot = _HostSlot(
                client=client,
                pace=self._pace(host),
                proxy=route,
                transport=None if route or mounts else transport,
            )
            self._slots[key] = slot
        return slot

    def _pace(self, host: str) -> _HostPace:
        """The host's politeness state, created on first use and shared by all its slots."""
        pace = self._paces.get(host)
        if pace is None:
            concurrency, delay, robots = self._politeness.for_host(host)
            pace = _HostPace(limit=asyncio.Semaphore(concurrency), delay=delay, robots=robots)
            self._paces[host] = pace
        return pace

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

    async def _check_robots(self, slot: _HostSlot, url: str, request: Request) -> None:
        pace = slot.pace
        # The rules are the origin's (another port or scheme of one host is another site with its own robots.txt);
        # the crawl delay they ask for slows the host, which every origin on it shares.
        robots = self._robots.setdefault(robots_origin(url), _OriginRobots())
        async with robots.lock:
            entry = robots.cache
            if entry is None or entry.expires < time.monotonic():
                entry = await self._load_robots(url, request)
                robots.cache = entry
        if entry.rules is None:
            return
        agent = self._user_agent.split("/", 1)[0]
        if not entry.rules.can_fetch(url, agent):
            raise FetchError(url, "robots", "disallowed by the site's robots.txt", transient=False)
        crawl_delay = entry.rules.crawl_delay(agent)
        if crawl_delay is not None and float(crawl_delay) > pace.delay:
            # Honoured, but never beyond what we would wait for a Retry-After: a huge value must not stall a run.
            pace.delay = min(float(crawl_delay), self._http.max_retry_after)

    async def _load_robots(self, url: str, request: Request) -> _RobotsEntry:
        parts = urlsplit(url)
        target = f"{parts.scheme}://{parts.netloc}/robots.txt"
        headers = httpx.Headers({"User-Agent": self._user_agent})
        headers.update(request.headers)
        allow_all = _RobotsEntry(rules=None, expires=time.monotonic() + ROBOTS_TTL)
        try:
            # RFC 9309: follow at least five redirects (http -> https, www -> bare host are common).
            for _ in range(ROBOTS_MAX_REDIRECTS + 1):
                if url_problem(target) is not None:
                    return allow_all  # a redirect to no valid URL: robots.txt is "unavailable", so allowed
                where = urlsplit(target)
                host = (where.hostname or "").lower()
                if where.scheme not in ("http", "https") or not host:
                    return allow_all
                if not request.allow_private and not await host_is_public(host):
                    return allow_all  # not fetched; the page itself is refused by the same policy if it goes there
                slot = self._slot(host, request.proxy)
                answer = await self._polite_send(slot, target, headers, request.allow_private)
                location = answer.headers.get("location")
                if answer.status not in REDIRECT_STATUSES or not location:
                    break
                target = urljoin(target, location.strip())
            else:
                return allow_all  # too many redirects: RFC 9309 treats it as "unavailable", so allowed
        except FetchError as exc:
            if exc.kind in ("too-large", "address"):
                return allow_all  # refused at connect: the page itself is refused by the same policy if it goes there
            if exc.kind == "network" and exc.reason.startswith("cannot connect"):
                # No connection at all (refused, no such name): the host is down, not its robots.txt; say so.
                raise FetchError(url, "network", f"host unreachable: {exc.reason}", transient=True) from None
            # RFC 9309: an unreachable robots.txt means "assume disallowed" for now; the caller tries again later.
            raise FetchError(url, "robots", f"robots.txt unreachable ({exc.reason})", transient=True) from None
        if answer.status >= 500:
            raise FetchError(url, "robots", f"robots.txt answered HTTP {answer.status}", transient=True)
        if answer.status >= 400 or answer.status in REDIRECT_STATUSES:
            return allow_all
        text = answer.content[:ROBOTS_MAX_BYTES].decode("utf-8", errors="replace")
        return _RobotsEntry(rules=Protego.parse(text), expires=time.monotonic() + ROBOTS_TTL)


def robots_origin(url: str) -> tuple[str, str, int | None]:
    """The origin a robots.txt applies to (RFC 9309 section 2.3): scheme, host and port, the default port named."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None  # refused as a URL on the way to the wire; its robots are never consulted
    return scheme, (parts.hostname or "").lower(), port or _DEFAULT_PORTS.get(scheme)


_DEFAULT_PORTS = {"http": 80, "https": 443}


def backoff_wait(base: float, attempt: int) -> float:
    """Seconds before retry number `attempt` (1, 2, ...): exponential from `base`, capped, with "equal jitter"
    (half fixed, half random) so clients that failed together do not come back together."""
    ceiling = min(base * float(2 ** min(attempt - 1, 30)), MAX_RETRY_WAIT)
    return ceiling / 2 + random.uniform(0, ceiling / 2)


class _Inflater:
    """One gzip or deflate layer, undone in pieces of at most PIECE bytes."""

    PIECE = 64 * 1024

    def __init__(self, name: str, wbits: int, *, raw_fallback: bool = False) -> None:
        self.name = name
        self._inflate = zlib.decompressobj(wbits)
        self._raw_fallback = raw_fallback  # "deflate" is often sent raw, without the zlib header it should have
        self._started = False
        self._fed = False

    @property
    def cut_short(self) -> bool:
        """Whether the layer was given bytes but no end-of-stream marker: the body stopped before its end."""
        return self._fed and not self._inflate.eof

    def feed(self, data: bytes) -> Iterator[bytes]:
        self._fed = self._fed or bool(data)
        while data and not self._inflate.eof:
            try:
                out = self._inflate.decompress(data, self.PIECE)
            except zlib.error:
                if self._started or not self._raw_fallback:
                    raise
                self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
                self._raw_fallback = False
                continue
            self._started = True
            if out:
                yield out
            data = self._inflate.unconsumed_tail

    def flush(self) -> Iterator[bytes]:
        out = self._inflate.flush()
        if out:
            yield out


class _Decoder:
    """Undoes a Content-Encoding (gzip, deflate, identity, or a list of them) in bounded pieces."""

    def __init__(self, url: str, header: str) -> None:
        self._url = url
        self._layers: list[_Inflater] = []
        names = [name.strip().lower() for name in header.split(",") if name.strip()]
        for name in reversed(names):  # the encoding applied last is undone first
            if name in ("gzip", "x-gzip"):
                self._layers.append(_Inflater("gzip", 16 + zlib.MAX_WBITS))
            elif name == "deflate":
                self._layers.append(_Inflater("deflate", zlib.MAX_WBITS, raw_fallback=True))
            elif name != "identity":
                raise FetchError(url, "network", f"unsupported Content-Encoding '{name}'", transient=False)

    @property
    def passthrough(self) -> bool:
        """Whether there is nothing to undo: the raw bytes are the body."""
        return not self._layers

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The decoded pieces of the next raw bytes."""
        return self._through(0, iter((data,)))

    def flush(self) -> Iterator[bytes]:
        """What the layers still hold at the end of the body; a FetchError if a stream ends before its end marker
        (zlib would hand back the part it has, silently: a connection cut short, a proxy's truncated cache entry)."""
        for index, layer in enumerate(self._layers):
            yield from self._through(index + 1, layer.flush())
        for layer in self._layers:
            if layer.cut_short:
                raise FetchError(
                    self._url,
                    "network",
                    f"truncated {layer.name} body: the compressed stream ends before its end marker",
                    transient=True,
                )

    def _through(self, start: int, pieces: Iterator[bytes]) -> Iterator[bytes]:
        for layer in self._layers[start:]:
            pieces = _inflate_all(layer, pieces)
        return pieces


def _inflate_all(layer: _Inflater, pieces: Iterator[bytes]) -> Iterator[bytes]:
    for piece in pieces:
        yield from layer.feed(piece)


def _retryable(error: FetchError) -> bool:
    return (
        error.transient
        and error.kind in ("timeout", "reset", "network", "status")
        and (error.status is None or error.status in RETRY_STATUSES)
    )


def _too_large(url: str, limit: int) -> FetchError:
    return FetchError(url, "too-large", f"body larger than http.max_bytes ({limit:,} bytes); cut off", transient=False)


def _is_challenge(response: Response) -> bool:
    if response.headers.get("cf-mitigated", "").lower() == "challenge":
        return True
    if response.status not in (403, 429, 503):
        return False
    head = response.content[:16384]
    return any(marker in head for marker in _CHALLENGE_MARKERS)


def _without_credentials(url: str) -> str:
    """`url` without a `user:password@` part: a proxy's credentials have no place in an error message or a log."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__


def _header(headers: httpx.Headers, name: str) -> str | None:
    value: str | None = headers.get(name)
    return value


def _validator(headers: httpx.Headers, name: str) -> str | None:
    value = _header(headers, name)
    return value if value is not None and sendable(value) else None
