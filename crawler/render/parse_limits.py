"""Whether markup is too hostile to parse in reasonable time, decided without parsing it; and its words when it is.

Lexbor's tree building slows with the square of the nesting depth and of an element's attribute count, so a body
past these limits is kept as plain text (docs/FORMAT.md) and a page past them is refused by extraction.
"""

from __future__ import annotations

import html
import re

# Lexbor's tree building slows with the square of the nesting depth (100,000 nested <div>s take minutes) and of an
# element's attribute count; markup past these limits is no article (browsers cap the DOM depth at 512).
MAX_NESTING = 5000
MAX_ATTRIBUTES = 256
_MARKUP_TOKEN = re.compile(r"<!--|<(/?)([A-Za-z][A-Za-z0-9:-]*)([^>]*)>")
_RAW_TEXT = frozenset({"script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "plaintext"})
# Elements that never deepen the tree: void ones, and those the parser closes by itself when a sibling starts.
_FLAT = frozenset(
    {
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track",
        "wbr", "keygen", "p", "li", "dt", "dd", "tr", "td", "th", "option", "optgroup", "rb", "rt", "rtc", "rp",
        "tbody", "thead", "tfoot", "colgroup", "caption", "html", "head", "body", "image", "isindex",
    }
)  # fmt: skip
# Where a tag's attribute list could pass 2 * MAX_ATTRIBUTES characters: _ANY_LONG_RUN finds the first such place
# quickly (a plain `<` prefix lets the regex engine skip ahead), _LONG_TAG then every candidate, overlapping ones
# included (a `<` inside a long attribute value starts a candidate of its own).
_ANY_LONG_RUN = re.compile(rf"<[^>]{{{2 * MAX_ATTRIBUTES + 1}}}")
_LONG_TAG = re.compile(rf"</?[A-Za-z][^>]{{{2 * MAX_ATTRIBUTES}}}")
_LONG_TAG_CHECKS = 64  # candidates in one span looked at before leaving the decision to the full scan
# What can follow an attribute in `_ATTRIBUTE`'s reading, or end a quoted one: counted to pass over a long tag whole.
_SEPARATOR = re.compile(r"[\s/=\"']")
_ATTRIBUTE = re.compile(r"[^\s=/>]+\s*(?:=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>]*))?")
_SCRIPT_BLOCK = re.compile(r"<(script|style|template)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG_RE = re.compile(r"</?[A-Za-z][^<>]*>")


def markup_problem(markup: str) -> str | None:
    """Why `markup` is too hostile to parse (nested deeper than MAX_NESTING, an element with more than
    MAX_ATTRIBUTES attributes), or None. A linear scan of the tags, skipping comments and raw text, made only where
    `_may_be_hostile` cannot rule both out."""
    return full_scan(markup) if _may_be_hostile(markup) else None


def full_scan(markup: str) -> str | None:
    """markup_problem's answer from the tag-by-tag scan alone (public for the test that holds the shortcut to it)."""
    depth = 0
    position = 0
    while True:
        match = _MARKUP_TOKEN.search(markup, position)
        if match is None:
            return None
        position = match.end()
        if match.group(0) == "<!--":
            end = markup.find("-->", position)
            position = len(markup) if end < 0 else end + 3
            continue
        closing, name, attributes = match.group(1), match.group(2).lower(), match.group(3)
        if _too_many_attributes(attributes):
            return f"has an element with more than {MAX_ATTRIBUTES} attributes"
        if name in _FLAT:
            continue
        if closing:
            depth = max(0, depth - 1)
            continue
        if name in _RAW_TEXT:
            close = re.compile(f"</{name}", re.IGNORECASE).search(markup, position)
            position = len(markup) if close is None else close.start()
            continue
        depth += 1
        if depth > MAX_NESTING:
            return f"nests elements more than {MAX_NESTING} deep"


def _may_be_hostile(markup: str) -> bool:
    """False when neither of markup_problem's limits can be reached, decided in C-speed string operations (the
    tag-by-tag scan costs milliseconds on every page, and half the real pages carry some long attribute list).

    Nesting: each level needs an opening tag, a `<` that starts neither `</` nor `<!`. Attributes: the full scan
    only ever reports a tag found by `_MARKUP_TOKEN` at a position where _LONG_TAG matches, and every candidate
    between one `<` and the next `>` ends at that `>`, so its attribute list is a piece of that span. An attribute
    is followed by a separator (white space, `/`, `=`) or ends with a quote, so no piece of a span with at most
    MAX_ATTRIBUTES - 1 of those characters holds too many: such a span is passed over whole, and a crowded one is
    looked into by `_crowded_span`. Spans do not overlap, so this stays linear."""
    opens = markup.count("<")
    if opens > MAX_NESTING and opens - markup.count("</") - markup.count("<!") > MAX_NESTING:
        return True
    first = _ANY_LONG_RUN.search(markup)
    if first is None:
        return False
    position = first.start()
    while True:
        candidate = _LONG_TAG.search(markup, position)
        if candidate is None:
            return False
        end = markup.find(">", candidate.start())
        if end < 0:
            return False  # no tag can close after this point, so the full scan finds none
        if len(_SEPARATOR.findall(markup, candidate.start(), end)) >= MAX_ATTRIBUTES and _crowded_span(
            markup, candidate.start(), end
        ):
            return True
        position = end


def _crowded_span(markup: str, start: int, end: int) -> bool:
    """Whether a tag of the full scan's reading that starts in markup[start:end] may hold too many attributes: each
    candidate in the span tested with the full scan's expressions, up to _LONG_TAG_CHECKS of them (each test reads
    to the span's end, so the bound keeps the whole linear), past which the full scan decides."""
    position = start
    for _ in range(_LONG_TAG_CHECKS):
        candidate = _LONG_TAG.search(markup, position, end)
        if candidate is None:
            return False
        token = _MARKUP_TOKEN.match(markup, candidate.start())
        attributes = token.group(3) if token is not None else None
        if attributes is not None and _too_many_attributes(attributes):
            return True
        position = candidate.start() + 1  # the next candidate may start inside this one
    return True


def _too_many_attributes(attributes: str) -> bool:
    return len(attributes) > 2 * MAX_ATTRIBUTES and len(_ATTRIBUTE.findall(attributes)) > MAX_ATTRIBUTES


def plain_text(markup: str) -> str:
    """The words of markup without parsing it into a tree: scripts and styles dropped, tags removed, entities
    decoded, white space folded (for markup too hostile to parse)."""
    return " ".join(html.unescape(_TAG_RE.sub(" ", _SCRIPT_BLOCK.sub(" ", markup))).split())
