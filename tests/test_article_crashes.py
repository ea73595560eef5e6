"""An article whose page makes the crawler crash (a bug met on an unforeseen page) fails in one line, is counted as
a failing article, and after as many crashes as a page may fail is archived from the feed's own content: it never
crashes every poll forever. Through the real CLI, with the bug planted by a `sitecustomize` in the child."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import REPO, Workdir
from tests.support.feeds import RSS, Item, config, page, rss
from tests.support.server import TestServer

# Extraction of this one page raises, as a bug would; the feed's own content (no page) does not go through it.
_BUG = """
from crawler.pipeline import compose as article
_extract = article.extract_fetched
def extract_fetched(feed, fetched, *rest):
    if fetched.url.endswith("/crashes"):
        raise RuntimeError("simulated bug on this page")
    return _extract(feed, fetched, *rest)
article.extract_fetched = extract_fetched
"""


def _with_bug(tmp_path: Path) -> dict[str, str]:
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(_BUG, encoding="utf-8")
    return {"PYTHONPATH": f"{hooks}:{REPO}"}


def test_an_article_that_crashes_every_poll_is_archived_from_the_feed_after_three(
    server: TestServer, work: Workdir, tmp_path: Path
) -> None:
    items = [
        Item(server.url("/crashes"), title="Crashes", description="<p>The feed's own words, kept.</p>"),
        Item(server.url("/fine"), title="Fine"),
    ]
    server.add("/feed.xml", body=rss(*items), content_type=RSS)
    server.add("/crashes", body=page("The page that trips a bug."))
    server.add("/fine", body=page("A fine page."))
    work.write_config(config({"name": "news", "url": server.url("/feed.xml")}))
    bug = _with_bug(tmp_path)

    first = work.run("fetch", "--json", env=bug)
    status = work.run("status", "--json").json()["feeds"][0]
    second = work.run("fetch", "--json", env=bug)
    third = work.run("fetch", "--json", env=bug)
    fourth = work.run("fetch", "--json", env=bug)

    crash = f"feed 'news': {server.url('/crashes')}: unexpected error RuntimeError: simulated bug on this page"
    assert first.code == 1 and crash in first.stderr
    assert (first.json()["feeds"][0]["new"], first.json()["feeds"][0]["failed"]) == (1, 1)
    assert (status["state"], status["articles_failing"]) == ("articles failing", 1)
    assert "simulated bug on this page" in status["article_error"]
    assert second.code == 1 and crash in second.stderr
    # The third crash is the last: the feed's own content is archived, and the note says why.
    assert third.code == 0, third.stderr
    assert (third.json()["feeds"][0]["new"], third.json()["feeds"][0]["fallback"]) == (1, 1)
    assert "simulated bug on this page (a bug: please report it with the log) (3 times)" in third.stderr
    assert "archived from the feed's own content" in third.stderr
    texts = [path.read_text(encoding="utf-8") for path in work.files()]
    assert len(texts) == 2 and any("The feed's own words, kept." in text for text in texts)
    assert fourth.code == 0 and "simulated bug" not in fourth.stderr
    assert len(server.requests("/crashes")) == 3  # never fetched again once archived
