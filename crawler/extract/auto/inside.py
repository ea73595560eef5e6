"""Precision inside the chosen block: the boilerplate that scoring cannot see, because it sits within the article's
own container, goes (captions outside figures, credits, bylines and datelines at the edges, share bars, related
lists, newsletter boxes, ad slots).

Two passes, each one CSS selection or one walk over the block: pieces *named* like boilerplate, then short
paragraphs whose *text* is boilerplate. Neither removes a piece holding half the block's text, so a misleading
name or an article about newsletters keeps its body. What a caption inside a ``<figure>`` says about the figure
stays; its credit goes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import NamedTuple

from selectolax.lexbor import LexborNode

from crawler.extract.auto.boilerplate import (
    NAME_MAX_CHARS,
    Kind,
    name_kind,
    related_lead,
    text_kind,
    trailing_credit,
)
from crawler.extract.auto.text import SENTENCE_END_RE, drop, eff_len, has_ancestor, text_blocks

_FIGURE = frozenset({"figure"})
_FIGCAPTION = frozenset({"figcaption"})
_FIGURE_TAGS = frozenset({"figure", "figcaption"})
_FIGURE_INSIDE = "figcaption, img, picture, video"
_IMAGE = "img, picture"
_MEDIA = "img, picture, video, audio"
# Kinds whose named block may carry an image and still go: an ad's banner, a share bar's icons, a list's thumbnails.
_MEDIA_MAY_GO = frozenset({Kind.AD, Kind.SHARE, Kind.RELATED, Kind.NEWSLETTER})
_LINK_LIST = 0.5  # link share above which a block is a list of links rather than prose
_REPEATED = 3
_REPEATED_MIN_CHARS = 10  # "1", "*" and the like repeat in real articles (steps, separators, table cells)
_PROSE_CHARS = 80  # a paragraph this long (CJK weighing three), hardly linked, is the article's own prose


def strip_boilerplate(parts: Sequence[LexborNode]) -> None:
    """Remove boilerplate inside the chosen block(s), in place. ``parts`` are the article's blocks in order."""
    total = sum(len(part.text()) for part in parts)
    for part in parts:
        _drop_named(part, total)
    _drop_by_text(parts)


def _drop_named(root: LexborNode, total: int) -> None:
    root_id = root.mem_id
    doomed = []
    for node in root.css("[class], [id]"):
        if node.mem_id == root_id:
            continue
        attrs = node.attributes
        kind = name_kind(f"{attrs.get('class') or ''} {attrs.get('id') or ''}")
        if kind is None:
            continue
        if kind is Kind.CAPTION and _is_figure_caption(node, root_id):
            continue  # a figure's own caption describes it; its credit is cut by the text pass
        chars = len(node.text().strip())
        if chars > NAME_MAX_CHARS[kind] or chars * 2 > total:
            continue
        if kind is Kind.RELATED and chars > 300 and _link_share(node, chars) < _LINK_LIST:
            continue  # a long "related" block that is prose, not a list of links
        if kind not in _MEDIA_MAY_GO and node.css_first(_MEDIA) is not None and chars < 20:
            continue  # an image named "credit-img" is the image, not its credit
        doomed.append(node)
    drop(doomed)


def _is_figure_caption(node: LexborNode, root_id: int) -> bool:
    """A caption that belongs to a figure: a <figure> or <figcaption> itself (``has-caption``), inside one, or
    a caption container holding its image or figcaption (``wp-caption``, ``media-with-caption``)."""
    if node.tag in _FIGURE_TAGS or has_ancestor(node, _FIGURE, root_id):
        return True
    if node.css_first(_FIGURE_INSIDE) is not None:
        return True
    parent = node.parent
    return parent is not None and parent.mem_id != root_id and parent.css_first(_IMAGE) is not None


class _Para(NamedTuple):
    # A NamedTuple, not a frozen dataclass: one is made per paragraph of the article, and a frozen dataclass costs
    # three times as much to make. It never leaves this module.

    node: LexborNode
    tag: str | None  # node's (see `Block.tag`)
    text: str
    links: float  # share of the text inside links
    prose: bool


def _paragraphs(parts: Sequence[LexborNode]) -> list[_Para]:
    paras = []
    for part in parts:
        for block in text_blocks(part):
            text = " ".join("".join(block.parts).split())
            if not text:
                continue
            links = min(block.link_chars / len(text), 1.0)
            # eff_len (which counts CJK characters) only where the plain length leaves it open.
            prose = links < 0.3 and (len(text) >= _PROSE_CHARS or eff_len(text) >= _PROSE_CHARS)
            paras.append(_Para(block.node, block.tag, text, links, prose))
    return paras


