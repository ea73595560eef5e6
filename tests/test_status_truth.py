"""`crawler status` tells the truth, through the real CLI against the local server: a feed answering 304 to a bare
request is failing, articles that keep failing show on their feed's row, and a missing state database is said so."""

from __future__ import annotations

from datetime import datetime

from tests.conftest import Workdir
from tests.support.feeds import config
from tests.support.server import Answer, TestServer


def _seconds(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def test_feed_answering_304_to_an_unconditional_request_is_failing_with_backoff(
    server: TestServer, work: Workdir
) -> None:
    # No ETag, no Last-Modified ever: every request is unconditional, so a 304 can never be a real "unchanged".
    server.add("/feed.xml", Answer(status=304, content_type=None))
    work.write_config(config({"name": "news", "url": server.url("/feed.xml"), "interval": "1m"}))

    first = work.run("fetch", "--json")
    second = work.run("fetch", "--json")

    assert first.code == second.code == 1
    message = f"feed 'news': {server.url('/feed.xml')}: answers 304 to an unconditional request"
    assert message in first.stderr and message in second.stderr
    assert first.json()["feeds"][0]["not_modified"] is False
    for seen in server.requests("/feed.xml"):
        assert "if-none-match" not in seen.headers and "if-modified-since" not in seen.headers
    row = work.run("status", "--json").json()["feeds"][0]
    assert (row["state"], row["failures"]) == ("failing", 2)
    assert row["last_error"] == "answers 304 to an unconditional request"
    assert row["last_success"] is None
    assert _seconds(row["next_poll"]) - _seconds(row["last_poll"]) == 240  # backed off: twice doubled from 1m
