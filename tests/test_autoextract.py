"""Tests of crawler.autoextract: golden pages, the individual signals, hostile input."""

from __future__ import annotations

import json
import os
import re
import time
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from selectolax.lexbor import LexborHTMLParser

from crawler.extract.auto import extract_main

FIXTURES = Path(__file__).parent / "fixtures" / "extraction"
GOLDEN = sorted(p.stem for p in FIXTURES.glob("*.html"))
# Regenerate with UPDATE_GOLDEN=1 after a deliberate change, then review the diff by eye.
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"

_BLOCK_RE = re.compile(
    r"<(?:/?(?:p|div|h[1-6]|li|ul|ol|table|tr|td|th|blockquote|pre|section|figure|figcaption)|br)"
    r"\b[^>]*>",
    re.I,
)
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff"
_TOKEN_RE = re.compile(f"[{_CJK}]|[^\\W{_CJK}]+")


def text_of(html: str | None) -> str:
    """Plain text of extracted HTML, one line per block (as bench/extraction.py derives it)."""
    if not html:
        return ""
    body = LexborHTMLParser("<body>" + _BLOCK_RE.sub(lambda m: m.group(0) + "\n", html)).body
    lines = (" ".join(line.split()) for line in (body.text() if body else "").split("\n"))
    return "\n".join(line for line in lines if line)


def similarity(a: str, b: str) -> float:
    """Token-4-shingle F1, the measure of the evaluation scorer, CJK characters one token each."""

    def shingles(text: str) -> Counter[tuple[str, ...]]:
        toks = _TOKEN_RE.findall(text.lower())
        return Counter(tuple(toks[i : i + 4]) for i in range(max(1, len(toks) - 3)))

    sa, sb = shingles(a), shingles(b)
    common = sum((sa & sb).values())
    if not common:
        return 0.0
    p, r = common / sum(sb.values()), common / sum(sa.values())
    return 2 * p * r / (p + r)


def extract(html: str, url: str = "https://example.com/a") -> str | None:
    return extract_main(LexborHTMLParser(html), url)


@pytest.mark.parametrize("name", GOLDEN)
def test_golden_page(name: str) -> None:
    expected_path = FIXTURES / f"{name}.expected.json"
    expected = json.loads(expected_path.read_text("utf8"))
    html = (FIXTURES / f"{name}.html").read_text("utf8")
    got = text_of(extract(html, expected["url"]))
    if UPDATE:
        expected["text"] = got
        expected_path.write_text(json.dumps(expected, ensure_ascii=False, indent=1) + "\n", "utf8")
    # Not byte equality: small improvements should pass, a real regression (lost paragraphs, added
    # boilerplate) moves the shingle F1 well below this.
    assert similarity(expected["text"], got) >= 0.95


ARTICLE = "".join(
    f"<p>This is sentence number {i} of a long article paragraph, with commas, clauses, and enough words "
    f"to look like prose written by a person for other people to read.</p>"
    for i in range(8)
)


def page(body: str, title: str = "Story") -> str:
    return f"<html><head><title>{title}</title></head><body>{body}</body></html>"


def test_article_paragraphs_kept_and_nav_dropped() -> None:
    html = page(
        "<header><a href=/>Home</a><a href=/news>News</a></header>"
        "<nav><ul><li><a href=/a>Section A link text</a></li>"
        "<li><a href=/b>Section B link text</a></li></ul></nav>"
        f"<div id=main><div class=entry-content>{ARTICLE}</div>"
        "<div class=share-bar><a href=//fb>Share on Facebook</a> <a href=//tw>Share on Twitter</a></div>"
        "<div class=related-posts><ul><li><a href=/r1>A related story you might like very much</a></li>"
        "<li><a href=/r2>Another related story you might like very much</a></li></ul></div></div>"
        "<div id=comments><p>First comment, what a great article, I loved every word of it, thanks.</p></div>"
        "<footer>Copyright 2024 Example Corp, all rights reserved, terms, privacy.</footer>"
    )
    text = text_of(extract(html))
    assert "sentence number 0" in text and "sentence number 7" in text
    for junk in ("Section A", "Share on", "related story", "First comment", "Copyright", "Home"):
        assert junk not in text


def test_link_heavy_block_is_not_the_article() -> None:
    links = "".join(
        f"<p><a href=/x{i}>A fairly long headline of another story number {i} here</a></p>" for i in range(30)
    )
    html = page(f"<div class=list>{links}</div><div class=story>{ARTICLE}</div>")
    text = text_of(extract(html))
    assert "sentence number 3" in text
    assert "headline of another story" not in text


def test_chinese_text_density() -> None:
    para = "".join(
        f"<p>这是第{i}段新闻正文，记者在现场采访了多位市民，他们表示对这项政策非常满意，并希望能够继续推进。</p>"
        for i in range(6)
    )
    side = "".join(f"<li><a href=/n{i}>热门新闻标题第{i}条</a></li>" for i in range(20))
    article = f"<div id=artibody>{para}<p class=editor>责任编辑：张三</p></div>"
    html = page(f"<div class=side><ul>{side}</ul></div>{article}")
    text = text_of(extract(html))
    assert "第0段新闻正文" in text and "第5段新闻正文" in text
    assert "热门新闻标题" not in text


