"""What a page declares about itself in markup: <meta> tags, JSON-LD and microdata, gathered in one CSS pass."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser, LexborNode

from crawler.extract.metadata.text import MAX_VALUE, clean

_MAX_JSONLD = 2_000_000

# Every full-tree CSS query costs about the same, mostly the walk over the elements rather than the test of each,
# so what several fields read is gathered in one walk (see Scan). Lexbor returns the elements of a selector list in
# document order, an element once per selector of the list it matches.
_SCAN_SELECTOR = (
    "meta[content], script[type='application/ld+json' i], [itemprop], link[rel=canonical], link[rel=image_src], h1, h2"
)

_LD_TYPE = "application/ld+json"


@dataclass(frozen=True)
class Scan:
    """The page and what one CSS pass over it found, in document order."""

    tree: LexborHTMLParser
    metas: tuple[LexborNode, ...]  # <meta content>
    ld_scripts: tuple[LexborNode, ...]  # <script type=application/ld+json>
    itemprops: tuple[tuple[str | None, LexborNode], ...]  # every [itemprop] element and its itemprop
    headings: tuple[LexborNode, ...]  # every <h1> and <h2>
    has_link: bool  # whether a <link rel=canonical> or <link rel=image_src> is there to look up


def scan_page(tree: LexborHTMLParser) -> Scan:
    """The page's <meta>, JSON-LD, microdata and headings, gathered in one CSS pass over `tree`."""
    metas: list[LexborNode] = []
    scripts: list[LexborNode] = []
    itemprops: list[tuple[str | None, LexborNode]] = []
    headings: list[LexborNode] = []
    has_link = False
    last = -1
    for node in tree.css(_SCAN_SELECTOR):
        key = node.mem_id
        if key == last:  # the same element again, for another selector of the list
            continue
        last = key
        tag = node.tag
        attrs = node.attributes
        itemprop = attrs.get("itemprop")
        if "itemprop" in attrs:
            itemprops.append((itemprop, node))
        if tag == "meta":
            if "content" in attrs:
                metas.append(node)
        elif tag == "script":
            # Without an itemprop only the JSON-LD selector can have matched; with one, the type decides as the
            # selector's `i` does (ASCII case-insensitive).
            kind = attrs.get("type")
            if "itemprop" not in attrs or (kind is not None and kind.isascii() and kind.lower() == _LD_TYPE):
                scripts.append(node)
        elif tag in ("h1", "h2"):
            headings.append(node)
        elif tag == "link":
            has_link = True
    return Scan(tree, tuple(metas), tuple(scripts), tuple(itemprops), tuple(headings), has_link)


def meta_index(scan: Scan) -> dict[str, str]:
    """First non-empty content of every <meta> keyed by lower-cased property/name/itemprop."""
    index: dict[str, str] = {}
    for node in scan.metas:
        attrs = node.attributes
        content = attrs.get("content")
        if not content or not content.strip():
            continue
        for attr in ("property", "name", "itemprop", "http-equiv"):
            key = attrs.get(attr)
            if key:
                # "og:title twitter:title" style space-separated lists name several properties at once.
                for part in key.lower().split():
                    index.setdefault(part, content)
    return index


def first_meta(index: dict[str, str], *keys: str) -> str | None:
    """The first of `keys` that the page's <meta> tags give a non-empty value."""
    for key in keys:
        value = clean(index.get(key))
        if value:
            return value
    return None


def meta_keys(names: str) -> tuple[str, ...]:
    """Space-separated <meta> names as a tuple, earlier ones preferred."""
    return tuple(names.split())


def microdata(scan: Scan, prop: str) -> str | None:
    """The value of the first element whose itemprop is exactly `prop`: its content-like attribute, else its text."""
    # The first element whose itemprop is exactly `prop`, as `[itemprop=prop]` selects it (case-sensitive).
    node = next((node for itemprop, node in scan.itemprops if itemprop == prop), None)
    if node is None:
        return None
    attrs = node.attributes
    for attr in ("content", "datetime", "src", "href"):
        if attrs.get(attr):
            return clean(attrs[attr])
    name = node.css_first("[itemprop=name]")
    return clean((name or node).text()[:MAX_VALUE])


