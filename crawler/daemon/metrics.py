"""The daemon's Prometheus metrics (`Metrics`, in a registry of their own) and the Fetcher that feeds them."""

from __future__ import annotations

import contextlib

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from crawler.config.settings import HttpConfig, PolitenessConfig
from crawler.fetch import Fetcher, FetchError, Request, Response
from crawler.pipeline.results import FeedResult


class Metrics:
    """The Prometheus metrics of one daemon, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.polls = Counter(
            "crawler_polls", "Feed polls by outcome (ok, not_modified, failed)", ["feed", "outcome"], registry=r
        )
        self.archived = Counter("crawler_articles_archived", "Articles written to the archive", ["feed"], registry=r)
        self.selector_misses = Counter(
            "crawler_selector_misses",
            "Article pages on which the feed's body selector matched nothing (the body was found another way)",
            ["feed"],
            registry=r,
        )
        self.article_failures = Counter(
            "crawler_article_failures", "Articles that could not be archived (retried later)", ["feed"], registry=r
        )
        self.fetch_failures = Counter(
            "crawler_fetch_failures",
            "Failed requests by kind (timeout, reset, status, robots, ...)",
            ["kind"],
            registry=r,
        )
        self.responses = Counter("crawler_http_responses", "HTTP answers by status code", ["status"], registry=r)
        self.poll_duration = Histogram(
            "crawler_poll_duration_seconds",
            "Time one poll of one feed took, its articles included",
            buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800),
            registry=r,
        )
        self.pending = Gauge("crawler_pending_articles", "Entries found and not yet archived", ["feed"], registry=r)
        self.last_success = Gauge(
            "crawler_last_success_timestamp_seconds", "When a feed was last polled successfully", registry=r
        )
        self.feeds = Gauge("crawler_feeds", "Enabled feeds being polled", registry=r)
        self.in_flight = Gauge("crawler_polls_in_flight", "Polls running now", registry=r)
        self.leases = Gauge("crawler_feed_leases_held", "Feeds this node holds a lease on (several nodes)", registry=r)
        self.leases_lost = Counter(
            "crawler_feed_leases_lost", "Polls whose lease another node took over (their writes refused)", registry=r
        )
        self.reloads = Counter(
            "crawler_config_reloads", "Reloads of feeds.yaml by result (applied, rejected)", ["result"], registry=r
        )

    def observe_poll(self, result: FeedResult, elapsed: float) -> None:
        """Count one finished poll."""
        self.polls.labels(result.feed, result.outcome).inc()
        self.archived.labels(result.feed).inc(result.new)
        self.article_failures.labels(result.feed).inc(result.failed)
        self.selector_misses.labels(result.feed).inc(result.selector_missed)
        self.poll_duration.observe(elapsed)

    def observe_response(self, response: Response) -> None:
        """Count one answer from a server."""
        self.responses.labels(str(response.status)).inc()

    def observe_failure(self, error: FetchError) -> None:
        """Count one failed request (and its status, when the server answered)."""
        self.fetch_failures.labels(error.kind).inc()
        if error.status is not None:
            self.responses.labels(str(error.status)).inc()

    def forget_feed(self, name: str) -> None:
        """Drop the per-feed gauge of a feed no longer polled."""
        with contextlib.suppress(KeyError):
            self.pending.remove(name)


class ObservedFetcher(Fetcher):
    """The pipeline's Fetcher, counting every answer and failure in the metrics."""

    def __init__(self, http: HttpConfig, politeness: PolitenessConfig, metrics: Metrics) -> None:
        super().__init__(http, politeness)
        self._metrics = metrics

    async def get(self, request: Request) -> Response:
        """Fetcher.get, observed."""
        try:
            response = await super().get(request)
        except FetchError as exc:
            self._metrics.observe_failure(exc)
            raise
        self._metrics.observe_response(response)
        return response
