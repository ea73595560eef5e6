"""The shortcuts on the extraction path give the answers of the full work they skip."""

from __future__ import annotations

import re
import sys
from unittest.mock import patch

from hypothesis import example, given, settings
from hypothesis import strategies as st
from selectolax.lexbor import LexborHTMLParser

from crawler.extract.auto.inside import _may_hold_captions
from crawler.extract.auto.text import has_ancestor
from crawler.extract.metadata import images, page_metadata, structured
from crawler.extract.metadata.bylines import CJK_AUTHOR_RE, labelled_writers
from crawler.extract.metadata.datelines import TIMED_DATE_RE, first_timed_date
from crawler.render import parse_limits

_CROWDED = " ".join(f"a{i}=1" for i in range(parse_limits.MAX_ATTRIBUTES + 1))


def test_long_but_sparse_attributes_are_no_problem() -> None:
    # An SVG path or a srcset runs past 2 * MAX_ATTRIBUTES characters with a handful of attributes.
    path = "M0 0 " + "L1,2 " * 400
    assert parse_limits.markup_problem(f'<svg><path d="{path}"/></svg><p>text</p>') is None
    assert parse_limits.markup_problem(f'<img srcset="{"a.jpg 1x, " * 200}" src=b.jpg>') is None


def test_crowded_tag_is_found_behind_long_harmless_ones() -> None:
    harmless = f'<img alt="{"x" * 600}">' * 100  # more long candidates than the shortcut looks at
    assert parse_limits.markup_problem(harmless + f"<div {_CROWDED}>x</div>") is not None
    assert parse_limits.markup_problem(f'<p title="{"x" * 600}">a</p><div {_CROWDED}>x</div>') is not None


def test_crowded_tag_inside_raw_text_or_comment_is_no_problem() -> None:
    assert parse_limits.markup_problem(f"<script>var s = '<div {_CROWDED}>';</script><p>x</p>") is None
    assert parse_limits.markup_problem(f"<!-- <div {_CROWDED}> --><p>x</p>") is None
    assert parse_limits.markup_problem(f"<textarea><div {_CROWDED}></textarea>") is None


def test_a_less_than_inside_a_long_value_starts_a_candidate_of_its_own() -> None:
    # The crowded tag begins inside the first candidate's text, with no `>` between them.
    assert parse_limits.markup_problem(f"<b{'x' * 600}<div {_CROWDED}>") is not None


def test_nesting_bound_counts_only_opening_tags() -> None:
    closers = "</p>" * (parse_limits.MAX_NESTING + 10)
    assert parse_limits.markup_problem("<div>" * 10 + closers) is None
    assert parse_limits.markup_problem("<!---->" * (parse_limits.MAX_NESTING + 10) + "<div>" * 3) is None
    assert parse_limits.markup_problem("<div>" * (parse_limits.MAX_NESTING + 1) + closers) is not None


def test_metadata_from_one_pass_keeps_each_selector_meaning() -> None:
    page = (
        "<html lang=de><head><title>Fallback title</title>"
        '<link rel=stylesheet href="/s.css"><link rel=Canonical href="/canon">'
        # An itemprop on a <meta> without content and on a JSON-LD script: both selectors must still decide.
        '<meta itemprop=description><meta itemprop=author content="">'
        '<script type="APPLICATION/LD+JSON" itemprop=x>{"@type": "NewsArticle", "datePublished": "2021-08-24"}'
        "</script></head><body>"
        "<div itemprop=Headline>Wrong case is not the headline</div><h2>Sub</h2>"
        "<span itemprop=headline>Micro headline</span><h1 itemprop=name>Micro headline</h1>"
        "<span itemprop=author>Jane Roe</span><p>2021年08月24日 15:07</p></body></html>"
    )
    meta = page_metadata(LexborHTMLParser(page), "https://example.com/a/b.html")
    assert meta.title == "Micro headline"
    assert meta.author is None  # the first [itemprop=author] is the empty <meta>, as the selector finds it
    # JSON-LD gave the day only, the dateline under the <h1> (found among the headings) gives the time.
    assert meta.published is not None and meta.published.isoformat() == "2021-08-24T15:07:00"
    assert meta.canonical == "https://example.com/canon"
    assert meta.language == "de"


# Text shaped like a page's: digits, separators, clock colons, CJK labels and white space, in any order.
_PAGE_CHARS = "0123456789-/.: ：年月日上午下午\n作者撰文记编译者：:|丨李四张三 abcBy,。"
_PAGE_TEXT = st.text(alphabet=st.sampled_from(list(_PAGE_CHARS)), max_size=300)


@given(_PAGE_TEXT)
@settings(max_examples=400, deadline=None)
def test_timed_date_shortcut_finds_what_the_full_search_finds(text: str) -> None:
    fast = first_timed_date(text)
    full = TIMED_DATE_RE.search(text)
    assert (fast and (fast.start(), fast.group(0))) == (full and (full.start(), full.group(0)))


