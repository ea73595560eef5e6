"""`crawler status` tells the truth, through the real CLI against the local server: a feed answering 304 to a bare
request is failing, articles that keep failing show on their feed's row, and a missing state database is said so."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from crawler.store.base import NewEntry
from tests.conftest import Workdir
from tests.support.feeds import RSS, Item, config, page, rss
from tests.support.server import Answer, TestServer
from tests.support.store import nothing, on_store


def _seconds(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def test_feed_answering_304_to_an_unconditional_request_is_failing_with_backoff(
    server: TestServer, work: Workdir
) -> None:
    # No ETag, no Last-Modified ever: every request is unconditional, so a 304 can never be a real "unchanged".
    server.add("/feed.xml", Answer(status=304, content_type=None))
    work.write_config(config({"name": "news", "url": server.url("/feed.xml"), "interval": "1m"}, min_interval="1m"))

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


def test_articles_that_keep_failing_show_on_their_feeds_row_with_the_count_and_the_error(
    server: TestServer, work: Workdir
) -> None:
    items = [Item(server.url("/a"), title="A"), Item(server.url("/b"), title="B"), Item(server.url("/c"), title="C")]
    server.add("/feed.xml", body=rss(*items), content_type=RSS)
    server.add("/a", Answer(status=503))
    server.add("/b", Answer(status=503))
    server.add("/c", body=page("C is fine."))
    work.write_config(config({"name": "news", "url": server.url("/feed.xml")}, http={"retries": 0}))

    assert work.run("fetch").code == 1
    assert work.run("fetch").code == 1
    result = work.run("status", "--json")

    assert result.code == 0, result.stderr
    row = result.json()["feeds"][0]
    # The feed itself answers, so no feed failures; but two of its articles fail on every poll.
    assert (row["state"], row["failures"], row["last_error"]) == ("articles failing", 0, None)
    assert (row["archived"], row["pending"], row["articles_failing"]) == (1, 2, 2)
    assert row["article_error"] in (f"{server.url('/a')}: HTTP 503", f"{server.url('/b')}: HTTP 503")
    line = next(line for line in work.run("status").stdout.splitlines() if line.startswith("news"))
    assert "articles failing" in line and f"article {row['article_error']}" in line


def test_status_with_the_state_database_deleted_says_so_and_fails(server: TestServer, work: Workdir) -> None:
    server.add("/feed.xml", body=rss(Item(server.url("/a"))), content_type=RSS)
    server.add("/a", body=page("A."))
    work.write_config(config({"name": "news", "url": server.url("/feed.xml")}))
    assert work.run("fetch").code == 0
    state = work.path / ".crawler" / "state.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{state}{suffix}").unlink(missing_ok=True)

    result = work.run("status", "--json")
    table = work.run("status")

    assert result.code == table.code == 1
    report = result.json()
    assert report["database"] == {"path": ".crawler/state.db", "exists": False}
    assert report["problem"].startswith("no state database at .crawler/state.db: nothing has been polled with")
    assert "the archive at archive holds 1 articles: run `crawler reindex`" in report["problem"]
    assert f"crawler: {report['problem']}" in result.stderr and f"crawler: {report['problem']}" in table.stderr
    assert [(row["name"], row["state"]) for row in report["feeds"]] == [("news", "no state database")]
    assert "no state database" in next(line for line in table.stdout.splitlines() if line.startswith("news"))
    assert not state.exists()  # status never creates one


def test_status_with_an_empty_state_database_in_place_of_the_real_one_says_so(
    server: TestServer, work: Workdir
) -> None:
    server.add("/feed.xml", body=rss(Item(server.url("/a"))), content_type=RSS)
    server.add("/a", body=page("A."))
    work.write_config(config({"name": "news", "url": server.url("/feed.xml")}))
    assert work.run("fetch").code == 0
    state = work.path / ".crawler" / "state.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{state}{suffix}").unlink(missing_ok=True)
    on_store(state, nothing)  # a fresh, empty database under the same name

    result = work.run("status", "--json")

    assert result.code == 1
    assert "records no archived article, but the archive at archive holds 1" in result.json()["problem"]
    assert "crawler reindex" in result.stderr
    assert work.run("reindex").code == 0
    assert work.run("status").code == 0


def test_a_poll_that_died_before_saving_its_state_is_not_shown_as_never_polled(work: Workdir) -> None:
    work.write_config(config({"name": "news", "url": "http://127.0.0.1:9/feed.xml"}))
    # What a poll killed between recording its entries and saving the feed's state leaves behind.
    added = on_store(
        work.path / ".crawler" / "state.db",
        lambda store: store.add_pending("news", [NewEntry(key="k", link="http://127.0.0.1:9/a", payload="{}")], 0.0),
    )
    assert added == 1

    row = work.run("status", "--json").json()["feeds"][0]

    assert (row["state"], row["pending"]) == ("poll unfinished", 1)


def test_fetch_without_its_state_database_rebuilds_it_from_the_archive_and_archives_nothing_again(
    server: TestServer, work: Workdir
) -> None:
    server.add("/feed.xml", body=rss(Item(server.url("/a"), title="A")), content_type=RSS)
    server.add("/a", body=page("A is the article, long enough to stand on its own in the archive. " * 5))
    work.write_config(config({"name": "news", "url": server.url("/feed.xml")}))
    assert work.run("fetch").code == 0
    (archived,) = (work.path / "archive").rglob("*.md")
    written = archived.stat().st_mtime_ns
    (work.path / ".crawler" / "state.db").unlink()

    again = work.run("fetch", "--json")

    assert again.code == 0, again.stderr
    assert "no state database, but the archive holds articles: rebuilt its record" in again.stderr
    assert (again.json()["feeds"][0]["new"], again.json()["feeds"][0]["known"]) == (0, 1)
    assert list((work.path / "archive").rglob("*.md")) == [archived]
    assert archived.stat().st_mtime_ns == written  # recognised, not written again
