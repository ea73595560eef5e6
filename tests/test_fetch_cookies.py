"""Cookies a site sets are sent back to it: through a redirect that sets one (a consent or session check) and on
later requests to the same host, as a browser would; never to another host."""

from __future__ import annotations

from tests.conftest import Workdir
from tests.support.feeds import RSS, Item, config, page, rss
from tests.support.server import Answer, Seen, TestServer


def consent_check(seen: Seen) -> Answer:
    """Redirect to the same URL with a cookie set, the way consent walls do, until the cookie comes back."""
    if "consent=yes" in seen.headers.get("cookie", ""):
        return Answer(body=page(f"The story behind {seen.path}, at length.").encode())
    return Answer(status=302, headers={"Location": seen.path, "Set-Cookie": "consent=yes; Path=/"})


def test_a_cookie_set_by_a_redirect_is_sent_on_and_kept_for_the_host(server: TestServer, work: Workdir) -> None:
    other = server.also_on("127.0.0.2")
    server.add_dynamic("/first", consent_check)
    server.add_dynamic("/second", consent_check)
    server.add("/elsewhere", body=page("Another site's story.").encode())
    items = (Item(server.url("/first")), Item(server.url("/second")), Item(f"{other}/elsewhere"))
    server.add("/feed.xml", body=rss(*items), content_type=RSS)
    # One request at a time per host, so the second article is asked for after the first one's redirect.
    work.write_config(
        config(
            {"name": "news", "url": server.url("/feed.xml")},
            politeness={"per_host": 1},
        )
    )

    result = work.run("fetch", "--json")

    assert result.code == 0, result.stderr
    assert result.json()["feeds"][0]["new"] == 3
    first = server.requests("/first")
    assert [bool(seen.headers.get("cookie")) for seen in first] == [False, True]
    assert [seen.headers.get("cookie") for seen in server.requests("/second")] == ["consent=yes"]
    assert [seen.headers.get("cookie") for seen in server.requests("/elsewhere")] == [None]
