"""Page -> metadata (title, author, dates, image, canonical). Interim version: Open Graph and <meta> only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser


@dataclass(frozen=True)
class PageMeta:
    """What a page says about itself."""

    title: str | None = None
    author: str | None = None
    published: datetime | None = None
    modified: datetime | None = None
    image: str | None = None
    site_name: str | None = None
    language: str | None = None
    canonical: str | None = None
    description: str | None = None


def _meta(tree: LexborHTMLParser, *names: str) -> str | None:
    for name in names:
        node = tree.css_first(f'meta[property="{name}"], meta[name="{name}"]')
        if node is not None:
            value = (node.attrs.get("content") or "").strip()
            if value:
                return value
    return None


def _date(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None


def page_metadata(tree: LexborHTMLParser, url: str) -> PageMeta:
    """Metadata of a page from Open Graph and <meta> tags."""
    title_node = tree.css_first("title")
    canonical = tree.css_first('link[rel="canonical"]')
    href = (canonical.attrs.get("href") or "").strip() if canonical is not None else ""
    image = _meta(tree, "og:image", "twitter:image")
    return PageMeta(
        title=_meta(tree, "og:title") or (title_node.text().strip() if title_node is not None else None),
        author=_meta(tree, "author", "article:author"),
        published=_date(_meta(tree, "article:published_time")),
        modified=_date(_meta(tree, "article:modified_time")),
        image=urljoin(url, image) if image else None,
        site_name=_meta(tree, "og:site_name"),
        canonical=urljoin(url, href) if href else None,
        description=_meta(tree, "description", "og:description"),
    )
