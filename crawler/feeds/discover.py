"""What `crawler feeds add` learns from a URL before adding it: is it a feed (its title and site), or a page whose
feed can be found (its `<link rel="alternate">` tags, then the common paths)?

Every request goes through the crawler's own Fetcher, so the probe keeps the politeness, retries, size limits and
User-Agent of a poll. The URL the operator typed is fetched as a feed is polled (any address: the operator named
it); a feed URL found on a page follows the address policy of article pages, since the page chose it.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser

from crawler.config.settings import Config
from crawler.config.values import is_http_url
from crawler.errors import CrawlerError
from crawler.extract import charset
from crawler.feeds.parse import FeedError, ParsedFeed, parse_feed
from crawler.fetch import Fetcher, FetchError, Request, Response, not_html, private_addresses_allowed

# The paths where sites commonly serve their feed (WordPress, Hugo, Jekyll, Ghost, ...), tried in this order when a
# page names no feed of its own.
COMMON_PATHS = ("/feed", "/rss", "/atom.xml", "/feed.xml", "/rss.xml", "/index.xml")
FEED_TYPES = frozenset({"application/rss+xml", "application/atom+xml", "application/feed+json"})


class ProbeError(CrawlerError):
    """The URL is not a feed and no feed could be found from it; the message is one line naming the URL."""


@dataclass(frozen=True)
class Found:
    """The feed a probe found: the URL to add, and what the feed says of itself."""

    url: str
    title: str | None
    site: str | None  # the feed's own link to its site, when it is an http(s) URL
    page: str | None = None  # the HTML page the feed was found on; None when the URL given was the feed
    moved_from: str | None = None  # the URL given, when it redirected permanently to `url`


def feed_links(content: bytes, content_type: str | None, page_url: str) -> tuple[str, ...]:
    """The absolute http(s) URLs of the feeds an HTML page announces (`<link rel="alternate" type="...">` with an
    RSS, Atom or JSON Feed type), in page order, without repeats; relative ones resolved against `<base href>`."""
    tree = LexborHTMLParser(charset.decode(content, content_type))
    base = page_url
    base_node = tree.css_first("base[href]")
    if base_node is not None:
        base = urljoin(page_url, (base_node.attributes.get("href") or "").strip())
    found: list[str] = []
    for node in tree.css("link[rel][href]"):
        rel = (node.attributes.get("rel") or "").lower().split()
        kind = (node.attributes.get("type") or "").split(";", 1)[0].strip().lower()
        if "alternate" not in rel or kind not in FEED_TYPES:
            continue
        url = urljoin(base, (node.attributes.get("href") or "").strip())
        if is_http_url(url) and url not in found:
            found.append(url)
    return tuple(found)


def common_feed_urls(page_url: str) -> tuple[str, ...]:
    """The common feed paths on the page's site, as absolute URLs."""
    return tuple(urljoin(page_url, path) for path in COMMON_PATHS)


async def probe(config: Config, url: str) -> Found:
    """Fetch `url`: the feed it is, or the feed found from the page it is; ProbeError (one line) when neither."""
    async with Fetcher(config.http, config.politeness) as fetcher:
        try:
            response = await fetcher.get(Request(url=url))
        except FetchError as exc:
            raise ProbeError(f"{exc}; pass --no-probe to add it unchecked") from None
        parsed, problem = _read_feed(response)
        if parsed is not None:
            moved = response.permanent_redirect
            return _found(moved or url, parsed, moved_from=url if moved else None)
        page_problem = not_html(response.content_type, response.content)
        if page_problem is not None:
            raise ProbeError(f"{url}: {problem}, and {page_problem}; pass --no-probe to add it unchecked")
        return await _discover(config, fetcher, url, response)


async def _discover(config: Config, fetcher: Fetcher, url: str, page: Response) -> Found:
    announced = feed_links(page.content, page.content_type, page.final_url)
    candidates = [*announced, *(u for u in common_feed_urls(page.final_url) if u not in announced)]
    allow_private = await private_addresses_allowed(page.final_url, config.allow_private_addresses)
    for candidate in candidates:
        try:
            response = await fetcher.get(Request(url=candidate, allow_private=allow_private))
        except FetchError:
            continue  # a missing /rss is the usual answer; the next candidate may be the feed
        parsed, _problem = _read_feed(response)
        if parsed is not None:
            return _found(candidate, parsed, page=url)
    links = f"{len(announced)} announced feeds that are not feeds" if announced else 'no <link rel="alternate"> feed'
    raise ProbeError(
        f"{url}: an HTML page with no feed found ({links}, none at {', '.join(COMMON_PATHS)}); "
        "give the feed's own URL, or pass --no-probe to add it unchecked"
    )


def _read_feed(response: Response) -> tuple[ParsedFeed | None, str]:
    try:
        return parse_feed(response.content, response.final_url, response.content_type), ""
    except FeedError as exc:
        return None, str(exc)


def _found(url: str, parsed: ParsedFeed, page: str | None = None, moved_from: str | None = None) -> Found:
    site = parsed.link if parsed.link and is_http_url(parsed.link) else None
    title = parsed.title.strip() if parsed.title and parsed.title.strip() else None
    return Found(url=url, title=title, site=site, page=page, moved_from=moved_from)
