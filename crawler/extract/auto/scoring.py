"""Choosing the article: paragraph scores propagated to ancestors, link density, the climb, sibling joins."""

from __future__ import annotations

from dataclasses import dataclass

from selectolax.lexbor import LexborNode

from crawler.extract.auto.names import class_weight
from crawler.extract.auto.text import (
    BLOCK_TAGS,
    CONTAINER_TAGS,
    PARAGRAPH_TAGS,
    SENTENCE_END_RE,
    Block,
    commas,
    eff_len_below,
    link_density,
    tag_set,
)

_TAG_BASE = {
    **dict.fromkeys(tag_set("article"), 8),
    **dict.fromkeys(tag_set("div main"), 5),
    **dict.fromkeys(tag_set("section pre td blockquote"), 3),
    **dict.fromkeys(tag_set("body"), 0),
    **dict.fromkeys(tag_set("address ol ul dl dd dt li form"), -3),
    **dict.fromkeys(tag_set("h1 h2 h3 h4 h5 h6 th"), -5),
}


MIN_PARAGRAPH = 25
_LENGTH_POINTS = 3  # a paragraph scores a point per 100 characters, up to this many
_TOP_CANDIDATES = 5
_RANKED = 12  # candidates whose link density is measured
_MINOR_SHARE = 0.25
_SIBLING_TEXT = 5.0
_CLIMB_SHARE = 0.8
_SHORT_SENTENCE = 80  # a sibling paragraph up to this long joins when it is one unlinked sentence
_LEVELS = 5  # a paragraph's score goes to the node it starts from and this many levels in all


@dataclass
class Cand:
    node: LexborNode
    score: float
    base: float = 0.0  # the tag and class/id part of the score, before any text was counted


# Text directly in these does not make a paragraph to score (list items, captions, the title).
_UNSCORED = tag_set("li dd dt th ul ol dl h1 figcaption caption title html head option")


