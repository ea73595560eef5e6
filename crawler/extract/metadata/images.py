"""The lead image: declared (JSON-LD, Open Graph, microdata, <link rel=image_src>), else the first large picture."""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser

from crawler.extract.metadata.structured import Scan, first_meta, ld_url, meta_keys, microdata
from crawler.extract.metadata.text import clean

_IMAGE_KEYS = meta_keys(
    "og:image og:image:url og:image:secure_url twitter:image twitter:image:src thumbnail image",
)


def lead_image(ld: dict[str, object], index: dict[str, str], scan: Scan) -> str | None:
    """The lead image as the page gives it (maybe relative): declared, else the first large picture."""
    image = (
        ld_url(ld.get("image") or ld.get("thumbnailUrl")) or first_meta(index, *_IMAGE_KEYS) or microdata(scan, "image")
    )
    if image is None:
        link = scan.tree.css_first("link[rel=image_src]") if scan.has_link else None
        image = clean(link.attributes.get("href")) if link is not None else None
    return image or _first_big_image(scan.tree)


_NOT_LEAD_IMAGE_RE = re.compile(
    r"logo|icon|avatar|sprite|blank|pixel|spacer|placeholder|/ads?/|badge|emoji",
    re.I,
)

_CSS_WIDTH_RE = re.compile(r"(?:^|;)\s*width\s*:\s*(\d+)px", re.I)

_MIN_LEAD_WIDTH = 300


def _declared_width(attrs: dict[str, str | None]) -> int:
    width = attrs.get("width") or ""
    if width.isdigit():
        return int(width)
    match = _CSS_WIDTH_RE.search(attrs.get("style") or "")
    return int(match.group(1)) if match else 0


_CONTENT_IMAGES = (
    "article img[src], main img[src], [itemprop=articleBody] img[src], [class*=article i] img[src], "
    "[class*=story i] img[src], [class*=content i] img[src]"
)


def _usable_image(attrs: dict[str, str | None]) -> str | None:
    src = (attrs.get("src") or "").strip()
    if not src or src.startswith("data:") or _NOT_LEAD_IMAGE_RE.search(src):
        return None
    return src


def _first_big_image(tree: LexborHTMLParser) -> str | None:
    """Last resort for the lead image: the first picture the page declares as wide, else the first
    picture of undeclared size inside the article container; never a logo, icon or spacer."""
    body = tree.body
    if body is None:
        return None
    images = body.css("img[src]")
    undeclared = False  # whether a picture of undeclared size was seen (the second search finds no other kind)
    # Each test by its size first: most pictures fail it, and it costs less than reading the source.
    for img in images[:200]:
        attrs = img.attributes
        if _declared_width(attrs) >= _MIN_LEAD_WIDTH and (src := _usable_image(attrs)):
            return src
        undeclared = undeclared or (not attrs.get("width") and not attrs.get("height"))
    if not undeclared and len(images) <= 200:
        return None  # every picture declares a size: the article container's can be none of undeclared size
    for img in body.css(_CONTENT_IMAGES)[:50]:
        attrs = img.attributes
        if not attrs.get("width") and not attrs.get("height") and (src := _usable_image(attrs)):
            return src
    return None
