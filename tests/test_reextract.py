"""`crawler reextract`: archived files rebuilt from their raw records with today's settings, with no request to the
network. The real CLI against the local server, whose request log shows that nothing more reached it."""

from __future__ import annotations

import gzip

from tests.conftest import Workdir
from tests.support.feeds import RSS, Item, config, rss
from tests.support.server import Answer, TestServer
from tests.support.warc import assert_tools_accept

WORDS = "The council met on Tuesday to discuss the harbour plan and the new ferry timetable for the spring. " * 4


def _moved_page(stub: str, story: str) -> bytes:
    """A page whose article moved into #story, while #content still holds a stub."""
    return (
        '<!doctype html><html><head><meta charset="utf-8"><title>Page</title></head><body><nav>menu</nav>'
        f'<div id="content"><p>{stub}</p></div><div id="story"><p>{story}</p></div></body></html>'
    ).encode()


def _archive(server: TestServer, work: Workdir, **feed: object) -> None:
    server.add("/a", body=_moved_page("Old stub one.", "Harbour " + WORDS))
    zipped = gzip.compress(_moved_page("Old stub two.", "Market " + WORDS.replace("harbour", "market")), mtime=0)
    server.add("/b", Answer(body=zipped, headers={"Content-Encoding": "gzip"}))
    server.add("/feed.xml", body=rss(Item(server.url("/a"), "A"), Item(server.url("/b"), "B")), content_type=RSS)
    work.write_config(config({"name": "news", "url": server.url("/feed.xml"), "raw": "warc", **feed}))
    result = work.run("fetch")
    assert result.code == 0, result.stdout + result.stderr


def _articles(work: Workdir) -> dict[str, str]:
    return {p.relative_to(work.archive).as_posix(): p.read_text(encoding="utf-8") for p in work.archive.rglob("*.md")}


def test_reextract_after_a_selector_change_rewrites_files_without_a_request(server: TestServer, work: Workdir) -> None:
    _archive(server, work)
    before = _articles(work)
    assert all("Old stub" in text for text in before.values())
    requests = len(server.requests())

    work.write_config(config({"name": "news", "url": server.url("/feed.xml"), "raw": "warc", "body": "#story"}))
    result = work.run("reextract", "--feed", "news")

    assert result.code == 0, result.stderr
    assert len(server.requests()) == requests  # not one request: the pages came from the WARC records
    after = _articles(work)
    assert after.keys() == before.keys()  # same ids, same paths
    assert "harbour plan" in "".join(after.values()) and "market plan" in "".join(after.values())
    assert not any("Old stub" in text for text in after.values())
    for path, text in after.items():  # the date and the other fields are kept; only the body changed
        assert text.split("\n---\n")[0] == before[path].split("\n---\n")[0]
    assert "reextract: 2 rewritten, 0 unchanged, 0 failed" in result.stdout
    assert result.stdout.count("(body)") == 2
    assert work.run("check", "--archive").code == 0  # the state's body keys followed the files
    assert_tools_accept(work.archive)


def test_reextract_again_changes_nothing_and_says_so_in_json(server: TestServer, work: Workdir) -> None:
    _archive(server, work, body="#story")
    before = _articles(work)

    result = work.run("reextract", "--all", "--json")

    assert result.code == 0, result.stderr
    report = result.json()
    assert (report["rewritten"], report["unchanged"], report["failed"]) == (0, 2, 0)
    assert {row["status"] for row in report["articles"]} == {"unchanged"}
    assert _articles(work) == before


def test_reextract_by_id_rebuilds_that_article_only(server: TestServer, work: Workdir) -> None:
    _archive(server, work)
    [first, second] = sorted(work.archive.rglob("*.md"))
    untouched = second.read_text(encoding="utf-8")
    work.write_config(config({"name": "news", "url": server.url("/feed.xml"), "raw": "warc", "body": "#story"}))

    result = work.run("reextract", first.stem, "--json")

    assert result.code == 0, result.stderr
    assert [row["id"] for row in result.json()["articles"]] == [first.stem]
    assert result.json()["articles"][0]["changed"] == ["body"]
    assert second.read_text(encoding="utf-8") == untouched


def test_an_article_without_a_raw_record_is_kept_and_named(server: TestServer, work: Workdir) -> None:
    _archive(server, work, raw="none")
    before = _articles(work)

    result = work.run("reextract", "--feed", "news")

    assert result.code == 1
    assert result.stderr.count("no raw record") == 2 and "crawler refetch" in result.stderr
    assert "reextract: 0 rewritten, 0 unchanged, 2 failed" in result.stdout
    assert _articles(work) == before


def test_reextract_wants_one_kind_of_selection(work: Workdir) -> None:
    for args in ((), ("abc", "--all"), ("--feed", "news", "--all"), ("--since", "1d", "abc")):
        result = work.run("reextract", *args)
        assert result.code == 2 and result.stderr.startswith("crawler: reextract:"), args
