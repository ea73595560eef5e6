"""The first pass: non-content elements, hidden blocks, boilerplate-named blocks and title headings go."""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser, LexborNode

from crawler.extract.auto.names import unlikely
from crawler.extract.auto.text import drop, fold, tag_set

# Never part of an article body; removed before scoring.
_JUNK_TAGS = tag_set(
    "script style noscript template svg iframe object embed canvas nav aside footer button input "
    "select textarea link meta dialog"
)
_PROSE_JUNK = frozenset({"nav", "aside", "footer", "dialog", "template", "noscript"})
_UNLIKELY_ROLES = tag_set(
    "navigation complementary dialog alertdialog menu menubar banner contentinfo search alert",
)


_WIDGET_MAX_CHARS = 500
_MIN_PROSE_LEFT = 500
_HINT_BUDGET = 300  # size checks per page; nested hinted wrappers would make them quadratic
# Overrides for the list above: "article-header-comment" must not kill the article wrapper.


# Everything preclean looks at, in one selector. Class/id hints are only tested on containers: a hint
# on an inline element hides at most a few words and testing every <a class> costs more than it saves.
_PRECLEAN_SELECTOR = (
    ", ".join(sorted(_JUNK_TAGS))
    # Each selector of the list costs a test per element, so roles are told apart in Python.
    + ", h1, h2, [hidden], [aria-hidden=true], [role], [style*=none i], [style*=hidden i], [rel=author], "
    "[itemprop~=author], p, "
    ":is(div, section, ul, header):is([class], [id])"
)


def _prose_chars(node: LexborNode, lengths: dict[int, int]) -> int:
    # Every <p> of the body is in ``lengths``; the fallback only keeps a miss from being an error.
    return sum(lengths[p.mem_id] if p.mem_id in lengths else len(p.text()) for p in node.css("p"))


def _page_titles(tree: LexborHTMLParser) -> list[str]:
    titles = []
    head_title = tree.css_first("title")
    if head_title is not None:
        titles.append(fold(head_title.text()))
    og = tree.css_first("meta[property='og:title']")
    if og is not None:
        titles.append(fold(og.attributes.get("content") or ""))
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


def preclean(tree: LexborHTMLParser, body: LexborNode) -> None:
    """Drop non-content elements, hidden blocks, blocks named like boilerplate and title headings.

    One CSS pass over the body serves all four tests: every full-tree selection costs about as much as
    the rest of a step, so they are merged and told apart here. Nothing is removed before the end of
    the pass, so every handle stays valid.
    """
    titles: list[str] | None = None  # read on the first <h2>; many pages have none
    # (position in the pass, node): drop needs document order, and strict-tier nodes are decided last.
    doomed: list[tuple[int, LexborNode]] = []
    strict: list[tuple[int, LexborNode, int]] = []  # boilerplate-named blocks and their text length
    prose_junk: list[LexborNode] = []
    paragraphs: list[LexborNode] = []  # their text is "the page's prose", read only when a strict-tier block needs it
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
            paragraphs.append(node)  # hidden ones are subtracted with the junk below
            if not len(node.attrs):
                continue  # nothing below applies to a bare <p>, and counting attributes costs a tenth of reading them
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
            text = fold(node.text())
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
        if tag in ("td", "tr", "tbody", "table", "p") or budget <= 0:
            continue  # (with the budget spent, no name decides anything more)
        verdict = unlikely(f"{attrs.get('class') or ''} {attrs.get('id') or ''}")
        if not verdict:
            continue
        budget -= 1
        if verdict == 2:
            # text_lexbor() is text() for less on the small blocks most widgets are.
            if len(node.text_lexbor()) < _WIDGET_MAX_CHARS:
                doomed.append((pos, node))
        else:
            strict.append((pos, node, len(node.text())))
    if strict:
        # Readability retries without this removal when the article comes out too short; asking up
        # front whether the block holds most of the page's prose, and too much to lose, gets the same
        # answer in one pass. Text length bounds the prose inside, which saves most prose counts.
        # Each <p> is read once (text_lexbor() is text() for less on short texts), and the prose inside a
        # block is summed from those lengths.
        lengths = {p.mem_id: len(p.text_lexbor()) for p in paragraphs}
        prose = sum(lengths.values()) - sum(_prose_chars(node, lengths) for node in prose_junk)
        for pos, node, chars in strict:
            if chars * 2 < prose:
                doomed.append((pos, node))
                continue
            inside = _prose_chars(node, lengths)
            if prose - inside >= _MIN_PROSE_LEFT or inside * 2 < prose:
                doomed.append((pos, node))
        doomed.sort(key=lambda item: item[0])
    drop(node for _, node in doomed)
