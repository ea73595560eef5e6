"""Body HTML -> the archived body: sanitised by the allowlist (crawler.sanitize), then docs/FORMAT.md's fixes
(lazy images promoted, `src`/`href` and each `srcset` candidate made absolute, `referrerpolicy` on every image,
braces written as references), and the first image it shows; plus the body's plain text, used to recognise one
article under two URLs."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from crawler import sanitize
from crawler.render import srcset
from crawler.render.parse_limits import markup_problem, plain_text

_URL_ATTR_SET = frozenset(("href", "src", "poster", "cite", "background", "xlink:href", "srcset"))
# An absolute http(s) URL (lower-case scheme, a plain host) or none; a path; a query; a fragment: printable ASCII, a
# path without `;`, `?` or `#`, a query without `#`, neither empty when its mark is there.
_PLAIN_URL = re.compile(r'(https?://[A-Za-z0-9.-]+(?::[0-9]+)?)?(/[!"$-:<->@-~]*)?(?:\?[!"$-~]+)?(?:#[!-~]+)?')
_LAZY_ATTRS = ("data-src", "data-original", "data-lazy-src")
_BODY_JUNK = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_ROOT_ID = "crawler-body-root"


@dataclass(frozen=True)
class FixedBody:
    """A body after docs/FORMAT.md's fixes, and the first image it shows (the file's headimg)."""

    html: str
    first_image: str | None


def fix_body(body_html: str, base_url: str) -> FixedBody:
    """Apply docs/FORMAT.md's body fixes to an HTML fragment whose relative URLs are relative to `base_url`.

    A fragment nested or attributed past what a parser can take in reasonable time (see `markup_problem`) is kept
    as its plain text, escaped, rather than parsed: the words survive, the markup could not be trusted anyway."""
    body_html = strip_junk(body_html)
    if markup_problem(body_html) is not None:
        text = html.escape(plain_text(body_html), quote=False)
        return FixedBody(html=brace_escape(f"<p>{text}</p>"), first_image=None)
    tree = LexborHTMLParser(f'<div id="{_ROOT_ID}">{body_html}</div>')
    root = tree.css_first(f"#{_ROOT_ID}")
    if root is None:  # the fragment closed our wrapper early; fall back to the whole body
        root = tree.body
    if root is None:
        return FixedBody(html="", first_image=None)
    fixed = fix_node(root, base_url)
    return FixedBody(html=brace_escape(root.inner_html or ""), first_image=fixed)


def fix_node(root: LexborNode, base_url: str) -> str | None:
    """Sanitise and fix the subtree under `root` in place; return the first image's absolute URL, if any."""
    sanitize.remove_forbidden(root)
    first_image: str | None = None
    joined: dict[str, str] = {}  # value -> its absolute form: a body repeats its links and image hosts
    origin = origin_of(base_url)
    # One walk for both jobs: the allowlist first, then the fixes, on each element that stays. `kept` is what the
    # element's attributes read now; each fix below keeps it so, rather than reading them from Lexbor again.
    for node, tag, kept in sanitize.kept_elements(root):
        if tag != "img":
            if kept and not _URL_ATTR_SET.isdisjoint(kept):
                _absolutise(node, kept, base_url, origin, joined)
            continue
        lazy = _lazy_source(kept)
        if lazy is not None:
            node.attrs["src"] = kept["src"] = lazy
        if kept and not _URL_ATTR_SET.isdisjoint(kept):
            _absolutise(node, kept, base_url, origin, joined)
        src = kept.get("src")
        if first_image is None and src and src.startswith(("http://", "https://")):
            first_image = src
        if "referrerpolicy" not in kept:
            node.attrs["referrerpolicy"] = "no-referrer"
    return first_image


