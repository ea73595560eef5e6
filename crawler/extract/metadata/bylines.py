"""Bylines a reader sees: byline and author elements, and on Chinese or Japanese pages a labelled writer (作者：)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from selectolax.lexbor import LexborHTMLParser

from crawler.extract.metadata.text import clean

CJK_AUTHOR_RE = re.compile(
    # A separator is required: "记者获悉" ("the reporter learned") is not a byline.
    r"(?:(?:作者|撰文|记者|编译)\s*(?:[：:|丨/]\s*|\s+)|(?<![\u4e00-\u9fff])文\s*[：:/]\s*)"
    r"([^\s，,。|丨/：:()（）]{2,20})"
)

_BY_RE = re.compile(r"^\s*(?:by|von|par|por|door|di)\s+(.{2,100})$", re.I)

_BYLINE_END_RE = re.compile(
    r"\s*(?:\||·|•|—|–|\bon\b|\bupdated\b|\bpublished\b|\d{1,2}:\d{2}|\d{4}[-/.年]).*$|"
    r"\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2}\b.*$",
    re.I,
)


def _byline_name(text: str) -> str | None:
    """The name in a visible byline: "By Jane Doe March 25, 2015 | Updated" -> "Jane Doe"; None for
    anything that does not look like a name (a menu caught by a class name, a sentence)."""
    match = _BY_RE.match(text)
    name = match.group(1) if match else text
    name = _BYLINE_END_RE.sub("", name).strip(" ,;:")
    if not name or len(name) > 80 or len(name.split()) > 12:
        return None
    return name


def visible_authors(tree: LexborHTMLParser, cjk: bool) -> Iterator[str]:
    """Bylines a reader sees, best first: byline/author elements, then, on a Chinese or Japanese page (`cjk`), a
    labelled writer (作者：) in the text. Lazy, so the page's text is only read when no element gave a name that
    `author_name` accepts."""
    for node in tree.css("[rel=author], [class*=byline i], [class*=author i], [id*=author i]")[:50]:
        text = clean(node.text(separator=" "))
        if not text or len(text) > 120:
            continue
        if "编辑" in text or "来源" in text or "作者" in text:
            # A labelled Chinese line: take the writer if named, never the editor (责任编辑).
            match = CJK_AUTHOR_RE.search(text)
            if match:
                yield match.group(1)
            continue
        name = _byline_name(text)
        if name:
            yield name
    body = tree.body
    if body is None or not cjk:
        # Reading the whole text costs a quarter of the metadata's time on pages without a byline, and the labels
        # it looks for are Chinese: a page whose title has no CJK character does not print them.
        return
    # The separator keeps "作者：李四" from running into the next block's text.
    text = body.text(separator="\n")[:200_000]
    # A 来源 (source outlet) is never the author (docs/FORMAT.md), nor is the editor (责任编辑): with no writer
    # named, the next source in FORMAT's order (the feed's title) applies.
    for match in labelled_writers(text):
        yield match.group(1)


# The first character of every label CJK_AUTHOR_RE reads.
_LABEL_START_RE = re.compile("[作撰记编文]")


def labelled_writers(text: str) -> Iterator[re.Match[str]]:
    """CJK_AUTHOR_RE's matches in `text`, tried only where a label can start: run over a whole page's text, the
    pattern (an alternation behind a look-behind) costs 2 ms a page, this a seventh of that."""
    position = 0
    while (start := _LABEL_START_RE.search(text, position)) is not None:
        found = CJK_AUTHOR_RE.match(text, start.start())
        if found is not None:
            yield found
        position = found.end() if found is not None else start.start() + 1
