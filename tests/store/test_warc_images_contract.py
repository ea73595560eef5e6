"""The store's contract for raw records (`raw: warc`, RawIndex in crawler/store/base.py: which WARC record each
archived article was made from) and kept images (`images: keep`, MissingImages). Run once per backend in
conftest.BACKENDS, like test_contract.py."""

from __future__ import annotations

import pytest

from crawler.store.base import ArchivedArticle, ArticleClaim, RawRecord, Store

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


# -- kept and missing images (MissingImages) ---------------------------------------------------------------------


async def test_kept_images_are_found_by_url(store: Store) -> None:
    await store.record_kept_image("https://a/1.png", "assets/ab/cd.png")

    assert await store.kept_images(["https://a/1.png", "https://a/2.png"]) == {"https://a/1.png": "assets/ab/cd.png"}


async def test_articles_missing_images_are_listed_until_none_is_missing(store: Store) -> None:
    assert await store.claim(ArticleClaim("news", "k", "0123456789abcdef", ("https://a/",), None), 1.0)
    article = ArchivedArticle("0123456789abcdef", "2024/01/01/0123456789abcdef.md", "b", ("https://a/",))
    await store.record_archived_all([("news", "k", article)])

    await store.record_missing_images("news", "0123456789abcdef", ["https://a/1.png", "https://a/2.png"])
    assert await store.articles_missing_images("news", 10) == [("0123456789abcdef", article.path)]
    assert await store.articles_missing_images("other", 10) == []
    await store.record_missing_images("news", "0123456789abcdef", ["https://a/2.png"])
    assert await store.articles_missing_images("news", 10) == [("0123456789abcdef", article.path)]
    await store.record_missing_images("news", "0123456789abcdef", [])
    assert await store.articles_missing_images("news", 10) == []
