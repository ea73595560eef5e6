"""A body that is not a whole answer is not an article: a gzip or deflate stream that ends before its end marker is
a failed fetch (retried; after the usual attempts the feed's own text), for pages and feeds, however the body is
framed (Content-Length, chunked, or up to the connection's close)."""

from __future__ import annotations

import gzip
import zlib

import pytest

from crawler.fetch import FetchError
from crawler.fetch.decoding import Decoder
from tests.conftest import Workdir
from tests.support.feeds import RSS, Item, config, page, rss
from tests.support.server import Answer, TestServer

WORDS = " ".join(f"Sentence {i} of a long article that compresses into a stream of some length." for i in range(200))
FRAMINGS = [None, "chunked", "unframed"]  # Content-Length, chunked, close-delimited


def _deflate(data: bytes) -> bytes:
    return zlib.compress(data)


def _raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


CODINGS = {"gzip": gzip.compress, "deflate": _deflate, "raw-deflate": _raw_deflate}


def _cut(coding: str, data: bytes) -> bytes:
    """`data` compressed, its stream cut well before the end (the end marker and the last blocks missing)."""
    whole = CODINGS[coding](data)
    return whole[: len(whole) * 2 // 3]


def _answer(coding: str, body: bytes, framing: str | None, *, cut: bool) -> Answer:
    data = _cut(coding, body) if cut else CODINGS[coding](body)
    name = "gzip" if coding == "gzip" else "deflate"
    return Answer(body=data, headers={"Content-Encoding": name}, fault=framing)


@pytest.mark.parametrize("framing", FRAMINGS)
@pytest.mark.parametrize("coding", sorted(CODINGS))
def test_a_truncated_compressed_page_is_retried_and_the_whole_one_archived(
    server: TestServer, work: Workdir, coding: str, framing: str | None
) -> None:
    body = page(WORDS).encode()
    server.add("/feed.xml", body=rss(Item(server.url("/a"))), content_type=RSS)
    server.add("/a", _answer(coding, body, framing, cut=True), _answer(coding, body, framing, cut=False))
    work.write_config(config({"name": "news", "url": server.url("/feed.xml")}))

    result = work.run("fetch", "--json")

    assert result.code == 0, result.stderr
    assert len(server.requests("/a")) == 2
    assert result.json()["feeds"][0]["fallback"] == 0
    assert "Sentence 199 of a long article" in work.files()[0].read_text("utf-8")


def test_a_page_always_truncated_fails_then_its_feed_text_is_archived(server: TestServer, work: Workdir) -> None:
    server.add("/feed.xml", body=rss(Item(server.url("/a"))), content_type=RSS)
    server.add("/a", _answer("gzip", page(WORDS).encode(), None, cut=True))
    work.write_config(config({"name": "news", "url": server.url("/feed.xml")}, http={"retries": 1}))
    reason = "truncated gzip body: the compressed stream ends before its end marker"

    for _ in range(2):
        failed = work.run("fetch")
        assert failed.code == 1
        assert f"feed 'news': {server.url('/a')}: {reason}" in failed.stderr
        assert work.files() == []
    third = work.run("fetch", "--json")

    assert third.code == 0, third.stderr
    assert third.json()["feeds"][0]["fallback"] == 1
    assert f"{reason}; archived from the feed's own content" in third.stderr
    text = work.files()[0].read_text("utf-8")
    assert "The feed's own words about it." in text
    assert "Sentence" not in text
    assert len(server.requests("/a")) == 6  # two attempts a poll


@pytest.mark.parametrize("framing", FRAMINGS)
@pytest.mark.parametrize("coding", ["gzip", "deflate"])
def test_a_truncated_compressed_feed_fails_the_poll_with_one_line(
    server: TestServer, work: Workdir, coding: str, framing: str | None
) -> None:
    feed = rss(*(Item(server.url(f"/a{i}"), title=f"Item {i} {WORDS[:200]}") for i in range(30)))
    server.add("/feed.xml", _answer(coding, feed, framing, cut=True))
    work.write_config(config({"name": "news", "url": server.url("/feed.xml")}, http={"retries": 1}))

    result = work.run("fetch")

    assert result.code == 1
    assert len(server.requests("/feed.xml")) == 2
    lines = [line for line in result.stderr.splitlines() if "truncated" in line]
    assert len(lines) == 1, result.stderr
    assert f"feed 'news': {server.url('/feed.xml')}: truncated {coding} body" in lines[0]
    assert work.files() == []


def test_an_empty_body_under_a_content_encoding_is_not_truncated() -> None:
    # A 304 or a 204 may carry the Content-Encoding of the entity it stands for, and no body at all.
    decoder = Decoder("http://example.org/", "gzip")
    assert b"".join([*decoder.feed(b""), *decoder.flush()]) == b""


def test_a_whole_gzip_stream_then_a_cut_one_are_told_apart() -> None:
    whole = gzip.compress(WORDS.encode())
    decoder = Decoder("http://example.org/", "gzip")
    assert b"".join([*decoder.feed(whole), *decoder.flush()]) == WORDS.encode()
    decoder = Decoder("http://example.org/", "gzip")
    with pytest.raises(FetchError, match="truncated gzip body") as caught:
        b"".join([*decoder.feed(whole[:-8]), *decoder.flush()])  # only the CRC and length missing
    assert caught.value.transient
