"""A page where nothing looks like an article still gives its largest block of clear prose; a page with none (only
navigation, a copyright line) still gives "no article body"."""

from __future__ import annotations

import pytest
from selectolax.lexbor import LexborHTMLParser

from crawler.extract.auto import largest_prose
from tests.conftest import Workdir
from tests.support.server import TestServer

SENTENCES = " ".join(
    f"Sentence {i} of a story about the harbour, its boats and the people who work on them." for i in range(12)
)
NAV = "".join(f'<li><a href="/section/{i}">Section {i}</a></li>' for i in range(20))


def _page(body: str) -> str:
    return f"<!doctype html><html><head><title>Harbour</title></head><body><ul>{NAV}</ul>{body}</body></html>"


@pytest.mark.parametrize(
    "layout",
    [
        f"<aside><p>{SENTENCES}</p><p>{SENTENCES}</p></aside>",  # the article in an <aside>
        f"<footer>{SENTENCES}</footer>",
        f"<h1>{SENTENCES}</h1>",
    ],
)
def test_the_largest_prose_block_is_found_in_an_odd_layout(layout: str) -> None:
    found = largest_prose(LexborHTMLParser(_page(layout)))
    assert found is not None
    assert "Sentence 11 of a story" in found
    assert "Section 3" not in found


@pytest.mark.parametrize(
    "layout",
    [
        "",  # navigation only
        "<footer><p>Copyright Harbour Times. All rights reserved.</p></footer>",
        "<aside>"
        + "".join(f'<p><a href="/r/{i}">Related story {i}, you may like it.</a></p>' for i in range(30))
        + "</aside>",
        "<div>" + "word " * 300 + "</div>",  # long, but no sentences
    ],
)
def test_a_page_without_prose_gives_nothing(layout: str) -> None:
    assert largest_prose(LexborHTMLParser(_page(layout))) is None


def test_extract_finds_an_article_set_in_an_aside(server: TestServer, work: Workdir) -> None:
    server.add("/odd", body=_page(f"<aside><p>{SENTENCES}</p><p>{SENTENCES}</p></aside>"))

    result = work.run("extract", server.url("/odd"), "--json")

    assert result.code == 0, result.stderr
    data = result.json()
    assert data["method"] == "automatic"
    assert "Sentence 11 of a story about the harbour" in data["body"]
    assert "Section 3" not in data["body"]


def test_extract_of_a_navigation_only_page_still_finds_no_article_body(server: TestServer, work: Workdir) -> None:
    server.add("/nav", body=_page(""))

    result = work.run("extract", server.url("/nav"), "--json")

    assert result.code == 1
    assert "no article body found on the page" in result.stderr
    assert result.stdout == ""
