"""page_metadata: every field of PageMeta from its sources, in order, out of one reading of the page's markup."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser

from crawler.extract.metadata.authors import page_author
from crawler.extract.metadata.datelines import modified_date, published_date
from crawler.extract.metadata.images import lead_image
from crawler.extract.metadata.structured import first_meta, jsonld, ld_name, meta_index, meta_keys, scan_page
from crawler.extract.metadata.text import clean
from crawler.extract.metadata.titles import page_title


@dataclass(frozen=True)
class PageMeta:
    title: str | None  # tags stripped, entities decoded, whitespace folded
    author: str | None
    published: datetime | None  # aware if the page gave an offset, naive if it gave none
    modified: datetime | None
    image: str | None  # absolute URL
    site_name: str | None
    language: str | None
    canonical: str | None  # absolute <link rel=canonical> href
    description: str | None


# <meta> names per field, Open Graph first, then Twitter, then the rest; earlier keys win.
_SITE_KEYS = ("og:site_name", "application-name", "al:ios:app_name")

_LANGUAGE_KEYS = ("content-language", "og:locale", "dc.language", "language")

_DESCRIPTION_KEYS = meta_keys(
    "og:description twitter:description description dc.description sailthru.description",
)


def page_metadata(tree: LexborHTMLParser, url: str) -> PageMeta:
    """Metadata of a page from JSON-LD (NewsArticle and kin, @graph too), Open Graph, Twitter cards,
    <meta> tags, microdata, then visible bylines/datelines. Never raises on hostile input."""
    scan = scan_page(tree)
    article, page = jsonld(scan)
    ld = article or page
    index = meta_index(scan)
    publisher = ld.get("publisher")
    site_name = first_meta(index, *_SITE_KEYS) or (ld_name(publisher) if publisher else None)
    # The scan saw whether either link exists; which one, Lexbor's rel matching (case-insensitive) tells.
    canonical_node = tree.css_first("link[rel=canonical]") if scan.has_link else None
    canonical = clean(canonical_node.attributes.get("href")) if canonical_node is not None else None
    title = page_title(ld, index, scan, site_name)
    return PageMeta(
        title=title,
        author=page_author(ld, index, scan, title),
        published=published_date(ld, index, scan, title),
        modified=modified_date(ld, index, scan),
        image=_absolute(url, lead_image(ld, index, scan)),
        site_name=site_name,
        language=_language(ld, index, tree),
        canonical=_absolute(url, canonical),
        description=clean(ld.get("description")) or first_meta(index, *_DESCRIPTION_KEYS),
    )


def _absolute(url: str, value: str | None) -> str | None:
    if not value:
        return None
    try:
        return urljoin(url, value.strip())
    except ValueError:
        return None


def _language(ld: dict[str, object], index: dict[str, str], tree: LexborHTMLParser) -> str | None:
    html_node = tree.css_first("html")
    language = (
        clean(ld.get("inLanguage"))
        or (clean(html_node.attributes.get("lang")) if html_node is not None else None)
        or first_meta(index, *_LANGUAGE_KEYS)
    )
    return language.replace("_", "-") if language else None  # og:locale writes en_US