@given(st.text(alphabet=st.sampled_from(list(_PAGE_CHARS.replace("：", ""))), max_size=300))
@settings(max_examples=400, deadline=None)
def test_timed_date_shortcut_without_full_width_colons_finds_what_the_full_search_finds(text: str) -> None:
    # (Such text is searched for ASCII clocks alone.)
    fast = first_timed_date(text)
    full = TIMED_DATE_RE.search(text)
    assert (fast and (fast.start(), fast.group(0))) == (full and (full.start(), full.group(0)))


def test_timed_date_shortcut_reads_seconds_past_the_clock() -> None:
    found = first_timed_date("更新 2019年09月09日 18:13:22 来源")
    assert found is not None and found.group(0) == "2019年09月09日 18:13:22"


@given(_PAGE_TEXT)
@settings(max_examples=400, deadline=None)
def test_labelled_writer_shortcut_finds_what_the_full_search_finds(text: str) -> None:
    fast = [(m.start(), m.group(1)) for m in labelled_writers(text)]
    full = [(m.start(), m.group(1)) for m in CJK_AUTHOR_RE.finditer(text)]
    assert fast == full


# Markup made of the pieces that decide the attribute limit: long values with separators or none, `<` inside values,
# crowded tags, raw text and comments around them.
_MARKUP_PIECES = st.sampled_from(
    [
        f"<div {_CROWDED}>",
        f"<b{'x' * 600}",
        f'<img alt="{"x" * 600}">',
        f'<p title="{"x y=" * 200}">',
        f"<i {' '.join('a' * 3 for _ in range(300))}",
        "<script>",
        "</script>",
        "<!--",
        "-->",
        "<textarea>",
        ">",
        "<",
        "text ",
        '"',
    ]
)


@given(st.lists(_MARKUP_PIECES, max_size=12).map("".join))
@settings(max_examples=400, deadline=None)
def test_hostility_shortcut_never_hides_what_the_full_scan_finds(markup: str) -> None:
    if parse_limits.full_scan(markup) is not None:
        assert parse_limits.markup_problem(markup) is not None


# Markup made of what decides the depth the full scan reads: tags that deepen or not (flat, raw text), in any ASCII
# case, closing tags, raw text closed in case-folded forms the scan's own search accepts or not (`ſ`, `İ`), comments
# and their near misses, stray `<` and `>`.
_DEPTH_PIECES = st.sampled_from(
    [
        "<div>", "<DiV class=x>", "</div>", "</DIV >", "<span>", "</b>", "<p>", "</P>", "<br/>", "<IMG src=a>",
        "<li>", "<colgroup>", "<col>", "<x-y:z>", "<a1>", "<script>", "<SCRIPT type=x>", "</script>", "</ScRiPt>",
        "</ſcript>", "<style>", "</STYLE>", "<title>", "</tİtle>", "<textarea>", "</textarea>", "<scripts>", "<!--",
        "-->", "--->", "<!-->", "<!x>", "<", ">", "text ", "<div title='<!--'>", f'<img alt="{"x" * 600}">',
    ]
)  # fmt: skip


@given(st.lists(_DEPTH_PIECES, max_size=16).map("".join))
@settings(max_examples=600, deadline=None)
def test_depth_from_listed_tokens_is_the_full_scans(markup: str) -> None:
    # The full scan reports a depth past MAX_NESTING; with the limit set low, that tells the depth it reached.
    for limit in range(6):
        with patch.object(parse_limits, "MAX_NESTING", limit):
            full = parse_limits.full_scan(markup)
            assert (full is not None) == (parse_limits.max_depth(markup) > limit)
            assert parse_limits.markup_problem(markup) == full


@given(st.lists(st.one_of(_MARKUP_PIECES, _DEPTH_PIECES), max_size=12).map("".join))
@settings(max_examples=600, deadline=None)
def test_crowded_tag_from_listed_tokens_is_the_full_scans(markup: str) -> None:
    assert parse_limits.has_crowded_tag(markup) == (parse_limits.full_scan(markup) is not None)
    assert parse_limits.markup_problem(markup) == parse_limits.full_scan(markup)


@given(st.text(max_size=200))
@settings(max_examples=500, deadline=None)
def test_separator_count_is_the_regexs(text: str) -> None:
    assert parse_limits._separators(text) == len(parse_limits._SEPARATOR.findall(text))
    ascii_text = text.encode("ascii", "replace").decode("ascii")
    assert parse_limits._separators(ascii_text) == len(parse_limits._SEPARATOR.findall(ascii_text))


