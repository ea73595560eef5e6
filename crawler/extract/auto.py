"""Automatic main-content extraction for pages without a configured selector.

The approach borrows ideas from Readability (paragraph scores propagated to ancestors, class/id hints,
conditional cleaning), jusText (paragraphs = text grouped by nearest block ancestor, link density) and GNE
(text density is a strong signal for Chinese news pages), implemented directly on selectolax/Lexbor.

Speed matters: the heavy lifting is done by Lexbor (CSS selection, ``text()``, serialisation) and every
Python loop is linear in the number of nodes. Nothing recurses in Python, so pathologically deep pages are
safe. Removal always goes through :func:`_drop`, which removes descendants before ancestors so that no
Python handle ever points into a freed subtree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeAlias

from selectolax.lexbor import LexborHTMLParser, LexborNode

__all__ = ["extract_main", "largest_prose", "main_html", "main_nodes"]


def _names(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Never part of an article body; removed before scoring.
_JUNK_TAGS = _names(
    "script style noscript template svg iframe object embed canvas nav aside footer button input "
    "select textarea link meta dialog"
)
_PROSE_JUNK = frozenset({"nav", "aside", "footer", "dialog", "template", "noscript"})
_UNLIKELY_ROLES = _names(
    "navigation complementary dialog alertdialog menu menubar banner contentinfo search alert",
)


_Trie: TypeAlias = dict[str, "_Trie"]


def _trie_pattern(words: str) -> str:
    """One regex alternation as a character trie: Python's re tries every branch of a flat alternation at
    every position, which made these class/id tests the hot spot of the whole extractor."""
    trie: _Trie = {}
    for word in words.split():
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}  # end of a word
    # Iterative post-order build (no recursion, per the house rule).
    built: dict[int, str] = {}
    stack: list[tuple[_Trie, bool]] = [(trie, False)]
    while stack:
        node, children_done = stack.pop()
        if not children_done:
            stack.append((node, True))
            stack.extend((child, False) for key, child in node.items() if key)
            continue
        branches = [re.escape(key) + built[id(child)] for key, child in sorted(node.items()) if key]
        optional = "" in node
        if not branches:
            built[id(node)] = ""
        elif len(branches) == 1 and not optional:
            built[id(node)] = branches[0]
        else:
            built[id(node)] = "(?:" + "|".join(branches) + ")" + ("?" if optional else "")
    return built[id(trie)]


# Class/id fragments of blocks that are almost never the article, in two tiers. Strict: Readability's
# list, removed whatever their size unless that would leave the page without prose. Widget: share bars,
# newsletter and cookie boxes, and the names Chinese portals use for QR codes and rankings; these names
# also occur on real content ("sharing-with-a-team" sections), so only small blocks go.
# Hints are lower-cased before matching.
_STRICT_RE = re.compile(
    _trie_pattern(
        "-ad- ai2html banner breadcrumb combx comment community cover-wrap disqus extra footer "
        "gdpr header legends menu related remark replies rss shoutbox sidebar skyscraper social sponsor "
        "supplemental ad-break agegate pagination pager popup yom-remote"
    )
)
_WIDGET_RE = re.compile(
    _trie_pattern(
        "adsbygoogle cookie consent newsletter subscribe signup share sharing toolbar qrcode qr-code _qr "
        "recommend hotnews hot-news breaking ranking paging copyright feedback login modal overlay tooltip "
        "masthead navbar topbar bottombar promo outbrain taboola zergnet byline dateline writtenby p-author "
        "author-info keywords statement disclaimer"
    )
    + r"|(?:^|\s)(?:ads?|ad-\S*|tags?)(?:\s|$)|-ads?(?:\s|$)"
)
_WIDGET_MAX_CHARS = 500
_MIN_PROSE_LEFT = 500
_HINT_BUDGET = 300  # size checks per page; nested hinted wrappers would make them quadratic
# Overrides for the list above: "article-header-comment" must not kill the article wrapper.
_MAYBE_RE = re.compile(
    _trie_pattern("and article body column content main mathjax shadow entry post-text story"),
)
_POSITIVE_RE = re.compile(
    _trie_pattern(
        "article body content entry hentry h-entry main page post text blog story detail artic zhengwen "
        "neirong endtext cont"
    )
)
_NEGATIVE_RE = re.compile(
    _trie_pattern(
        "-ad- hidden banner combx comment com- contact footer gdpr masthead media meta outbrain promo "
        "related "
        "scroll share shoutbox sidebar skyscraper sponsor shopping tags widget recommend hotnews hot-news "
        "hot_news ranking navbar nav- -nav _nav qrcode qr-code qr_code "
        "copyright statement disclaimer"
    )
    + r"|(?:^|\s)hid(?:\s|$)"
)
# Everything _preclean looks at, in one selector. Class/id hints are only tested on containers: a hint
# on an inline element hides at most a few words and testing every <a class> costs more than it saves.
_PRECLEAN_SELECTOR = (
    ", ".join(sorted(_JUNK_TAGS))
    # Each selector of the list costs a test per element, so roles are told apart in Python.
    + ", h1, h2, [hidden], [aria-hidden=true], [role], [style*=none i], [style*=hidden i], [rel=author], "
    "[itemprop~=author], p, "
    ":is(div, section, ul, header):is([class], [id])"
)


# Tags that continue a paragraph rather than start a new one.
_INLINE = _names(
    "a span b strong em i u font sup sub small big code abbr cite q mark label time s strike del "
    "ins tt kbd var dfn bdi bdo wbr br img picture source data ruby rt rp nobr center"
)
_BLOCK_TAGS = _names(
    "address article aside blockquote dd div dl dt fieldset figure footer form h1 h2 h3 h4 h5 h6 "
    "header hr li main ol p pre section table ul"
)
# Readability's starting scores by tag: containers likely, lists and headings unlikely to be the article.
_TAG_BASE = {
    **dict.fromkeys(_names("article"), 8),
    **dict.fromkeys(_names("div main"), 5),
    **dict.fromkeys(_names("section pre td blockquote"), 3),
    **dict.fromkeys(_names("body"), 0),
    **dict.fromkeys(_names("address ol ul dl dd dt li form"), -3),
    **dict.fromkeys(_names("h1 h2 h3 h4 h5 h6 th"), -5),
}
# Readability's comma set, which includes the fullwidth and ideographic commas used in CJK text.
_COMMA_RE = re.compile("[,\u060c\ufe50\ufe10\ufe11\u2e41\u2e34\u2e32\uff0c\u3001]")
_CJK_RE = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")
_SENTENCE_END_RE = re.compile(r"[.!?](\s|$)|[。！？]")
_WS_RE = re.compile(r"\s+")

_MIN_PARAGRAPH = 25
_TOP_CANDIDATES = 5
_RANKED = 12  # candidates whose link density is measured
_MINOR_SHARE = 0.25
_SIBLING_TEXT = 5.0
_CLIMB_SHARE = 0.8
_LINK_LIST_ITEMS = 8
_LINK_LIST_ITEM_CHARS = 60


@dataclass
class _Cand:
    node: LexborNode
    score: float
    base: float = 0.0  # the tag and class/id part of the score, before any text was counted


def _eff_len(text: str) -> int:
    """Length with CJK characters counted three times: one ideograph carries about a word."""
    if text.isascii():
        return len(text)
    return len(text) + 2 * len(_CJK_RE.findall(text))


def _commas(text: str) -> int:
    if text.isascii():
        return text.count(",")
    return len(_COMMA_RE.findall(text))


def _drop(nodes: Iterable[LexborNode]) -> None:
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
# extractor, so verdicts are memoised per attribute value (bounded, so hostile pages cannot grow it forever).
_CACHE_LIMIT = 50_000
_weight_cache: dict[str, int] = {}
_unlikely_cache: dict[str, int] = {}


def _value_weight(value: str) -> int:
    weight = _weight_cache.get(value)
    if weight is None:
        low = value.lower()
        weight = (25 if _POSITIVE_RE.search(low) else 0) - (25 if _NEGATIVE_RE.search(low) else 0)
        if len(_weight_cache) > _CACHE_LIMIT:
            _weight_cache.clear()
        _weight_cache[value] = weight
    return weight


def _class_weight(node: LexborNode) -> int:
    attrs = node.attributes
    cls, ident = attrs.get("class"), attrs.get("id")
    return (_value_weight(cls) if cls else 0) + (_value_weight(ident) if ident else 0)


def _unlikely(hint: str) -> int:
    """0: no verdict, 1: strict boilerplate name, 2: widget name (see _STRICT_RE / _WIDGET_RE)."""
    verdict = _unlikely_cache.get(hint)
    if verdict is None:
        low = hint.lower()
        verdict = 0
        if not _MAYBE_RE.search(low):
            verdict = 1 if _STRICT_RE.search(low) else 2 if _WIDGET_RE.search(low) else 0
        if len(_unlikely_cache) > _CACHE_LIMIT:
            _unlikely_cache.clear()
        _unlikely_cache[hint] = verdict
    return verdict


def _prose_chars(node: LexborNode) -> int:
    return sum(len(p.text()) for p in node.css("p"))


def _page_titles(tree: LexborHTMLParser) -> list[str]:
    titles = []
    head_title = tree.css_first("title")
    if head_title is not None:
        titles.append(_fold(head_title.text()))
    og = tree.css_first("meta[property='og:title']")
    if og is not None:
        titles.append(_fold(og.attributes.get("content") or ""))
    return [t for t in titles if t]


def _is_hidden(attrs: dict[str, str | None]) -> bool:
    if "hidden" in attrs or attrs.get("aria-hidden") == "true":
        return True
    role = attrs.get("role")
    if role and role.lower() in _UNLIKELY_ROLES:
        return True
    style = attrs.get("style")
    if style and ("none" in style or "hidden" in style):
        folded = style.replace(" ", "").lower()
        return "display:none" in folded or "visibility:hidden" in folded
    return False


def _preclean(tree: LexborHTMLParser, body: LexborNode) -> None:
    """Drop non-content elements, hidden blocks, blocks named like boilerplate and title headings.

    One CSS pass over the body serves all four tests: every full-tree selection costs about as much as
    the rest of a step, so they are merged and told apart here. Nothing is removed before the end of
    the pass, so every handle stays valid.
    """
    titles: list[str] | None = None  # read on the first <h2>; many pages have none
    # (position in the pass, node): _drop needs document order, and strict-tier nodes are decided last.
    doomed: list[tuple[int, LexborNode]] = []
    strict: list[tuple[int, LexborNode, int]] = []  # boilerplate-named blocks and their text length
    prose_junk: list[LexborNode] = []
    prose = 0  # characters in <p>, the measure of "the page's prose"
    budget = _HINT_BUDGET
    last = -1
    for pos, node in enumerate(body.css(_PRECLEAN_SELECTOR)):
        # An element matching several selectors of the list comes back once per selector, in a row.
        key = node.mem_id
        if key == last:
            continue
        last = key
        tag = node.tag or ""
        if tag == "p":
            prose += len(node.text())  # hidden ones are subtracted with the junk below
        if tag in _JUNK_TAGS:
            doomed.append((pos, node))
            if tag in _PROSE_JUNK:
                prose_junk.append(node)
            continue
        if tag == "h1":
            doomed.append((pos, node))  # the title is metadata, not body text
            continue
        if tag == "h2":
            if titles is None:
                titles = _page_titles(tree)
            text = _fold(node.text())
            if text and any(text in t or t in text for t in titles):
                doomed.append((pos, node))
            continue
        attrs = node.attributes
        # Most elements here are containers carrying just a class and/or an id; only other attributes
        # can make one hidden or a byline, so those tests are skipped for the rest.
        if len(attrs) > ("class" in attrs) + ("id" in attrs):
            if _is_hidden(attrs):
                doomed.append((pos, node))
                prose_junk.append(node)
                continue
            if attrs.get("rel") == "author" or "author" in (attrs.get("itemprop") or ""):
                if len(node.text()) < 100:
                    doomed.append((pos, node))
                continue
        if tag in ("td", "tr", "tbody", "table", "p"):
            continue
        verdict = _unlikely(f"{attrs.get('class') or ''} {attrs.get('id') or ''}")
        if not verdict or budget <= 0:
            continue
        budget -= 1
        if verdict == 2:
            if len(node.text()) < _WIDGET_MAX_CHARS:
                doomed.append((pos, node))
        else:
            strict.append((pos, node, len(node.text())))
    if strict:
        # Readability retries without this removal when the article comes out too short; asking up
        # front whether the block holds most of the page's prose, and too much to lose, gets the same
        # answer in one pass. Text length bounds the prose inside, which saves most prose counts.
        prose -= sum(_prose_chars(node) for node in prose_junk)
        for pos, node, chars in strict:
            if chars * 2 < prose:
                doomed.append((pos, node))
                continue
            inside = _prose_chars(node)
            if prose - inside >= _MIN_PROSE_LEFT or inside * 2 < prose:
                doomed.append((pos, node))
        doomed.sort(key=lambda item: item[0])
    _drop(node for _, node in doomed)


def _fold(text: str) -> str:
    return _WS_RE.sub(" ", text).strip().lower()


@dataclass
class _Block:
    """Text grouped under its nearest block-level ancestor (one "paragraph" in the jusText sense)."""

    node: LexborNode
    parts: list[str]
    link_chars: int


def _blocks(body: LexborNode) -> list[_Block]:
    """Every text node, attached to its nearest non-inline ancestor, in one iterative walk.

    HTML comments met on the way are removed, as they have no place in the clean result.
    """
    blocks: dict[int, _Block] = {}
    comments = []
    inline = _INLINE  # a local: this loop runs once per text node of the page
    for text_node in body.traverse(include_text=True, skip_empty=True):
        tag = text_node.tag
        if tag != "-text":
            if tag == "-comment":
                comments.append(text_node)
            continue
        text = text_node.text_content
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
            block = blocks[key] = _Block(parent, [], 0)
        block.parts.append(text)
        if in_link:
            block.link_chars += len(text)
    _drop(comments)  # leaves, so their order does not matter
    return list(blocks.values())


_PARAGRAPH_TAGS = frozenset({"p", "pre", "td", "blockquote", "h2", "h3", "h4", "h5", "h6", "section", "font"})
_CONTAINER_TAGS = frozenset({"div", "section", "article", "main", "td", "body", "center", "span"})
# Text directly in these does not make a paragraph to score (list items, captions, the title).
_UNSCORED = _names("li dd dt th ul ol dl h1 figcaption caption title html head option")


def _score_blocks(blocks: list[_Block], para_ids: set[int]) -> dict[int, _Cand]:
    cands: dict[int, _Cand] = {}
    for block in blocks:
        node = block.node
        tag = node.tag or ""
        if tag in _UNSCORED:
            continue
        text = "".join(block.parts).strip()
        length = _eff_len(text)
        if length < _MIN_PARAGRAPH:
            continue
        raw = len(text) or 1
        link_ratio = min(block.link_chars / raw, 1.0)
        if link_ratio > 0.5:
            continue
        score = (1 + _commas(text) + min(length // 100, 3)) * (1 - link_ratio)
        # Paragraphs, and containers holding only inline content (Readability turns those into <p>),
        # score their parent; a container with loose text beside blocks scores itself, like
        # Readability's wrapped text runs.
        start = node.parent if tag in _PARAGRAPH_TAGS or node.mem_id in para_ids else node
        level = 0
        anc = start
        while anc is not None and level < 5:
            atag = anc.tag
            if atag is None or atag in ("html", "#document", "-undef"):
                break
            key = anc.mem_id
            cand = cands.get(key)
            if cand is None:
                base = _TAG_BASE.get(atag, 0) + _class_weight(anc)
                cand = cands[key] = _Cand(anc, base, base)
            divider = 1 if level == 0 else 2 if level == 1 else level * 3
            cand.score += score / divider
            anc = anc.parent
            level += 1
    return cands


def _link_density(node: LexborNode) -> float:
    total = len(node.text())
    if not total:
        return 0.0
    # Selected by href in CSS so that no attribute dictionary is built per link. javascript: links are
    # script hooks rather than ways off the page; in-page anchors (footnotes, tables of contents) are
    # part of the text, so they weigh less.
    links = sum(len(a.text()) for a in node.css(_OUTBOUND_LINKS))
    anchors = sum(len(a.text()) for a in node.css("a[href^='#']"))
    return (links + 0.3 * anchors) / total


_OUTBOUND_LINKS = "a:not([href^='#']):not([href^='javascript:'])"


def _pick_top(cands: dict[int, _Cand], body: LexborNode) -> _Cand | None:
    if not cands:
        return None
    ranked = []
    best = 0.0
    for cand in sorted(cands.values(), key=lambda c: c.score, reverse=True)[:_RANKED]:
        # Link density only lowers a score, and nothing below a quarter of the best final score takes
        # part in any later rule, so candidates past that bound need no (costly) density.
        if cand.score < _MINOR_SHARE * best:
            break
        cand.score *= 1 - _link_density(cand.node)
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


def _common_ancestor(top: _Cand, others: list[_Cand], cands: dict[int, _Cand]) -> _Cand | None:
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
            return cands.get(pid) or _Cand(parent, 0.0)
        parent = parent.parent
    return None


def _climb(top: _Cand, cands: dict[int, _Cand], body: LexborNode) -> _Cand:
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
        top = cands.get(node.mem_id) or _Cand(node, top.score)
    return top


def _siblings(top: _Cand, cands: dict[int, _Cand], para_ids: set[int]) -> list[LexborNode]:
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
            length = _eff_len(text)
            ld = _link_density(sib)
            long_prose = length > 80 and ld < 0.25
            short_sentence = 0 < length <= 80 and ld == 0 and _SENTENCE_END_RE.search(text)
            if long_prose or short_sentence:
                chosen.append(sib)
    return chosen


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


def _has_ancestor(node: LexborNode, tags: frozenset[str], stop: int, limit: int = 20) -> bool:
    parent = node.parent
    while parent is not None and limit > 0:
        if parent.mem_id == stop:
            return False
        if parent.tag in tags:
            return True
        parent = parent.parent
        limit -= 1
    return False


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
                parts.link_chars += len(el.text()) * (0.3 if href.startswith("#") else 1.0)
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
    weight = _class_weight(node)
    if weight < 0:
        return len(text) * 2 <= root_chars
    if tag == "table" and _is_data_table(node):
        return False
    if _commas(text) >= 10:
        return False
    return _looks_like_widget(node, tag or "", weight, text, root_id, para_ids) and not _has_ancestor(
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
    length = _eff_len(text.strip())
    is_list = tag in ("ul", "ol") or (length > 0 and n.li_chars / len(text) > 0.9)
    p = n.p
    in_figure: bool | None = None  # computed on first need
    if (n.img > 1 and p / n.img < 0.5) or (not is_list and n.li - 100 > p) or n.inputs > p // 3:
        p = _paragraphs(node, p, para_ids)
        if n.img > 1 and p / n.img < 0.5:
            in_figure = _has_ancestor(node, _FIGURE, root_id)
            if not in_figure:
                return True
        if not is_list and n.li - 100 > p:
            return True
        if n.inputs > p // 3:
            return True
    if not is_list and length < _MIN_PARAGRAPH and (n.img == 0 or n.img > 2):
        heading = sum(len(h.text()) for h in node.css("h1, h2, h3, h4, h5, h6"))
        if (not length or heading / max(len(text), 1) < 0.9) and not (
            in_figure if in_figure is not None else _has_ancestor(node, _FIGURE, root_id)
        ):
            return True
    ld = n.link_chars / len(text) if text else 0.0
    if not is_list and weight < 25 and ld > 0.2:
        return True
    if weight >= 25 and ld > 0.5:
        return True
    if is_list and ld > 0.9 and n.li >= _LINK_LIST_ITEMS and n.li_chars / n.li < _LINK_LIST_ITEM_CHARS:
        return True  # a list of short links (related stories, tags), not one with prose between links
    return (n.embeds == 1 and length < 75) or n.embeds > 1


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


def _clean(root: LexborNode, para_ids: set[int]) -> None:
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
    _drop(n for n in root.css("p") if _is_empty_paragraph(n))


def _is_empty_paragraph(node: LexborNode) -> bool:
    return not node.text().strip() and node.css_first("img, picture, video, iframe") is None


def _div_paragraphs(blocks: list[_Block]) -> set[int]:
    """Containers holding only inline content: Readability rewrites these <div>s to <p>s, so cleaning
    treats them as paragraphs (kept, and counted as prose when judging their parent)."""
    return {b.node.mem_id for b in blocks if b.node.tag in _CONTAINER_TAGS and not _has_block_inside(b.node)}


def _has_block_inside(node: LexborNode) -> bool:
    # Direct children only: a block hidden inside an inline child (<a><div>) is rare enough, and a
    # subtree search per paragraph would cost more than all the scoring.
    return any(child.tag in _BLOCK_TAGS for child in node.iter())


def _whole_body(body: LexborNode) -> LexborNode | None:
    """A page too short to score (a note, a stub) is all article, unless it is mostly links."""
    text = body.text(strip=True)
    if not text or _link_density(body) > 0.5:
        return None
    _clean(body, set())
    return body if body.child is not None else None


# The last resort's bar for "clearly prose": a long run of text (CJK characters weighing three), made of sentences,
# hardly linked. Navigation, link lists and short notices stay "no article body".
_FALLBACK_MIN_CHARS = 500
_FALLBACK_MIN_SENTENCES = 3
_FALLBACK_MAX_LINKS = 0.2
_SENTENCE_END_RE = re.compile(r"[.!?](?:\s|$)|[。！？]")
_NOT_TEXT = "script, style, noscript, template, svg, head"


def largest_prose(tree: LexborHTMLParser) -> str | None:
    """The largest block of text on a page where nothing looks like an article (the article sits in an <aside>,
    a <footer> or a heading): the container holding the most paragraph text, or the single block of loose text,
    when that is clearly prose; else None. ``tree`` is mutated (scripts and styles go)."""
    body = tree.body or tree.root
    if body is None:
        return None
    _drop(body.css(_NOT_TEXT))
    totals: dict[int, tuple[LexborNode, int, list[str]]] = {}
    for block in _blocks(body):
        text = "".join(block.parts).strip()
        if not text or block.link_chars > _FALLBACK_MAX_LINKS * len(text):
            continue
        node = block.node
        # Paragraphs count for their container, so an article of many short ones beats one long caption.
        holder = node.parent if node.tag in _PARAGRAPH_TAGS and node.parent is not None else node
        _, length, texts = totals.get(holder.mem_id, (holder, 0, []))
        texts.append(text)
        totals[holder.mem_id] = (holder, length + _eff_len(text), texts)
    if not totals:
        return None
    holder, length, texts = max(totals.values(), key=lambda item: item[1])
    prose = " ".join(texts)
    if length < _FALLBACK_MIN_CHARS or len(_SENTENCE_END_RE.findall(prose)) < _FALLBACK_MIN_SENTENCES:
        return None
    if holder.tag in ("body", "html") or _link_density(holder) > _FALLBACK_MAX_LINKS:
        return None
    return holder.inner_html or None


def main_nodes(tree: LexborHTMLParser, url: str) -> list[LexborNode] | None:
    """The article's main content as nodes of ``tree``, boilerplate removed, in document order (see `main_html`
    for what they stand for), or None when no article-like block exists.

    ``tree`` is mutated. The nodes stay in it, so a caller can finish the body in place instead of parsing the
    serialised HTML again. ``url`` is accepted for future per-site hints.
    """
    body = tree.body or tree.root
    if body is None:
        return None
    _preclean(tree, body)
    blocks = _blocks(body)
    para_ids = _div_paragraphs(blocks)
    cands = _score_blocks(blocks, para_ids)
    top = _pick_top(cands, body)
    if top is None:
        whole = _whole_body(body)
        return [whole] if whole is not None else None
    parts = _siblings(top, cands, para_ids)
    for node in parts:
        _clean(node, para_ids)
    return parts


def main_html(nodes: list[LexborNode]) -> str:
    """The HTML `main_nodes` stands for: one node's inner HTML, or several nodes' outer HTML in order."""
    return nodes[0].inner_html or "" if len(nodes) == 1 else "".join(node.html or "" for node in nodes)


def extract_main(tree: LexborHTMLParser, url: str) -> str | None:
    """Inner HTML of the article's main content, boilerplate removed, or None when no article-like block
    exists.

    ``tree`` is mutated. ``url`` is accepted for future per-site hints; the result keeps relative URLs.
    """
    nodes = main_nodes(tree, url)
    html = main_html(nodes) if nodes else ""
    return html if html.strip() else None
