"""One error hierarchy: every error the crawler raises on purpose is a CrawlerError, so one `except` catches them."""

from __future__ import annotations

import pytest

from crawler.archive.files import ArchiveError
from crawler.cli.main import UsageError
from crawler.config.opml import OpmlError
from crawler.config.settings import ConfigError
from crawler.daemon.options import DaemonError
from crawler.errors import CrawlerError
from crawler.extract.page import ExtractError
from crawler.feeds.discover import ProbeError
from crawler.feeds.parse import FeedError
from crawler.fetch import FetchError
from crawler.fetch.connections import AddressRefused
from crawler.identity.urls import TrackingRulesError
from crawler.maintenance.refetch import RefetchError
from crawler.store.base import StoreError
from crawler.workers import WorkerCrashed

ERRORS = [
    ArchiveError,
    UsageError,
    OpmlError,
    ConfigError,
    DaemonError,
    ExtractError,
    ProbeError,
    FeedError,
    FetchError,
    AddressRefused,
    TrackingRulesError,
    RefetchError,
    WorkerCrashed,
    StoreError,
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: e.__name__)
def test_every_stage_error_is_a_crawler_error(error: type[Exception]) -> None:
    assert issubclass(error, CrawlerError)


def test_the_hierarchy_docstring_names_every_error() -> None:
    import crawler.errors

    doc = crawler.errors.__doc__ or ""
    assert all(error.__name__ in doc for error in ERRORS)
