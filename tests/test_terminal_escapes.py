"""What a feed or a page says never reaches the operator's terminal raw: escape sequences cannot clear the screen or
set its title, and a newline cannot forge a line for another feed (the CLI escapes as the daemon's logs do)."""

from __future__ import annotations

import json
import logging
import time

from hypothesis import given
from hypothesis import strategies as st

from crawler.logs import JsonFormatter, TextFormatter, visible
from crawler.store.base import FeedState
from tests.conftest import Result, Workdir
from tests.support.server import TestServer
from tests.support.store import on_store
from tests.test_fetch_command import article_page, config, feed_entry

FORGED = "feed 'other': http://127.0.0.1/: HTTP 500"
# Clear the screen, set the window title, a C1 CSI, a right-to-left override, then a line of its own.
HOSTILE = "\x1b[2J\x1b]0;owned\x07\x9b31m\u202e\n" + FORGED
RAW = ("\x1b", "\x07", "\x9b", "\u202e")


def _assert_harmless(result: Result) -> None:
    for stream in (result.stdout, result.stderr):
        assert not any(char in stream for char in RAW), stream
        assert not any(line.startswith(FORGED) for line in stream.splitlines()), stream


def test_fetch_prints_a_hostile_link_and_title_escaped_on_one_line(server: TestServer, work: Workdir) -> None:
    items = [{"id": "1", "url": server.url("/a") + HOSTILE, "title": "Title" + HOSTILE, "content_html": "<p>x</p>"}]
    feed = {"version": "https://jsonfeed.org/version/1.1", "title": "Hostile" + HOSTILE, "items": items}
    server.add("/feed.json", body=json.dumps(feed), content_type="application/feed+json")
    server.add("/other.xml", body="<rss version='2.0'><channel><title>o</title></channel></rss>")
    work.write_config(
        config(feed_entry("hostile", server.url("/feed.json")), feed_entry("other", server.url("/other.xml")))
    )

    result = work.run("fetch")

    _assert_harmless(result)
    [note] = [line for line in result.stderr.splitlines() if line.startswith("feed 'hostile'")]
    assert "\\u001b[2J\\u001b]0;owned\\u0007\\u009b31m\\u202e\\u000a" + FORGED in note
    assert result.code == 0, result.stderr
    _assert_harmless(work.run("fetch", "--json"))


def test_status_prints_a_hostile_last_error_and_new_address_escaped(work: Workdir) -> None:
    work.write_config(config(feed_entry("hostile", "http://127.0.0.1:9/feed.xml")))
    now = time.time()
    # What a server's answer could leave there: an error quoting what it said, a Location it moved to.
    hostile = FeedState(
        name="hostile",
        url="http://127.0.0.1:9/feed.xml",
        last_poll=now,
        next_poll=now + 60,
        failures=1,
        last_error="HTTP 500" + HOSTILE,
        moved_to="http://127.0.0.1:9/new" + HOSTILE,
    )
    on_store(work.path / ".crawler" / "state.db", lambda store: store.save_feed_state(hostile))

    table = work.run("status")
    as_json = work.run("status", "--json")

    _assert_harmless(table)
    assert len(table.stdout.splitlines()) == 2  # the header and the one feed
    _assert_harmless(as_json)
    assert as_json.json()["feeds"][0]["last_error"] == "HTTP 500" + HOSTILE


def test_extract_prints_a_hostile_url_and_page_escaped(server: TestServer, work: Workdir) -> None:
    server.add("/page", body=article_page("Page" + HOSTILE.replace("\n", " ")))

    refused = work.run("extract", server.url("/page") + HOSTILE)
    shown = work.run("extract", server.url("/page"))

    _assert_harmless(refused)
    assert refused.code == 1 and len(refused.stderr.splitlines()) == 1, refused.stderr
    _assert_harmless(shown)
    assert shown.code == 0, shown.stderr


@given(st.text())
def test_visible_text_has_no_control_or_bidi_character_and_reads_back_as_json(text: str) -> None:
    shown = visible(text)

    assert not any(char in shown for char in "\x1b\n\r\x07\x7f\x9b\u202e\u2028")
    assert json.loads(f'"{visible(json.dumps(text, ensure_ascii=False)[1:-1])}"') == text


def test_daemon_log_lines_escape_a_bare_escape_sequence() -> None:
    record = logging.LogRecord("crawler", logging.WARNING, "", 0, "failure", None, None)
    record.url = "http://h/a\x1b[2J\x9b"

    text = TextFormatter().format(record)
    data = JsonFormatter().format(record)

    assert "\x1b" not in text and "\x9b" not in text and "url=http://h/a\\u001b[2J\\u009b" in text
    assert "\x9b" not in data and json.loads(data)["url"] == "http://h/a\x1b[2J\x9b"
