"""The web console in a real browser: headless Chromium (Debian's package) loads the pages of a real `crawler run
--http` daemon that has archived real feeds (tests/fixtures/feeds) from the local test server, and checks what a
reader sees: the table's rows, the plots' points, searches in English and Chinese, an article page on which a hostile
body runs no script. The run writes screenshots of the dashboard and an article page to build/screenshots/ (or
$CRAWLER_SCREENSHOTS), which README shows (a copy of one pair lives in docs/)."""

from __future__ import annotations

import html
import os
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.conftest import FIXTURES, REPO, Workdir
from tests.support.browser import Browser, Page, find_chromium
from tests.support.daemon import RunningDaemon, free_port
from tests.support.server import TestServer

pytestmark = [
    pytest.mark.skipif(
        find_chromium() is None,
        reason="no Chromium to drive: install Debian's `chromium` package (.ci/run does) to run the console's "
        "browser tests",
    ),
    pytest.mark.xdist_group("console-browser"),  # one daemon and one browser for the module
]

SCREENSHOTS = Path(os.environ.get("CRAWLER_SCREENSHOTS") or REPO / "build" / "screenshots")
FEEDS = {
    "zh-tech": ("zh/qq-tech-gb2312.xml", "application/rss+xml"),
    "techcrunch": ("feedjira/TechCrunch.xml", "application/rss+xml"),
    "pauldix": ("feedjira/PaulDixExplainsNothing.xml", "application/atom+xml"),
}
HOSTILE_ID = "0badc0de0badc0de"
HOSTILE_TITLE = '<script>document.title="pwned"</script> Hostile & "title"'


def hostile_body(base: str) -> str:
    """A body that would say so if any script of it ran (an attribute on its document, a request to the test
    server): a handler, a script, a javascript: link, an SVG handler."""
    mark = "document.documentElement.setAttribute('data-pwned-{0}', '1')"
    ping = f"void({mark}, new Image().src='{base}/pwned-{{0}}')"
    return (
        '<p id="hostile">Hostile body</p>'
        f'<img id="broken" src="/no-such-image.png" onerror="{ping.format("onerror")}">'
        f"<script>{ping.format('script')}</script>"
        f'<a id="evil" href="javascript:{ping.format("javascript")}">click me</a>'
        f'<svg onload="{ping.format("svg")}"></svg>'
    )


@dataclass
class Console:
    """The daemon under test, its console's address, the test server, and a browser tab."""

    work: Workdir
    server: TestServer
    url: str
    page: Page
    polls: int  # polls the daemon logged before the pages were read


def _wait_polled(daemon: RunningDaemon, state: Path, feeds: int) -> None:
    def polled() -> bool:
        if not state.exists():
            return False
        with sqlite3.connect(state) as db:
            try:
                done = db.execute("SELECT COUNT(DISTINCT feed) FROM poll_log").fetchone()[0]
            except sqlite3.OperationalError:
                return False
        return int(done) >= feeds

    daemon.wait_for(f"{feeds} feeds polled", polled, timeout=120)


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    work = Workdir(tmp_path_factory.mktemp("console"))
    server = TestServer()
    lines = ["archive: archive", "feeds:"]
    for name, (path, content_type) in FEEDS.items():
        server.add(f"/{name}.xml", body=(FIXTURES / "feeds" / path).read_bytes(), content_type=content_type)
        url = server.url(f"/{name}.xml")
        lines += [f"  - name: {name}", f"    url: {url}", "    content: feed", "    interval: 1h"]
    lines += ["  - name: broken", f"    url: {server.url('/gone-missing.xml')}", "    interval: 1h"]
    work.write_config("\n".join(lines) + "\n")
    port = free_port()
    daemon = RunningDaemon(work, "--http", f"127.0.0.1:{port}")
    browser: Browser | None = None
    try:
        _wait_polled(daemon, work.path / ".crawler" / "state.db", len(FEEDS) + 1)
        # A file whose body is hostile, put in the archive behind the crawler's back (as an old version, a restore
        # or a hand could) and indexed by `crawler reindex`, beside the running daemon.
        hostile = work.archive / "2024" / "01" / "02" / f"{HOSTILE_ID}.md"
        hostile.parent.mkdir(parents=True, exist_ok=True)
        title = HOSTILE_TITLE.replace("'", "''")
        front = f"---\ntitle: '{title}'\ndate: Tue, 02 Jan 2024 10:00:00 GMT\n---\n\n"
        hostile.write_text(f"{front}<div>{hostile_body(server.base)}</div>\n", encoding="utf-8")
        reindexed = work.run("reindex")
        assert reindexed.code == 0, reindexed.stderr
        polls = daemon.log().count(" poll feed=")
        browser = Browser(work.path / "chromium")
        yield Console(work, server, f"http://127.0.0.1:{port}", browser.new_page(1280, 900), polls)
    finally:
        if browser is not None:
            browser.close()
        daemon.kill()
        server.close()


