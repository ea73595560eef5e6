"""The daemon's per-feed series, kept as rows of numbers: the exposition a scrape reads is what labelled
prometheus_client children gave (a series once counted or set, a forgotten feed's gauge gone, its counters kept)."""

from __future__ import annotations

from prometheus_client import generate_latest

from crawler.daemon.metrics import Metrics
from crawler.pipeline.results import FeedResult


def _samples(metrics: Metrics) -> set[str]:
    text = generate_latest(metrics.registry).decode()
    return {
        line
        for line in text.splitlines()
        if line.startswith(("crawler_polls_total", "crawler_art", "crawler_sel", "crawler_pend"))
    }


def test_per_feed_series_appear_once_counted_and_the_gauge_goes_with_its_feed() -> None:
    metrics = Metrics()
    metrics.observe_poll(FeedResult(feed="news", url="http://x.example/", new=3, failed=1), 0.5)
    metrics.observe_poll(FeedResult(feed="news", url="http://x.example/", not_modified=True), 0.1)
    metrics.poll_failed("blog")
    metrics.set_pending("news", 2)
    metrics.set_pending("blog", 0)

    assert _samples(metrics) == {
        'crawler_polls_total{feed="news",outcome="ok"} 1.0',
        'crawler_polls_total{feed="news",outcome="not_modified"} 1.0',
        'crawler_polls_total{feed="blog",outcome="failed"} 1.0',
        'crawler_articles_archived_total{feed="news"} 3.0',
        'crawler_article_failures_total{feed="news"} 1.0',
        'crawler_selector_misses_total{feed="news"} 0.0',
        'crawler_pending_articles{feed="news"} 2.0',
        'crawler_pending_articles{feed="blog"} 0.0',
    }

    metrics.forget_feed("news")
    metrics.forget_feed("never-polled")

    samples = _samples(metrics)
    assert 'crawler_pending_articles{feed="news"} 2.0' not in samples
    assert 'crawler_polls_total{feed="news",outcome="ok"} 1.0' in samples
    assert not any("never-polled" in line for line in samples)
