"""A bug in one stage fails one article (or one feed) with a clear line, never the whole run."""

from __future__ import annotations

import asyncio

import pytest

from crawler import runner
from crawler.config.load import load_config
from crawler.pipeline import compose as article
from tests.conftest import Workdir
from tests.support.server import TestServer
from tests.test_fetch_command import article_page, config, feed_entry, rss


def test_an_unexpected_error_fails_one_article_and_the_rest_are_archived(
    server: TestServer, work: Workdir, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.add("/f.xml", body=rss([{"title": t, "link": server.url(f"/{t}")} for t in ("good", "boom")]))
    server.add("/good", body=article_page("Good", ["The good story is told here in full, at length. " * 6]))
    server.add("/boom", body=article_page("Boom", ["The story that met a bug is told here, at length. " * 6]))
    work.write_config(config(feed_entry("f", server.url("/f.xml"))))
    real_extract = article.extract_page

    def extract_or_crash(html: str, url: str, *args: object, **kwargs: object) -> article.Extracted:
        if url.endswith("/boom"):
            raise RuntimeError("simulated bug in a stage")
        return real_extract(html, url, *args, **kwargs)  # type: ignore[arg-type]

    # The one stand-in in the suite: a real stage cannot be made to have a bug on demand.
    monkeypatch.setattr(article, "extract_page", extract_or_crash)
    cfg = load_config(work.config)

    [result] = asyncio.run(runner.fetch_feeds(cfg, cfg.feeds))

    assert (result.new, result.failed) == (1, 1)
    assert result.errors == (
        f"feed 'f': {server.url('/boom')}: unexpected error RuntimeError: simulated bug in a stage "
        "(a bug: please report it with the log)",
    )
    assert len(work.files()) == 1
    # The crashed article stays pending and is archived once the bug is gone.
    monkeypatch.setattr(article, "extract_page", real_extract)
    [again] = asyncio.run(runner.fetch_feeds(cfg, cfg.feeds))
    assert again.new == 1
    assert len(work.files()) == 2