def _absolutise(
    node: LexborNode, current: dict[str, str | None], base_url: str, origin: str | None, joined: dict[str, str]
) -> None:
    """Make `node`'s URL attributes absolute; `current` is what `node.attributes` reads now, and is kept so."""
    for name in _URL_ATTR_SET.intersection(current):
        value = current[name]
        if not value:
            continue  # (an empty URL stays empty, and so does an empty srcset)
        if name == "srcset":
            # Each candidate as `src` is: a relative one would point at the blog that publishes the file, and
            # `images: keep` could not fetch it.
            absolute = srcset.map_urls(value, lambda url: _join(url, base_url, origin, joined))
        else:
            absolute = _join(value, base_url, origin, joined)
        if absolute != value:
            node.attrs[name] = current[name] = absolute


def _join(value: str, base_url: str, origin: str | None, joined: dict[str, str]) -> str:
    """`value` made absolute, each distinct value joined once per body."""
    absolute = joined.get(value)
    if absolute is None:
        absolute = joined[value] = _absolute(value, base_url, origin)
    return absolute


def _lazy_source(attributes: dict[str, str | None]) -> str | None:
    """The image source a lazy-loading `<img>` (`attributes`) holds back, when it is one `src` may take."""
    for name in _LAZY_ATTRS:
        value = attributes.get(name)
        if value and value.strip():
            return _allowed_source(value.strip())
    lazy = attributes.get("srcset") or attributes.get("data-srcset")
    if lazy and not (attributes.get("src") or "").strip():
        first = srcset.candidates(lazy)[:1]
        if first and first[0][0]:
            return _allowed_source(first[0][0])
    return None


def _allowed_source(url: str) -> str | None:
    # A lazy attribute passed the allowlist as a `data-*` attribute, not as a URL: its scheme is checked now.
    return url if sanitize.url_is_allowed(url, data_image=True) else None


def _absolute(value: str, base_url: str, origin: str | None) -> str:
    stripped = value.strip()
    if not stripped or stripped.startswith("#"):
        return value
    plain = plain_join(stripped, origin)
    if plain is not None:
        return plain
    try:
        return urljoin(base_url, stripped)
    except ValueError:
        return value


def origin_of(base_url: str) -> str | None:
    """`scheme://host` of an http(s) base URL as urljoin reads it, for `plain_join`; None for any other base."""
    try:
        parts = urlsplit(base_url)
    except ValueError:
        return None
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else None


def plain_join(url: str, origin: str | None) -> str | None:
    """urljoin's answer for the two common shapes it needs no parsing for, else None (a property test holds it to
    urljoin): an absolute http(s) URL comes back as it is, a path from the root comes back behind the base's origin,
    when neither holds what urljoin would rewrite (white space, `;` parameters, dot segments, an empty `?` or `#`)."""
    match = _PLAIN_URL.fullmatch(url)
    if match is None or "/." in url:
        return None
    if match.group(1):
        return url
    path = match.group(2)
    if origin is None or not path or path.startswith("//"):
        return None
    return origin + url


def has_junk(text: str) -> bool:
    """Whether `text` holds characters no archive file may (control characters, lone surrogates)."""
    return _BODY_JUNK.search(text) is not None


def strip_junk(text: str) -> str:
    """`text` without the characters no archive file may hold. Body HTML must lose them before it is parsed and
    sanitised: dropped afterwards they could join the pieces of a tag name (`<b\x01ase>`) into one never checked."""
    return _BODY_JUNK.sub("", text) if has_junk(text) else text


def brace_escape(text: str) -> str:
    """Write `{` and `}` as character references so Hexo never reads them as template tags."""
    return text.replace("{", "&#123;").replace("}", "&#125;")


def body_text(body_html: str) -> str:
    """The visible text of a body, white space folded; used to recognise the same article under two URLs."""
    if markup_problem(body_html) is not None:
        return plain_text(body_html)
    tree = LexborHTMLParser(body_html)
    root = tree.body
    text = root.text(separator=" ") if root is not None else ""
    return " ".join(text.split())
