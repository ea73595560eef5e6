"""Readability's conditional cleaning inside the chosen block: widgets, link lists, empty paragraphs go."""

from __future__ import annotations

from dataclasses import dataclass

from selectolax.lexbor import LexborNode

from crawler.extract.auto.names import class_weight
from crawler.extract.auto.scoring import MIN_PARAGRAPH
from crawler.extract.auto.text import drop, eff_len_below, has_ancestor, has_commas

_LINK_LIST_ITEMS = 8
_LINK_LIST_ITEM_CHARS = 60
_WIDGET_CHARS = 75  # a block with one embed and less text than this is the embed's wrapper


def _is_data_table(table: LexborNode) -> bool:
    attrs = table.attributes
    if attrs.get("role") == "presentation":
        return False
    if attrs.get("datatable") == "0":
        return False
    if attrs.get("summary") or table.css_first("caption, th, thead, tfoot, colgroup, col") is not None:
        return True
    if len(table.css("table")) > 1:  # Lexbor's css() includes the node itself
        return False
    rows = table.css("tr")
    if len(rows) >= 10:
        return True
    cols = max((len(r.css("td")) for r in rows[:5]), default=0)
    return cols > 4 or len(rows) * cols > 10


_FIGURE = frozenset({"figure"})
_CODE_OR_TABLE = frozenset({"code", "pre"})


_CLEAN_PARTS = "p, img, li, input, object, embed, iframe, video, a"


@dataclass
class _Parts:
    """What conditional cleaning needs to know about a block, gathered in one CSS pass."""

    p: int = 0
    img: int = 0
    li: int = 0
    li_chars: int = 0
    inputs: int = 0
    embeds: int = 0
    link_chars: float = 0.0


def _parts(node: LexborNode) -> _Parts:
    parts = _Parts()
    for el in node.css(_CLEAN_PARTS):
        tag = el.tag
        if tag == "a":
            href = el.attributes.get("href") or ""
            if not href.startswith("javascript:"):
                parts.link_chars += len(el.text_lexbor()) * (0.3 if href.startswith("#") else 1.0)
        elif tag == "p":
            parts.p += 1
        elif tag == "img":
            parts.img += 1
        elif tag == "li":
            parts.li += 1
            parts.li_chars += len(el.text())
        elif tag == "input":
            parts.inputs += 1
        else:
            parts.embeds += 1
    return parts


def _paragraphs(node: LexborNode, raw: int, para_ids: set[int]) -> int:
    # Readability turns text-only <div>s into <p>s before this test; count them as such.
    return raw + sum(1 for d in node.css("div, section, span, center, font") if d.mem_id in para_ids)


def _should_drop(node: LexborNode, root_id: int, root_chars: int, para_ids: set[int]) -> bool:
    """Readability's conditional cleaning: drop blocks that look like widgets rather than prose.

    A block holding most of the article's text is never dropped for its name alone: cleaning must
    not undo the choice of the article. Blocks inside <pre>/<code> are kept; that test walks up the
    tree, so it runs only for blocks the other rules would drop.
    """
    tag = node.tag
    text = node.text()
    weight = class_weight(node)
    if weight < 0:
        return len(text) * 2 <= root_chars
    if tag == "table" and _is_data_table(node):
        return False
    if has_commas(text, 10):
        return False
    return _looks_like_widget(node, tag or "", weight, text, root_id, para_ids) and not has_ancestor(
        node, _CODE_OR_TABLE, root_id
    )


def _looks_like_widget(
    node: LexborNode,
    tag: str,
    weight: int,
    text: str,
    root_id: int,
    para_ids: set[int],
) -> bool:
    n = _parts(node)
    length = eff_len_below(text.strip(), _WIDGET_CHARS)  # compared with nothing above that
    is_list = tag in ("ul", "ol") or (length > 0 and n.li_chars / len(text) > 0.9)
    p = n.p
    in_figure: bool | None = None  # computed on first need
    if (n.img > 1 and p / n.img < 0.5) or (not is_list and n.li - 100 > p) or n.inputs > p // 3:
        p = _paragraphs(node, p, para_ids)
        if n.img > 1 and p / n.img < 0.5:
            in_figure = has_ancestor(node, _FIGURE, root_id)
            if not in_figure:
                return True
        if not is_list and n.li - 100 > p:
            return True
        if n.inputs > p // 3:
            return True
    if not is_list and length < MIN_PARAGRAPH and (n.img == 0 or n.img > 2):
        heading = sum(len(h.text()) for h in node.css("h1, h2, h3, h4, h5, h6"))
        if (not length or heading / max(len(text), 1) < 0.9) and not (
            in_figure if in_figure is not None else has_ancestor(node, _FIGURE, root_id)
        ):
            return True
    ld = n.link_chars / len(text) if text else 0.0
    if not is_list and weight < 25 and ld > 0.2:
        return True
    if weight >= 25 and ld > 0.5:
        return True
    if is_list and ld > 0.9 and n.li >= _LINK_LIST_ITEMS and n.li_chars / n.li < _LINK_LIST_ITEM_CHARS:
        return True  # a list of short links (related stories, tags), not one with prose between links
    return (n.embeds == 1 and length < _WIDGET_CHARS) or n.embeds > 1


_DEPTH_CHECK_ABOVE = 400  # below this many containers even a single deep chain costs little
_MAX_CLEAN_DEPTH = 60


def _shallow(root: LexborNode, nodes: list[LexborNode]) -> list[LexborNode]:
    """The nodes at most _MAX_CLEAN_DEPTH levels below root.

    Each conditional-cleaning test reads its whole subtree, so testing every level of a 100,000-deep
    chain would be quadratic; deeper nodes are still judged as part of their shallower ancestors.
    """
    if len(nodes) <= _DEPTH_CHECK_ABOVE:
        return nodes
    depth = {root.mem_id: 0}
    for node in root.traverse():
        parent = node.parent
        if parent is not None and parent.mem_id in depth:
            depth[node.mem_id] = depth[parent.mem_id] + 1
    return [n for n in nodes if depth.get(n.mem_id, _MAX_CLEAN_DEPTH + 1) <= _MAX_CLEAN_DEPTH]


def clean(root: LexborNode, para_ids: set[int]) -> None:
    root_id = root.mem_id
    root_chars = len(root.text())
    nodes = _shallow(root, root.css("form, fieldset, table, ul, ol, div, section"))
    # Reverse document order: inner widgets go first, so outer blocks are judged on what remains.
    for node in reversed(nodes):
        # css() above includes root itself, which is kept whatever it looks like.
        if node.parent is None or node.mem_id in para_ids or node.mem_id == root_id:
            continue
        if _should_drop(node, root_id, root_chars, para_ids):
            node.decompose()
    drop(n for n in root.css("p") if _is_empty_paragraph(n))


def _is_empty_paragraph(node: LexborNode) -> bool:
    # text_lexbor() is text() for less on a paragraph's short text.
    return not node.text_lexbor().strip() and node.css_first("img, picture, video, iframe") is None
