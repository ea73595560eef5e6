"""The daemon's pure decisions (when to poll, what a reload changes) and the log line formats."""

from __future__ import annotations

import json
import logging
import random
from pathlib import Path

from crawler.config.load import parse_config
from crawler.config.settings import Config
from crawler.daemon.reload import feed_changes
from crawler.logs import JsonFormatter, TextFormatter
from crawler.pipeline.results import FeedResult, PollOutcome
from crawler.schedule import MAX_JITTER, next_poll_time
from crawler.store.base import FeedState

NOW = 1_700_000_000.0


def _config(text: str) -> Config:
    return parse_config("min_interval: 1s\nfeeds:\n" + text, Path("feeds.yaml"))


BASE = _config(
    "  - {name: a, url: 'https://a.example/f', interval: 1h}\n"
    "  - {name: b, url: 'https://b.example/f', interval: 10m}\n"
    "  - {name: c, url: 'https://c.example/f', enabled: false}\n"
)


def test_a_stored_next_poll_in_the_future_is_kept_give_or_take_the_jitter() -> None:
    feed = BASE.feeds[0]
    state = FeedState(name="a", url=feed.url, last_poll=NOW - 600, next_poll=NOW + 3000)

    when = next_poll_time(feed, state, BASE, NOW, random.Random(1))

    assert NOW + 3000 <= when <= NOW + 3000 + min(360, MAX_JITTER)


def test_an_overdue_feed_is_polled_soon_but_spread_by_jitter() -> None:
    feed = BASE.feeds[0]
    state = FeedState(name="a", url=feed.url, last_poll=NOW - 7200, next_poll=NOW - 3600)

    times = {next_poll_time(feed, state, BASE, NOW, random.Random(seed)) for seed in range(20)}

    assert all(NOW <= when <= NOW + MAX_JITTER for when in times)
    assert len(times) == 20


def test_a_never_polled_feed_starts_within_seconds() -> None:
    feed = BASE.feeds[0]

    when = next_poll_time(feed, FeedState(name="a"), BASE, NOW, random.Random(2))

    assert NOW <= when <= NOW + 2


def test_a_feed_pointed_at_a_new_url_is_polled_soon() -> None:
    feed = BASE.feeds[0]
    state = FeedState(name="a", url="https://old.example/f", last_poll=NOW - 60, next_poll=NOW + 3500)

    assert next_poll_time(feed, state, BASE, NOW, random.Random(3)) <= NOW + 2


def test_a_shorter_interval_applies_at_once_when_the_feed_changed() -> None:
    feed = _config("  - {name: a, url: 'https://a.example/f', interval: 5m}\n").feeds[0]
    state = FeedState(name="a", url=feed.url, last_poll=NOW - 60, next_poll=NOW + 3540)

    when = next_poll_time(feed, state, BASE, NOW, random.Random(4), changed=True)

    assert NOW + 240 <= when <= NOW + 240 + 30


def test_backoff_of_a_failing_feed_is_kept_even_when_it_changed() -> None:
    feed = BASE.feeds[1]
    state = FeedState(name="b", url=feed.url, last_poll=NOW - 60, next_poll=NOW + 4000, failures=3)

    assert next_poll_time(feed, state, BASE, NOW, random.Random(5), changed=True) >= NOW + 4000


def test_reload_changes_name_added_removed_and_changed_feeds() -> None:
    new = _config(
        "  - {name: a, url: 'https://a.example/f', interval: 1h}\n"
        "  - {name: b, url: 'https://b.example/f', interval: 20m}\n"
        "  - {name: c, url: 'https://c.example/f'}\n"
    )
    gone = _config("  - {name: a, url: 'https://a.example/f', interval: 1h, enabled: false}\n")

    assert feed_changes(BASE, new).added == ("c",)
    assert feed_changes(BASE, new).changed == ("b",)
    assert feed_changes(BASE, new).removed == ()
    assert feed_changes(BASE, gone).removed == ("a", "b")


def test_poll_outcome_tells_a_failed_feed_from_failed_articles() -> None:
    assert FeedResult(feed="a", url="u", errors=("feed 'a': u: HTTP 500",)).outcome == "failed"
    assert FeedResult(feed="a", url="u", failed=1, errors=("feed 'a': p: HTTP 503",)).outcome == "ok"
    assert FeedResult(feed="a", url="u", not_modified=True).outcome == "not_modified"
    assert FeedResult(feed="a", url="u", new=2).outcome == "ok"
    assert FeedResult(feed="a", url="u", new=2).outcome is PollOutcome.OK  # typed, and still the string above


def _record(**extra: object) -> logging.LogRecord:
    record = logging.LogRecord("crawler", logging.INFO, "x.py", 1, "poll", None, None)
    record.__dict__.update(extra)
    return record


def test_text_lines_carry_the_event_keys_quoted_when_needed() -> None:
    line = TextFormatter().format(_record(feed="bbc", url="https://x/a b", status="ok", elapsed=0.12345, new=3))

    assert line.endswith(' INFO poll feed=bbc url="https://x/a b" status=ok elapsed=0.123 new=3')
    assert "\n" not in TextFormatter().format(_record(error="two\nlines"))


def test_json_lines_parse_back_with_the_same_keys() -> None:
    line = JsonFormatter().format(_record(feed="新浪", url="https://x/", status="failed", elapsed=1.5, added=["a"]))

    data = json.loads(line)
    assert data["event"] == "poll"
    assert data["level"] == "info"
    assert (data["feed"], data["url"], data["status"], data["elapsed"], data["added"]) == (
        "新浪",
        "https://x/",
        "failed",
        1.5,
        ["a"],
    )
