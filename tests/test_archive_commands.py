"""`crawler list`, `refetch`, `check --archive` and `fetch --dry-run`: the real CLI against a real local server."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path

import pytest

from crawler.cli.listing import parse_since
from crawler.maintenance.archivecheck import compare
from crawler.store.base import RecordedArticle
from tests.conftest import Workdir
from tests.support.feeds import RSS, config
from tests.support.server import TestServer

WORDS = "The council met on Tuesday to discuss the harbour plan and the new ferry timetable for the spring. " * 4


def feed_of(*items: tuple[str, str, str]) -> bytes:
    """An RSS feed of (link, title, pubDate) items."""
    parts = "".join(
        f"<item><title>{escape(title)}</title><link>{escape(link)}</link><guid>{escape(link)}</guid>"
        f"<pubDate>{date}</pubDate><description>A teaser.</description></item>"
        for link, title, date in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        f"<link>http://example.org/</link><description>d</description>{parts}</channel></rss>"
    ).encode()


def article(text: str, where: str = "content") -> str:
    return (
        '<!doctype html><html><head><meta charset="utf-8"><title>Page</title></head>'
        f'<body><nav>menu</nav><div id="{where}"><p>{text}</p></div><footer>foot</footer></body></html>'
    )


DAY1 = "Mon, 23 Aug 2021 08:00:00 GMT"
DAY2 = "Tue, 24 Aug 2021 07:07:13 GMT"
DAY3 = "Wed, 25 Aug 2021 09:30:00 GMT"


def two_feeds(server: TestServer, work: Workdir) -> None:
    """Feed 'news' (two articles) and feed 'sport' (one), each page with its own words, all archived."""
    server.add(
        "/news.xml",
        body=feed_of((server.url("/a"), "Harbour plan", DAY1), (server.url("/b"), "Budget", DAY3)),
        content_type=RSS,
    )
    server.add("/sport.xml", body=feed_of((server.url("/c"), "Cup final", DAY2)), content_type=RSS)
    server.add("/a", body=article("Harbour " + WORDS))
    server.add("/b", body=article("The budget grows by a third. " + WORDS.replace("harbour", "town")))
    server.add("/c", body=article("The cup final ends in a draw. " + WORDS.replace("harbour", "stadium")))
    work.write_config(
        config({"name": "news", "url": server.url("/news.xml")}, {"name": "sport", "url": server.url("/sport.xml")})
    )
    fetched = work.run("fetch")
    assert fetched.code == 0, fetched.stderr
    assert len(work.files()) == 3


def path_of(work: Workdir, title: str) -> Path:
    return next(p for p in work.files() if f"title: '{title}'" in p.read_text(encoding="utf-8"))


def digest(*paths: Path) -> list[str]:
    return [hashlib.sha256(p.read_bytes()).hexdigest() if p.exists() else "-" for p in paths]


# --- crawler list ---------------------------------------------------------------------------------------------------


def test_list_shows_every_article_newest_first_with_date_feed_file_and_title(server: TestServer, work: Workdir) -> None:
    two_feeds(server, work)
    listed = work.run("list")
    assert listed.code == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert [line.split("  ")[0] for line in lines] == ["2021-08-25 09:30", "2021-08-24 07:07", "2021-08-23 08:00"]
    assert lines[0].endswith("  Budget") and " news " in lines[0]
    assert " sport " in lines[1] and lines[1].endswith("Cup final")
    assert path_of(work, "Harbour plan").relative_to(work.archive).as_posix() in lines[2]


def test_list_filters_by_feed_date_and_text_in_title_or_body(server: TestServer, work: Workdir) -> None:
    two_feeds(server, work)

    def titles(*args: str) -> list[str]:
        return [row["title"] for row in json.loads(work.run("list", "--json", *args).stdout)]

    assert titles("--feed", "news") == ["Budget", "Harbour plan"]
    assert titles("--since", "2021-08-24") == ["Budget", "Cup final"]
    assert titles("--grep", "DRAW") == ["Cup final"]  # in the body only, any case
    assert titles("--grep", "budget") == ["Budget"]  # in the title (and body)
    assert titles("--since", "1d") == []  # a duration back from now
    rows = json.loads(work.run("list", "--json").stdout)
    assert rows[0]["feed"] == "news" and rows[0]["date"] == "2021-08-25T09:30:00+00:00" and len(rows[0]["id"]) == 16


def test_list_refuses_a_bad_since_and_an_unknown_feed_with_one_line(server: TestServer, work: Workdir) -> None:
    two_feeds(server, work)
    bad = work.run("list", "--since", "last week")
    assert bad.code == 2 and bad.stderr.count("\n") == 1 and "'last week'" in bad.stderr
    unknown = work.run("list", "--feed", "nope")
    assert unknown.code == 2 and "no feed named 'nope'" in unknown.stderr


# --- crawler refetch ------------------------------------------------------------------------------------------------


def test_refetch_after_a_selector_fix_rewrites_the_file_in_place(server: TestServer, work: Workdir) -> None:
    server.add("/news.xml", body=feed_of((server.url("/a"), "Harbour plan", DAY1)), content_type=RSS)
    # The site moved its article into #story; the old selector still finds a stub box.
    server.add("/a", body=article("Old stub.").replace("</body>", f'<div id="story"><p>{WORDS}</p></div></body>'))
    work.write_config(config({"name": "news", "url": server.url("/news.xml")}))
    assert work.run("fetch").code == 0
    [before] = work.files()
    assert "Old stub." in before.read_text(encoding="utf-8")
    head = before.read_text(encoding="utf-8").split("\n---\n")[0]

    work.write_config(config({"name": "news", "url": server.url("/news.xml"), "body": "#story"}))
    again = work.run("refetch", server.url("/a"))
    assert again.code == 0, again.stderr
    assert work.files() == [before]  # same id, same path
    text = before.read_text(encoding="utf-8")
    assert "harbour plan" in text and "Old stub." not in text
    assert text.split("\n---\n")[0] == head  # the date (and every other field) kept
    assert "rewritten" in again.stdout and before.relative_to(work.archive).as_posix() in again.stdout
    # The state's body key follows the file: the archive matches the state.
    assert work.run("check", "--archive").code == 0
    # Once more: nothing changed on the page, the file is left alone.
    assert "1 unchanged" in work.run("refetch", "--feed", "news").stdout


def test_refetch_by_id_replaces_a_teaser_archived_when_the_page_failed(server: TestServer, work: Workdir) -> None:
    server.add("/news.xml", body=feed_of((server.url("/a"), "Harbour plan", DAY1)), content_type=RSS)
    server.add("/a", status=404, body="not yet")
    work.write_config(config({"name": "news", "url": server.url("/news.xml")}))
    assert work.run("fetch").code == 0
    [path] = work.files()
    assert "A teaser." in path.read_text(encoding="utf-8")

    server.add("/a", body=article(WORDS))
    again = work.run("refetch", path.stem)
    assert again.code == 0, again.stderr
    assert work.files() == [path]
    assert "harbour plan" in path.read_text(encoding="utf-8") and "A teaser." not in path.read_text(encoding="utf-8")
    assert "refetch: 1 rewritten, 0 unchanged, 0 failed" in again.stdout


def test_refetch_needs_one_article_or_a_feed(work: Workdir) -> None:
    work.write_config(config({"name": "news", "url": "http://127.0.0.1:9/feed.xml"}))
    for args in ((), ("0123456789abcdef", "--feed", "news"), ("0123456789abcdef", "--since", "7d")):
        result = work.run("refetch", *args)
        assert result.code == 2 and result.stderr.startswith("crawler: refetch:"), args


def test_refetch_of_a_url_not_archived_fails_with_one_line(server: TestServer, work: Workdir) -> None:
    two_feeds(server, work)
    before = digest(*work.files())
    result = work.run("refetch", server.url("/nowhere"))
    assert result.code == 1
    assert result.stderr.strip().count("\n") == 0 and "/nowhere: not archived" in result.stderr
    assert digest(*work.files()) == before


def test_refetch_keeps_the_file_when_the_page_fails(server: TestServer, work: Workdir) -> None:
    two_feeds(server, work)
    server.add("/b", status=404, body="gone")
    path = path_of(work, "Budget")
    before = digest(path)
    result = work.run("refetch", "--feed", "news", "--since", "2021-08-25")
    assert result.code == 1
    assert f"feed 'news': {server.url('/b')}: HTTP 404; file kept" in result.stderr
    assert digest(path) == before
    assert len(server.requests("/a")) == 1  # before --since: not refetched


# --- crawler check --archive ----------------------------------------------------------------------------------------


def test_check_archive_reports_deleted_added_and_changed_files_and_requeues_the_deleted(
    server: TestServer, work: Workdir
) -> None:
    two_feeds(server, work)
    deleted, changed = path_of(work, "Harbour plan"), path_of(work, "Cup final")
    deleted_text = deleted.read_text(encoding="utf-8")
    deleted.unlink()
    changed.write_text(changed.read_text(encoding="utf-8").replace("draw", "win"), encoding="utf-8")
    added = changed.with_name("0123456789abcdef.md")
    added.write_text(changed.read_text(encoding="utf-8"), encoding="utf-8")

    result = work.run("check", "--archive")
    assert result.code == 1
    lines = result.stdout.splitlines()
    assert "1 deleted, 1 added, 1 changed; 1 entries queued to be archived again" in lines[1]
    rel = lambda p: p.relative_to(work.archive).as_posix()  # noqa: E731
    assert any(line.startswith("deleted") and rel(deleted) in line for line in lines[2:])
    assert any(line.startswith("added") and rel(added) in line for line in lines[2:])
    assert any(line.startswith("changed") and rel(changed) in line for line in lines[2:])
    report = work.run("check", "--archive", "--json").json()  # the deleted one is queued now, no longer differs
    assert {(d["kind"], d["path"]) for d in report["differences"]} == {("added", rel(added)), ("changed", rel(changed))}

    assert work.run("fetch").code == 0  # the queued entry is archived again, even though its feed is unchanged
    assert deleted.read_text(encoding="utf-8") == deleted_text


def test_reindex_says_what_it_dropped_and_check_archive_brings_it_back(server: TestServer, work: Workdir) -> None:
    two_feeds(server, work)
    gone = path_of(work, "Budget")
    gone.unlink()
    reindexed = work.run("reindex")
    assert reindexed.code == 0
    assert "dropped 1 recorded articles whose files are gone" in reindexed.stderr
    checked = work.run("check", "--archive", "--json")
    assert checked.code == 1
    assert [d["kind"] for d in checked.json()["differences"]] == ["deleted"]
    assert work.run("fetch").code == 0
    assert gone.exists()
    assert work.run("check", "--archive").code == 0


# --- crawler fetch --dry-run ----------------------------------------------------------------------------------------


def test_dry_run_lists_what_would_be_archived_and_writes_nothing(server: TestServer, work: Workdir) -> None:
    server.add("/news.xml", body=feed_of((server.url("/a"), "Harbour plan", DAY1)), content_type=RSS)
    server.add("/a", body=article(WORDS))
    server.add("/b", body=article("Budget " + WORDS))
    work.write_config(config({"name": "news", "url": server.url("/news.xml")}))

    first = work.run("fetch", "--dry-run")
    assert first.code == 0, first.stderr
    assert f"news  {server.url('/a')}  Harbour plan" in first.stdout
    assert not work.archive.exists() and list(work.path.iterdir()) == [work.config]  # not even a state database

    assert work.run("fetch").code == 0
    server.add(
        "/news.xml",
        body=feed_of((server.url("/a"), "Harbour plan", DAY1), (server.url("/b"), "Budget", DAY2)),
        content_type=RSS,
        headers={"ETag": '"v2"'},
    )
    state = sorted(p for p in (work.path / ".crawler").rglob("*") if p.is_file())
    assert state
    files, before = work.files(), digest(*state)
    dry = work.run("fetch", "--dry-run", "--json")
    assert dry.code == 0, dry.stderr
    assert dry.json()["articles"] == [{"feed": "news", "url": server.url("/b"), "title": "Budget"}]
    assert work.files() == files and digest(*state) == before
    assert server.requests("/b") == []  # no article page fetched
    # No conditional-GET state was saved: the real fetch finds the new entry and archives it.
    real = work.run("fetch")
    assert real.code == 0 and len(work.files()) == 2


# --- the pure parts -------------------------------------------------------------------------------------------------


def test_since_takes_a_day_or_a_duration_back_from_now() -> None:
    now = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)
    assert parse_since("2024-05-01", now) == datetime(2024, 5, 1, tzinfo=UTC)
    assert parse_since("7d", now) == now - timedelta(days=7)
    with pytest.raises(ValueError, match="neither a date"):
        parse_since("yesterday", now)
    with pytest.raises(ValueError, match="not a date"):
        parse_since("2024-02-30", now)


def test_compare_tells_deleted_added_changed_and_moved_apart() -> None:
    recorded = [
        RecordedArticle("a" * 16, "2021/01/01/" + "a" * 16 + ".md", "k1", 0.0, ("news",)),
        RecordedArticle("b" * 16, "2021/01/01/" + "b" * 16 + ".md", "k2", 0.0, ("news",)),
        RecordedArticle("c" * 16, "2021/01/01/" + "c" * 16 + ".md", "k3", 0.0, ("news",)),
        RecordedArticle("d" * 16, "2021/01/01/" + "d" * 16 + ".md", None, 0.0, ("news",)),  # unreadable when indexed
    ]
    files = {
        "b" * 16: "2021/01/01/" + "b" * 16 + ".md",
        "c" * 16: "2021/01/02/" + "c" * 16 + ".md",
        "d" * 16: "2021/01/01/" + "d" * 16 + ".md",
        "e" * 16: "2021/01/01/" + "e" * 16 + ".md",
    }
    keys = {files["b" * 16]: "changed", files["c" * 16]: "k3", files["d" * 16]: "x", files["e" * 16]: "k5"}
    found = compare(recorded, ["a" * 16, "f" * 16], files, keys)
    assert [(d.kind, d.article_id[0]) for d in found] == [
        ("deleted", "a"),
        ("changed", "b"),
        ("moved", "c"),
        ("deleted", "f"),  # only an entry remembers it (reindex dropped its row)
        ("added", "e"),
    ]