def test_separator_count_knows_every_wide_space() -> None:
    wide = "".join(char for char in map(chr, range(128, sys.maxunicode + 1)) if char.isspace())
    assert parse_limits._WIDE_SPACE.findall(wide) == list(wide)
    text = f"a{wide}b\ud800 =/\"'é中\U0001f600\x1c\t"
    assert parse_limits._separators(text) == len(parse_limits._SEPARATOR.findall(text)) == len(wide) + 7


_CAPTION_PIECES = st.sampled_from(
    ["<div>", "</div>", "<figure>", "<figcaption>", "</figcaption>", "<p>", "text", "<span>", "</span>", "<b>"]
)


@given(st.lists(_CAPTION_PIECES, max_size=14).map("".join), st.integers(min_value=0, max_value=6))
@settings(max_examples=400, deadline=None)
def test_blocks_without_captions_hold_no_node_under_one(markup: str, pick: int) -> None:
    # inside._drop_by_text walks up from each paragraph to find a <figcaption> only where this says one may be.
    tree = LexborHTMLParser(f"<html><body><main>{markup}</main></body></html>")
    elements = tree.body.css("*") if tree.body is not None else []
    part = elements[pick % len(elements)]
    under_caption = any(has_ancestor(node, frozenset({"figcaption"}), node.mem_id) for node in part.traverse())
    if under_caption:
        assert _may_hold_captions([part])


# Attribute lists around the limit: names, values quoted or not, `/`, `=` and white space in every arrangement.
_ATTRIBUTE_PIECES = st.sampled_from(["a", "b=1", " ", "/", "=", '"x y"', "'", "c='d'", "\t", "e=", ">"])


@given(st.lists(_ATTRIBUTE_PIECES, min_size=200, max_size=700).map("".join))
@settings(max_examples=300, deadline=None)
def test_attribute_count_shortcut_is_the_full_count(attributes: str) -> None:
    full = len(attributes) > 2 * parse_limits.MAX_ATTRIBUTES and (
        len(parse_limits._ATTRIBUTE.findall(attributes)) > parse_limits.MAX_ATTRIBUTES
    )
    assert parse_limits._too_many_attributes(attributes) == full


# The one regex JSON-LD's markers were once removed with, searched for through the whole block.
_MARKERS = re.compile(r"^\s*(?://\s*)?<!\[CDATA\[|(?://\s*)?\]\]>\s*$|^\s*<!--|-->\s*$")
_MARKER_PIECES = st.sampled_from(
    [" ", "\n", "\t", "\u3000", "\x85", "/", "//", "<!", "<![CDATA[", "]]>", "]]", ">", "<!--", "-->", "-", "{}", ";"]
)


@given(st.lists(_MARKER_PIECES, max_size=10).map("".join))
@settings(max_examples=1000, deadline=None)
def test_jsonld_markers_go_as_the_one_regex_removes_them(raw: str) -> None:
    assert structured._without_markers(raw) == _MARKERS.sub("", raw)


def _first_big_image_searched_twice(tree: LexborHTMLParser) -> str | None:
    """`images._first_big_image` as both searches read it, each picture tested in full."""
    body = tree.body
    assert body is not None
    for img in body.css("img[src]")[:200]:
        attrs = img.attributes
        src = images._usable_image(attrs)
        if src and images._declared_width(attrs) >= images._MIN_LEAD_WIDTH:
            return src
    for img in body.css(images._CONTENT_IMAGES)[:50]:
        attrs = img.attributes
        src = images._usable_image(attrs)
        if src and not attrs.get("width") and not attrs.get("height"):
            return src
    return None


# Pictures wide, narrow, of undeclared size, unusable (a logo, a data: URL), inside an article container or not, and
# enough sized ones to pass the first search's 200.
_SIZED_IMAGES = '<img src="n.jpg" width=20>' * 201
_IMAGE_PIECES = st.sampled_from(
    [
        '<img src="a.jpg">', '<img src="logo.png">', '<img src="data:image/gif;base64,R0">',
        '<img src="w.jpg" width=400>', '<img src="n.jpg" width=20>', '<img src="h.jpg" height=30>',
        '<img src="s.jpg" style="width: 500px">', "<article>", "</article>", '<div class="Story-body">', "</div>",
        "<p>text</p>", _SIZED_IMAGES,
    ]
)  # fmt: skip


@given(st.lists(_IMAGE_PIECES, max_size=10).map("".join))
@settings(max_examples=300, deadline=None)
@example(f'{_SIZED_IMAGES}<article><img src="a.jpg"></article>')
def test_lead_image_fallback_skips_only_what_cannot_answer(markup: str) -> None:
    # It tests a picture's size before its source, and skips the second search when every picture declares a size.
    tree = LexborHTMLParser(f"<html><body>{markup}</body></html>")
    assert images._first_big_image(tree) == _first_big_image_searched_twice(tree)
