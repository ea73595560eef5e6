"""Whether markup is too hostile to parse in reasonable time, decided without parsing it; and its words when it is.

Lexbor's tree building slows with the square of the nesting depth and of an element's attribute count, so a body
past these limits is kept as plain text (docs/FORMAT.md) and a page past them is refused by extraction.
"""

from __future__ import annotations

import html
import re
from itertools import accumulate, chain, islice
from operator import sub

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
# `_SEPARATOR`'s characters split in two: the ASCII ones as bytes (counted in a span's UTF-8 bytes, where no other
# character's encoding holds an ASCII byte), and the white space above ASCII (all below U+3001: a test holds it).
_SEPARATOR_BYTES = bytes(code for code in range(128) if _SEPARATOR.match(chr(code)))
_WIDE_SPACE = re.compile("[" + "".join(char for char in map(chr, range(128, 0x3001)) if char.isspace()) + "]")
_ATTRIBUTE = re.compile(r"[^\s=/>]+\s*(?:=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>]*))?")
_SCRIPT_BLOCK = re.compile(r"<(script|style|template)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG_RE = re.compile(r"</?[A-Za-z][^<>]*>")
_NOT_OPENING = re.compile("<[/!]")
# The full scan's tokens, each alternative ending where the scan's next search starts: a comment with its text; an
# opening raw-text tag with its text up to its closing tag (found as the scan's own case-folding search finds it);
# any other tag. Names are matched in ASCII case only, as the scan reads them with [A-Za-z] before lowering. One
# leading `<` lets the regex engine skip ahead to each `<`. `_DEPTH_TOKEN`'s one group is a tag's name (after `/` when
# it closes), empty for comments and raw text; `_ATTRIBUTES_TOKEN`'s groups are a tag's attribute list when it is longer
# than 2 * MAX_ATTRIBUTES characters (shorter ones cannot hold too many), empty otherwise.
_COMMENT = "!--[^-]*(?:-(?!->)[^-]*)*(?:-->)?"
_RAW_TEXT_TAGS = "|".join(
    rf"{''.join(f'[{c}{c.upper()}]' for c in name)}(?![A-Za-z0-9:-])({{attributes}})>[^<]*(?:<(?!(?i:/{name}))[^<]*)*"
    for name in sorted(_RAW_TEXT)
)
_LONG_ATTRIBUTES = f"(?:([^>]{{{2 * MAX_ATTRIBUTES + 1},}})|[^>]*)"
_DEPTH_TOKEN = re.compile(
    f"<(?:{_COMMENT}|{_RAW_TEXT_TAGS.replace('({attributes})', '[^>]*')}|(/?[A-Za-z][A-Za-z0-9:-]*)[^>]*>)"
)
_ATTRIBUTES_TOKEN = re.compile(
    f"<(?:{_COMMENT}|{_RAW_TEXT_TAGS.replace('({attributes})', _LONG_ATTRIBUTES)}|"
    f"/?[A-Za-z][A-Za-z0-9:-]*{_LONG_ATTRIBUTES}>)"
)


def markup_problem(markup: str) -> str | None:
    """Why `markup` is too hostile to parse (nested deeper than MAX_NESTING, an element with more than
    MAX_ATTRIBUTES attributes), or None. The tag-by-tag scan (`full_scan`) says which, and runs only on markup where
    a limit is reached: string counts rule out most pages, and the scan's own tokens, listed by one `findall` in C
    (`max_depth`, `has_crowded_tag`), decide the rest."""
    deep = _may_nest_deep(markup) and max_depth(markup) > MAX_NESTING
    if deep or (_may_be_crowded(markup) and has_crowded_tag(markup)):
        return full_scan(markup)
    return None


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


def _may_nest_deep(markup: str) -> bool:
    """False when the full scan cannot pass MAX_NESTING: each level needs an opening tag, a `<` that starts neither
    `</` nor `<!`. (Those two are listed by one regex: str.count of a two-character string is slower than the regex
    engine's scan for `<`, and it would take two.)"""
    opens = markup.count("<")
    return opens > MAX_NESTING and opens - len(_NOT_OPENING.findall(markup)) > MAX_NESTING


def max_depth(markup: str) -> int:
    """The deepest nesting the full scan reaches. Its depth is the running sum of +1 (an opening tag that deepens) and
    -1 (a closing one) held at 0 from below, which is the running sum less its running minimum (taken with 0): summed
    in C over the scan's tokens."""
    sums: list[int] = list(accumulate(map(_STEPS.__getitem__, _DEPTH_TOKEN.findall(markup))))
    if not sums or min(sums) >= 0:
        return max(sums, default=0)  # never held at 0: the depth is the running sum
    lows = islice(accumulate(sums, min, initial=0), 1, None)
    deepest: int = max(map(sub, sums, lows))
    return deepest


def has_crowded_tag(markup: str) -> bool:
    """Whether a tag of the full scan's reading holds more than MAX_ATTRIBUTES attributes (only attribute lists
    longer than 2 * MAX_ATTRIBUTES characters, which the full scan's own test passes over, are captured)."""
    tokens = _ATTRIBUTES_TOKEN.findall(markup)
    return any(map(_too_many_attributes, filter(None, chain.from_iterable(tokens))))


class _Steps(dict[str, int]):
    """A tag token's step in the full scan's depth, by the name as written (`/` first when it closes): 0 for a flat
    element, a comment or raw text (the empty name). Names repeat, so each is worked out once."""

    def __missing__(self, name: str) -> int:
        closing = name.startswith("/")
        step = 0 if not name or name.lstrip("/").lower() in _FLAT else -1 if closing else 1
        if len(self) > 10_000:  # made-up names on a hostile page must not grow it without end
            self.clear()
        self[name] = step
        return step


_STEPS = _Steps()


def _may_be_crowded(markup: str) -> bool:
    """False when no tag of the full scan's reading can hold more than MAX_ATTRIBUTES attributes, decided in C-speed
    string operations (the tag-by-tag scan costs milliseconds on every page, and half the real pages carry some long
    attribute list).

    The full scan only ever reports a tag found by `_MARKUP_TOKEN` at a position where _LONG_TAG matches, and every
    candidate between one `<` and the next `>` ends at that `>`, so its attribute list is a piece of that span. An
    attribute is followed by a separator (white space, `/`, `=`) or ends with a quote, so no piece of a span with at
    most MAX_ATTRIBUTES - 1 of those characters holds too many: such a span is passed over whole, and a crowded one
    is looked into by `_crowded_span`. Spans do not overlap, so this stays linear."""
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
        if _separators(markup[candidate.start() : end]) >= MAX_ATTRIBUTES and _crowded_span(
            markup, candidate.start(), end
        ):
            return True
        position = end


def _separators(span: str) -> int:
    """How many characters of `span` `_SEPARATOR` matches, counted in C rather than listed one by one: the ASCII
    ones as the bytes that one `bytes.translate` deletes (a single pass, where a str.count for each character took
    fourteen), and white space above ASCII by a regex that matches nothing in most spans."""
    if span.isascii():
        encoded = span.encode("ascii")
        return len(encoded) - len(encoded.translate(None, _SEPARATOR_BYTES))
    encoded = span.encode("utf-8", "surrogatepass")
    wide = len(_WIDE_SPACE.findall(span))
    return len(encoded) - len(encoded.translate(None, _SEPARATOR_BYTES)) + wide


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
    # Every attribute but the last holds a separator or is followed by a `/` (see `_may_be_crowded`), so with fewer
    # than MAX_ATTRIBUTES separators there are at most MAX_ATTRIBUTES attributes: counted without listing them.
    return (
        len(attributes) > 2 * MAX_ATTRIBUTES
        and _separators(attributes) >= MAX_ATTRIBUTES
        and len(_ATTRIBUTE.findall(attributes)) > MAX_ATTRIBUTES
    )


def plain_text(markup: str) -> str:
    """The words of markup without parsing it into a tree: scripts and styles dropped, tags removed, entities
    decoded, white space folded (for markup too hostile to parse)."""
    return " ".join(html.unescape(_TAG_RE.sub(" ", _SCRIPT_BLOCK.sub(" ", markup))).split())