def _state(console: Console) -> Path:
    return console.work.path / ".crawler" / "state.db"


def _archived_by_daemon(console: Console) -> list[Path]:
    return [p for p in console.work.files() if p.suffix == ".md" and p.stem != HOSTILE_ID]


def test_the_dashboard_lists_every_feed_failing_first(console: Console) -> None:
    console.page.goto(f"{console.url}/")
    rows = console.page.evaluate(
        "[...document.querySelectorAll('#feeds tbody tr')].map(r => [r.dataset.feed, "
        "r.querySelector('.badge').textContent, r.cells[5].textContent.trim()])"
    )
    assert rows[0][:2] == ["broken", "failing"]
    assert sorted(row[0] for row in rows) == sorted([*FEEDS, "broken"])
    archived = {row[0]: int(row[2]) for row in rows}
    assert sum(archived.values()) == len(_archived_by_daemon(console))
    assert archived["zh-tech"] == 1
    sparks = console.page.evaluate("document.querySelectorAll('#feeds svg.spark polyline').length")
    assert sparks == sum(1 for count in archived.values() if count)
    console.page.screenshot(SCREENSHOTS / "console-dashboard.png")


def test_each_plot_draws_a_point_for_every_day_with_articles_and_polls(console: Console) -> None:
    console.page.goto(f"{console.url}/")
    bars = console.page.evaluate(
        "[...document.querySelectorAll('#plot-archived .point')].map(p => [p.dataset.day, +p.dataset.value])"
    )
    files = _archived_by_daemon(console)
    days = {datetime.fromtimestamp(p.stat().st_mtime, UTC).date().isoformat() for p in files}
    assert {day for day, _ in bars} == days
    assert sum(value for _, value in bars) == len(files)
    polls = console.page.evaluate(
        "[...document.querySelectorAll('#plot-polls .point')].map(p => [p.dataset.day, p.dataset.outcome, "
        "+p.dataset.value])"
    )
    assert sum(value for _, _, value in polls) == console.polls
    assert {outcome for _, outcome, _ in polls} == {"ok", "failed"}


def test_the_table_sorts_and_filters(console: Console) -> None:
    page = console.page
    page.goto(f"{console.url}/?sort=archived&order=desc")
    first = page.evaluate("document.querySelector('#feeds tbody tr').dataset.feed")
    assert first == "techcrunch"
    page.goto(f"{console.url}/?state=failing")
    assert page.evaluate("[...document.querySelectorAll('#feeds tbody tr')].map(r => r.dataset.feed)") == ["broken"]
    page.goto(f"{console.url}/?q=pauldix")
    assert page.evaluate("[...document.querySelectorAll('#feeds tbody tr')].map(r => r.dataset.feed)") == ["pauldix"]


def _found(console: Console, query: str) -> list[str]:
    console.page.goto(f"{console.url}/articles?q={quote(query)}")
    ids: list[str] = console.page.evaluate("[...document.querySelectorAll('#articles li')].map(li => li.dataset.id)")
    return ids


def _files_saying(console: Console, word: str) -> set[str]:
    """The articles whose title or visible text holds `word` (markup stripped: a URL in a link is not text)."""
    found: set[str] = set()
    for path in _archived_by_daemon(console):
        text = re.sub(r"<[^>]*>", " ", path.read_text(encoding="utf-8"))
        if word.casefold() in html.unescape(text).casefold():
            found.add(path.stem)
    return found


def test_a_search_in_english_finds_its_articles(console: Console) -> None:
    found = _found(console, "Gmail")
    expected = _files_saying(console, "gmail")
    assert expected and set(found) == expected


def test_a_two_character_chinese_search_finds_its_article(console: Console) -> None:
    expected = _files_saying(console, "回购")
    assert len(expected) == 1
    assert set(_found(console, "回购")) == expected
    assert _found(console, "购回") == []


