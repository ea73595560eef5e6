"""The automatic extractor's shortcuts give the answers of the full work they replace (crawler.extract.auto)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st
from selectolax.lexbor import LexborHTMLParser, LexborNode

from crawler.extract.auto import boilerplate, inside, names, preclean
from crawler.extract.auto.boilerplate import Kind, related_lead, text_kind
from crawler.extract.auto.names import class_weight
from crawler.extract.auto.scoring import _TAG_BASE, _UNSCORED, MIN_PARAGRAPH, Cand, div_paragraphs, score_blocks
from crawler.extract.auto.text import (
    PARAGRAPH_TAGS,
    Block,
    commas,
    drop,
    eff_len,
    eff_len_below,
    has_ancestor,
    text_blocks,
)

# Markup with what the shortcuts depend on: nesting, links, paragraphs, captions, junk and boilerplate names,
# CJK text and commas, comments, foreign content and templates.
_TAGS = ["div", "p", "span", "a href=/x", "a href=#y", "section", "figure", "figcaption", "nav", "ul", "li", "h2"]
_PIECES = st.one_of(
    st.builds(
        lambda tag, attrs: f"<{tag}{attrs}>",
        st.sampled_from(_TAGS),
        st.sampled_from(["", " class=related", " class=comment", " class=share", " id=main", " hidden"]),
    ),
    st.sampled_from(
        ["</div>", "</p>", "</a>", "</span>", "</figcaption>", "</li>", "<!--c-->", "<svg><![CDATA[x]]></svg>"]
    ),
    st.sampled_from(["<template>t</template>", "<br>", "Related", "Read more:", "Photo: AP", "By Jane Doe"]),
    st.text(alphabet="ab ,.。，、中文\n\u3042\uac00é", max_size=40),
)
_MARKUP = st.lists(_PIECES, max_size=40).map("".join)


def _tree(markup: str) -> LexborHTMLParser:
    return LexborHTMLParser(f"<html><body><main>{markup}</main></body></html>")


@given(_MARKUP)
@settings(max_examples=300, deadline=None)
def test_text_lexbor_is_text_on_every_element(markup: str) -> None:
    # Link, paragraph and widget texts are read with text_lexbor(), which costs less than text() on short texts.
    tree = _tree(markup)
    elements = [node for node in tree.root.traverse() if node.is_element_node] if tree.root is not None else []
    assert elements
    for node in elements:
        assert node.text_lexbor() == node.text()


_CJK_RE = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")
_COMMA_RE = re.compile("[,\u060c\ufe50\ufe10\ufe11\u2e41\u2e34\u2e32\uff0c\u3001]")
# Each class's edges and their neighbours, regex metacharacters and white space.
_COUNTED = ",\u060c\ufe50\ufe10\ufe11\u2e41\u2e34\u2e32\uff0c\u3001\u2e33\u303f\u3040\u30ff\u3100\u3400\u4dbf\u4e00"
_COUNTED += "\u9fff\ua000\uf900\ufaff\uac00\ud7af\ud7b0a -^]\\\n\U0001f600"


@given(st.text(alphabet=_COUNTED, max_size=50))
@settings(max_examples=1000, deadline=None)
def test_character_counts_are_the_findall_counts(text: str) -> None:
    assert eff_len(text) == (len(text) if text.isascii() else len(text) + 2 * len(_CJK_RE.findall(text)))
    assert commas(text) == (text.count(",") if text.isascii() else len(_COMMA_RE.findall(text)))


@given(_MARKUP)
@settings(max_examples=300, deadline=None)
def test_prose_from_paragraph_lengths_is_the_prose_read_again(markup: str) -> None:
    # preclean reads each <p> once and sums the prose inside a block from those lengths.
    body = _tree(markup).body
    assert body is not None
    lengths = {p.mem_id: len(p.text_lexbor()) for p in body.css("p")}
    for node in body.traverse():
        assert preclean._prose_chars(node, lengths) == sum(len(p.text()) for p in node.css("p"))


def _walked_scores(blocks: list[Block], para_ids: set[int]) -> dict[int, Cand]:
    """score_blocks as it was: every paragraph walks up from its start on its own."""
    cands: dict[int, Cand] = {}
    for block in blocks:
        text = "".join(block.parts).strip()
        raw = len(text)
        if raw * 3 < MIN_PARAGRAPH or min(block.link_chars / raw, 1.0) > 0.5:
            continue
        link_ratio = min(block.link_chars / raw, 1.0)
        node = block.node
        tag = node.tag or ""
        length = eff_len_below(text, 300)
        if tag in _UNSCORED or length < MIN_PARAGRAPH:
            continue
        score = (1 + commas(text) + min(length // 100, 3)) * (1 - link_ratio)
        start = node.parent if tag in PARAGRAPH_TAGS or node.mem_id in para_ids else node
        level, anc = 0, start
        while anc is not None and level < 5:
            if anc.tag is None or anc.tag in ("html", "#document", "-undef"):
                break
            cand = cands.get(anc.mem_id)
            if cand is None:
                base = _TAG_BASE.get(anc.tag, 0) + class_weight(anc)
                cand = cands[anc.mem_id] = Cand(anc, base, base)
            cand.score += score / (1 if level == 0 else 2 if level == 1 else level * 3)
            anc, level = anc.parent, level + 1
    return cands


@given(
    st.lists(
        st.sampled_from(["<div>", "</div>", "<section class=post>", "<p>", "<b>", "<td>", "<li>", "<a href=/x>"]),
        max_size=30,
    )
)
@settings(max_examples=300, deadline=None)
def test_shared_ancestor_chains_score_as_separate_walks(pieces: list[str]) -> None:
    # Paragraphs of different lengths, so that a share going to the wrong ancestor shows.
    markup = "".join(f"{piece}{'word, ' * (4 + 3 * i)}" for i, piece in enumerate(pieces))
    body = _tree(markup).body
    assert body is not None
    blocks = text_blocks(body)
    para_ids = div_paragraphs(blocks)
    got = [(key, cand.score, cand.base) for key, cand in score_blocks(blocks, para_ids).items()]
    assert got == [(key, cand.score, cand.base) for key, cand in _walked_scores(blocks, para_ids).items()]


def _eager_drop_by_text(parts: list[LexborNode]) -> None:
    """inside._drop_by_text as it was: every paragraph's node is tested for holding only its text first."""
    paras = inside._paragraphs(parts)
    prose = [i for i, para in enumerate(paras) if para.prose]
    if not prose:
        return
    first, last = prose[0], prose[-1]
    keep = {part.mem_id for part in parts}
    repeated = inside._repeated(paras)
    captions = inside._may_hold_captions(parts)
    doomed = []
    following_list = False
    for i, para in enumerate(paras):
        node = para.node
        if node.mem_id in keep or not inside._holds_only(node, para.text):
            following_list = False
            continue
        if following_list and para.links > inside._LINK_LIST and not para.prose:
            doomed.append(node)
            continue
        following_list = False
        if para.text in repeated or (i > last and para.links > inside._LINK_LIST and not para.prose):
            doomed.append(node)
            continue
        in_caption = node.tag == "figcaption" or (captions and has_ancestor(node, inside._FIGCAPTION, node.mem_id))
        kind = text_kind(para.text, edge=i < first or i > last) if not para.prose or in_caption else None
        if kind is None and para.links > inside._LINK_LIST and related_lead(para.text):
            kind = Kind.RELATED
        if kind is None:
            if in_caption:
                inside._cut_trailing_credit(node, para.text)
            continue
        if kind is Kind.RELATED and para.links <= inside._LINK_LIST:
            following_list = True
        doomed.append(node)
    drop(doomed)


