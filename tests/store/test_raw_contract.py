"""The store's contract for raw records (`raw: warc`, RawIndex in crawler/store/base.py): which WARC record each
archived article was made from. Run once per backend in conftest.BACKENDS, like test_contract.py."""

from __future__ import annotations

import pytest

from crawler.store.base import RawRecord, Store

pytestmark = pytest.mark.anyio


def raw(offset: int, url: str = "https://example.com/a") -> RawRecord:
    return RawRecord(
        filename="node-20240101-00001.warc.gz",
        offset=offset,
        length=700,
        url=url,
        timestamp="20240101120000",
        status=200,
        mime="text/html",
        digest="sha1:AAAA",
    )


async def test_an_article_without_a_raw_record_has_none(store: Store) -> None:
    assert await store.raw_record("0123456789abcdef") is None


async def test_raw_records_read_back_whole_per_article(store: Store) -> None:
    await store.record_raw_all([("0123456789abcdef", raw(10)), ("fedcba9876543210", raw(900, "https://b/"))])

    assert await store.raw_record("0123456789abcdef") == raw(10)
    assert await store.raw_record("fedcba9876543210") == raw(900, "https://b/")


async def test_an_article_archived_again_points_at_its_new_record(store: Store) -> None:
    await store.record_raw_all([("0123456789abcdef", raw(10))])
    await store.record_raw_all([("0123456789abcdef", raw(5000))])

    assert await store.raw_record("0123456789abcdef") == raw(5000)
