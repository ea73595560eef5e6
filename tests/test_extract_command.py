"""`crawler extract URL`: try a selector on one page before adding a feed; nothing is written."""

from __future__ import annotations

from crawler.render.layout import for_markdown
from tests.conftest import FIXTURES, Workdir
from tests.support.server import TestServer

ARTICLE = "/china/dfjj/2021-08-24/doc-ikqciyzm3166862.shtml"


def test_extract_prints_the_file_it_would_write_with_the_selector(server: TestServer, work: Workdir) -> None:
    server.add(ARTICLE, body=(FIXTURES / "golden" / "article.html").read_bytes())

    result = work.run("extract", server.url(ARTICLE), "--body", "#artibody", "--render", "verbatim")

    assert result.code == 0, result.stderr
    expected_body = (FIXTURES / "golden" / "expected.md").read_text(encoding="utf-8").split("\n---\n\n", 1)[1]
    assert result.stdout.startswith("---\ntitle: '")
    assert result.stdout.endswith(expected_body)
    assert not work.archive.exists()


def test_extract_lays_the_body_out_for_hexo_by_default(server: TestServer, work: Workdir) -> None:
    server.add(ARTICLE, body=(FIXTURES / "golden" / "article.html").read_bytes())

    result = work.run("extract", server.url(ARTICLE), "--body", "#artibody")

    assert result.code == 0, result.stderr
    expected_body = (FIXTURES / "golden" / "expected.md").read_text(encoding="utf-8").split("\n---\n\n", 1)[1]
    body = result.stdout.split("\n---\n\n", 1)[1]
    assert body == "<div>" + for_markdown(expected_body.removeprefix("<div>").removesuffix("</div>\n")) + "</div>\n"
    assert "<style" not in body and "\n\n" not in body


def test_extract_json_reports_metadata_and_method(server: TestServer, work: Workdir) -> None:
    server.add(ARTICLE, body=(FIXTURES / "golden" / "article.html").read_bytes())

    result = work.run("extract", server.url(ARTICLE), "--json")

    assert result.code == 0, result.stderr
    data = result.json()
    assert data["method"] in ("site-rule", "automatic")
    assert "原标题：习近平主席贺信引发热烈反响" in data["body"]
    assert data["path"].endswith(".md")


def test_extract_of_a_missing_page_fails_with_the_url(server: TestServer, work: Workdir) -> None:
    result = work.run("extract", server.url("/nope"))

    assert result.code == 1
    assert server.url("/nope") in result.stderr
    assert "404" in result.stderr


def _dated_page(head: str) -> bytes:
    paragraphs = "".join(
        f"<p>Paragraph {i} of a story about the harbour, long enough to be prose.</p>" for i in range(8)
    )
    return (
        f"<!doctype html><html><head><title>Story</title>{head}</head>"
        f"<body><article><h1>Story</h1>{paragraphs}</article></body></html>"
    ).encode()


def test_extract_json_gives_the_pages_date_and_says_so(server: TestServer, work: Workdir) -> None:
    server.add("/dated", body=_dated_page('<meta property="article:published_time" content="2021-08-24T07:07:13Z">'))

    data = work.run("extract", server.url("/dated"), "--json").json()

    assert data["date"] == "Tue, 24 Aug 2021 07:07:13 GMT"
    assert data["date_source"] == "page"
    assert data["archived_date"] == data["date"]


def test_extract_json_gives_no_date_when_the_page_has_none(server: TestServer, work: Workdir) -> None:
    server.add("/undated", body=_dated_page(""))

    result = work.run("extract", server.url("/undated"), "--json")

    assert result.code == 0, result.stderr
    data = result.json()
    assert data["date"] is None
    assert data["date_source"] == "first_seen"
    assert data["archived_date"].endswith(" GMT")  # the first-seen time the file would carry
