"""Fetching: polite HTTP GETs with retries, conditional requests, limits and the address policy; the answer to
"what did the server say", or a FetchError saying why there is none. The public surface is re-exported here:

    from crawler.fetch import Fetcher, FetchError, FetchKind, Request, Response

The modules, one job each:

    client.py       the Fetcher: one request's flow (checks, robots, politeness, send, redirects, status), and
                    `reconfigure` for a daemon that keeps one Fetcher across reloads of feeds.yaml
    messages.py     Request, Response, FetchError and its FetchKind; pure questions of URLs, headers and bodies
                    (url_problem, sendable, not_html, parse_retry_after)
    retries.py      the retry policy as data (kinds, statuses, attempts, backoff), run by tenacity after a bare
                    first try (the measured reason is in its docstring)
    politeness.py   per-host concurrency caps and delays, a global cap, Retry-After holds (HostPace, Cap)
    robots.py       robots.txt per origin (RFC 9309): loaded once, cached a day, Disallow and Crawl-delay
    clients.py      the httpx clients: one per host and route (direct, a proxy, the environment's proxies)
    connections.py  the transport behind direct requests: connects only to addresses the policy allows,
                    happy eyeballs
    addresses.py    the address policy: which addresses are public, the pre-check on a host name
    decoding.py     bodies within http.max_bytes: gzip/deflate undone in bounded pieces, truncated streams caught
"""

from crawler.fetch.addresses import address_is_public, private_addresses_allowed
from crawler.fetch.client import Fetcher
from crawler.fetch.messages import (
    Exchange,
    FetchError,
    FetchKind,
    Request,
    Response,
    not_html,
    parse_retry_after,
    sendable,
    url_problem,
)
from crawler.fetch.politeness import HostLoad

__all__ = [
    "Exchange",
    "FetchError",
    "FetchKind",
    "Fetcher",
    "HostLoad",
    "Request",
    "Response",
    "address_is_public",
    "not_html",
    "parse_retry_after",
    "private_addresses_allowed",
    "sendable",
    "url_problem",
]
