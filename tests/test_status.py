"""Failing feeds and articles over several runs, and `crawler status`, through the real CLI."""

from __future__ import annotations

from datetime import datetime

from crawler.schedule import backoff_delay
from tests.conftest import Workdir
from tests.support.feeds import RSS, Item, config, page, rss
from tests.support.server import Answer, TestServer


def _seconds(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def test_feed_failing_5_times_has_its_next_poll_pushed_back_and_status_shows_the_error(
    server: TestServer, work: Workdir
) -> None:
    server.add("/feed.xml", Answer(status=500, body=b"oops"))
    work.write_config(
        config(
            {"name": "news", "url": server.url("/feed.xml"), "interval": "1m"}, http={"retries": 0}, min_interval="1m"
        )
    )
    gaps = []
    for _ in range(5):
        result = work.run("fetch")
        assert result.code == 1
        assert f"feed 'news': {server.url('/feed.xml')}: HTTP 500" in result.stderr
        row = work.run("status", "--json").json()["feeds"][0]
        gaps.append(_seconds(row["next_poll"]) - _seconds(row["last_poll"]))

    assert gaps == [120, 240, 480, 960, 1920]  # doubling from the 1m interval
    assert row["failures"] == 5
    assert row["last_error"] == "HTTP 500"
    assert row["state"] == "failing"
    assert row["last_success"] is None
    table = work.run("status")
    assert table.code == 0
    line = next(line for line in table.stdout.splitlines() if line.startswith("news"))
    assert "failing" in line and "HTTP 500" in line and "  5  " in line


def test_feed_backoff_is_capped_at_a_day() -> None:
    assert backoff_delay(1800, 1) == 3600
    assert backoff_delay(1800, 10) == 86400
    assert backoff_delay(1800, 1000) == 86400


def test_success_resets_the_failures(server: TestServer, work: Workdir) -> None:
    server.add("/feed.xml", Answer(status=502), Answer(body=rss(), content_type=RSS))
    work.write_config(config({"name": "news", "url": server.url("/feed.xml")}, http={"retries": 0}))
    assert work.run("fetch").code == 1

    assert work.run("fetch").code == 0

    row = work.run("status", "--json").json()["feeds"][0]
    assert (row["failures"], row["last_error"], row["state"]) == (0, None, "ok")
    assert row["last_success"] == row["last_poll"]


def test_410_shows_as_gone_on_every_run(server: TestServer, work: Workdir) -> None:
    server.add("/feed.xml", Answer(status=410, body=b"gone"))
    work.write_config(config({"name": "news", "url": server.url("/feed.xml")}))

    first = work.run("fetch")
    second = work.run("fetch")

    assert first.code == second.code == 1
    assert "feed 'news'" in first.stderr and "gone" in first.stderr
    assert f"feed 'news': {server.url('/feed.xml')}: gone (HTTP 410); remove it from feeds.yaml" in second.stderr
    assert len(server.requests("/feed.xml")) == 1  # not asked again
    row = work.run("status", "--json").json()["feeds"][0]
    assert row["state"] == "gone"
    assert "gone" in next(line for line in work.run("status").stdout.splitlines() if line.startswith("news"))


def test_article_failing_for_a_passing_reason_is_retried_on_later_polls_then_archived_from_the_feed(
    server: TestServer, work: Workdir
) -> None:
    server.add("/feed.xml", body=rss(Item(server.url("/a"), description="<p>Feed text.</p>")), content_type=RSS)
    server.add("/a", Answer(status=503))
    work.write_config(config({"name": "news", "url": server.url("/feed.xml")}, http={"retries": 0}))

    for attempt in (1, 2):
        result = work.run("fetch", "--json")
        assert result.code == 1
        assert f"feed 'news': {server.url('/a')}: HTTP 503" in result.stderr
        row = work.run("status", "--json").json()["feeds"][0]
        assert (row["pending"], row["archived"]) == (1, 0), attempt
        assert work.files() == []

    third = work.run("fetch", "--json")

    assert third.code == 0, third.stderr
    assert third.json()["feeds"][0]["fallback"] == 1
    assert len(server.requests("/a")) == 3
    assert "<div><p>Feed text.</p></div>" in work.files()[0].read_text("utf-8")
    row = work.run("status", "--json").json()["feeds"][0]
    assert (row["pending"], row["archived"]) == (0, 1)


def test_article_page_that_recovers_on_a_later_poll_is_archived_from_the_page(
    server: TestServer, work: Workdir
) -> None:
    server.add("/feed.xml", body=rss(Item(server.url("/a"))), content_type=RSS)
    server.add("/a", Answer(fault="reset"), Answer(body=page("The real page.").encode()))
    work.write_config(config({"name": "news", "url": server.url("/feed.xml")}, http={"retries": 0}))
    assert work.run("fetch").code == 1

    result = work.run("fetch")

    assert result.code == 0, result.stderr
    assert "The real page." in work.files()[0].read_text("utf-8")


def test_status_before_any_poll_lists_every_feed_without_creating_state(work: Workdir) -> None:
    work.write_config(
        config({"name": "one", "url": "http://127.0.0.1:9/a.xml"}, {"name": "two", "url": "http://127.0.0.1:9/b.xml"})
    )

    result = work.run("status", "--json")

    assert result.code == 0, result.stderr
    rows = result.json()["feeds"]
    assert [(row["name"], row["state"], row["pending"]) for row in rows] == [
        ("one", "never polled", 0),
        ("two", "never polled", 0),
    ]
    assert not (work.path / ".crawler").exists()