def score_blocks(blocks: list[Block], para_ids: set[int]) -> dict[int, Cand]:
    cands: dict[int, Cand] = {}
    # The candidates a score goes to, by the node it starts from: the paragraphs of one container share them, and
    # each step up costs a node object and a tag read, so each start is walked up once.
    chains: dict[int, list[Cand]] = {}
    for block in blocks:
        # The tests that skip a block are ordered cheapest first (each only skips, so the order is free): most
        # blocks of a portal are a few linked words.
        text = "".join(block.parts).strip()
        raw = len(text)
        if raw * 3 < MIN_PARAGRAPH:  # eff_len counts a character three times at most
            continue
        link_ratio = min(block.link_chars / raw, 1.0)
        if link_ratio > 0.5:
            continue
        node = block.node
        tag = block.tag or ""
        if tag in _UNSCORED:
            continue
        length = eff_len_below(text, _LENGTH_POINTS * 100)  # compared with nothing above that
        if length < MIN_PARAGRAPH:
            continue
        score = (1 + commas(text) + min(length // 100, _LENGTH_POINTS)) * (1 - link_ratio)
        # Paragraphs, and containers holding only inline content (Readability turns those into <p>),
        # score their parent; a container with loose text beside blocks scores itself, like
        # Readability's wrapped text runs.
        start = node.parent if tag in PARAGRAPH_TAGS or node.mem_id in para_ids else node
        if start is None:
            continue
        chain = chains.get(start.mem_id)
        if chain is None:
            chain = chains[start.mem_id] = _chain(start, cands)
        for level, cand in enumerate(chain):
            divider = 1 if level == 0 else 2 if level == 1 else level * 3
            cand.score += score / divider
    return cands


def _chain(start: LexborNode, cands: dict[int, Cand]) -> list[Cand]:
    """The candidates for ``start`` and up to four of its ancestors, below <html>; made on first need."""
    chain: list[Cand] = []
    anc: LexborNode | None = start
    while anc is not None and len(chain) < _LEVELS:
        atag = anc.tag
        if atag is None or atag in ("html", "#document", "-undef"):
            break
        key = anc.mem_id
        cand = cands.get(key)
        if cand is None:
            base = _TAG_BASE.get(atag, 0) + class_weight(anc)
            cand = cands[key] = Cand(anc, base, base)
        chain.append(cand)
        anc = anc.parent
    return chain


def pick_top(cands: dict[int, Cand], body: LexborNode) -> Cand | None:
    if not cands:
        return None
    ranked = []
    best = 0.0
    for cand in sorted(cands.values(), key=lambda c: c.score, reverse=True)[:_RANKED]:
        # Link density only lowers a score, and nothing below a quarter of the best final score takes
        # part in any later rule, so candidates past that bound need no (costly) density.
        if cand.score < _MINOR_SHARE * best:
            break
        cand.score *= 1 - link_density(cand.node)
        best = max(best, cand.score)
        ranked.append(cand)
    ranked.sort(key=lambda c: c.score, reverse=True)
    top = ranked[0]
    if top.node.tag == "body":
        return top
    top = _common_ancestor(top, ranked[1:], cands) or top
    return _climb(top, cands, body)


def _ancestor_ids(node: LexborNode, limit: int = 50) -> list[int]:
    ids: list[int] = []
    parent = node.parent
    while parent is not None and len(ids) < limit:
        ids.append(parent.mem_id)
        parent = parent.parent
    return ids


def _common_ancestor(top: Cand, others: list[Cand], cands: dict[int, Cand]) -> Cand | None:
    """The container of an article split into several blocks, when the ranking shows one.

    Two cases: several near-equal candidates (Readability's rule), or repeated chunks carrying the
    same class as the top candidate (``body__inner-container`` x 3 on Wired-style pages).
    """
    close = [c for c in others[: _TOP_CANDIDATES - 1] if c.score >= 0.75 * top.score]
    top_class = top.node.attributes.get("class")
    chunks = [
        c
        for c in others
        if top_class and c.score >= _MINOR_SHARE * top.score and c.node.attributes.get("class") == top_class
    ]
    group, needed = (chunks, len(chunks)) if chunks else (close, 3)
    if len(group) < needed or not group:
        return None
    id_sets = [set(_ancestor_ids(c.node)) for c in group]
    parent = top.node.parent
    while parent is not None and parent.tag not in ("body", "html"):
        pid = parent.mem_id
        if sum(1 for ids in id_sets if pid in ids) >= needed:
            return cands.get(pid) or Cand(parent, 0.0)
        parent = parent.parent
    return None


def _climb(top: Cand, cands: dict[int, Cand], body: LexborNode) -> Cand:
    parent = top.node.parent
    best = last = top.score
    threshold = best / 3
    # Walk up while ancestors keep a fair share of the score; an ancestor that outscores the candidate
    # holds more of the article. (Readability compares with the previous ancestor instead, which on
    # portal pages jumps from the article to the whole column.)
    while parent is not None and parent.tag not in ("body", "html"):
        pc = cands.get(parent.mem_id)
        if pc is None:
            parent = parent.parent
            continue
        if pc.score < threshold:
            break
        if pc.score > max(last, best * _CLIMB_SHARE):
            top = pc
            break
        last = pc.score
        parent = parent.parent
    # A lone child carries nothing its parent does not; widen to the parent so siblings can join.
    node = top.node
    while True:
        parent = node.parent
        if parent is None or parent.tag in ("body", "html"):
            break
        if sum(1 for _ in parent.iter()) != 1:
            break
        node = parent
    if node.mem_id != top.node.mem_id:
        top = cands.get(node.mem_id) or Cand(node, top.score)
    return top


def siblings(top: Cand, cands: dict[int, Cand], para_ids: set[int]) -> list[LexborNode]:
    parent = top.node.parent
    if parent is None or top.node.tag == "body":
        return [top.node]
    threshold = max(10.0, top.score * 0.2)
    top_class = top.node.attributes.get("class") or ""
    top_id = top.node.mem_id
    chosen = []
    for sib in parent.iter():
        if sib.mem_id == top_id:
            chosen.append(sib)
            continue
        cand = cands.get(sib.mem_id)
        bonus = top.score * 0.2 if top_class and sib.attributes.get("class") == top_class else 0.0
        # A sibling must bring text of its own: a name like "article__info" alone scores 25.
        if cand is not None and cand.score + bonus >= threshold and cand.score - cand.base >= _SIBLING_TEXT:
            chosen.append(sib)
        elif sib.tag == "p" or sib.mem_id in para_ids:
            text = sib.text().strip()
            length = eff_len_below(text, _SHORT_SENTENCE + 1)  # compared with nothing above that
            ld = link_density(sib)
            long_prose = length > _SHORT_SENTENCE and ld < 0.25
            short_sentence = 0 < length <= _SHORT_SENTENCE and ld == 0 and SENTENCE_END_RE.search(text)
            if long_prose or short_sentence:
                chosen.append(sib)
    return chosen


def div_paragraphs(blocks: list[Block]) -> set[int]:
    """Containers holding only inline content: Readability rewrites these <div>s to <p>s, so cleaning
    treats them as paragraphs (kept, and counted as prose when judging their parent)."""
    return {b.node.mem_id for b in blocks if b.tag in CONTAINER_TAGS and not _has_block_inside(b.node)}


def _has_block_inside(node: LexborNode) -> bool:
    # Direct children only: a block hidden inside an inline child (<a><div>) is rare enough, and a
    # subtree search per paragraph would cost more than all the scoring.
    return any(child.tag in BLOCK_TAGS for child in node.iter())