def test_figures_tables_lists_and_quotes_kept() -> None:
    body = (
        f"<article>{ARTICLE}<figure><img src=a.jpg><figcaption>A caption of the photo</figcaption></figure>"
        "<blockquote><p>A quoted sentence that matters, said somebody important, yesterday.</p></blockquote>"
        "<ul><li>First point of a list inside the article</li><li>Second point of the list</li></ul>"
        "<table><tr><th>Year</th><th>Value</th></tr><tr><td>2020</td><td>12</td></tr></table>"
        f"{ARTICLE}</article>"
    )
    html = extract(page(body))
    assert html is not None
    for piece in ("<figcaption>A caption", "<blockquote>", "First point", "<th>Year</th>"):
        assert piece in html


def test_title_heading_dropped() -> None:
    html = extract(page(f"<article><h1>Big Story</h1>{ARTICLE}</article>", title="Big Story - Example"))
    assert html is not None and "Big Story" not in html


def test_no_article_returns_none() -> None:
    assert extract(page("<nav><a href=/a>Home</a> <a href=/b>About</a></nav>")) is None
    assert extract("") is None
    assert extract("<html></html>") is None


def test_deeply_nested_blocks_do_not_crash() -> None:
    # Built through the DOM: Lexbor's HTML parser itself is quadratic on 100,000 nested <div> start tags
    # (the spec's "p in button scope" check scans the open-element stack), which is the caller's concern.
    tree = LexborHTMLParser("<html><body></body></html>")
    node = tree.body
    assert node is not None
    for _ in range(100_000):
        node.insert_child(tree.create_node("div"))
        node = node.last_child
        assert node is not None
    node.inner_html = ARTICLE
    start = time.thread_time()  # CPU time: a loaded machine does not stretch it, a quadratic blow-up does
    result = extract_main(tree, "https://example.com/deep")
    assert time.thread_time() - start < 3
    assert result is not None and "sentence number 7" in result


def test_deeply_nested_inline_does_not_crash() -> None:
    html = "<b>" * 100_000 + ARTICLE  # parses quickly, and really is 100,000 levels deep
    start = time.thread_time()  # CPU time: a loaded machine does not stretch it, a quadratic blow-up does
    result = extract(html)
    assert time.thread_time() - start < 3
    assert result is not None and "sentence number 7" in result


def test_hostile_attributes_do_not_crash() -> None:
    huge = "x" * 1_000_000
    html = page(f"<div class='{huge}' id='{huge}' style='{huge}'>{ARTICLE}</div><a href='{huge}'>{huge}</a>")
    assert "sentence number" in (extract(html) or "")


_TAGS = [
    "div",
    "p",
    "span",
    "a",
    "ul",
    "li",
    "table",
    "td",
    "script",
    "nav",
    "h1",
    "h2",
    "article",
    "br",
    "img",
]
_ATTRS = [
    "",
    " class=comment",
    " class=article-body",
    " id=share",
    " style='display:none'",
    " hidden",
    " href=#x",
]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.builds(lambda t, a: f"<{t}{a}>", st.sampled_from(_TAGS), st.sampled_from(_ATTRS)),
            st.builds(lambda t: f"</{t}>", st.sampled_from(_TAGS)),
            st.text(alphabet="ab ,.。中文\n", max_size=60),
        ),
        max_size=80,
    )
)
def test_random_markup_never_raises(pieces: list[str]) -> None:
    result = extract("".join(pieces))
    assert result is None or isinstance(result, str)


def test_badly_named_wrapper_of_the_whole_article_is_kept() -> None:
    # Boilerplate names on the only prose of the page: Readability would retry without its filters.
    html = page("<div class=comments-area><div class=comment-body>" + ARTICLE + "</div></div>")
    assert "sentence number 7" in (extract(html) or "")


def test_nested_boilerplate_names_do_not_blow_up() -> None:
    html = "<div class=comment>" * 5000 + ARTICLE + "</div>" * 5000
    start = time.thread_time()  # CPU time: a loaded machine does not stretch it, a quadratic blow-up does
    result = extract(html)
    assert time.thread_time() - start < 3
    assert result is not None and "sentence number 7" in result


@pytest.mark.parametrize("layout", ["beside", "inside"])
def test_link_farm_larger_than_the_article_is_dropped(layout: str) -> None:
    links = "".join(f"<li><a href=/x{i}>link number {i}</a></li>" for i in range(3000))
    if layout == "beside":
        html = page(f"<div class=more><ul>{links}</ul></div><div class=story>{ARTICLE}</div>")
    else:
        html = page(f"<div class=story>{ARTICLE}<div class=more><ul>{links}</ul></div></div>")
    result = extract(html) or ""
    assert "sentence number 7" in result
    assert "link number" not in result
