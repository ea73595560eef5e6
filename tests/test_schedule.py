"""crawler.schedule, the pure decider: backoff, interval, Retry-After, jitter and the timer's time, with the clock
and the random source passed in."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from crawler import runner
from crawler.config.load import load_config, parse_config
from crawler.schedule import (
    MAX_BACKOFF,
    MAX_JITTER,
    Timing,
    backoff_delay,
    due_after_crash,
    due_after_failure,
    due_after_success,
    jitter,
    poll_interval,
    timer_time,
)
from tests.conftest import Workdir
from tests.support.feeds import RSS, config, rss
from tests.support.server import TestServer

NOW = 1_700_000_000.0
CONFIG = parse_config(
    "min_interval: 1m\nmax_interval: 2h\nfeeds:\n  - {name: a, url: 'https://a.example/f', interval: 30m}\n",
    Path("feeds.yaml"),
)
FEED = CONFIG.feeds[0]
seconds = st.floats(min_value=0.0, max_value=10 * 86400.0, allow_nan=False)
maybe_seconds = st.none() | seconds


@given(interval=st.floats(min_value=1.0, max_value=86400.0), failures=st.integers(min_value=0, max_value=10_000))
def test_backoff_doubles_with_each_failure_and_never_passes_a_day(interval: float, failures: int) -> None:
    delay = backoff_delay(interval, failures)

    assert delay <= max(interval, MAX_BACKOFF)
    assert delay >= min(interval, MAX_BACKOFF)
    if failures >= 1:
        assert backoff_delay(interval, failures + 1) >= delay


@given(configured=seconds, ttl=maybe_seconds, cache=maybe_seconds)
def test_the_interval_stays_within_min_and_max_interval(
    configured: float, ttl: float | None, cache: float | None
) -> None:
    interval = poll_interval(configured, ttl, cache, 60.0, 7200.0)

    assert 60.0 <= interval <= 7200.0
    assert interval >= min(max(configured, ttl or 0.0, cache or 0.0), 7200.0)


def test_a_successful_poll_is_due_after_the_longest_of_interval_ttl_and_cache_lifetime() -> None:
    assert due_after_success(FEED, CONFIG, NOW, None, None) == NOW + 1800
    assert due_after_success(FEED, CONFIG, NOW, 3600.0, 120.0) == NOW + 3600
    assert due_after_success(FEED, CONFIG, NOW, 999_999.0, None) == NOW + 7200  # max_interval


def test_a_failed_poll_backs_off_or_waits_what_retry_after_asked_whichever_is_longer() -> None:
    assert due_after_failure(FEED, NOW, 1, None) == NOW + 3600
    assert due_after_failure(FEED, NOW, 1, 7 * 3600.0) == NOW + 7 * 3600
    assert due_after_failure(FEED, NOW, 1, 10 * 86400.0) == NOW + MAX_BACKOFF
    assert due_after_crash(FEED, NOW) == NOW + 1800


@given(interval=st.floats(min_value=0.0, max_value=10 * 86400.0), seed=st.integers())
def test_jitter_is_at_most_a_tenth_of_the_interval_and_a_minute(interval: float, seed: int) -> None:
    assert 0.0 <= jitter(interval, random.Random(seed)) <= min(interval / 10, MAX_JITTER)


@given(due=st.floats(min_value=NOW - 86400, max_value=NOW + 86400), seed=st.integers())
def test_the_timer_fires_at_the_due_time_or_now_plus_jitter_never_before_now(due: float, seed: int) -> None:
    timing = Timing(url=FEED.url, last_poll=NOW - 60, next_poll=due)

    when = timer_time(FEED, timing, CONFIG, NOW, random.Random(seed))

    assert when is not None
    assert max(due, NOW) <= when <= max(due, NOW) + MAX_JITTER


def test_a_gone_feed_has_no_next_poll_unless_it_was_pointed_elsewhere() -> None:
    gone = Timing(url=FEED.url, last_poll=NOW - 60, next_poll=NOW + 60, gone=True)

    assert timer_time(FEED, gone, CONFIG, NOW, random.Random(1)) is None
    moved = timer_time(
        FEED, Timing(url="https://old.example/f", next_poll=NOW + 3600, gone=True), CONFIG, NOW, random.Random(1)
    )
    assert moved is not None and moved <= NOW + 2


def test_the_decider_reads_no_clock_the_same_inputs_give_the_same_time() -> None:
    timing = Timing(url=FEED.url, last_poll=NOW - 60, next_poll=NOW + 600)

    first = timer_time(FEED, timing, CONFIG, NOW, random.Random(7))
    second = timer_time(FEED, timing, CONFIG, NOW, random.Random(7))

    assert first == second


def _stored(work: Workdir, name: str) -> tuple[float, float]:
    with sqlite3.connect(work.path / ".crawler" / "state.db") as db:
        last, upcoming = db.execute("SELECT last_poll, next_poll FROM feeds WHERE name = ?", (name,)).fetchone()
    return float(last), float(upcoming)


def test_a_refresh_returns_the_next_poll_it_decided_and_stored(server: TestServer, work: Workdir) -> None:
    server.add("/ok.xml", body=rss(), content_type=RSS)
    server.add("/down.xml", status=500, body="down")
    work.write_config(
        config(
            {"name": "ok", "url": server.url("/ok.xml"), "interval": "10m"},
            {"name": "down", "url": server.url("/down.xml"), "interval": "10m"},
            min_interval="1s",
        )
    )
    cfg = load_config(work.config)

    ok, down = asyncio.run(runner.fetch_feeds(cfg, cfg.feeds))

    assert ok.timing is not None and down.timing is not None
    assert (ok.timing.last_poll, ok.next_poll) == _stored(work, "ok")
    assert (down.timing.last_poll, down.next_poll) == _stored(work, "down")
    assert ok.next_poll == ok.timing.last_poll + 600
    assert down.next_poll == down.timing.last_poll + 1200  # backed off: twice the interval
    assert (ok.outcome, down.outcome) == ("ok", "failed")
