"""The feed item as a signal: what no generic extractor has. The item's title names the page's headline, after which
the article starts; its teaser is text of the article, so the block that holds it is the article's.

Both are hints, never requirements: a title or teaser found nowhere on the page changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser, LexborNode

from crawler.extract.auto.scoring import Cand
from crawler.extract.auto.text import Block, eff_len

__all__ = ["FeedHint"]


@dataclass(frozen=True)
class FeedHint:
    """What the feed item says of its article: its title and its teaser (summary or first lines, text or HTML)."""

    title: str | None = None
    teaser: str | None = None


MARKER = "data-crawler-headline"
_MARKER_SELECTOR = f"[{MARKER}]"
_HEADINGS = "h1, h2, h3, [itemprop=headline]"
_HEADER_TAGS = frozenset({"header", "hgroup"})
_NON_WORD_RE = re.compile(r"\W+")
_TAG_RE = re.compile(r"<[^>]+>")
_PROBE_CHARS = 40  # word characters of the teaser looked for: enough to be unique, short enough to sit in one block
_MIN_PROBE = 15
_MIN_TITLE = 8
_TITLE_COVER = 0.6  # a heading holding a title that long a share of it ("Title - Site") is the title
_SWITCH_SHARE = 0.5  # the teaser's block must score this share of the chosen block to be chosen instead
_ANCESTORS = 6
_MAX_HEAD_SHARE = 0.2  # of the block's text, at most, may come before the headline and go


def key(text: str) -> str:
    """Text reduced to its word characters, lower-cased: markup, punctuation and spacing differ between a feed
    and its page ("it’s" / "it's", a line break inside a link)."""
    return _NON_WORD_RE.sub("", text).lower()


def title_matches(heading: str, title: str) -> bool:
    """Whether a heading's text is the item's title, give or take a site name or a kicker on one side."""
    h, t = key(heading), key(title)
    if len(h) < _MIN_TITLE or len(t) < _MIN_TITLE:
        return h == t and bool(h)
    shorter, longer = (h, t) if len(h) <= len(t) else (t, h)
    return shorter in longer and len(shorter) >= _TITLE_COVER * len(longer)


def teaser_probe(teaser: str | None) -> str | None:
    """The start of the teaser's text as a `key`, or None when too short to tell one block from another."""
    if not teaser:
        return None
    text = _TAG_RE.sub(" ", teaser) if "<" in teaser else teaser
    probe = key(text)[:_PROBE_CHARS]
    return probe if len(probe) >= _MIN_PROBE else None


def mark_headline(tree: LexborHTMLParser, body: LexborNode, hint: FeedHint | None) -> bool:
    """Put an empty marker element right after the heading that matches the item's title (after its <header>
    when it has one, since cleaning may remove that), so the article's start survives the clean-up."""
    if hint is None or not hint.title:
        return False
    for heading in body.css(_HEADINGS):
        if title_matches(heading.text(), hint.title):
            anchor = heading
            parent = heading.parent
            while parent is not None and parent.tag in _HEADER_TAGS:
                anchor, parent = parent, parent.parent
            marker = LexborHTMLParser(f"<i {MARKER}></i>").css_first("i")
            if marker is None:
                return False
            anchor.insert_after(marker)
            return True
    return False


def teaser_node(blocks: Sequence[Block], hint: FeedHint | None) -> LexborNode | None:
    """The block whose text holds the start of the item's teaser, if one does."""
    probe = teaser_probe(hint.teaser if hint else None)
    if probe is None:
        return None
    for block in blocks:
        text = "".join(block.parts)
        if eff_len(text) >= _MIN_PROBE and probe in key(text):
            return block.node
    return None


def guided_parts(
    parts: list[LexborNode], top: Cand, cands: dict[int, Cand], teaser: LexborNode | None
) -> list[LexborNode] | None:
    """The article's blocks as the teaser tells them, or None to keep the choice. Inside the chosen ``parts``, the
    teaser marks where the article starts; outside them, its block's best-scoring ancestor is the article, if it
    scores and holds at least half as much as the choice."""
    if teaser is None:
        return None
    holding = next((i for i, part in enumerate(parts) if _inside(teaser, part)), None)
    if holding is not None:
        # The article starts at its teaser: joined blocks before the one holding it are another story's.
        return parts[holding:] if holding else None
    best: Cand | None = None
    node = teaser.parent
    chosen = parts[0]
    for _ in range(_ANCESTORS):
        if node is None or node.tag in ("body", "html"):
            break
        if _inside(chosen, node):
            # An ancestor of the choice would only widen it, taking the header along: the teaser repeats the
            # standfirst there. (Adding the teaser's own paragraph was measured: it cost precision on every set.)
            return None
        cand = cands.get(node.mem_id)
        if cand is not None and (best is None or cand.score > best.score):
            best = cand
        node = node.parent
    if best is None or best.score < _SWITCH_SHARE * top.score:
        return None
    # A teaser often repeats in the page's header as a standfirst: a block that small is not the article.
    if len(best.node.text()) < _SWITCH_SHARE * sum(len(part.text()) for part in parts):
        return None
    return [best.node]


def trim_to_headline(parts: list[LexborNode]) -> None:
    """Inside the chosen block, remove what comes before the title's marker (a kicker, breadcrumbs, a date, a
    previous story's tail), keeping images; then the marker itself."""
    for part in parts:
        marker = part.css_first(_MARKER_SELECTOR)
        if marker is None:
            continue
        doomed = []
        node: LexborNode | None = marker
        while node is not None and node.mem_id != part.mem_id:
            sibling = node.prev
            while sibling is not None:
                if sibling.tag == "-text" or (sibling.text() or "").strip():
                    doomed.append(sibling)
                sibling = sibling.prev
            node = node.parent
        # A heading with the title near the end of the block is not where the article starts (a "next story"
        # teaser, a footer repeating the title): only a small head goes.
        before = sum(len(gone.text()) for gone in doomed)
        if before <= _MAX_HEAD_SHARE * len(part.text()):
            for gone in doomed:  # each a subtree of its own, none inside another
                gone.decompose()
        break
    for part in parts:
        for marker in part.css(_MARKER_SELECTOR):
            marker.decompose()


def _inside(node: LexborNode, root: LexborNode) -> bool:
    target = root.mem_id
    current: LexborNode | None = node
    while current is not None:
        if current.mem_id == target:
            return True
        current = current.parent
    return False