def _drop_by_text(parts: Sequence[LexborNode]) -> None:
    paras = _paragraphs(parts)
    prose = [i for i, para in enumerate(paras) if para.prose]
    if not prose:
        return  # nothing to tell the article's edges by
    first, last = prose[0], prose[-1]
    keep = {part.mem_id for part in parts}
    repeated = _repeated(paras)
    captions = _may_hold_captions(parts)
    doomed: list[LexborNode] = []
    following_list = False  # after a "Related" label: the links that follow it go too
    for i, para in enumerate(paras):
        node = para.node
        if para.prose and not captions and para.tag != "figcaption":
            # Prose outside a caption stays whatever its node holds (no rule below takes it), so that node's text
            # is not read: most of an article's paragraphs are decided here. (Where captions may be, telling
            # whether this is in one walks up the tree, which costs more than the read it would save.)
            following_list = False
            continue
        if node.mem_id in keep or not _holds_only(node, para.text):
            following_list = False
            continue
        if following_list and para.links > _LINK_LIST and not para.prose:
            doomed.append(node)
            continue
        following_list = False
        if para.text in repeated:
            doomed.append(node)  # a gallery's slide titles, "Continue reading the main story" again and again
            continue
        if i > last and para.links > _LINK_LIST and not para.prose:
            doomed.append(node)  # jusText's "bad" paragraph: short and linked, after the article's last prose
            continue
        in_caption = para.tag == "figcaption" or (captions and has_ancestor(node, _FIGCAPTION, node.mem_id))
        kind = text_kind(para.text, edge=i < first or i > last) if not para.prose or in_caption else None
        if kind is None and para.links > _LINK_LIST and related_lead(para.text):
            kind = Kind.RELATED
        if kind is None:
            if in_caption:
                _cut_trailing_credit(node, para.text)
            continue
        if kind is Kind.RELATED and para.links <= _LINK_LIST:
            following_list = True
        doomed.append(node)
    drop(doomed)


def _may_hold_captions(parts: Sequence[LexborNode]) -> bool:
    """Whether a <figcaption> is in the blocks or above one: without, no paragraph in them has one for an ancestor,
    and the walk up from each paragraph is saved."""
    for part in parts:
        if part.tag == "figcaption" or part.css_first("figcaption") is not None:
            return True
        parent = part.parent
        while parent is not None:
            if parent.tag == "figcaption":
                return True
            parent = parent.parent
    return False


def _repeated(paras: Sequence[_Para]) -> set[str]:
    """Short texts that occur three times or more: page furniture repeated through the article."""
    # Sentences are left out: an interview asks each guest the same questions.
    counts = Counter(
        para.text
        for para in paras
        if not para.prose and len(para.text) >= _REPEATED_MIN_CHARS and not SENTENCE_END_RE.search(para.text[-1:])
    )
    return {text for text, count in counts.items() if count >= _REPEATED}


def _holds_only(node: LexborNode, text: str) -> bool:
    # A paragraph's node is its nearest block ancestor, which may also hold other blocks (loose text beside
    # <p>s): removing it would take those along, so only a node holding nothing but this text goes.
    return len(node.text()) <= len(text) + 40


def _link_share(node: LexborNode, chars: int) -> float:
    links = sum(len(a.text_lexbor().strip()) for a in node.css("a"))  # text_lexbor: see text.link_density
    return links / chars if chars else 0.0


def _cut_trailing_credit(node: LexborNode, text: str) -> None:
    """Cut "Photograph: Jane Doe/Getty Images" off the end of a caption that otherwise describes its figure."""
    start = trailing_credit(text)
    if start is None:
        return
    excess = len(text) - start
    texts = [t for t in node.traverse(include_text=True) if t.tag == "-text"]
    for text_node in reversed(texts):
        content = text_node.text_content or ""
        stripped = content.rstrip()
        if not stripped:
            continue
        if len(stripped) <= excess:
            excess -= len(stripped)
            text_node.replace_with("")
            if excess <= 0:
                return
            excess -= 1  # the space that joined it to the text before
            continue
        text_node.replace_with(stripped[: len(stripped) - excess].rstrip())
        return
