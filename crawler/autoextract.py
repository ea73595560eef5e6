"""Automatic main-content extraction. Interim version: the block with the most paragraph text."""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser

_BOILERPLATE = "nav, header, footer, aside, script, style, noscript, form, iframe"


def extract_main(tree: LexborHTMLParser, url: str) -> str | None:
    """Inner HTML of the element holding the most paragraph text, or None when no article-like block exists."""
    for node in tree.css(_BOILERPLATE):
        node.decompose()
    scores: dict[int, float] = {}
    nodes = {}
    for paragraph in tree.css("p"):
        length = len(paragraph.text(strip=True))
        parent = paragraph.parent
        if parent is None or length < 20:
            continue
        scores[parent.mem_id] = scores.get(parent.mem_id, 0.0) + length
        nodes[parent.mem_id] = parent
    if not scores:
        return None
    best = max(scores, key=lambda key: scores[key])
    return nodes[best].inner_html
