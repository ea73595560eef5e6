"""When each feed is polled: the pure decider. No I/O and no clock reads: the time and the random source come in.

Two answers, one home:
- `due_after_success` / `due_after_failure`: when a feed is due again, decided at the end of each poll from the
  feed's interval, what the feed and the server asked (<ttl>, Cache-Control, Expires, Retry-After), the failures in
  a row (doubling backoff), within min_interval and max_interval. The poll stores it (a restart continues from it)
  and returns it in its result as a `Timing`, which is all the daemon needs to set the feed's timer.
- `timer_time`: when the daemon's timer fires for a feed: its due time plus jitter, so that feeds polled together
  drift apart; soon for a feed never polled (or pointed at a new URL); never for a feed that answered 410.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from crawler.config.settings import Config, FeedConfig
from crawler.store.base import FeedState

MAX_BACKOFF = 86400.0  # a failing feed is still tried once a day
MAX_JITTER = 60.0
FIRST_POLL_SPREAD = 2.0  # feeds never polled before start within this many seconds, not all at the same instant


@dataclass(frozen=True)
class Timing:
    """What the decider knows of a feed's polls: read from the state at start, carried by each poll's result after.
    `next_poll` is when the feed is due again (its interval or backoff, before jitter)."""

    url: str | None = None
    last_poll: float | None = None
    next_poll: float | None = None
    failures: int = 0
    gone: bool = False  # answered 410: never polled again at this URL

    @classmethod
    def of(cls, state: FeedState) -> Timing:
        """The timing part of a feed's stored state."""
        return cls(state.url, state.last_poll, state.next_poll, state.failures, state.gone)


def backoff_delay(interval: float, failures: int) -> float:
    """Seconds until the next poll of a feed that failed `failures` times in a row (doubling, capped at 24 h)."""
    if failures <= 0:
        return interval
    return float(min(interval * (2 ** min(failures, 30)), MAX_BACKOFF))


def poll_interval(
    configured: float, feed_ttl: float | None, cache_lifetime: float | None, minimum: float, maximum: float
) -> float:
    """The interval until the next poll: the configured one, stretched by what the feed or server asks
    (<ttl>, sy:updatePeriod, Cache-Control max-age, Expires), kept within [minimum, maximum]."""
    wanted = max(configured, feed_ttl or 0.0, cache_lifetime or 0.0)
    return float(min(max(wanted, minimum), max(maximum, minimum)))


def asked_wait(retry_after: float | None) -> float:
    """The pause a server asked for with Retry-After (beyond what the fetcher waited itself), capped at a day."""
    return 0.0 if retry_after is None else min(retry_after, MAX_BACKOFF)


def due_after_success(
    feed: FeedConfig, config: Config, now: float, feed_ttl: float | None, cache_lifetime: float | None
) -> float:
    """When a feed polled successfully at `now` is due again."""
    return now + poll_interval(feed.interval, feed_ttl, cache_lifetime, config.min_interval, config.max_interval)


def due_after_failure(feed: FeedConfig, now: float, failures: int, retry_after: float | None) -> float:
    """When a feed that has now failed `failures` times in a row is due again: the backoff, or the longer pause
    the server asked for (Retry-After beyond http.max_retry_after)."""
    return now + max(backoff_delay(feed.interval, failures), asked_wait(retry_after))


def due_after_crash(feed: FeedConfig, now: float) -> float:
    """When a feed whose poll ended without a result (its state could not be recorded) is tried again: a whole
    interval later, never at once in a loop."""
    return now + feed.interval


def jitter(interval: float, rng: random.Random) -> float:
    """A random delay of up to a tenth of the interval (at most a minute), so feeds polled together drift apart."""
    return rng.uniform(0.0, min(interval * 0.1, MAX_JITTER))


def timer_time(
    feed: FeedConfig, timing: Timing, config: Config, now: float, rng: random.Random, *, changed: bool = False
) -> float | None:
    """When the daemon polls `feed` next: its due time (backoff included) plus jitter; soon after `now` when it was
    never polled (or now points elsewhere); a feed whose settings changed no later than its new interval allows;
    None when it answered 410 at this URL (never again)."""
    moved = timing.url is not None and timing.url != feed.url
    if timing.gone and not moved:
        return None
    if timing.next_poll is None or moved:
        return now + rng.uniform(0.0, min(feed.interval, FIRST_POLL_SPREAD))
    due = timing.next_poll
    if changed and timing.last_poll is not None and timing.failures == 0:
        interval = poll_interval(feed.interval, None, None, config.min_interval, config.max_interval)
        due = min(due, timing.last_poll + interval)
    return max(due, now) + jitter(feed.interval, rng)


def next_poll_time(
    feed: FeedConfig, state: FeedState, config: Config, now: float, rng: random.Random, *, changed: bool = False
) -> float:
    """`timer_time` from a feed's stored state, whether or not it answered 410 (the caller decides that)."""
    when = timer_time(feed, replace(Timing.of(state), gone=False), config, now, rng, changed=changed)
    return now if when is None else when  # never None once `gone` is set aside
