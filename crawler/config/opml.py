"""OPML, the subscription list every feed reader imports and exports: read one into feeds, write ours as OPML 2.0.

Folders become categories and categories become folders. A feed listed in several folders is one feed with
several categories. On export each feed is one outline (one subscription), in the folder of its first category,
with all its categories in OPML 2.0's `category` attribute ("/News,/World"); a disabled feed carries
`crawlerEnabled="false"`. So an import followed by an export keeps every feed URL, title, site address (htmlUrl),
category and `enabled: false`, and an export followed by an import gives the same feeds.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import formatdate

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from crawler.config.settings import FeedConfig
from crawler.errors import CrawlerError

# Not an OPML 2.0 attribute (readers ignore unknown ones): how a disabled feed survives an export and import.
ENABLED_ATTRIBUTE = "crawlerEnabled"


class OpmlError(CrawlerError):
    """The OPML file cannot be read; the message names the file and the problem."""


@dataclass(frozen=True)
class OpmlFeed:
    """One subscription found in an OPML file."""

    url: str
    title: str | None
    categories: tuple[str, ...]
    site: str | None = None  # the outline's htmlUrl, as written (the importer checks it is an http(s) URL)
    enabled: bool = True  # False when the outline says crawlerEnabled="false" (our own export of a disabled feed)


def read_opml(data: bytes, label: str) -> list[OpmlFeed]:
    """Every feed (outline with an xmlUrl) in document order; one per URL, its folders as categories."""
    try:
        root = SafeET.fromstring(data)
    except (ET.ParseError, DefusedXmlException) as exc:
        raise OpmlError(f"{label}: not a readable OPML file: {exc}") from None
    if root.tag != "opml":
        raise OpmlError(f"{label}: not an OPML file (the root element is <{root.tag}>, not <opml>)")
    body = root.find("body")
    if body is None:
        raise OpmlError(f"{label}: an OPML file without a <body>")
    found: dict[str, OpmlFeed] = {}
    for outline, folders in _outlines(body, ()):
        url = (outline.get("xmlUrl") or "").strip()
        if not url:
            continue
        title = (outline.get("title") or outline.get("text") or "").strip() or None
        site = (outline.get("htmlUrl") or "").strip() or None
        categories = folders + _category_attribute(outline.get("category"))
        enabled = (outline.get(ENABLED_ATTRIBUTE) or "").strip().lower() != "false"
        if url in found:
            known = found[url]
            merged = known.categories + tuple(c for c in categories if c not in known.categories)
            found[url] = OpmlFeed(
                url=url,
                title=known.title or title,
                categories=merged,
                site=known.site or site,
                enabled=known.enabled and enabled,
            )
        else:
            found[url] = OpmlFeed(url=url, title=title, categories=_unique(categories), site=site, enabled=enabled)
    return list(found.values())


def _outlines(parent: ET.Element, folders: tuple[str, ...]) -> list[tuple[ET.Element, tuple[str, ...]]]:
    found: list[tuple[ET.Element, tuple[str, ...]]] = []
    for outline in parent.findall("outline"):
        if outline.get("xmlUrl"):
            found.append((outline, folders))
            continue
        name = (outline.get("title") or outline.get("text") or "").strip()
        found += _outlines(outline, (*folders, name) if name else folders)
    return found


def _category_attribute(value: str | None) -> tuple[str, ...]:
    # OPML 2.0: comma-separated slash-delimited paths, such as "/Tech/Rust,/News".
    if not value:
        return ()
    parts: list[str] = []
    for path in value.split(","):
        parts += [segment.strip() for segment in path.split("/") if segment.strip()]
    return tuple(parts)


def _unique(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def write_opml(feeds: Sequence[FeedConfig], title: str = "crawler feeds") -> str:
    """OPML 2.0 text of `feeds`: one folder per first category, each feed once (in its first category's folder,
    every category in its `category` attribute), then the uncategorised feeds."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = formatdate(usegmt=True)
    body = ET.SubElement(root, "body")
    folders: dict[str, ET.Element] = {}
    for feed in feeds:
        if not feed.categories:
            continue
        first = feed.categories[0]
        folder = folders.get(first)
        if folder is None:
            folder = folders[first] = ET.SubElement(body, "outline", text=first, title=first)
        _feed_outline(folder, feed)
    for feed in feeds:
        if not feed.categories:
            _feed_outline(body, feed)
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _feed_outline(parent: ET.Element, feed: FeedConfig) -> None:
    label = feed.title or feed.name
    outline = ET.SubElement(parent, "outline", type="rss", text=label, title=label, xmlUrl=feed.url)
    if feed.site:
        outline.set("htmlUrl", feed.site)
    if len(feed.categories) > 1:
        # OPML 2.0: comma-separated slash-delimited category paths; the folder holds only the first of them.
        outline.set("category", ",".join(f"/{category}" for category in feed.categories))
    if not feed.enabled:
        outline.set(ENABLED_ATTRIBUTE, "false")