def test_a_feed_page_shows_its_polls_and_errors(console: Console) -> None:
    console.page.goto(f"{console.url}/feeds/broken")
    polls = console.page.evaluate(
        "[...document.querySelectorAll('#polls tbody tr')].map(r => [r.cells[1].textContent, r.cells[5].textContent])"
    )
    assert polls and all(outcome == "failed" and "404" in error for outcome, error in polls)
    dots = console.page.evaluate("document.querySelectorAll('#plot-feed-polls circle.point').length")
    assert dots == len(polls)


# Clicks the hostile link, then answers, two tasks later (after the navigation the click queued), which of the
# hostile scripts have marked the document.
_CLICK_AND_SEE = (
    "document.getElementById('evil').click(), new Promise(done => setTimeout(() => setTimeout(() => "
    "done([...document.documentElement.attributes].map(a => a.name).filter(n => n.startsWith('data-pwned-')).sort()"
    "))))"
)
_MARKS = "[...document.documentElement.attributes].map(a => a.name).filter(n => n.startsWith('data-pwned-'))"
PWNED = ["data-pwned-javascript", "data-pwned-onerror", "data-pwned-script", "data-pwned-svg"]


def _wait_for_sentinel(console: Console, name: str) -> None:
    """Navigate to a page of the test server and wait until it is asked for: the requests the page before sent
    while it loaded have arrived by then."""
    console.page.goto(console.server.url(f"/{name}"))
    assert console.server.requests(f"/{name}")


def test_the_hostile_body_runs_its_scripts_outside_the_console(console: Console) -> None:
    # The control: on a plain page the same body does mark its document and reach the test server, so the silence
    # on the console's article page means something.
    console.server.add("/control", body=f"<html><body>{hostile_body(console.server.base)}</body></html>".encode())
    console.page.goto(console.server.url("/control"))
    assert console.page.evaluate(_CLICK_AND_SEE) == PWNED
    _wait_for_sentinel(console, "control-done")
    seen = {seen.path for seen in console.server.requests() if seen.path.startswith("/pwned-")}
    assert {"/pwned-onerror", "/pwned-script", "/pwned-svg"} <= seen


def test_an_article_page_runs_no_script_from_its_body(console: Console) -> None:
    before = len([s for s in console.server.requests() if s.path.startswith("/pwned-")])
    page = console.page
    page.goto(f"{console.url}/articles/{HOSTILE_ID}")
    assert page.evaluate("document.querySelector('main h1').textContent") == HOSTILE_TITLE
    assert page.evaluate("document.title") == f"{HOSTILE_TITLE} · crawler"
    assert page.evaluate("document.scripts.length") == 0
    links = page.evaluate("[...document.querySelectorAll('.links a')].map(a => a.getAttribute('href'))")
    assert links == [f"/articles/{HOSTILE_ID}/file"]
    frame = page.frame()
    assert frame.evaluate("document.getElementById('hostile').textContent") == "Hostile body"
    frame.page.call("Log.enable")
    mark = page.browser.mark()
    frame.evaluate("document.getElementById('evil').click()")
    # The browser says it refused the link's script (the frame has no script to wait on: none may run there).
    refused = page.browser.wait_event("Log.entryAdded", frame.page.session, after=mark)
    assert "JavaScript URL" in refused["entry"]["text"] or "sandboxed" in refused["entry"]["text"], refused
    assert frame.evaluate(_MARKS) == []
    _wait_for_sentinel(console, "article-done")
    after = [s.path for s in console.server.requests() if s.path.startswith("/pwned-")]
    assert len(after) == before, f"the hostile body ran: {after[before:]}"


def test_an_article_page_shows_its_front_matter_body_and_links(console: Console) -> None:
    [article_id] = _found(console, "Angie")[:1] or [None]
    assert article_id is not None
    page = console.page
    page.goto(f"{console.url}/articles/{article_id}")
    fields = page.evaluate("[...document.querySelectorAll('dl.front dt')].map(dt => dt.textContent)")
    assert fields[0] == "title" and "date" in fields
    links = page.evaluate("[...document.querySelectorAll('.links a')].map(a => a.getAttribute('href'))")
    assert links[0].startswith("http") and links[1] == f"/articles/{article_id}/file"
    text = page.evaluate_in_frame("document.body.innerText")
    assert re.search(r"\w{20}", text.replace(" ", ""))
    page.screenshot(SCREENSHOTS / "console-article.png")