# JSON-LD types by how surely they describe the article itself (lower is better).
_TYPE_RANK = {
    **dict.fromkeys(
        (
            "newsarticle",
            "reportagenewsarticle",
            "analysisnewsarticle",
            "opinionnewsarticle",
            "reviewnewsarticle",
            "backgroundnewsarticle",
            "askpublicnewsarticle",
            "satiricalarticle",
        ),
        0,
    ),
    **dict.fromkeys(
        (
            "article",
            "blogposting",
            "scholarlyarticle",
            "techarticle",
            "report",
            "liveblogposting",
            "socialmediaposting",
            "discussionforumposting",
            "posting",
            "reviewarticle",
            "medicalscholarlyarticle",
        ),
        1,
    ),
    **dict.fromkeys(("creativework", "videoobject", "recipe", "review", "howto"), 2),
    **dict.fromkeys(
        ("webpage", "itempage", "aboutpage", "collectionpage", "profilepage", "medicalwebpage"),
        3,
    ),
}

# A CDATA or comment marker at the start of a JSON-LD block (matched there only: one regex for the opening and
# closing markers, searched for through the block, cost most of the JSON-LD's time).
_OPENING_MARKER = re.compile(r"\s*(?://\s*)?<!\[CDATA\[|\s*<!--")


def _types(obj: dict[str, object]) -> set[str]:
    t = obj.get("@type")
    if isinstance(t, str):
        return {t.lower()}
    if isinstance(t, list):
        return {x.lower() for x in t if isinstance(x, str)}
    return set()


def _without_markers(raw: str) -> str:
    """`raw` without an opening CDATA or comment marker at its start (`_OPENING_MARKER`) and a closing one at its
    end, before white space only: `]]>`, perhaps after `//` and white space, or `-->` (a test holds this to the
    one regex of the four markers, `re.sub`'d)."""
    opening = _OPENING_MARKER.match(raw)
    if opening is not None:
        raw = raw[opening.end() :]
    content = raw.rstrip()  # str.rstrip's white space is the regex's \s
    if content.endswith("]]>"):
        before = content[:-3].rstrip()
        return before[:-2] if before.endswith("//") else content[:-3]
    return content[:-3] if content.endswith("-->") else raw


def _jsonld_objects(scan: Scan) -> Iterator[dict[str, object]]:
    """Every dict in every JSON-LD block, walked iteratively (no recursion on hostile nesting)."""
    for script in scan.ld_scripts:
        raw = script.text()
        if not raw or len(raw) > _MAX_JSONLD:
            continue
        # Some pages (and Readability's test corpus) wrap the JSON in CDATA markers or comments.
        raw = _without_markers(raw).strip().rstrip(";")
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            continue
        stack: list[tuple[object, int]] = [(data, 0)]
        while stack:
            item, depth = stack.pop()
            if depth > 6:
                continue
            if isinstance(item, list):
                stack.extend((x, depth + 1) for x in reversed(item))
            elif isinstance(item, dict):
                yield item
                for key in ("@graph", "mainEntity", "mainEntityOfPage", "itemListElement"):
                    child = item.get(key)
                    if isinstance(child, list | dict):
                        stack.append((child, depth + 1))


def jsonld(scan: Scan) -> tuple[dict[str, object], dict[str, object]]:
    """The object that best describes the article, and the web-page object (either may be empty)."""
    best: dict[str, object] = {}
    best_rank = 99
    page: dict[str, object] = {}
    for obj in _jsonld_objects(scan):
        ranks = [_TYPE_RANK[t] for t in _types(obj) if t in _TYPE_RANK]
        if not ranks:
            continue
        rank = min(ranks)
        if rank == 3:
            page = page or obj
        elif rank < best_rank:
            best, best_rank = obj, rank
    return best, page


def ld_name(value: object) -> str | None:
    """A person's or organisation's name from a JSON-LD value that may be a string, dict or list of them."""
    items = value if isinstance(value, list) else [value]
    names = []
    for item in items[:10]:
        name = clean(item.get("name")) if isinstance(item, dict) else clean(item)
        if name and not name.startswith(("http://", "https://")) and name not in names:
            names.append(name)
    return ", ".join(names) or None


def ld_url(value: object) -> str | None:
    """A URL from a JSON-LD value that may be a string, an ImageObject or a list of them."""
    for _ in range(4):
        if isinstance(value, list):
            value = value[0] if value else None
        elif isinstance(value, dict):
            value = value.get("url") or value.get("contentUrl") or value.get("@id")
        else:
            break
    return clean(value)
