"""Identity and de-duplication end to end (docs/FORMAT.md, "Deduplication"): the real CLI against the real local server.

What counts as the same article must never merge two different ones: linkless items, GUIDs a broken feed repeats,
one paywall text under many titles, a canonical URL claimed from another site or port, and one article under two
sets of tracking parameters.
"""

from __future__ import annotations

from html import escape

import yaml

from tests.conftest import Workdir
from tests.support.server import TestServer

RSS = "application/rss+xml"
PAYWALL = (
    "This article is for subscribers only. Subscribe today to keep reading our award-winning journalism, with "
    "unlimited access on every device, our morning newsletter and the full archive. Already a subscriber? Sign in "
    "to continue reading. Cancel at any time."
)


def item(
    title: str | None = None,
    link: str | None = None,
    guid: str | None = None,
    description: str | None = None,
) -> str:
    """One RSS item; only the fields given. A GUID is never a permalink here, so it never stands in for a link."""
    parts = [f"<title>{escape(title)}</title>" if title is not None else ""]
    parts.append(f"<link>{escape(link)}</link>" if link is not None else "")
    parts.append(f'<guid isPermaLink="false">{escape(guid)}</guid>' if guid is not None else "")
    parts.append(f"<description>{escape(description)}</description>" if description is not None else "")
    return "<item>" + "".join(parts) + "<pubDate>Tue, 24 Aug 2021 07:07:13 GMT</pubDate></item>"


def rss(*items: str) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Identity test</title>'
        "<link>http://example.org/</link><description>d</description>" + "".join(items) + "</channel></rss>"
    )


def page(title: str, text: str, head: str = "") -> str:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>{head}</head>"
        f"<body><nav>menu</nav><div id='content'><p>{escape(text)}</p></div></body></html>"
    )


def story(number: int) -> str:
    return f"Story {number}: the harbour committee met again and decided item {number} of the plan. " * 4


def config(feed_url: str, **more: str) -> str:
    feed = {"name": "news", "url": feed_url, "body": "#content", **more}
    return yaml.safe_dump({"archive": "archive", "politeness": {"delay": 0}, "feeds": [feed]}, sort_keys=False)


def summary(work: Workdir) -> tuple[dict[str, object], str]:
    result = work.run("fetch", "--json")
    assert "Traceback" not in result.stderr, result.stderr
    feed: dict[str, object] = result.json()["feeds"][0]
    return feed, result.stderr


def titles(work: Workdir) -> list[str]:
    found = []
    for path in work.files():
        head = path.read_text(encoding="utf-8").split("\n---\n", 1)[0][4:]
        found.append(str(yaml.safe_load(head)["title"]))
    return sorted(found)


def test_linkless_items_are_each_an_article_of_their_own_and_stay_one_file_each(
    server: TestServer, work: Workdir
) -> None:
    statuses = [
        item(title=f"Status {n}", guid=f"status-{n}", description=f"<p>Status update number {n}.</p>") for n in range(3)
    ]
    # No GUID and no link either: the title and content are all that names them.
    statuses += [item(description=f"<p>An untitled note, number {n}.</p>") for n in range(2)]
    server.add("/feed.xml", body=rss(*statuses), content_type=RSS)
    work.write_config(config(server.url("/feed.xml")))

    first, _ = summary(work)

    assert (first["new"], first["known"], first["failed"]) == (5, 0, 0)
    assert len(work.files()) == 5
    # The feed changes (one more status on top): the five already archived are known, each by its own identity.
    server.add("/feed.xml", body=rss(item(title="Status 9", guid="status-9"), *statuses), content_type=RSS)

    second, _ = summary(work)

    assert (second["new"], second["known"]) == (1, 5)
    assert len(work.files()) == 6
    assert titles(work).count("Status 9") == 1


def test_a_guid_repeated_for_other_items_is_logged_and_each_item_archived(server: TestServer, work: Workdir) -> None:
    repeated = [
        item(title=f"Story {n}", link=server.url(f"/story/{n}"), guid="post", description="<p>Teaser.</p>")
        for n in range(3)
    ]
    # The same GUID and link under a new title is the first item updated, not another one.
    update = item(title="Story 0 (updated)", link=server.url("/story/0"), guid="post")
    for n in range(3):
        server.add(f"/story/{n}", body=page(f"Story {n}", story(n)))
    server.add("/feed.xml", body=rss(*repeated, update), content_type=RSS)
    work.write_config(config(server.url("/feed.xml")))

    first, stderr = summary(work)

    assert (first["new"], first["known"], first["failed"]) == (3, 0, 0)
    assert titles(work) == ["Story 0", "Story 1", "Story 2"]
    lines = [line for line in stderr.splitlines() if "GUID" in line]
    assert lines == [
        f"feed 'news': {server.url('/feed.xml')}: broken feed: GUID 'post' is repeated for 2 other item(s) with "
        "another link and title; each is archived as an article of its own"
    ]
    # Polled again (a new item on top, the repeats reordered): every repeat is known by its own key, and the
    # broken feed is not reported again for what it already was.
    fresh = item(title="Story 3", link=server.url("/story/3"), guid="post-3")
    server.add("/story/3", body=page("Story 3", story(3)))
    server.add("/feed.xml", body=rss(fresh, *reversed(repeated)), content_type=RSS)

    second, stderr = summary(work)

    assert (second["new"], second["known"]) == (1, 3)
    assert "GUID" not in stderr
    assert len(work.files()) == 4


