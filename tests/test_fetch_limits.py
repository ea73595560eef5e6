"""Limits through the real CLI: body size (while streaming and after decompression, in small memory), redirects
and schemes."""

from __future__ import annotations

from tests.conftest import Workdir
from tests.support.feeds import RSS, Item, config, page, rss, run_measured
from tests.support.server import Answer, TestServer, gzip_bomb

MB = 1_000_000


def test_30mb_body_is_cut_off_at_the_limit_while_memory_stays_small(server: TestServer, work: Workdir) -> None:
    # Chunked, with no Content-Length, so only counting while streaming can stop it.
    server.add("/small.xml", Answer(body=rss(Item("http://127.0.0.1:9/a")), content_type=RSS, fault="chunked"))
    server.add("/big.xml", Answer(body=b"<rss>" + b" " * (30 * MB), content_type=RSS, fault="chunked"))
    work.write_config(
        config(
            {"name": "small", "url": server.url("/small.xml"), "content": "feed"},
            {"name": "big", "url": server.url("/big.xml")},
            http={"max_bytes": "10MB"},
        )
    )
    baseline, baseline_peak = run_measured(work, "fetch", "small")
    assert baseline.code == 0, baseline.stderr

    result, peak = run_measured(work, "fetch", "big")

    assert result.code == 1
    assert (
        f"feed 'big': {server.url('/big.xml')}: body larger than http.max_bytes (10,000,000 bytes); cut off"
        in result.stderr
    )
    # The same process with the same imports, plus whatever the body cost: at most the limit and some slack,
    # well under the 30 MB sent.
    print(f"peak {peak / MB:.1f} MB, baseline {baseline_peak / MB:.1f} MB")
    assert peak - baseline_peak < 18 * MB, (peak, baseline_peak)


def test_declared_content_length_over_the_limit_is_refused_before_reading(server: TestServer, work: Workdir) -> None:
    server.add("/feed.xml", Answer(body=b" " * (2 * MB), content_type=RSS))
    work.write_config(config({"name": "news", "url": server.url("/feed.xml")}, http={"max_bytes": "1MB"}))

    result = work.run("fetch")

    assert result.code == 1
    assert "body larger than http.max_bytes (1,000,000 bytes); cut off" in result.stderr


def test_never_ending_body_is_cut_off(server: TestServer, work: Workdir) -> None:
    server.add("/feed.xml", Answer(content_type=RSS, fault="endless"))
    work.write_config(config({"name": "news", "url": server.url("/feed.xml")}, http={"max_bytes": "2MB"}))

    result = work.run("fetch")

    assert result.code == 1
    assert len(server.requests("/feed.xml")) == 1  # too large is an answer, not a passing failure
    assert "body larger than http.max_bytes (2,000,000 bytes); cut off" in result.stderr


def test_gzip_bomb_is_refused_in_small_memory(server: TestServer, work: Workdir) -> None:
    bomb = gzip_bomb(200 * MB)
    assert len(bomb) < MB
    server.add("/small.xml", Answer(body=rss(Item("http://127.0.0.1:9/a")), content_type=RSS, fault="gzip"))
    server.add("/bomb.xml", Answer(body=bomb, content_type=RSS, headers={"Content-Encoding": "gzip"}))
    work.write_config(
        config(
            {"name": "small", "url": server.url("/small.xml"), "content": "feed"},
            {"name": "bomb", "url": server.url("/bomb.xml")},
            http={"max_bytes": "10MB"},
        )
    )
    baseline, baseline_peak = run_measured(work, "fetch", "small")
    assert baseline.code == 0, baseline.stderr

    result, peak = run_measured(work, "fetch", "bomb")

    assert result.code == 1
    assert "body larger than http.max_bytes (10,000,000 bytes); cut off" in result.stderr
    print(f"peak {peak / MB:.1f} MB, baseline {baseline_peak / MB:.1f} MB")
    assert peak - baseline_peak < 18 * MB, (peak, baseline_peak)


def test_redirect_loop_is_reported_and_not_retried(server: TestServer, work: Workdir) -> None:
    server.add("/loop-a", Answer(status=302, headers={"Location": "/loop-b"}))
    server.add("/loop-b", Answer(status=302, headers={"Location": server.url("/loop-a")}))
    work.write_config(config({"name": "news", "url": server.url("/loop-a")}))

    result = work.run("fetch")

    assert result.code == 1
    assert f"feed 'news': {server.url('/loop-a')}: more than 10 redirects (a redirect loop?)" in result.stderr
    assert len(server.requests()) == 11  # the request and ten redirects followed, once


def test_redirect_to_another_scheme_is_refused(server: TestServer, work: Workdir) -> None:
    server.add("/feed.xml", Answer(status=302, headers={"Location": "file:///etc/passwd"}))
    work.write_config(config({"name": "news", "url": server.url("/feed.xml")}))

    result = work.run("fetch")

    assert result.code == 1
    assert "only http and https URLs are fetched, not file:///etc/passwd" in result.stderr


def test_permanent_redirect_is_followed_and_reported(server: TestServer, work: Workdir) -> None:
    server.add("/old.xml", Answer(status=301, headers={"Location": "/new.xml"}))
    server.add("/new.xml", body=rss(Item(server.url("/a"))), content_type=RSS)
    server.add("/a", body=page("Moved but fine."))
    work.write_config(config({"name": "news", "url": server.url("/old.xml")}))

    result = work.run("fetch", "--json")

    assert result.code == 0, result.stderr
    assert result.json()["feeds"][0]["new"] == 1
    assert (
        f"feed 'news': {server.url('/old.xml')} moved permanently to {server.url('/new.xml')}; "
        "update its url in feeds.yaml"
    ) in result.stderr
    status = work.run("status", "--json").json()["feeds"][0]
    assert status["moved_to"] == server.url("/new.xml")


def test_temporary_redirect_is_followed_silently(server: TestServer, work: Workdir) -> None:
    server.add("/feed.xml", Answer(status=302, headers={"Location": "/today.xml"}))
    server.add("/today.xml", body=rss(Item(server.url("/a"))), content_type=RSS)
    server.add("/a", body=page("Fine."))
    work.write_config(config({"name": "news", "url": server.url("/feed.xml")}))

    result = work.run("fetch")

    assert result.code == 0, result.stderr
    assert "moved permanently" not in result.stderr
