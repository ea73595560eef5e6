"""The automatic extraction's entry point: the stages in order."""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser

from crawler.extract.auto.cleaning import clean
from crawler.extract.auto.fallback import whole_body
from crawler.extract.auto.preclean import preclean
from crawler.extract.auto.scoring import div_paragraphs, pick_top, score_blocks, siblings
from crawler.extract.auto.text import text_blocks


def extract_main(tree: LexborHTMLParser, url: str) -> str | None:
    """Inner HTML of the article's main content, boilerplate removed, or None when no article-like block
    exists.

    ``tree`` is mutated. ``url`` is accepted for future per-site hints; the result keeps relative URLs.
    """
    body = tree.body or tree.root
    if body is None:
        return None
    preclean(tree, body)
    blocks = text_blocks(body)
    para_ids = div_paragraphs(blocks)
    cands = score_blocks(blocks, para_ids)
    top = pick_top(cands, body)
    if top is None:
        return whole_body(body)
    parts = siblings(top, cands, para_ids)
    for node in parts:
        clean(node, para_ids)
    html = parts[0].inner_html or "" if len(parts) == 1 else "".join(node.html or "" for node in parts)
    return html if html.strip() else None
