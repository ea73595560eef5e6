"""robots.txt, per origin (RFC 9309: scheme, host and port): fetched once by whichever request to the origin comes
first, kept a day, consulted for article pages (never for feeds). Its Disallow refuses a page (`robots`, permanent);
its Crawl-delay slows the host; a robots.txt that cannot be read for a passing reason (5xx, a timeout) makes the page
wait for a later poll, while a missing one (4xx, too many redirects, an invalid target) allows everything.

    Robots(user_agent, max_crawl_delay)
      .check(url, pace, request, send)   returns when `url` may be fetched; FetchError(kind=robots | network) if not
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import httpx
from protego import Protego

from crawler.fetch import addresses
from crawler.fetch.messages import FetchError, FetchKind, Request, Response, url_problem
from crawler.fetch.politeness import HostPace

ROBOTS_TTL = 24 * 3600.0
ROBOTS_MAX_BYTES = 512 * 1024
ROBOTS_MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_DEFAULT_PORTS = {"http": 80, "https": 443}

# How robots.txt is sent: (host, url, headers, the page's request) -> the answer, politely, no redirect followed.
Send = Callable[[str, str, httpx.Headers, Request], Awaitable[Response]]


@dataclass(frozen=True)
class _Rules:
    rules: Protego | None  # None: everything allowed
    expires: float


@dataclass
class _Origin:
    """One origin's robots.txt, loaded once by whichever request comes first."""

    cache: _Rules | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class Robots:
    """Every origin's robots.txt, loaded on first use and kept ROBOTS_TTL seconds."""

    def __init__(self, user_agent: str, max_crawl_delay: float) -> None:
        self._origins: dict[tuple[str, str, int | None], _Origin] = {}
        self.reconfigure(user_agent, max_crawl_delay)

    def reconfigure(self, user_agent: str, max_crawl_delay: float) -> None:
        """Who we are to the rules, and the longest Crawl-delay honoured; the rules already loaded stay."""
        self._user_agent = user_agent
        self._agent = user_agent.split("/", 1)[0]  # the product token robots.txt groups are matched on
        self._max_crawl_delay = max_crawl_delay

    async def check(self, url: str, pace: HostPace, request: Request, send: Send) -> None:
        """Return when `url` may be fetched, its host slowed to the Crawl-delay asked; FetchError when it may not."""
        # The rules are the origin's (another port or scheme of one host is another site with its own robots.txt);
        # the crawl delay they ask for slows the host, which every origin on it shares.
        origin = self._origins.setdefault(robots_origin(url), _Origin())
        async with origin.lock:
            entry = origin.cache
            if entry is None or entry.expires < time.monotonic():
                entry = await self._load(url, request, send)
                origin.cache = entry
        if entry.rules is None:
            return
        if not entry.rules.can_fetch(url, self._agent):
            raise FetchError(url, FetchKind.ROBOTS, "disallowed by the site's robots.txt", transient=False)
        crawl_delay = entry.rules.crawl_delay(self._agent)
        if crawl_delay is not None and float(crawl_delay) > pace.delay:
            # Honoured, but never beyond what we would wait for a Retry-After: a huge value must not stall a run.
            pace.slow_to(min(float(crawl_delay), self._max_crawl_delay))

    async def _load(self, url: str, request: Request, send: Send) -> _Rules:
        parts = urlsplit(url)
        target = f"{parts.scheme}://{parts.netloc}/robots.txt"
        headers = httpx.Headers({"User-Agent": self._user_agent})
        headers.update(request.headers)
        allow_all = _Rules(rules=None, expires=time.monotonic() + ROBOTS_TTL)
        try:
            # RFC 9309: follow at least five redirects (http -> https, www -> bare host are common).
            for _ in range(ROBOTS_MAX_REDIRECTS + 1):
                if url_problem(target) is not None:
                    return allow_all  # a redirect to no valid URL: robots.txt is "unavailable", so allowed
                where = urlsplit(target)
                host = (where.hostname or "").lower()
                if where.scheme not in ("http", "https") or not host:
                    return allow_all
                if not request.allow_private and not await addresses.host_is_public(host):
                    return allow_all  # not fetched; the page itself is refused by the same policy if it goes there
                answer = await send(host, target, headers, request)
                location = answer.headers.get("location")
                if answer.status not in REDIRECT_STATUSES or not location:
                    break
                target = urljoin(target, location.strip())
            else:
                return allow_all  # too many redirects: RFC 9309 treats it as "unavailable", so allowed
        except FetchError as exc:
            if exc.kind in (FetchKind.TOO_LARGE, FetchKind.ADDRESS):
                return allow_all  # refused at connect: the page itself is refused by the same policy if it goes there
            if exc.kind == FetchKind.NETWORK and exc.reason.startswith("cannot connect"):
                # No connection at all (refused, no such name): the host is down, not its robots.txt; say so.
                raise FetchError(url, FetchKind.NETWORK, f"host unreachable: {exc.reason}", transient=True) from None
            # RFC 9309: an unreachable robots.txt means "assume disallowed" for now; the caller tries again later.
            raise FetchError(url, FetchKind.ROBOTS, f"robots.txt unreachable ({exc.reason})", transient=True) from None
        if answer.status >= 500:
            raise FetchError(url, FetchKind.ROBOTS, f"robots.txt answered HTTP {answer.status}", transient=True)
        if answer.status >= 400 or answer.status in REDIRECT_STATUSES:
            return allow_all
        text = answer.content[:ROBOTS_MAX_BYTES].decode("utf-8", errors="replace")
        return _Rules(rules=Protego.parse(text), expires=time.monotonic() + ROBOTS_TTL)


def robots_origin(url: str) -> tuple[str, str, int | None]:
    """The origin a robots.txt applies to (RFC 9309 section 2.3): scheme, host and port, the default port named."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None  # refused as a URL on the way to the wire; its robots are never consulted
    return scheme, (parts.hostname or "").lower(), port or _DEFAULT_PORTS.get(scheme)