_PROSE = "This sentence is long enough to count as the article's own prose, with words and more words. "
_BOILER_PIECES = st.sampled_from(
    [
        f"<p>{_PROSE}</p>",
        f"<div>{_PROSE}<p>{_PROSE}</p></div>",
        "<p>Related stories</p>",
        "<div>Related</div>",
        "<p><a href=/a>Another story entirely</a></p>",
        "<p><a href=/b>Read more: elsewhere</a></p>",
        "<p>Continue reading the main story</p>",
        "<figure><img src=a.jpg><figcaption>A street. Photo: AP</figcaption></figure>",
        "<figcaption>Photo: Reuters</figcaption>",
        "<p>By Jane Doe</p>",
        "<p>May 20, 2019</p>",
        "<div>Share<span>Twitter Facebook</span></div>",
        "<p>Sign up for our newsletter</p>",
        "<ul><li><a href=/c>Link one here</a></li><li><a href=/d>Link two here</a></li></ul>",
    ]
)


@given(st.lists(_BOILER_PIECES, max_size=14).map("".join))
@settings(max_examples=400, deadline=None)
def test_paragraphs_are_tested_for_other_content_only_where_it_matters(markup: str) -> None:
    # _drop_by_text asks whether a paragraph's node holds other blocks only for paragraphs that go or are cut.
    lazy, eager = _tree(markup), _tree(markup)
    lazy_part, eager_part = lazy.css_first("main"), eager.css_first("main")
    assert lazy_part is not None and eager_part is not None
    inside._drop_by_text([lazy_part])
    _eager_drop_by_text([eager_part])
    assert lazy.html == eager.html


# Class/id strings made of the name tests' own words and fragments, separators and neighbours, so that every
# branch of each alternation is exercised, at the start, middle and end of a string.
_SEPARATORS = [" ", "\t", "-", "_", "\u00a0", "A", "é"]
_NAME_PARTS = st.sampled_from(
    [
        "ad",
        "ads",
        "ad-",
        "-ad",
        "-ads",
        "tag",
        "tags",
        "hid",
        "hidden",
        "share",
        "comment",
        "nav-",
        "qr",
        "x",
        "head",
        *_SEPARATORS,
    ]
)


@given(st.lists(_NAME_PARTS, max_size=8).map("".join))
@settings(max_examples=2000, deadline=None)
def test_name_tests_answer_as_their_one_alternation(hint: str) -> None:
    low = hint.lower()
    for test in (names._WIDGET, names._NEGATIVE):
        alternation = re.compile(f"{test.words.pattern}|{test.tokens.pattern}")
        assert test.search(low) == (alternation.search(low) is not None)
    # name_kind's "ad" token is looked for only where "ad" is.
    assert ("ad" in low and boilerplate._AD_TOKEN_RE.search(low) is not None) == (
        boilerplate._AD_TOKEN_RE.search(low) is not None
    )
