"""The last resorts: a page too short to score, and the largest block of clear prose on a page with no article."""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser, LexborNode

from crawler.extract.auto.cleaning import clean
from crawler.extract.auto.text import PARAGRAPH_TAGS, SENTENCE_END_RE, drop, eff_len, link_density, text_blocks


def whole_body(body: LexborNode) -> LexborNode | None:
    """A page too short to score (a note, a stub) is all article, unless it is mostly links."""
    text = body.text(strip=True)
    if not text or link_density(body) > 0.5:
        return None
    clean(body, set())
    return body if body.child is not None else None


# The last resort's bar for "clearly prose": a long run of text (CJK characters weighing three), made of sentences,
# hardly linked. Navigation, link lists and short notices stay "no article body".
_FALLBACK_MIN_CHARS = 500
_FALLBACK_MIN_SENTENCES = 3
_FALLBACK_MAX_LINKS = 0.2
_NOT_TEXT = "script, style, noscript, template, svg, head"


def largest_prose(tree: LexborHTMLParser) -> str | None:
    """The largest block of text on a page where nothing looks like an article (the article sits in an <aside>,
    a <footer> or a heading): the container holding the most paragraph text, or the single block of loose text,
    when that is clearly prose; else None. ``tree`` is mutated (scripts and styles go)."""
    body = tree.body or tree.root
    if body is None:
        return None
    drop(body.css(_NOT_TEXT))
    totals: dict[int, tuple[LexborNode, int, list[str]]] = {}
    for block in text_blocks(body):
        text = "".join(block.parts).strip()
        if not text or block.link_chars > _FALLBACK_MAX_LINKS * len(text):
            continue
        node = block.node
        # Paragraphs count for their container, so an article of many short ones beats one long caption.
        holder = node.parent if block.tag in PARAGRAPH_TAGS and node.parent is not None else node
        _, length, texts = totals.get(holder.mem_id, (holder, 0, []))
        texts.append(text)
        totals[holder.mem_id] = (holder, length + eff_len(text), texts)
    if not totals:
        return None
    holder, length, texts = max(totals.values(), key=lambda item: item[1])
    prose = " ".join(texts)
    if length < _FALLBACK_MIN_CHARS or len(SENTENCE_END_RE.findall(prose)) < _FALLBACK_MIN_SENTENCES:
        return None
    if holder.tag in ("body", "html") or link_density(holder) > _FALLBACK_MAX_LINKS:
        return None
    return holder.inner_html or None
