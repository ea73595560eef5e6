"""extract_page, the path the crawler runs: one parse of the page serves metadata and the body, whichever way the
body is found, and the feed's `remove:` selectors never free the node the body is read from."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from selectolax.lexbor import LexborHTMLParser

from crawler.extract import page as page_module
from crawler.extract.page import extract_page
from crawler.render import fixes

_PROSE = " ".join(f"Sentence number {i} of the story, with enough words to read as prose." for i in range(30))
_PAGE = f"""<html><head><title>Water rates rise - Daily</title>
<meta property="og:title" content="Water rates rise">
<meta name="author" content="Jane Doe">
<meta property="article:published_time" content="2024-03-05T10:00:00Z"></head>
<body><nav><a href="/">Home</a> <a href="/news">News</a></nav>
<article class="story"><h1>Water rates rise</h1><p>{_PROSE}</p><p>A second paragraph, {_PROSE}</p>
<p><img src="/img/lead.jpg" width="800"> The lead picture.</p><div class="share">Share this</div></article>
<footer>Copyright Daily</footer></body></html>"""


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Counts every HTML parse made while extracting (the page's, and any fragment's)."""
    sizes: list[int] = []

    class Counting(LexborHTMLParser):
        def __init__(self, html: str, *args: object, **kwargs: object) -> None:
            sizes.append(len(html))
            super().__init__(html, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(page_module, "LexborHTMLParser", Counting)
    monkeypatch.setattr(fixes, "LexborHTMLParser", Counting)
    yield sizes


def test_automatic_extraction_parses_the_page_once(parses: list[int]) -> None:
    got = extract_page(_PAGE, "https://news.example/2024/rates")
    assert got.method == "automatic"
    assert parses == [len(_PAGE)]
    assert got.meta.title == "Water rates rise" and got.meta.author == "Jane Doe"
    assert "Sentence number 29" in got.text and "Home" not in got.text
    assert got.first_image == "https://news.example/img/lead.jpg"


def test_selector_extraction_parses_the_page_once(parses: list[int]) -> None:
    got = extract_page(_PAGE, "https://news.example/2024/rates", body="article.story", remove=(".share",))
    assert got.method == "selector"
    assert parses == [len(_PAGE)]
    assert "Share this" not in got.body and "Sentence number 3" in got.text


def test_automatic_body_equals_the_body_of_its_own_html() -> None:
    # Finished in place, the body and its text are what a parse of the written body gives.
    got = extract_page(_PAGE.replace("<p>A second", "<p>In 2014<span hidden>x</span>. A second"), "https://a.example/")
    assert got.text == fixes.body_text(got.body)


def test_remove_matching_the_body_node_itself_keeps_the_body() -> None:
    got = extract_page(_PAGE, "https://news.example/2024/rates", body="article.story", remove=("article", ".share"))
    assert got.method == "selector"
    assert "Sentence number 29" in got.text and "Share this" not in got.text


def test_remove_applies_inside_an_automatically_found_body() -> None:
    got = extract_page(_PAGE, "https://news.example/2024/rates", remove=(".share", "img"))
    assert got.method == "automatic"
    assert "Share this" not in got.body and "<img" not in got.body and "Sentence number 29" in got.text


@pytest.mark.parametrize("wrapper", ["story-body", "form", "bsp-story-page", "DIV"])
@pytest.mark.parametrize("body", [None, ".story"])
def test_an_article_wrapped_in_an_element_not_allowed_in_a_body_keeps_its_text(wrapper: str, body: str | None) -> None:
    # Modern news pages wrap the story in custom elements, ASP.NET ones in a <form>: the sanitiser used to unwrap
    # or remove the body's own root, and the article came out empty without a word.
    paragraphs = "".join(f"<p>Paragraph {i}. {_PROSE}</p>" for i in range(3))
    html = (
        f"<html><head><title>T</title></head><body><nav><a href='/'>Home</a></nav>"
        f"<{wrapper} class=story>{paragraphs}<input name=q><script>track()</script></{wrapper}>"
        "<footer>Copyright</footer></body></html>"
    )
    got = extract_page(html, "https://example.com/a", body=body)
    assert got.body.startswith("<p>Paragraph 0.")
    assert "Paragraph 2." in got.text
    assert "<input" not in got.body and "track()" not in got.body and "<form" not in got.body


@pytest.mark.parametrize("wrapper", ["style", "script", "xmp", "noscript"])
def test_a_body_root_whose_content_is_raw_text_is_emptied_never_written_out(wrapper: str) -> None:
    # Raw text is serialised unescaped: a <style> chosen by a selector must not carry `<img onerror>` into the file.
    html = f"<html><body><{wrapper} class=story><img src=x onerror=alert(1)></{wrapper}></body></html>"
    got = extract_page(html, "https://example.com/a", body=".story")
    assert "onerror" not in got.body and "<img" not in got.body


def test_several_body_nodes_not_allowed_in_a_body_give_their_inner_html() -> None:
    tree = LexborHTMLParser(f"<x-part><p>One. {_PROSE}</p></x-part><form><p>Two.</p><input></form><p>Three.</p>")
    nodes = [tree.css_first(selector) for selector in ("x-part", "form", "body > p")]
    assert all(node is not None for node in nodes)
    for node in nodes:
        fixes.fix_node(node, "https://example.com/a")
    html = page_module._body_html(nodes)
    assert html == f"<p>One. {_PROSE}</p><p>Two.</p><p>Three.</p>"
