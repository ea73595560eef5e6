"""Conditional GET through the real CLI: validators sent back exactly, 304 and unchanged bodies not parsed, and an
unconditional fetch at least once a day."""

from __future__ import annotations

import time
from dataclasses import replace

from crawler.store.base import Store
from tests.conftest import Workdir
from tests.support.feeds import RSS, Item, config, page, rss
from tests.support.server import Answer, Seen, TestServer
from tests.support.store import on_store

ETAG = 'W/"5e1f-a:b c"'
LAST_MODIFIED = "Tue, 24 Aug 2021 07:07:13 GMT"


def _validating_feed(server: TestServer, work: Workdir) -> None:
    """A feed that answers 304 only to the exact validators; any other request gets a feed with a new item, so a
    wrong validator, or a parse after a 304, would show as a new article."""
    first = rss(Item(server.url("/a")))
    changed = rss(Item(server.url("/a")), Item(server.url("/b")))
    served: list[int] = []

    def answer(seen: Seen) -> Answer:
        if seen.headers.get("if-none-match") == ETAG and seen.headers.get("if-modified-since") == LAST_MODIFIED:
            # A 304 carrying another ETag must not replace the stored one (validators only from a 200).
            return Answer(status=304, content_type=None, headers={"ETag": '"from-a-304"'})
        served.append(1)
        return Answer(
            body=first if len(served) == 1 else changed,
            content_type=RSS,
            headers={"ETag": ETAG, "Last-Modified": LAST_MODIFIED},
        )

    server.add_dynamic("/feed.xml", answer)
    server.add("/a", body=page("A."))
    server.add("/b", body=page("B."))
    work.write_config(config({"name": "news", "url": server.url("/feed.xml")}))


def test_second_poll_sends_the_exact_validators_and_a_304_leads_to_no_parse(server: TestServer, work: Workdir) -> None:
    _validating_feed(server, work)
    assert work.run("fetch").code == 0

    result = work.run("fetch", "--json")

    assert result.code == 0, result.stderr
    second = server.requests("/feed.xml")[1]
    assert second.headers["if-none-match"] == ETAG
    assert second.headers["if-modified-since"] == LAST_MODIFIED
    feed = result.json()["feeds"][0]
    # Parsed, the feed would have counted its known item (known 1) or found /b (new 1).
    assert (feed["not_modified"], feed["new"], feed["known"]) == (True, 0, 0)
    assert server.requests("/b") == []
    assert len(work.files()) == 1

    third = work.run("fetch", "--json")

    assert third.json()["feeds"][0]["not_modified"] is True
    assert server.requests("/feed.xml")[2].headers["if-none-match"] == ETAG


def test_unchanged_body_without_validators_leads_to_no_parse(server: TestServer, work: Workdir) -> None:
    server.add("/feed.xml", body=rss(Item(server.url("/a"))), content_type=RSS)
    server.add("/a", body=page("A."))
    work.write_config(config({"name": "news", "url": server.url("/feed.xml")}))
    assert work.run("fetch").code == 0

    result = work.run("fetch", "--json")

    assert "if-none-match" not in server.requests("/feed.xml")[1].headers
    feed = result.json()["feeds"][0]
    assert (feed["not_modified"], feed["new"], feed["known"]) == (True, 0, 0)


def test_changed_body_without_validators_is_parsed(server: TestServer, work: Workdir) -> None:
    server.add(
        "/feed.xml",
        Answer(body=rss(Item(server.url("/a"))), content_type=RSS),
        Answer(body=rss(Item(server.url("/a")), Item(server.url("/b"))), content_type=RSS),
    )
    server.add("/a", body=page("A."))
    server.add("/b", body=page("B."))
    work.write_config(config({"name": "news", "url": server.url("/feed.xml")}))
    assert work.run("fetch").code == 0

    feed = work.run("fetch", "--json").json()["feeds"][0]

    assert (feed["not_modified"], feed["new"], feed["known"]) == (False, 1, 1)


def test_a_day_after_the_last_unconditional_fetch_no_validators_are_sent(server: TestServer, work: Workdir) -> None:
    _validating_feed(server, work)
    assert work.run("fetch").code == 0

    async def age_the_last_unconditional_fetch(store: Store) -> None:
        state = await store.feed_state("news")
        assert state.etag == ETAG and state.last_modified == LAST_MODIFIED
        await store.save_feed_state(replace(state, last_unconditional=time.time() - 25 * 3600))

    on_store(work.path / ".crawler" / "state.db", age_the_last_unconditional_fetch)

    result = work.run("fetch", "--json")

    second = server.requests("/feed.xml")[1]
    assert "if-none-match" not in second.headers and "if-modified-since" not in second.headers
    assert result.json()["feeds"][0]["new"] == 1  # the guard works: the changed feed is seen
