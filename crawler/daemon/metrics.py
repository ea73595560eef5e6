"""The daemon's Prometheus metrics (`Metrics`, in a registry of their own) and the Fetcher that feeds them."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from crawler.config.settings import HttpConfig, PolitenessConfig
from crawler.fetch import Fetcher, FetchError, Request, Response
from crawler.pipeline.results import FeedResult, PollOutcome

Counters = CounterMetricFamily
Gauges = GaugeMetricFamily
_OUTCOMES = tuple(PollOutcome)
# A feed's numbers, by place in its row: its polls by outcome, then these.
_ARCHIVED, _ARTICLE_FAILURES, _SELECTOR_MISSES, _PENDING = range(len(_OUTCOMES), len(_OUTCOMES) + 4)


class FeedSeries:
    """The per-feed series (crawler_polls, crawler_articles_archived, crawler_selector_misses,
    crawler_article_failures, crawler_pending_articles) as one short row of numbers per feed, collected into the
    registry when scraped. prometheus_client's labelled children cost about 3 KB a feed (an object, a lock and a
    value for each series): 300 MB for a daemon that has polled 100,000 feeds. A series appears once it was first
    counted or set, as a child appears once labelled; none has a `_created` sample."""

    def __init__(self) -> None:
        self._rows: dict[str, list[int | None]] = {}  # None: no such series (yet)

    def add(self, feed: str, place: int, amount: int = 1) -> None:
        row = self._row(feed)
        row[place] = (row[place] or 0) + amount

    def set(self, feed: str, place: int, value: int | None) -> None:
        self._row(feed)[place] = value

    def get(self, feed: str, place: int) -> int | None:
        row = self._rows.get(feed)
        return None if row is None else row[place]

    def clear(self, feed: str, place: int) -> None:
        """The feed's series at `place` gone (a feed never counted gets no row for it)."""
        row = self._rows.get(feed)
        if row is not None:
            row[place] = None

    def _row(self, feed: str) -> list[int | None]:
        row = self._rows.get(feed)
        if row is None:
            row = self._rows[feed] = [None] * (_PENDING + 1)
        return row

    def describe(self) -> list[Metric]:
        return list(self._families())

    def collect(self) -> Iterator[Metric]:
        polls, archived, misses, failures, pending = self._families()
        by_feed = (
            (archived, _ARCHIVED),
            (misses, _SELECTOR_MISSES),
            (failures, _ARTICLE_FAILURES),
            (pending, _PENDING),
        )
        # A scrape runs on the console's server thread while the event loop adds feeds' rows: it reads a copy of the
        # table (list() of a dict's items is taken whole under the GIL), never the dict as it changes.
        for feed, row in list(self._rows.items()):
            for place, outcome in enumerate(_OUTCOMES):
                count = row[place]
                if count is not None:
                    polls.add_metric([feed, outcome], count)
            for family, place in by_feed:
                value = row[place]
                if value is not None:
                    family.add_metric([feed], value)
        yield from (polls, archived, misses, failures, pending)

    @staticmethod
    def _families() -> tuple[Counters, Counters, Counters, Counters, Gauges]:
        return (
            CounterMetricFamily(
                "crawler_polls", "Feed polls by outcome (ok, not_modified, failed)", labels=["feed", "outcome"]
            ),
            CounterMetricFamily("crawler_articles_archived", "Articles written to the archive", labels=["feed"]),
            CounterMetricFamily(
                "crawler_selector_misses",
                "Article pages on which the feed's body selector matched nothing (the body was found another way)",
                labels=["feed"],
            ),
            CounterMetricFamily(
                "crawler_article_failures", "Articles that could not be archived (retried later)", labels=["feed"]
            ),
            GaugeMetricFamily("crawler_pending_articles", "Entries found and not yet archived", labels=["feed"]),
        )


class Metrics:
    """The Prometheus metrics of one daemon, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.per_feed = FeedSeries()
        r.register(self.per_feed)
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
        series = self.per_feed
        series.add(result.feed, _OUTCOMES.index(result.outcome))
        series.add(result.feed, _ARCHIVED, result.new)
        series.add(result.feed, _ARTICLE_FAILURES, result.failed)
        series.add(result.feed, _SELECTOR_MISSES, result.selector_missed)
        self.poll_duration.observe(elapsed)

    def poll_failed(self, feed: str) -> None:
        """Count a poll that ended without a result."""
        self.per_feed.add(feed, _OUTCOMES.index(PollOutcome.FAILED))

    def set_pending(self, feed: str, pending: int) -> None:
        """The feed's entries found and not yet archived."""
        self.per_feed.set(feed, _PENDING, pending)

    def pending(self, feed: str) -> int | None:
        """The feed's entries found and not yet archived, as last set (None: not yet)."""
        return self.per_feed.get(feed, _PENDING)

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
        self.per_feed.clear(name, _PENDING)


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
