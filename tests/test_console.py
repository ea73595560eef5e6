"""The web console without a browser: `crawler serve` and `crawler run --http` as real processes (the token, the
loopback rule, read-only, the policy headers), and the pure parts (the table's order, the pages' escaping)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import date
from html.parser import HTMLParser

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.console import data, pages
from crawler.console.charts import DayOutcomes, DayValue
from crawler.console.server import access_problem, authorized, host_allowed
from crawler.store.history import ArticleHit, character_terms, index_terms, match_query
from tests.conftest import REPO, Workdir
from tests.support.daemon import RunningDaemon, free_port, start_daemon
from tests.support.feeds import RSS, Item, config, rss
from tests.support.server import TestServer

__all__ = ["start_daemon"]

TOKEN = "s3cret-token"


class Served:
    """A `crawler serve` process and its address."""

    def __init__(self, work: Workdir, *args: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "crawler", "serve", *args],
            cwd=work.path,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1", **(env or {})},
        )
        assert self.proc.stderr is not None
        line = self.proc.stderr.readline()  # the "serving ... on http://HOST:PORT/" line, or an error and exit
        self.line = line
        self.url = line.split("http://", 1)[1].split("/", 1)[0] if "http://" in line else ""

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)


@pytest.fixture
def archived(work: Workdir, server: TestServer) -> Workdir:
    """A work folder whose one feed (`news`, its own text) has archived two articles."""
    items = [
        Item(server.url("/a1"), "Harbour plan approved", "<p>The harbour plan was approved by the council.</p>"),
        Item(server.url("/a2"), "港口计划", "<p>市议会批准了港口计划。</p>"),
    ]
    server.add("/feed.xml", body=rss(*items), content_type=RSS)
    work.write_config(config({"name": "news", "url": server.url("/feed.xml"), "content": "feed"}))
    fetched = work.run("fetch")
    assert fetched.code == 0, fetched.stderr
    return work


@pytest.fixture
def serve(archived: Workdir) -> Iterator[type[Served]]:
    started: list[Served] = []

    class Tracked(Served):
        def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
            super().__init__(archived, *args, env=env)
            started.append(self)

    yield Tracked  # type: ignore[misc]
    for one in started:
        if one.proc.poll() is None:
            one.proc.kill()
        one.proc.wait(timeout=10)


def test_serve_answers_the_pages_under_a_no_script_policy(serve: type[Served]) -> None:
    served = serve("--http", "127.0.0.1:0")
    assert served.url, served.line
    home = httpx.get(f"http://{served.url}/")
    assert home.status_code == 200
    assert "script-src 'none'" in home.headers["content-security-policy"]
    assert home.headers["x-content-type-options"] == "nosniff"
    assert 'data-feed="news"' in home.text
    found = httpx.get(f"http://{served.url}/articles", params={"q": "港口"})
    assert "港口计划" in found.text and "Harbour plan" not in found.text
    article_id = found.text.split('data-id="', 1)[1].split('"', 1)[0]
    page = httpx.get(f"http://{served.url}/articles/{article_id}")
    assert "script-src 'none'" in page.headers["content-security-policy"]
    assert '<iframe class="body" title="the archived body" sandbox=""' in page.text
    raw = httpx.get(f"http://{served.url}/articles/{article_id}/file")
    assert raw.headers["content-type"].startswith("text/plain") and raw.text.startswith("---\ntitle: '港口计划'")
    assert served.stop() == 0


def test_serve_shows_and_searches_a_postgresql_state(work: Workdir, server: TestServer, postgres_url: str) -> None:
    items = [
        Item(server.url("/a1"), "Harbour plan approved", "<p>The harbour plans were approved by the council.</p>"),
        Item(server.url("/a2"), "港口计划", "<p>市议会批准了港口计划。</p>"),
    ]
    server.add("/feed.xml", body=rss(*items), content_type=RSS)
    work.write_config(config({"name": "news", "url": server.url("/feed.xml"), "content": "feed"}, state=postgres_url))
    fetched = work.run("fetch")
    assert fetched.code == 0, fetched.stderr
    served = Served(work, "--http", "127.0.0.1:0")
    try:
        assert served.url, served.line
        assert 'data-feed="news"' in httpx.get(f"http://{served.url}/").text
        found = httpx.get(f"http://{served.url}/articles", params={"q": "港口"})
        assert "港口计划" in found.text and "Harbour plan" not in found.text
        found = httpx.get(f"http://{served.url}/articles", params={"q": "plan approve"})
        assert "Harbour plan" in found.text and "港口计划" not in found.text
        assert "1 ok" in httpx.get(f"http://{served.url}/feeds/news").text
    finally:
        assert served.stop() == 0


def test_serve_is_read_only(serve: type[Served]) -> None:
    served = serve("--http", "127.0.0.1:0")
    assert httpx.post(f"http://{served.url}/", content=b"x").status_code == 405
    assert httpx.delete(f"http://{served.url}/articles").status_code == 405


def test_on_loopback_a_request_naming_another_host_is_refused(serve: type[Served]) -> None:
    served = serve("--http", "127.0.0.1:0")
    assert httpx.get(f"http://{served.url}/", headers={"Host": "attacker.example"}).status_code == 421
    assert httpx.get(f"http://{served.url}/", headers={"Host": "localhost"}).status_code == 200


def test_serve_beyond_loopback_without_a_token_refuses_to_start(serve: type[Served]) -> None:
    served = serve("--http", "0.0.0.0:0")
    assert served.proc.wait(timeout=60) == 2
    assert "needs a token" in served.line and "CRAWLER_CONSOLE_TOKEN" in served.line


def test_beyond_loopback_every_page_needs_the_token(serve: type[Served]) -> None:
    served = serve("--http", "0.0.0.0:0", env={"CRAWLER_CONSOLE_TOKEN": TOKEN})
    assert served.url, served.line
    port = served.url.rsplit(":", 1)[1]
    base = f"http://127.0.0.1:{port}"
    assert httpx.get(f"{base}/").status_code == 401
    assert httpx.get(f"{base}/", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert httpx.get(f"{base}/", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    # A browser: the token once in the address, then a cookie; the address loses it.
    first = httpx.get(f"{base}/articles?token={TOKEN}&q=harbour")
    assert first.status_code == 303 and first.headers["location"] == "/articles?q=harbour"
    assert "HttpOnly" in first.headers["set-cookie"] and "SameSite=Strict" in first.headers["set-cookie"]
    with httpx.Client(base_url=base) as client:
        client.get(f"/?token={TOKEN}")
        assert client.get("/articles?q=harbour").status_code == 200


def test_a_token_file_is_read_and_an_empty_one_refused(serve: type[Served], archived: Workdir) -> None:
    (archived.path / "token").write_text(f"{TOKEN}\n")
    served = serve("--http", "0.0.0.0:0", "--token-file", "token")
    assert served.url, served.line
    port = served.url.rsplit(":", 1)[1]
    assert httpx.get(f"http://127.0.0.1:{port}/", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    (archived.path / "empty").write_text("\n")
    refused = archived.run("serve", "--http", "0.0.0.0:0", "--token-file", "empty")
    assert refused.code == 2 and "first line is empty" in refused.stderr


def test_serve_without_a_state_database_says_what_to_run(work: Workdir) -> None:
    work.write_config(config({"name": "news", "url": "http://127.0.0.1:9/feed.xml"}))
    result = work.run("serve", "--http", "127.0.0.1:0")
    assert result.code == 2
    assert "no state database" in result.stderr and "crawler fetch" in result.stderr


def test_run_beyond_loopback_without_a_token_refuses_to_start(work: Workdir) -> None:
    work.write_config(config({"name": "news", "url": "http://127.0.0.1:9/feed.xml"}))
    result = work.run("run", "--health", f"0.0.0.0:{free_port()}")
    assert result.code == 2
    assert result.stderr.count("\n") == 1 and "needs a token" in result.stderr


def test_the_daemon_serves_health_metrics_and_the_console_on_one_address(
    work: Workdir, server: TestServer, start_daemon: Callable[..., RunningDaemon]
) -> None:
    server.add("/feed.xml", body=rss(Item(server.url("/a1"), "One", "<p>Words.</p>")), content_type=RSS)
    work.write_config(config({"name": "news", "url": server.url("/feed.xml"), "content": "feed"}))
    port = free_port()
    daemon = start_daemon("--http", f"127.0.0.1:{port}")
    base = f"http://127.0.0.1:{port}"

    def polled() -> bool:
        try:
            return 'data-feed="news"' in httpx.get(f"{base}/").text and "1 ok" in httpx.get(f"{base}/").text
        except httpx.HTTPError:
            return False

    daemon.wait_for("the console to show the polled feed", polled, timeout=60)
    assert httpx.get(f"{base}/healthz").json()["status"] == "ok"
    assert "crawler_polls_total" in httpx.get(f"{base}/metrics").text
    feed = httpx.get(f"{base}/feeds/news")
    assert feed.status_code == 200 and 'class="outcome-ok"' in feed.text


# -- the pure parts ------------------------------------------------------------------------------------------------


def _row(name: str, state: str, failures: int = 0, archived: int = 0, error: str | None = None) -> data.FeedRow:
    return data.FeedRow(name, f"https://{name}/feed", state, None, None, None, failures, archived, 0, 0, None, 0, 0,
                        error, (0,) * data.SPARK_DAYS)  # fmt: skip


def test_by_default_failing_feeds_come_first_the_longest_failing_first() -> None:
    rows = [_row("a", "ok"), _row("b", "failing", 1), _row("c", "failing", 5), _row("d", "selector"), _row("e", "new")]
    assert [r.name for r in data.arrange(rows, data.TableView())] == ["c", "b", "d", "e", "a"]
    by_archived = data.arrange(
        [_row("a", "ok", archived=3), _row("b", "ok", archived=9)], data.TableView("archived", True)
    )
    assert [r.name for r in by_archived] == ["b", "a"]
    assert [r.name for r in data.arrange(rows, data.TableView(state="failing"))] == ["c", "b"]
    assert [
        r.name for r in data.arrange([*rows, _row("x", "failing", error="HTTP 404")], data.TableView(text="404"))
    ] == ["x"]


def test_cjk_text_is_indexed_as_characters_and_queries_match_them_or_older_bigram_rows() -> None:
    assert character_terms("GDP经济增长, 雨") == "GDP 经 济 增 长 ,  雨 "
    assert index_terms("GDP经济增长") == "GDP 经济 济增 增长 长 "  # PostgreSQL's terms
    assert match_query("经济") == '("经 济" OR "经济")'
    assert match_query("经济增长 GDP") == '"GDP" AND ("经 济 增 长" OR "经济 济增 增长")'
    assert match_query("雨") == '"雨"*'
    assert match_query('" OR (') == '"OR"'  # an operator is a word like another
    assert match_query('" (* -') is None


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.handlers: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.handlers.extend(name for name, _ in attrs if name.startswith("on"))


_PAGE_TAGS = {
    "html", "head", "meta", "title", "link", "body", "header", "strong", "nav", "a", "main", "h1", "p", "section",
    "figure", "figcaption", "svg", "line", "text", "rect", "span", "form", "input", "select", "option", "button",
    "table", "thead", "tr", "th", "tbody", "td", "time", "polyline", "ol", "li", "dl", "dt", "dd", "article", "iframe",
}  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(
    hostile=st.text(alphabet=st.sampled_from("<>\"'&=/ ascriptonerrorjvs:"), max_size=40)
    | st.just("<script>x</script>")
)
def test_every_value_from_a_feed_is_escaped_on_every_page(hostile: str) -> None:
    row = _row(hostile or "x", "failing", 1, error=hostile)
    day = date(2024, 1, 1)
    board = data.Dashboard((row,), (row,), 1, (DayValue(day, 1),), (DayOutcomes(day, 1, 0, 0),))
    hit = ArticleHit("0123456789abcdef", hostile, hostile, "2024/01/01/0123456789abcdef.md", None, 0.0, hostile)
    for text in (
        pages.dashboard_page(board, data.TableView(text=hostile, page=2, per_page=1), 0.0),
        pages.articles_page([hit], {"q": hostile, "feed": hostile}, 2, True, hostile),
        pages.article_page(hit, {hostile: hostile, "title": hostile}, "<p>body</p>", f"https://x/{hostile}"),
    ):
        tags = _Tags()
        tags.feed(text)
        assert tags.tags <= _PAGE_TAGS and not tags.handlers


def test_the_token_rules() -> None:
    assert access_problem("127.0.0.1", None) is None and access_problem("::1", None) is None
    assert access_problem("localhost", None) is None
    assert access_problem("0.0.0.0", None) is not None and access_problem("0.0.0.0", TOKEN) is None
    assert access_problem("127.0.0.1", "  ") is not None
    assert authorized({}, None, None)
    assert not authorized({}, None, TOKEN)
    assert authorized({"authorization": f"Bearer {TOKEN}"}, None, TOKEN)
    assert authorized({"cookie": f"crawler_console={TOKEN}"}, None, TOKEN)
    assert not authorized({"cookie": "crawler_console=nope; other=1"}, None, TOKEN)
    assert authorized({}, TOKEN, TOKEN)
    assert host_allowed("127.0.0.1:8108", True) and host_allowed("localhost:1", True) and host_allowed("[::1]:80", True)
    assert not host_allowed("rebound.example:8108", True) and host_allowed("rebound.example", False)


def test_the_table_is_paged_after_sorting_and_filtering_every_feed() -> None:
    rows = [_row(f"f{n:03d}", "failing" if n % 10 == 0 else "ok", failures=n) for n in range(100)]
    arranged = data.arrange(rows, data.TableView())
    first = data.page_of(arranged, data.TableView(per_page=15))
    assert [r.name for r in first][:2] == ["f090", "f080"]  # failing first, the most failures first
    second = data.page_of(arranged, data.TableView(per_page=15, page=2))
    assert [r.name for r in second][:2] == ["f094", "f093"]  # after the ten failing, the rest by failures
    assert len(data.page_of(arranged, data.TableView(per_page=0))) == 100
