"""The title: declared (JSON-LD, Open Graph, <title>) or the <h1>, without the site name portals append."""

from __future__ import annotations

import re

from crawler.extract.metadata.structured import Scan, first_meta, microdata
from crawler.extract.metadata.text import MAX_VALUE, clean

_TITLE_SEP_RE = re.compile(
    r"\s+[|\-–—·•»:/\\]\s+|\s*[|_｜]\s*|\s+(?:::|--)\s+"
    # CJK titles join the site name with a bare hyphen: "全力保障临床用药需求-新华网".
    r"|(?<=[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff01-\uff60])[-－–—](?=[\u3400-\u9fff\uf900-\ufaff])"
)

_PORTAL_SUFFIX_RE = re.compile(r"(网|频道|新闻|资讯|在线|日报|晚报|报|中心|官网|首页|门户|社区)$")

_WORD_RE = re.compile(r"\w+")


def page_title(
    ld: dict[str, object],
    index: dict[str, str],
    scan: Scan,
    site: str | None,
) -> str | None:
    """The article's title without the site name a portal appends; the <h1> when nothing is declared."""
    h1_node = next((node for node in scan.headings if node.tag == "h1"), None)
    h1 = clean(h1_node.text()[:MAX_VALUE]) if h1_node is not None else None
    node = scan.tree.css_first("title")
    doc_title = clean(node.text()[:MAX_VALUE]) if node is not None else None
    title = (
        _ld_title(ld, doc_title)
        or first_meta(
            index,
            "og:title",
            "twitter:title",
            "dc.title",
            "dc:title",
            "dcterms.title",
            "dcterm:title",
            "dcterms:title",
            "title",
            "sailthru.title",
            "parsely-title",
            "headline",
        )
        or microdata(scan, "headline")
        or doc_title
    )
    if title is None:
        return h1
    if h1 and len(h1) > len(title) and h1.startswith(title) and h1[len(title)] in "\"'“”":
        # A meta title cut short by an unescaped quote in its attribute (content="a "b" c").
        return h1
    return _strip_site_suffix(title, site, h1)


def _strip_site_suffix(title: str, site_name: str | None, h1: str | None) -> str:
    """Drop a trailing " - Site Name" / " | Site" / "_新浪财经_新浪网" from a title."""
    if h1 and len(h1) >= 4 and title.startswith(h1) and _TITLE_SEP_RE.match(title, len(h1)):
        return h1
    site = (site_name or "").casefold()
    stripped = title
    for _ in range(5):
        pieces = list(_TITLE_SEP_RE.finditer(stripped))
        if not pieces:
            break
        last = pieces[-1]
        head, tail = stripped[: last.start()].strip(), stripped[last.end() :].strip()
        if not head or len(head) < len(tail):
            break
        folded = tail.casefold()
        # Portals chain short section names with underscores: "标题_新浪财经_新浪网".
        if last.group(0).strip() == "_" and len(tail) <= 12:
            stripped = head
            continue
        if (
            (site and (folded in site or site in folded))
            or _PORTAL_SUFFIX_RE.search(tail)
            or (len(pieces) == 1 and site and len(tail) <= 30 and _squeeze(folded) in _squeeze(site))
        ):
            stripped = head
            continue
        break
    return stripped


def _words(text: str) -> set[str]:
    return set(_WORD_RE.findall(text.casefold()))


def _ld_title(ld: dict[str, object], doc_title: str | None) -> str | None:
    headline, name = clean(ld.get("headline")), clean(ld.get("name"))
    if headline and name and headline != name and doc_title:
        # Wikipedia-style pages put a description in "headline" and the title in "name"; the one that
        # shares more words with <title> is the title.
        words = _words(doc_title)
        return name if len(_words(name) & words) > len(_words(headline) & words) else headline
    return headline or name


def _squeeze(text: str) -> str:
    return text.replace(" ", "")
