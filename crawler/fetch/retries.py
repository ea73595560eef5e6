"""Retries within one poll, as data (`RetryPolicy`: which kinds and statuses, how many attempts, how long apart) run
by tenacity (`retry_failed`): the failures that may pass in a moment (timeouts, resets, network errors, 408/425/429/5xx)
are tried again with exponential backoff and jitter, or after the server's Retry-After; everything else is raised at
once. What a later poll should do about a failure is the scheduler's business, not this module's.

    first try: bare; on a failure `policy.retries` accepts, `retry_failed(policy, first, attempt)` runs the rest

Why the first try is not inside tenacity too: measured, AsyncRetrying costs 60 to 120 us of CPU per call even when
the first attempt succeeds (tenacity 9 wraps each of its strategy callbacks into a coroutine function on every
iteration, `inspect.iscoroutinefunction` included): Fetcher.get over an in-memory transport took a median 265 us of
CPU with every attempt under tenacity against 143 us with a bare first try (5 rounds of 3,000 GETs of 100 KB). Almost
every request succeeds at once, so only a retryable failure enters tenacity; the attempt count, the waits (the
first included) and what is retried are the same `RetryPolicy` either way.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from crawler.config.settings import HttpConfig
from crawler.fetch.messages import FetchError, FetchKind

RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
RETRY_KINDS = frozenset({FetchKind.TIMEOUT, FetchKind.RESET, FetchKind.NETWORK, FetchKind.STATUS})
MAX_RETRY_WAIT = 60.0  # the longest backoff between two attempts within one poll

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """Which failures are tried again within one poll, how many times, and how long apart."""

    attempts: int = 4  # tries in all, the first included
    kinds: frozenset[FetchKind] = RETRY_KINDS  # transient failures of these kinds ...
    statuses: frozenset[int] = RETRY_STATUSES  # ... and, when the server answered, only with these statuses
    backoff: float = 1.0  # seconds: the first backoff's ceiling, doubled at each attempt up to `max_wait`
    max_wait: float = MAX_RETRY_WAIT

    @classmethod
    def from_config(cls, http: HttpConfig) -> RetryPolicy:
        """The policy feeds.yaml's `http:` asks for: `retries` tries after the first, `backoff` apart."""
        return cls(attempts=http.retries + 1, backoff=http.backoff)

    def retries(self, error: BaseException) -> bool:
        """Whether `error` may pass if the request is sent again at once (after the wait)."""
        return (
            isinstance(error, FetchError)
            and error.transient
            and error.kind in self.kinds
            and (error.status is None or error.status in self.statuses)
        )

    def wait(self, error: BaseException | None, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1, 2, ...): the server's Retry-After, else the
        backoff. A Retry-After over http.max_retry_after never gets here: it fails as `retry-after`, not retried."""
        if isinstance(error, FetchError) and error.retry_after is not None:
            return error.retry_after
        return backoff_wait(self.backoff, attempt, self.max_wait)


async def retry_failed(
    policy: RetryPolicy,
    first: FetchError,
    attempt: Callable[[], Awaitable[T]],
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """The attempts after a failed first one, run by tenacity under `policy`: `first` itself when the policy does not
    retry it; else `attempt()`'s first success, or the last failure as it was (no RetryError)."""
    if policy.attempts < 2 or not policy.retries(first):
        raise first
    await sleep(policy.wait(first, 1))

    def wait(state: RetryCallState) -> float:
        # tenacity counts from the second attempt (the first ran bare), hence the + 1.
        error = state.outcome.exception() if state.outcome is not None else None
        return policy.wait(error, state.attempt_number + 1)

    retrying = AsyncRetrying(
        stop=stop_after_attempt(policy.attempts - 1),
        retry=retry_if_exception(policy.retries),
        wait=wait,
        sleep=sleep,
        reraise=True,
    )
    # `async for`, not `await retrying(attempt)`: called, tenacity awaits only what inspect calls a coroutine function,
    # and would hand back a lambda's coroutine unawaited.
    async for retry in retrying:
        with retry:
            return await attempt()
    raise AssertionError("unreachable: tenacity either returns or raises")


def backoff_wait(base: float, attempt: int, ceiling: float = MAX_RETRY_WAIT) -> float:
    """Seconds before retry number `attempt` (1, 2, ...): exponential from `base`, capped, with "equal jitter"
    (half fixed, half random) so clients that failed together do not come back together."""
    top = min(base * float(2 ** min(attempt - 1, 30)), ceiling)
    return top / 2 + random.uniform(0, top / 2)
