"""The automatic extraction's entry points: the stages in order."""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser, LexborNode

from crawler.extract.auto.cleaning import clean
from crawler.extract.auto.fallback import whole_body
from crawler.extract.auto.guide import FeedHint, guided_parts, mark_headline, teaser_node, trim_to_headline
from crawler.extract.auto.inside import strip_boilerplate
from crawler.extract.auto.preclean import preclean
from crawler.extract.auto.scoring import div_paragraphs, pick_top, score_blocks, siblings
from crawler.extract.auto.text import text_blocks


def main_nodes(tree: LexborHTMLParser, url: str, hint: FeedHint | None = None) -> list[LexborNode] | None:
    """The article's main content as nodes of ``tree``, boilerplate removed, in document order (see `main_html`
    for what they stand for), or None when no article-like block exists.

    ``tree`` is mutated; the nodes stay in it. ``hint``, the feed item's title and teaser, guides the choice
    when given. ``url`` is accepted for future per-site hints.
    """
    body = tree.body or tree.root
    if body is None:
        return None
    marked = mark_headline(tree, body, hint)
    preclean(tree, body)
    blocks = text_blocks(body)
    para_ids = div_paragraphs(blocks)
    cands = score_blocks(blocks, para_ids)
    top = pick_top(cands, body)
    if top is None:
        whole = whole_body(body)
        return [whole] if whole is not None else None
    parts = siblings(top, cands, para_ids)
    parts = guided_parts(parts, top, cands, teaser_node(blocks, hint)) or parts
    for node in parts:
        clean(node, para_ids)
    if marked:
        trim_to_headline(parts)
    strip_boilerplate(parts)
    return parts


def main_html(nodes: list[LexborNode]) -> str:
    """The HTML `main_nodes` stands for: one node's inner HTML, or several nodes' outer HTML in order."""
    return nodes[0].inner_html or "" if len(nodes) == 1 else "".join(node.html or "" for node in nodes)


def extract_main(tree: LexborHTMLParser, url: str, hint: FeedHint | None = None) -> str | None:
    """Inner HTML of the article's main content, boilerplate removed, or None when no article-like block
    exists.

    ``tree`` is mutated. ``hint`` (the feed item's title and teaser) guides the choice when given; ``url`` is
    accepted for future per-site hints; the result keeps relative URLs.
    """
    nodes = main_nodes(tree, url, hint)
    html = main_html(nodes) if nodes else ""
    return html if html.strip() else None