def test_one_paywall_text_under_different_titles_is_different_articles(server: TestServer, work: Workdir) -> None:
    links = [server.url(f"/premium/{n}") for n in range(5)]
    for n in range(5):
        # Every page shows the same notice: only the title tells them apart.
        server.add(f"/premium/{n}", body=page(f"Premium story {n}", PAYWALL))
    server.add(
        "/feed.xml", body=rss(*(item(title=f"Premium story {n}", link=links[n]) for n in range(5))), content_type=RSS
    )
    work.write_config(config(server.url("/feed.xml")))

    first, _ = summary(work)

    assert (first["new"], first["known"]) == (5, 0)
    assert titles(work) == [f"Premium story {n}" for n in range(5)]


def test_a_canonical_claimed_from_another_port_does_not_suppress_the_real_article(
    server: TestServer, work: Workdir
) -> None:
    attacker = TestServer()
    try:
        victim_url = server.url("/news/harbour-plan")
        server.add("/news/harbour-plan", body=page("Harbour plan approved", story(1)))
        # Same host, another port: another origin, so its claim on the victim's URL is not trusted.
        attacker.add(
            "/fake",
            body=page("Totally the harbour plan", story(666), head=f"<link rel='canonical' href='{victim_url}'>"),
        )
        server.add("/feed.xml", body=rss(item(title="Impostor", link=attacker.url("/fake"))), content_type=RSS)
        work.write_config(config(server.url("/feed.xml")))
        impostor, _ = summary(work)
        assert impostor["new"] == 1
        server.add(
            "/feed.xml",
            body=rss(
                item(title="Harbour plan approved", link=victim_url), item(title="Impostor", link=attacker.url("/fake"))
            ),
            content_type=RSS,
        )

        after, _ = summary(work)

        assert (after["new"], after["known"]) == (1, 1)
        assert len(server.requests("/news/harbour-plan")) == 1
        bodies = [path.read_text(encoding="utf-8") for path in work.files()]
        assert len(bodies) == 2
        assert sum("decided item 1 of the plan" in body for body in bodies) == 1
    finally:
        attacker.close()


def test_a_canonical_naming_the_home_page_merges_nothing(server: TestServer, work: Workdir) -> None:
    # A misconfigured site: every article names the home page as its canonical URL.
    home = f"<link rel='canonical' href='{server.url('/')}'>"
    for n in range(3):
        server.add(f"/news/{n}", body=page(f"Story {n}", story(n), head=home))
    server.add(
        "/feed.xml",
        body=rss(*(item(title=f"Story {n}", link=server.url(f"/news/{n}")) for n in range(3))),
        content_type=RSS,
    )
    work.write_config(config(server.url("/feed.xml")))

    first, _ = summary(work)

    assert (first["new"], first["known"]) == (3, 0)
    assert titles(work) == ["Story 0", "Story 1", "Story 2"]


def test_one_short_article_under_two_sets_of_tracking_parameters_is_one_file(server: TestServer, work: Workdir) -> None:
    # Too short for the body-text check: only the link, cleaned of its tracking parameters, can tell.
    server.add("/news/world-1", body=page("Brief", "Ferry delayed by fog."))
    first = server.url("/news/world-1?at_medium=RSS&at_campaign=KARANGA")
    second = server.url("/news/world-1?at_campaign=rss&at_medium=RSS&utm_source=twitter&fbclid=abc")
    server.add(
        "/feed.xml",
        body=rss(
            item(title="Ferry delayed", link=first, guid="a1"), item(title="Ferry delayed", link=second, guid="b2")
        ),
        content_type=RSS,
    )
    work.write_config(config(server.url("/feed.xml")))

    result, _ = summary(work)

    assert (result["new"], result["known"]) == (1, 1)
    assert len(work.files()) == 1
    assert len([seen for seen in server.requests() if seen.path.startswith("/news/world-1?")]) == 1
