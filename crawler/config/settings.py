"""The settings of feeds.yaml as frozen models: one feed (FeedConfig), HTTP (HttpConfig), politeness
(PolitenessConfig), and the whole validated file (Config). Reading the file into them is crawler.config.load's job;
each value's own check is in crawler.config.values.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from crawler.config.values import (
    Categories,
    ContentMode,
    Duration,
    HttpUrl,
    ImagesMode,
    NodeId,
    Patterns,
    RawMode,
    Size,
    StringList,
    TimeZone,
    UrlPrefix,
    WorkerCount,
    is_css_selector,
    none_is_empty,
    proxy_url,
)
from crawler.errors import CrawlerError
from crawler.render.layout import Render

NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]*\Z")


class ConfigError(CrawlerError):
    """feeds.yaml is missing, unreadable or invalid; the message is the whole one-line report."""


DIRECT = "direct"  # a feed's `proxy:` that sends it straight to its sites, whatever http.proxy or the environment say


def _feed_proxy(value: object) -> str | None:
    if value is None:
        return None
    if str(value).strip() == DIRECT:
        return DIRECT
    return proxy_url(value)


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FeedConfig(_Frozen):
    """One feed as the pipeline sees it: the feed's own keys over `defaults`, over the built-in defaults."""

    name: str
    url: HttpUrl
    title: str | None = None  # for people and OPML export; the archive takes titles from the items
    site: HttpUrl | None = None  # the site's own address (OPML htmlUrl), for people and OPML export
    categories: Categories = ()
    author: str | None = None
    body: str | None = None
    remove: StringList = ()
    content: ContentMode = "page"
    render: Render = "hexo"
    interval: Duration = 1800.0
    enabled: bool = True
    comments: bool = False
    timezone: TimeZone = "UTC"
    archive_timezone: TimeZone | None = None
    headers: Mapping[str, str] = Field(default_factory=dict)
    proxy: Annotated[str | None, BeforeValidator(_feed_proxy)] = None  # a proxy URL, or DIRECT
    allow_private_addresses: bool | None = None
    # Item rules (crawler.rules): regular expressions over title, URL, categories and content; and how many of the
    # newest items the feed's first poll archives (None: all of them).
    keep: Patterns = ()
    block: Patterns = ()
    backfill: int | None = Field(default=None, ge=0)
    # `warc`: every response archived from (the feed's, its pages') is kept as a WARC record (crawler.archive.warc).
    raw: RawMode = "none"
    # `keep`: the body's images and the lead image are fetched and kept under the archive (crawler.pipeline.images).
    images: ImagesMode = "link"

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME_RE.match(value):
            raise ValueError("is not a name of lowercase letters, digits, '.', '_' and '-'")
        return value

    @field_validator("body")
    @classmethod
    def _body(cls, value: str | None) -> str | None:
        if value is not None and not is_css_selector(value):
            raise ValueError("is not a CSS selector")
        return value

    @field_validator("remove")
    @classmethod
    def _remove(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [selector for selector in value if not is_css_selector(selector)]
        if bad:
            raise ValueError(f"holds '{bad[0]}', which is not a CSS selector")
        return value

    @field_validator("interval")
    @classmethod
    def _interval(cls, value: float) -> float:
        if value < 1:
            raise ValueError("is shorter than one second")
        return value


class FeedShapes:
    """Makes validated FeedConfigs compact, for a daemon that holds a hundred thousand of them: pydantic gives each
    its own dict of 25 values (about 830 bytes) and its own set of the keys it was given (about 220); a copy whose
    values are set one by one gets CPython's key-sharing dict (about 270 bytes: the keys are kept once, in the
    class), and feeds given the same keys share one set. The copy equals, dumps and pickles as the original."""

    def __init__(self) -> None:
        self._fields_sets: dict[frozenset[str], set[str]] = {}

    def compact(self, feed: FeedConfig) -> FeedConfig:
        given = feed.model_fields_set
        shared = self._fields_sets.setdefault(frozenset(given), given)
        copy = object.__new__(FeedConfig)
        for key, value in feed.__dict__.items():
            object.__setattr__(copy, key, value)
        object.__setattr__(copy, "__pydantic_fields_set__", shared)
        object.__setattr__(copy, "__pydantic_extra__", None)
        object.__setattr__(copy, "__pydantic_private__", None)
        return copy


FEED_KEYS = frozenset(FeedConfig.model_fields)
DEFAULT_KEYS = FEED_KEYS - {"name", "url"}


class HttpConfig(_Frozen):
    """How we talk to servers: timeouts, retries, limits and who we say we are."""

    timeout: Duration = 60.0
    connect_timeout: Duration = 10.0
    read_timeout: Duration = 30.0
    backoff: Duration = 1.0
    retries: int = Field(default=3, ge=0, le=20)
    max_retry_after: Duration = 600.0
    max_bytes: Size = 10_000_000
    max_redirects: int = Field(default=10, ge=0, le=30)
    user_agent: str | None = None
    contact: str | None = None
    proxy: Annotated[str | None, BeforeValidator(proxy_url)] = None
    http2: bool = True


# One client per host, and at most this many connections in it: measured, httpx's pool slows sharply past about ten
# connections (it re-checks every connection whenever a request completes).
MAX_PER_HOST = 10


class HostPolicy(_Frozen):
    """Per-host override of the politeness settings; unset keys take the global ones."""

    per_host: int | None = Field(default=None, ge=1, le=MAX_PER_HOST)
    delay: Duration | None = None
    robots: bool | None = None


class PolitenessConfig(_Frozen):
    """Kindness to the sites we crawl."""

    per_host: int = Field(default=2, ge=1, le=MAX_PER_HOST)
    delay: Duration = 1.0
    robots: bool = True
    max_connections: int = Field(default=50, ge=1)
    hosts: Mapping[str, HostPolicy] = Field(default_factory=dict)

    def for_host(self, host: str) -> tuple[int, float, bool]:
        """(concurrency, delay, robots) for one host, its override applied."""
        policy = self.hosts.get(host.lower())
        if policy is None:
            return self.per_host, self.delay, self.robots
        return (
            policy.per_host if policy.per_host is not None else self.per_host,
            policy.delay if policy.delay is not None else self.delay,
            policy.robots if policy.robots is not None else self.robots,
        )


class WarcConfig(_Frozen):
    """Where and how raw records (`raw: warc`) are written: the node's name in the files' names (None: the host's
    name), and the size at which a file is closed and the next one begun (files are also begun each day)."""

    node: NodeId = None
    max_size: Size = 1_000_000_000


class AssetsConfig(_Frozen):
    """Kept images (`images: keep`): the URL prefix the published site serves `<archive>/assets/` at, and the
    largest image kept (a larger one keeps its remote URL)."""

    url: UrlPrefix = "/assets/"
    max_bytes: Size = 5_000_000


DEFAULT_STATE = ".crawler/state.db"


def is_database_url(state: str) -> bool:
    """Whether a `state:` value names a PostgreSQL database (`postgresql://USER@HOST:PORT/DB`), not an SQLite file."""
    return state.startswith(("postgresql://", "postgres://"))


class FileSettings(_Frozen):
    archive: str = "archive"
    state: str = DEFAULT_STATE  # an SQLite file, or a PostgreSQL URL
    # With `state: postgresql://...`: how long a node's lease on a feed (and its beat) lasts; a node that dies has
    # its feeds taken over within this time.
    lease: Duration = Field(default=60.0, ge=0.5)
    archive_timezone: TimeZone = "UTC"
    allow_private_addresses: bool = False
    min_interval: Duration = 300.0
    max_interval: Duration = 86400.0
    workers: WorkerCount = "auto"
    http: HttpConfig = Field(default_factory=HttpConfig)
    politeness: PolitenessConfig = Field(default_factory=PolitenessConfig)
    warc: WarcConfig = Field(default_factory=WarcConfig)
    assets: AssetsConfig = Field(default_factory=AssetsConfig)
    defaults: Mapping[str, Any] = Field(default_factory=dict)
    feeds: Annotated[tuple[Mapping[str, Any], ...], BeforeValidator(none_is_empty)] = ()


@dataclass(frozen=True)
class Config:
    """A validated feeds.yaml, with paths resolved against the file's folder."""

    path: Path
    archive: Path
    state: Path
    archive_timezone: str
    allow_private_addresses: bool
    min_interval: float
    max_interval: float
    workers: int | Literal["auto"]
    http: HttpConfig
    politeness: PolitenessConfig
    feeds: tuple[FeedConfig, ...]
    warc: WarcConfig = field(default_factory=WarcConfig)
    assets: AssetsConfig = field(default_factory=AssetsConfig)
    # `state: postgresql://...`: the state lives in that PostgreSQL database (several nodes may share it), and
    # `state` above is unused; None: the SQLite file at `state`.
    state_url: str | None = None
    lease: float = 60.0  # seconds a node's lease on a feed lasts (several nodes on PostgreSQL)

    def feed(self, name: str) -> FeedConfig | None:
        """The feed called `name`, or None."""
        return self._by_name.get(name)

    @functools.cached_property
    def _by_name(self) -> Mapping[str, FeedConfig]:
        # The daemon looks its feed up three times a poll: a scan of 100,000 feeds cost more than the poll itself.
        by_name: dict[str, FeedConfig] = {}
        for feed in self.feeds:
            by_name.setdefault(feed.name, feed)
        return by_name

    def private_allowed(self, feed: FeedConfig) -> bool:
        """Whether `feed` may reach non-public addresses by configuration (its own or the file's)."""
        if feed.allow_private_addresses is not None:
            return feed.allow_private_addresses
        return self.allow_private_addresses
