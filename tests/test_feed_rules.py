"""Per-feed `keep:`, `block:` and `backfill:` through the real CLI against the local server: left-out items are
recorded as skipped (never fetched, never archived) and counted."""

from __future__ import annotations

import re
import signal
from collections.abc import Callable
from dataclasses import dataclass
from html import escape

from tests.conftest import Workdir
from tests.support.daemon import RunningDaemon, start_daemon
from tests.support.server import TestServer

RSS = "application/rss+xml"


@dataclass(frozen=True)
class Story:
    slug: str
    title: str
    hour: int  # its publication hour on 24 Aug 2021: a larger one is newer
    category: str = "news"
    description: str = "<p>The feed's own words.</p>"


def _rss(base: str, stories: list[Story]) -> str:
    items = "".join(
        f"<item><title>{escape(s.title)}</title><link>{base}/story/{s.slug}</link><guid>{base}/story/{s.slug}</guid>"
        f"<category>{escape(s.category)}</category><pubDate>Tue, 24 Aug 2021 {s.hour:02d}:00:00 GMT</pubDate>"
        f"<description>{escape(s.description)}</description></item>"
        for s in stories
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Rules</title>'
        f"<link>{base}/</link><description>d</description>{items}</channel></rss>"
    )


def _page(story: Story) -> str:
    return (
        f"<html><head><title>{story.title}</title></head><body><div id='content'>"
        f"<p>marker-{story.slug} {'Some text of the article. ' * 20}</p></div></body></html>"
    )


def _serve(server: TestServer, stories: list[Story]) -> None:
    server.add("/feed.xml", body=_rss(server.base, stories), content_type=RSS)
    for story in stories:
        server.add(f"/story/{story.slug}", body=_page(story))


def _config(server: TestServer, *rules: str, defaults: str = "") -> str:
    return (
        "archive: archive\npoliteness:\n  delay: 0\n"
        + (f"defaults:\n  {defaults}\n" if defaults else "")
        + f"feeds:\n  - name: news\n    url: {server.url('/feed.xml')}\n    body: '#content'\n"
        + "".join(f"    {rule}\n" for rule in rules)
    )


def _archived(work: Workdir) -> set[str]:
    return {found for path in work.files() for found in re.findall(r"marker-(\w+)", path.read_text(encoding="utf-8"))}


def _fetched(server: TestServer) -> set[str]:
    return {seen.path.removeprefix("/story/") for seen in server.requests() if seen.path.startswith("/story/")}


STORIES = [
    Story("py", "Python 3.14 released", 1),
    Story("ad", "SPONSORED: buy a boat", 2),
    Story("go", "Go 1.30 released", 3, category="golang"),
    Story("rs", "A quiet week", 4, description="<p>Rust and Python, side by side.</p>"),
]


def test_block_and_keep_skip_items_without_fetching_them_and_count_them(server: TestServer, work: Workdir) -> None:
    _serve(server, STORIES)
    # keep: title, URL, categories or content mentioning python or golang; block: anything sponsored.
    work.write_config(_config(server, "keep: ['(?i)python', '^golang$']", "block: (?i)sponsored"))

    first = work.run("fetch", "--json")

    assert first.code == 0, first.stderr
    row = first.json()["feeds"][0]
    assert (row["new"], row["skipped"], row["known"], row["failed"]) == (3, 1, 0, 0)
    assert _archived(work) == {"py", "go", "rs"}  # "rs" is kept for its content, "go" for its category
    assert _fetched(server) == {"py", "go", "rs"}  # the blocked story's page was never asked for

    # The next poll (the feed changed: one more sponsored story) knows the skipped item and skips the new one.
    _serve(server, [*STORIES, Story("ad2", "Sponsored again", 5)])
    again = work.run("fetch")
    assert again.code == 0, again.stderr
    assert again.stdout.splitlines()[0].split() == ["feed", "new", "known", "skipped", "failed", "from", "feed"]
    assert again.stdout.splitlines()[1].split() == ["news", "0", "4", "1", "0", "0"]
    assert _fetched(server) == {"py", "go", "rs"}


def test_keep_under_defaults_applies_to_every_feed(server: TestServer, work: Workdir) -> None:
    _serve(server, STORIES)
    work.write_config(_config(server, defaults="keep: /story/(py|go)$"))  # matched against the item's URL

    result = work.run("fetch")

    assert result.code == 0, result.stderr
    assert result.stdout.splitlines()[1].split()[:5] == ["news", "2", "0", "2", "0"]
    assert _archived(work) == {"py", "go"}


def test_backfill_archives_only_the_newest_items_on_the_first_poll(server: TestServer, work: Workdir) -> None:
    # Listed oldest first, so "newest" must come from the dates, not from the order.
    _serve(server, [Story("old", "An old one", 0), *STORIES[:1], *STORIES[2:]])
    work.write_config(_config(server, "backfill: 2"))

    first = work.run("fetch", "--json")

    assert first.code == 0, first.stderr
    row = first.json()["feeds"][0]
    assert (row["new"], row["skipped"]) == (2, 2)
    assert _archived(work) == {"go", "rs"}
    assert _fetched(server) == {"go", "rs"}

    # Later polls archive every new item, however many: backfill is for the first poll only.
    newer = [Story(f"n{hour}", f"Newer {hour}", hour) for hour in (10, 11, 12)]
    _serve(server, STORIES + newer)
    second = work.run("fetch", "--json")

    assert second.code == 0, second.stderr
    row = second.json()["feeds"][0]
    assert (row["new"], row["skipped"], row["known"]) == (4, 0, 3)  # the 3 newer ones and "ad", never listed before
    assert _archived(work) == {"go", "rs", "ad", "n10", "n11", "n12"}
    assert "py" not in _fetched(server)  # skipped on the first poll: known, never fetched


__all__ = ["start_daemon"]  # the fixture, imported so pytest finds it


def test_the_daemons_poll_line_counts_the_items_its_rules_skipped(
    server: TestServer, work: Workdir, start_daemon: Callable[..., RunningDaemon]
) -> None:
    _serve(server, STORIES)
    work.write_config(_config(server, "block: (?i)sponsored"))

    daemon = start_daemon()
    daemon.wait_for("the first poll", lambda: " INFO poll feed=news" in daemon.log())

    line = next(line for line in daemon.log().splitlines() if " INFO poll feed=news" in line)
    assert "new=3 known=0 skipped=1 failed=0" in line
    daemon.signal(signal.SIGTERM)
