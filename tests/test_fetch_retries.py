"""Retries through the real CLI against the fault-injecting server: passing failures are retried within the poll
(with backoff, honouring Retry-After); what cannot pass is reported, not retried blindly."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

from crawler.fetch import parse_retry_after
from crawler.fetch.retries import backoff_wait
from tests.conftest import Workdir
from tests.support.feeds import RSS, Item, config, page, rss
from tests.support.server import Answer, TestServer


def _one_article(server: TestServer, work: Workdir, *answers: Answer, **cfg: object) -> str:
    """A feed with one article at /a answered by `answers`; return the article's URL."""
    link = server.url("/a")
    server.add("/feed.xml", body=rss(Item(link)), content_type=RSS)
    server.add("/a", *answers)
    work.write_config(config({"name": "news", "url": server.url("/feed.xml")}, **cfg))  # type: ignore[arg-type]
    return link


def test_503_503_then_200_is_archived_in_the_same_run(server: TestServer, work: Workdir) -> None:
    _one_article(server, work, Answer(status=503), Answer(status=503), Answer(body=page("Third time lucky.").encode()))

    result = work.run("fetch", "--json")

    assert result.code == 0, result.stderr
    assert result.json()["feeds"][0]["new"] == 1
    assert len(server.requests("/a")) == 3
    assert "Third time lucky." in work.files()[0].read_text("utf-8")


def test_429_with_retry_after_2_waits_at_least_2s_then_archives(server: TestServer, work: Workdir) -> None:
    _one_article(
        server,
        work,
        Answer(status=429, headers={"Retry-After": "2"}),
        Answer(body=page("Patience pays.").encode()),
    )

    result = work.run("fetch", "--json")

    assert result.code == 0, result.stderr
    first, second = server.requests("/a")
    assert second.started - first.started >= 2.0
    assert "Patience pays." in work.files()[0].read_text("utf-8")


def test_retry_after_beyond_max_retry_after_gives_up_for_this_poll_and_says_so(
    server: TestServer, work: Workdir
) -> None:
    server.add("/feed.xml", Answer(status=503, headers={"Retry-After": "3600"}))
    work.write_config(config({"name": "news", "url": server.url("/feed.xml")}, http={"max_retry_after": "10m"}))

    result = work.run("fetch")

    assert result.code == 1
    assert len(server.requests("/feed.xml")) == 1
    assert "feed 'news'" in result.stderr
    assert "wait 3600s, more than http.max_retry_after (600s); giving up for this poll" in result.stderr


def test_reset_connection_is_retried(server: TestServer, work: Workdir) -> None:
    _one_article(server, work, Answer(fault="reset"), Answer(body=page("After the reset.").encode()))

    result = work.run("fetch")

    assert result.code == 0, result.stderr
    assert len(server.requests("/a")) == 2
    assert "After the reset." in work.files()[0].read_text("utf-8")


def test_broken_chunked_encoding_is_retried(server: TestServer, work: Workdir) -> None:
    _one_article(server, work, Answer(fault="badchunk"), Answer(body=page("Whole again.").encode()))

    result = work.run("fetch")

    assert result.code == 0, result.stderr
    assert len(server.requests("/a")) == 2
    assert "Whole again." in work.files()[0].read_text("utf-8")


def test_stalling_server_is_timed_out_retried_and_reported(server: TestServer, work: Workdir) -> None:
    server.add("/feed.xml", Answer(fault="stall", delay=3))
    work.write_config(
        config({"name": "news", "url": server.url("/feed.xml")}, http={"read_timeout": "300ms", "retries": 1})
    )

    result = work.run("fetch")

    assert result.code == 1
    assert len(server.requests("/feed.xml")) == 2  # the first attempt and one retry
    assert f"feed 'news': {server.url('/feed.xml')}: timed out (ReadTimeout)" in result.stderr


def test_slow_body_is_cut_by_the_total_timeout(server: TestServer, work: Workdir) -> None:
    server.add("/feed.xml", Answer(body=rss(Item("http://x/a")), fault="drip", delay=4, content_type=RSS))
    work.write_config(config({"name": "news", "url": server.url("/feed.xml")}, http={"timeout": "1s", "retries": 0}))

    result = work.run("fetch")

    assert result.code == 1
    assert "no complete answer within 1s" in result.stderr


def test_404_is_not_retried_and_the_article_comes_from_the_feed(server: TestServer, work: Workdir) -> None:
    _one_article(server, work, Answer(status=404, body=b"no"))

    result = work.run("fetch", "--json")

    assert result.code == 0, result.stderr
    assert len(server.requests("/a")) == 1
    assert result.json()["feeds"][0]["fallback"] == 1
    assert "HTTP 404; archived from the feed's own content" in result.stderr
    assert "<div><p>The feed's own words about it.</p></div>" in work.files()[0].read_text("utf-8")


def test_bot_protection_is_reported_as_such_and_not_retried_in_the_poll(server: TestServer, work: Workdir) -> None:
    challenge = b"<html><title>Just a moment...</title><script src='/cdn-cgi/challenge-platform/x.js'></script></html>"
    server.add("/feed.xml", Answer(status=403, body=challenge, headers={"Server": "cloudflare"}))
    work.write_config(config({"name": "news", "url": server.url("/feed.xml")}))

    result = work.run("fetch")

    assert result.code == 1
    assert len(server.requests("/feed.xml")) == 1
    assert "blocked by bot protection" in result.stderr


def test_cf_mitigated_header_is_bot_protection(server: TestServer, work: Workdir) -> None:
    server.add("/feed.xml", Answer(status=503, headers={"cf-mitigated": "challenge"}))
    work.write_config(config({"name": "news", "url": server.url("/feed.xml")}))

    result = work.run("fetch")

    assert len(server.requests("/feed.xml")) == 1
    assert "blocked by bot protection" in result.stderr


def test_gzip_answer_is_decompressed(server: TestServer, work: Workdir) -> None:
    _one_article(server, work, Answer(body=page("Squeezed and restored.").encode(), fault="gzip"))

    result = work.run("fetch")

    assert result.code == 0, result.stderr
    assert server.requests("/a")[0].headers["accept-encoding"] == "gzip, deflate"
    assert "Squeezed and restored." in work.files()[0].read_text("utf-8")


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2021, 8, 24, 7, 7, 13, tzinfo=UTC).timestamp()
    assert parse_retry_after("2", now) == 2.0
    assert parse_retry_after(format_datetime(datetime(2021, 8, 24, 7, 8, 13, tzinfo=UTC), usegmt=True), now) == 60.0
    assert parse_retry_after("Tue, 24 Aug 2021 07:00:00 GMT", now) == 0.0  # in the past: no wait
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


def test_backoff_grows_exponentially_with_jitter_and_is_capped() -> None:
    for attempt in range(1, 6):
        ceiling = 0.5 * 2 ** (attempt - 1)
        waits = [backoff_wait(0.5, attempt) for _ in range(50)]
        assert all(ceiling / 2 <= wait <= ceiling for wait in waits)
        assert len(set(waits)) > 1  # jittered
    assert backoff_wait(1.0, 40) <= 60.0
