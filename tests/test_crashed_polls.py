"""A poll that would crash: validators that cannot be sent back are neither stored nor sent, and a poll that crashes
anyway fails like any failure (counted, backed off, shown by `crawler status`), never retried at jitter speed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

from crawler.fetch import sendable
from tests.conftest import Workdir
from tests.support.daemon import RunningDaemon, start_daemon
from tests.support.feeds import RSS, Item, config, page, rss
from tests.support.server import Answer, TestServer

__all__ = ["start_daemon"]  # the fixture, imported so pytest finds it

StartDaemon = Callable[..., RunningDaemon]


def _raw(text: str) -> str:
    """`text`'s UTF-8 bytes as the test server's latin-1 header encoding sends them: a UTF-8 header on the wire."""
    return text.encode("utf-8").decode("latin-1")


def test_a_non_ascii_etag_and_last_modified_do_not_crash_the_next_poll(server: TestServer, work: Workdir) -> None:
    server.add(
        "/feed.xml",
        body=rss(Item(server.url("/a"))),
        content_type=RSS,
        headers={"ETag": _raw('W/"café-☕"'), "Last-Modified": _raw("Tue, 24 Août 2021 07:07:13 GMT")},
    )
    server.add("/a", body=page("A."))
    work.write_config(config({"name": "news", "url": server.url("/feed.xml")}))
    assert work.run("fetch").code == 0

    second = work.run("fetch", "--json")

    assert second.code == 0, second.stderr
    assert second.json()["feeds"][0]["not_modified"] is True  # the unchanged body, known by its hash
    sent = server.requests("/feed.xml")[1].headers
    assert "if-none-match" not in sent and "if-modified-since" not in sent
    assert work.run("status", "--json").json()["feeds"][0]["state"] == "ok"


@pytest.mark.parametrize("value", ['W/"café"', '"a\x1bb"', '"a\nb"', "Tue, 24 Aug 2021\t07:07:13 GMT", "\x7f"])
def test_a_validator_outside_printable_ascii_is_not_sendable(value: str) -> None:
    assert not sendable(value)


def test_printable_ascii_validators_are_sendable() -> None:
    assert sendable('W/"5e1f-a:b c"') and sendable("Tue, 24 Aug 2021 07:07:13 GMT")


# Run in the daemon's process before the crawler: a bug on demand in one stage of every poll (a real input that
# crashes a poll is, by the time this test passes, fixed).
_CRASHING_STAGE = """
from crawler.pipeline import refresh as pipeline
def crash(self, feed, parsed):
    raise RuntimeError("simulated bug in a poll")
pipeline.Pipeline._record_entries = crash
"""


def test_a_poll_that_crashes_in_the_daemon_is_backed_off_and_shown_failing(
    server: TestServer, work: Workdir, start_daemon: StartDaemon
) -> None:
    server.add("/feed.xml", Answer(body=rss(Item(server.url("/a"))), content_type=RSS))
    server.add("/a", body=page("A."))
    work.write_config(config({"name": "news", "url": server.url("/feed.xml"), "interval": "1m"}, min_interval="1s"))
    daemon = start_daemon("--config", str(work.config), prelude=_CRASHING_STAGE)
    daemon.wait_for("the crashed poll to be logged", lambda: "simulated bug in a poll" in daemon.log())
    daemon.wait_for("the poll to be recorded", lambda: _row(work)["last_poll"] is not None)

    row = _row(work)

    assert row["state"] == "failing"
    assert row["failures"] == 1
    assert row["last_error"] == (
        "unexpected error RuntimeError: simulated bug in a poll (a bug: please report it with the log)"
    )
    # Backed off as any failure: twice the interval, not the jitter of a feed never polled.
    gap = datetime.fromisoformat(row["next_poll"]) - datetime.fromisoformat(row["last_poll"])
    assert gap.total_seconds() == 120
    assert len(server.requests("/feed.xml")) == 1


def _row(work: Workdir) -> dict[str, object]:
    result = work.run("status", "--json")
    assert result.code == 0, result.stderr
    row: dict[str, object] = result.json()["feeds"][0]
    return row
