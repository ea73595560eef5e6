"""Text and nodes: paragraphs in jusText's sense, lengths that weigh CJK fairly, link density, safe removal."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from selectolax.lexbor import LexborNode


def tag_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Tags that continue a paragraph rather than start a new one.
INLINE = tag_set(
    "a span b strong em i u font sup sub small big code abbr cite q mark label time s strike del "
    "ins tt kbd var dfn bdi bdo wbr br img picture source data ruby rt rp nobr center"
)
BLOCK_TAGS = tag_set(
    "address article aside blockquote dd div dl dt fieldset figure footer form h1 h2 h3 h4 h5 h6 "
    "header hr li main ol p pre section table ul"
)


PARAGRAPH_TAGS = frozenset({"p", "pre", "td", "blockquote", "h2", "h3", "h4", "h5", "h6", "section", "font"})
CONTAINER_TAGS = frozenset({"div", "section", "article", "main", "td", "body", "center", "span"})


_COMMAS = ",\u060c\ufe50\ufe10\ufe11\u2e41\u2e34\u2e32\uff0c\u3001"
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
# Counting characters of a class: deleting every run of the others and measuring what is left costs about a fifth
# of listing the matches (findall builds one string per character).
_NON_COMMA_RE = re.compile(f"[^{_COMMAS}]+")
_NON_CJK_RE = re.compile(f"[^{_CJK}]+")
SENTENCE_END_RE = re.compile(r"[.!?](?:\s|$)|[。！？]")
WS_RE = re.compile(r"\s+")


def eff_len(text: str) -> int:
    """Length with CJK characters counted three times: one ideograph carries about a word."""
    if text.isascii():
        return len(text)
    return len(text) + 2 * len(_NON_CJK_RE.sub("", text))


def eff_len_below(text: str, limit: int) -> int:
    """`eff_len` where that is below ``limit``, else a number at least ``limit``: for callers that only compare
    with thresholds up to ``limit``, the CJK count over a long text (a regex scan of it) is skipped."""
    length = len(text)
    return length if length >= limit else eff_len(text)


def commas(text: str) -> int:
    if text.isascii():
        return text.count(",")
    return len(_NON_COMMA_RE.sub("", text))


def has_commas(text: str, count: int) -> bool:
    """Whether ``text`` holds at least ``count`` commas: the ASCII comma alone often says so, and counting it
    costs far less than the regex scan over a long non-ASCII text."""
    return text.count(",") >= count or commas(text) >= count


def drop(nodes: Iterable[LexborNode]) -> None:
    # Lexbor frees a removed node's subtree; removing in reverse document order deletes descendants
    # before their ancestors, so no handle we still hold is ever dangling. Lexbor also returns an element
    # once per matching selector of a list, so duplicates are skipped rather than freed twice.
    seen: set[int] = set()
    for node in reversed(list(nodes)):
        key = node.mem_id
        if key not in seen:
            seen.add(key)
            node.decompose()


# Class names repeat heavily within and across pages, and the regexes are the hot spot of the whole


def fold(text: str) -> str:
    return WS_RE.sub(" ", text).strip().lower()


@dataclass
class Block:
    """Text grouped under its nearest block-level ancestor (one "paragraph" in the jusText sense)."""

    node: LexborNode
    tag: str | None  # node's, as the walk read it: scoring asks for it per block, and each read costs a call
    parts: list[str]
    link_chars: int


def text_blocks(body: LexborNode) -> list[Block]:
    """Every text node, attached to its nearest non-inline ancestor, in one iterative walk.

    HTML comments met on the way are removed, as they have no place in the clean result.
    """
    blocks: dict[int, Block] = {}
    comments = []
    inline = INLINE  # a local: this loop runs once per text node of the page
    # Only text nodes have text content: reading it tells them from elements and comments for a third of the
    # cost of reading a tag name, once per node of the page.
    for text_node in body.traverse(include_text=True, skip_empty=True):
        text = text_node.text_content
        if text is None:
            if text_node.is_comment_node:
                comments.append(text_node)
            continue
        if not text or text.isspace():
            continue
        parent = text_node.parent
        in_link = False
        while parent is not None:
            ptag = parent.tag
            if ptag not in inline:
                break
            if ptag == "a":
                in_link = True
            parent = parent.parent
        if parent is None:
            continue
        key = parent.mem_id
        block = blocks.get(key)
        if block is None:
            block = blocks[key] = Block(parent, ptag, [], 0)
        block.parts.append(text)
        if in_link:
            block.link_chars += len(text)
    drop(comments)  # leaves, so their order does not matter
    return list(blocks.values())


def link_density(node: LexborNode) -> float:
    total = len(node.text())
    if not total:
        return 0.0
    # Selected by href in CSS so that no attribute dictionary is built per link. javascript: links are
    # script hooks rather than ways off the page; in-page anchors (footnotes, tables of contents) are
    # part of the text, so they weigh less.
    # text_lexbor() is text() (the same text nodes, decoded alike) for less: a link's text is short, and on short
    # texts text()'s fixed cost is most of it.
    links = sum(len(a.text_lexbor()) for a in node.css(_OUTBOUND_LINKS))
    anchors = sum(len(a.text_lexbor()) for a in node.css("a[href^='#']"))
    return (links + 0.3 * anchors) / total


_OUTBOUND_LINKS = "a:not([href^='#']):not([href^='javascript:'])"


def has_ancestor(node: LexborNode, tags: frozenset[str], stop: int, limit: int = 20) -> bool:
    parent = node.parent
    while parent is not None and limit > 0:
        if parent.mem_id == stop:
            return False
        if parent.tag in tags:
            return True
        parent = parent.parent
        limit -= 1
    return False
