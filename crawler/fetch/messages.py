"""The fetch stage's vocabulary: what is asked (Request), what came back (Response), what went wrong (FetchError and
its FetchKind), and the pure questions asked of URLs, headers and bodies (is this URL requestable, is this header
value sendable, is this body an HTML page, how long does Retry-After say to wait). No I/O here.

    FetchError(CrawlerError)
      kind: FetchKind    timeout | reset | status | too-large | redirects | scheme | url | address | robots
                         | bot-protection | retry-after | network
      transient: True when a later poll may succeed (timeouts, resets, 5xx, 429, a bot challenge); False for 404,
                 410, robots.txt Disallow, refused addresses, too-large bodies ...
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from enum import StrEnum
from urllib.parse import urlsplit

import httpx

from crawler.errors import CrawlerError

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_XML_TYPES = frozenset({"text/xml", "application/xml"})
_SNIFF_BYTES = 1445  # what WHATWG's MIME sniffing looks at
_XHTML_ROOT = re.compile(rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*|<!DOCTYPE[^>]*>\s*)*<html[\s>]", re.I | re.S)
_BINARY_BYTES = re.compile(rb"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f]")  # WHATWG's "binary data bytes"
_TEXT_BOMS = (b"\xef\xbb\xbf", b"\xfe\xff", b"\xff\xfe")
_CHALLENGE_STATUSES = frozenset({403, 429, 503})
_CHALLENGE_MARKERS = (
    b"challenge-platform",
    b"cf-chl-",
    b"cf_chl_",
    b"Just a moment...",
    b"captcha-delivery",
    b"_Incapsula_Resource",
    b"px-captcha",
)


class FetchKind(StrEnum):
    """How a request failed. A StrEnum: `kind == "timeout"`, metrics labels and JSON keep reading the plain word."""

    TIMEOUT = "timeout"  # no complete answer in time
    RESET = "reset"  # the connection broke mid-exchange
    NETWORK = "network"  # cannot connect, or an undecodable / truncated body
    STATUS = "status"  # the server answered with an error status (or a redirect without a Location)
    RETRY_AFTER = "retry-after"  # the server asked for a pause longer than http.max_retry_after
    BOT_PROTECTION = "bot-protection"  # a challenge page instead of the content
    TOO_LARGE = "too-large"  # a body past http.max_bytes
    REDIRECTS = "redirects"  # more than http.max_redirects hops
    SCHEME = "scheme"  # not http or https
    URL = "url"  # a URL that cannot be requested at all
    ADDRESS = "address"  # refused by the address policy (a non-public address)
    ROBOTS = "robots"  # disallowed by, or waiting for, the site's robots.txt


class FetchError(CrawlerError):
    """A request that did not give a usable answer; `str()` is one line naming the URL and the reason."""

    def __init__(
        self,
        url: str,
        kind: FetchKind,
        reason: str,
        *,
        transient: bool,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.kind = FetchKind(kind)  # a plain word from an older caller is checked against the kinds here
        self.reason = reason
        self.transient = transient
        self.status = status
        self.retry_after = retry_after


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
    capture: bool = False  # keep each hop's exchange as it went over the wire (`raw: warc`); costs nothing when off


@dataclass(frozen=True)
class Exchange:
    """One request and its answer as they went over the wire, for a raw record (WARC): the headers as sent and as
    received, in order and case, and the body before its Content-Encoding was undone (the transfer framing, which
    httpx removes, excepted)."""

    url: str
    request_headers: tuple[tuple[bytes, bytes], ...]
    http_version: str  # "HTTP/1.1", "HTTP/2" ...
    status: int
    reason: str
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    started: float  # POSIX time the request was sent


@dataclass(frozen=True)
class Response:
    """What the server answered: status, final URL after redirects, headers and the whole (decompressed) body."""

    url: str
    final_url: str
    status: int
    headers: httpx.Headers
    content: bytes
    permanent_redirect: str | None = None
    exchanges: tuple[Exchange, ...] = ()  # every hop, redirects first, when the request asked for `capture`

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

    @property
    def is_challenge(self) -> bool:
        """Whether this is a bot-protection challenge page (Cloudflare, DataDome, Imperva, PerimeterX), not content."""
        if self.headers.get("cf-mitigated", "").lower() == "challenge":
            return True
        if self.status not in _CHALLENGE_STATUSES:
            return False
        head = self.content[:16384]
        return any(marker in head for marker in _CHALLENGE_MARKERS)

    def cache_lifetime(self) -> float | None:
        """Seconds the response may be cached for, from Cache-Control max-age or Expires."""
        control = self.headers.get("cache-control", "")
        for part in control.split(","):
            name, _, value = part.strip().partition("=")
            if name.lower() == "max-age" and value.strip().isdigit():
                return float(value.strip())
        expires = self.headers.get("expires")
        if expires:
            moment = http_date(expires)
            if moment is not None:
                return max(0.0, moment - time.time())
        return None


def url_problem(url: str) -> str | None:
    """Why `url` cannot be requested, in a few words, or None when it can: what httpx's parser (non-printable
    characters, a port that is not one, a URL over 64 KB) or the IDNA codec (`xn--a`) would refuse."""
    parsed = parse_url(url)
    return parsed if isinstance(parsed, str) else None


def parse_url(url: str) -> httpx.URL | str:
    """`url` as httpx parses it (what a request to it is built from), or why it cannot be requested (see
    `url_problem`)."""
    try:
        parsed = httpx.URL(url)
        # Reading the host decodes an IDNA one (`xn--...`), which is where a bad one is refused.
        _host = parsed.host
        _port = urlsplit(url).port  # the stdlib's parser, which the crawler uses on the URL too
    except (httpx.InvalidURL, UnicodeError, ValueError) as exc:
        return reason_of(exc)
    return parsed


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


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header in either form (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    moment = http_date(value)
    if moment is None:
        return None
    return max(0.0, moment - (time.time() if now is None else now))


def http_date(value: str) -> float | None:
    """The POSIX time an HTTP date names, or None when it names none."""
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def reason_of(exc: BaseException) -> str:
    """An exception's message, or its type's name when it has none: the reason part of a FetchError."""
    text = str(exc).strip()
    return text or type(exc).__name__


def _mime_essence(content_type: str | None) -> str:
    """The type/subtype of a Content-Type, lower case; of the last valid one when the header came twice (httpx joins
    repeats with commas; WHATWG's "extract a MIME type" takes the last)."""
    essences = [piece.split(";", 1)[0].strip().lower() for piece in (content_type or "").split(",")]
    return next((essence for essence in reversed(essences) if "/" in essence), "")


def _header(headers: httpx.Headers, name: str) -> str | None:
    value: str | None = headers.get(name)
    return value


def _validator(headers: httpx.Headers, name: str) -> str | None:
    value = _header(headers, name)
    return value if value is not None and sendable(value) else None
