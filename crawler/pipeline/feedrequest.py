"""The poll's request and what its answer says: conditional GET built from the feed's stored state (unconditional
once a day), whether a 304 could mean anything, and whether the feed is unchanged since the last poll."""

from __future__ import annotations

import hashlib

from crawler.config.settings import FeedConfig
from crawler.fetch import FetchError, FetchKind, Request, Response
from crawler.store.base import FeedState

UNCONDITIONAL_EVERY = 86400.0  # guards against servers that answer 304 forever


def state_for(feed: FeedConfig, stored: FeedState) -> FeedState:
    """The state a poll of `feed` starts from: the stored one, or a fresh one when the feed now points elsewhere."""
    if stored.url is not None and stored.url != feed.url:
        # The operator pointed the feed elsewhere: what we knew of the old URL no longer applies.
        return FeedState(name=feed.name, url=feed.url, next_poll=stored.next_poll)
    return stored


def unchanged(state: FeedState, response: Response) -> bool:
    """Whether the answer says nothing new: a 304, or the same bytes as last time (servers whose conditional GET is
    broken, a fresh ETag on every answer, are common)."""
    return response.not_modified or hashlib.sha256(response.content).hexdigest() == state.body_hash


def feed_request(feed: FeedConfig, state: FeedState, now: float) -> tuple[Request, bool]:
    """The poll's request (conditional on what the last answer said, except once a day), and whether it is not."""
    unconditional = state.last_unconditional is None or now - state.last_unconditional > UNCONDITIONAL_EVERY
    request = Request(
        url=feed.url,
        headers=feed.headers,
        proxy=feed.proxy,
        etag=None if unconditional else state.etag,
        last_modified=None if unconditional else state.last_modified,
        capture=feed.raw == "warc",
    )
    return request, unconditional


_VALIDATOR_HEADERS = frozenset({"if-none-match", "if-modified-since"})


def sent_validators(request: Request) -> bool:
    """Whether the request asked "has it changed since?": our stored validators, or the feed's own headers."""
    return bool(request.etag or request.last_modified) or any(
        name.lower() in _VALIDATOR_HEADERS for name in request.headers
    )


def unconditional_304(response: Response) -> FetchError:
    """The failure a 304 to a request naming no copy is (it would otherwise read as "unchanged" forever)."""
    # A 304 says "unchanged since your copy"; to a request naming no copy it says nothing, and taking it as
    # "unchanged" would show the feed healthy forever while nothing is ever read from it.
    return FetchError(
        response.final_url, FetchKind.STATUS, "answers 304 to an unconditional request", transient=False, status=304
    )
