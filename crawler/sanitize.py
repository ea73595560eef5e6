"""An HTML subtree -> the same subtree holding only what an archive may carry: an ALLOWLIST of elements, attributes
and URL schemes (docs/FORMAT.md, "The body": nothing that could run a stranger's code on the blog that publishes it).

Whatever this module does not list goes: an element it does not know is unwrapped (its text stays, its tag goes),
an element that only ever holds code or a second document is removed with everything inside it, an attribute it
does not list is removed, and so is a URL whose scheme it does not list. Miniflux's `sanitizer` works the same way.

It edits the selectolax (Lexbor) tree in place rather than re-serialising through another parser: the archived
body stays the page's own markup as Lexbor writes it (the golden file is byte-exact), and a body is parsed once.
(nh3, the binding of ammonia, was measured for this: with every element and attribute of the page allowed it still
changed the bytes of 29 bodies in 120 real pages and added a third to the body fixes' time; see the commit.)

To allow something new, add its name to `ELEMENTS`, `SVG_ELEMENTS`, `MATHML_ELEMENTS`, `ATTRIBUTES` or
`URL_SCHEMES`; a URL-valued attribute must also be named in `URL_ATTRIBUTES` so its scheme is checked.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

from selectolax.lexbor import LexborNode

# HTML elements of an article's content. Legacy ones (`font`, `center`, `xmp`, `listing` ...) are here because
# real pages use them and they are harmless; docs/FORMAT.md's layout knows how to write the raw-text ones.
ELEMENTS = frozenset(
    {
        "a", "abbr", "acronym", "address", "article", "aside", "audio", "b", "bdi", "bdo", "big", "blockquote",
        "body", "br", "caption", "center", "cite", "code", "col", "colgroup", "data", "dd", "del", "details",
        "dfn", "div", "dl", "dt", "em", "figcaption", "figure", "font", "footer", "h1", "h2", "h3", "h4", "h5",
        "h6", "header", "hgroup", "hr", "i", "img", "ins", "kbd", "label", "legend", "fieldset", "li", "listing",
        "main", "map", "area", "mark", "meter", "nav", "noembed", "noframes", "nobr", "ol", "p", "picture",
        "plaintext", "pre", "progress", "q", "rb", "rp", "rt", "rtc", "ruby", "s", "samp", "section", "small",
        "source", "span", "strike", "strong", "style", "sub", "summary", "sup", "table", "tbody", "td",
        "textarea", "tfoot", "th", "thead", "time", "tr", "track", "tt", "u", "ul", "var", "video", "wbr", "xmp",
    }
)  # fmt: skip
# SVG drawing and MathML layout. `foreignObject` holds HTML, which passes this same allowlist (drawings with
# labels use it). Not here on purpose: `annotation-xml` (it switches back to HTML parsing inside MathML, a root of
# mutation XSS), `script`, the animation elements (they can set an `href` to a `javascript:` URL), and `style`
# and the other raw-text names (an HTML serialiser writes their text raw, by name alone: see below).
SVG_ELEMENTS = frozenset(
    {
        "svg", "g", "path", "circle", "ellipse", "line", "polyline", "polygon", "rect", "text", "tspan",
        "textpath", "defs", "symbol", "use", "title", "desc", "lineargradient", "radialgradient", "stop",
        "clippath", "mask", "pattern", "marker", "image", "foreignobject",
    }
)  # fmt: skip
MATHML_ELEMENTS = frozenset(
    {
        "math", "mi", "mn", "mo", "ms", "mtext", "mrow", "msup", "msub", "msubsup", "mfrac", "msqrt", "mroot",
        "mtable", "mtr", "mtd", "mspace", "mstyle", "munder", "mover", "munderover", "mpadded", "mphantom",
        "menclose", "mmultiscripts", "mprescripts", "none", "semantics", "annotation",
    }
)  # fmt: skip
_ALLOWED_ELEMENTS = ELEMENTS | SVG_ELEMENTS | MATHML_ELEMENTS
# Elements that only ever hold code, a second document or a way to send the reader's input elsewhere: removed with
# everything inside them (unwrapping would leave their script or fallback text in the article).
REMOVED_WHOLE = (
    "script", "noscript", "iframe", "object", "embed", "form", "frame", "frameset", "applet", "base", "meta",
    "link", "template", "portal", "fencedframe", "animate", "animatemotion", "animatetransform", "animatecolor",
    "set", "annotation-xml", "input", "select", "datalist",
)  # fmt: skip
# Inside <svg> or <math> these are ordinary elements whose text (`&lt;img onerror=...&gt;`) may hold anything; an
# HTML serialiser writes it raw, by name alone, so it would be read back as markup.
_RAW_TEXT_NAMES = ("style", "xmp", "noembed", "noframes", "plaintext", "textarea", "title", "noscript", "iframe")
_FOREIGN_ROOTS = ("svg", "math")
# A subtree's root that is one of these is emptied rather than kept (see `remove_forbidden`).
_RAW_TEXT_ROOTS = frozenset((*_RAW_TEXT_NAMES, "script"))
_FOREIGN_RAW_TEXT_SELECTOR = ", ".join(f"{outer} {name}" for outer in _FOREIGN_ROOTS for name in _RAW_TEXT_NAMES)
# The removal's query also finds the <svg> and <math> elements, so that the second query, eighteen descendant
# selectors that cost a walk twice as slow as the first's, runs only on a body that has one (few do).
_REMOVED_OR_FOREIGN_SELECTOR = ", ".join((*REMOVED_WHOLE, *_FOREIGN_ROOTS))

# Attribute names kept on any allowed element (compared in lower case). `data-*` and `aria-*` are kept too: they
# are inert, and a page's lazy-loading attributes are among them.
ATTRIBUTES = frozenset(
    {
        # HTML
        "abbr", "align", "alt", "axis", "bgcolor", "border", "cellpadding", "cellspacing", "char", "charoff",
        "cite", "class", "clear", "color", "cols", "colspan", "compact", "controls", "coords", "datetime",
        "decoding", "dir", "disabled", "download", "face", "headers", "height", "high", "href", "hreflang", "hspace",
        "id", "itemid", "itemprop", "itemscope", "itemtype", "kind", "label", "lang", "loading", "loop", "low",
        "max", "media", "min", "muted", "name", "noshade", "nowrap", "open", "optimum", "poster", "preload",
        "readonly", "referrerpolicy", "rel", "reversed", "role", "rows", "rowspan", "rules", "scope", "shape",
        "size", "sizes", "span", "src", "srclang", "srcset", "start", "style", "summary", "tabindex", "target",
        "title", "translate", "type", "usemap", "valign", "value", "vspace", "width", "wrap", "xml:lang",
        "background",
        # SVG
        "viewbox", "xmlns", "xmlns:xlink", "version", "preserveaspectratio", "d", "points", "x", "y", "x1", "x2",
        "y1", "y2", "cx", "cy", "r", "rx", "ry", "fx", "fy", "fill", "fill-opacity", "fill-rule", "clip-rule",
        "clip-path", "stroke", "stroke-width", "stroke-linecap", "stroke-linejoin", "stroke-dasharray",
        "stroke-dashoffset", "stroke-miterlimit", "stroke-opacity", "opacity", "transform", "offset",
        "stop-color", "stop-opacity", "gradientunits", "gradienttransform", "patternunits", "patterntransform",
        "font-family", "font-size", "font-weight", "text-anchor", "dominant-baseline", "dx", "dy", "rotate",
        "textlength", "markerwidth", "markerheight", "refx", "refy", "orient", "markerunits", "focusable",
        "xlink:href", "mask", "visibility", "vector-effect", "shape-rendering",
        # MathML
        "display", "mathvariant", "mathsize", "mathcolor", "mathbackground", "displaystyle", "scriptlevel",
        "fence", "separator", "stretchy", "symmetric", "largeop", "movablelimits", "accent", "accentunder",
        "lspace", "rspace", "linethickness", "notation", "columnalign", "rowalign", "columnspan", "encoding",
    }
)  # fmt: skip
_ATTRIBUTE_PREFIXES = ("data-", "aria-")
# Attributes whose value is one URL, and those whose value is a list of them (`srcset`: `url 2x, url 640w`).
URL_ATTRIBUTES = frozenset({"href", "src", "cite", "poster", "background", "xlink:href", "itemid", "itemtype"})
URL_LIST_ATTRIBUTES = frozenset({"srcset", "data-srcset"})
URL_SCHEMES = frozenset({"http", "https", "mailto", "tel", "ftp", "sms", "geo", "magnet", "xmpp", "news"})
# Raster images inline as data: URLs are common and inert; SVG images are documents that can hold script.
DATA_IMAGE_TYPES = ("png", "jpeg", "jpg", "gif", "webp", "avif", "bmp", "x-icon", "vnd.microsoft.icon")
# Schemes that run code: dropped from ANY attribute (a lazy-loading `data-src` is promoted to `src` later on).
_CODE_SCHEMES = frozenset({"javascript", "vbscript", "livescript", "mocha"})
_PLAIN_ATTRIBUTES = ATTRIBUTES - URL_ATTRIBUTES - URL_LIST_ATTRIBUTES - {"style"}
_PLAIN_OR_LINK_ATTRIBUTES = _PLAIN_ATTRIBUTES | {"href", "src"}

# Browsers ignore white space and control characters inside a scheme (`java\tscript:`).
_SCHEME_JUNK = re.compile(r"[\x00-\x20\x7f]+")
_SCHEME = re.compile(r"([a-z][a-z0-9+.\-]*):")
_SCHEME_NAME = re.compile(r"[a-z][a-z0-9+.\-]*")
# ASCII characters that neither a scheme holds (in either case) nor compacting removes. (Not every other character:
# lower case turns the Kelvin sign into a `k`.)
_NOT_IN_SCHEME = re.compile(r"[!-*,/:-@\[-`{-~]")
_CSS_COMMENT = re.compile(r"/\*.*?(\*/|\Z)", re.DOTALL)
_CSS_ESCAPE = re.compile(r"\\(?:([0-9a-fA-F]{1,6})\s?|(.))", re.DOTALL)
_CSS_DANGERS = ("expression(", "behavior:", "-moz-binding", "behaviour:", "@import")
_CSS_URL = re.compile(r"url\(\s*([\"']?)(.*?)\1\s*\)", re.DOTALL | re.IGNORECASE)
# Any of the words above, or a code scheme's name and colon, found in one search (`css_is_dangerous`).
_CSS_DANGER = re.compile("|".join(map(re.escape, (*_CSS_DANGERS, *(f"{s}:" for s in sorted(_CODE_SCHEMES))))))


def sanitize_tree(root: LexborNode) -> None:
    """Reduce the subtree under `root` to the allowlist, in place: elements removed whole or unwrapped, attributes
    and URLs not listed removed, `<style>` elements whose CSS could run code removed. (`root` itself keeps its tag.)"""
    remove_forbidden(root)
    for _ in kept_elements(root):
        pass


def element_allowed(tag: str) -> bool:
    """Whether an element of this name may stand in a body (the subtree roots `sanitize_tree` keeps whatever they
    are named: a caller writing a root's outer HTML asks this first)."""
    return tag in _ALLOWED_ELEMENTS or tag.lower() in _ALLOWED_ELEMENTS


def remove_forbidden(root: LexborNode) -> None:
    """The first step of `sanitize_tree`: remove, whole, the elements that only hold code or a second document.
    `root` itself stays (Lexbor's css() includes it, and freeing it would leave the caller's handle dangling):
    a `<form>` or other container that wraps a whole article keeps its content, sanitised as any other; one whose
    content is raw text (a `<style>`, a `<script>`) is emptied, since that text would be written out unescaped."""
    root_id = root.mem_id
    if (root.tag or "").lower() in _RAW_TEXT_ROOTS:
        for child in list(root.iter(include_text=True)):
            child.decompose()
        return
    # Descendants first: a node inside one already removed must not be touched again.
    foreign = False
    for node in reversed(root.css(_REMOVED_OR_FOREIGN_SELECTOR)):
        if node.tag in _FOREIGN_ROOTS:  # kept: only raw-text elements inside it go, below
            foreign = True
        elif node.mem_id != root_id:
            node.decompose()
    if foreign:
        for node in reversed(root.css(_FOREIGN_RAW_TEXT_SELECTOR)):
            node.decompose()


def kept_elements(root: LexborNode) -> Iterator[tuple[LexborNode, str, dict[str, str | None]]]:
    """The second step of `sanitize_tree` (after `remove_forbidden`), element by element in document order: an
    element not listed is unwrapped or removed, one that stays loses the attributes not allowed and is yielded with
    its tag and the attributes it keeps (what `node.attributes` reads after it, without a second call into Lexbor).
    The caller may change each element yielded before the next is looked at."""
    # A body repeats its attribute sets (one inline style on a hundred spans): each set not plainly allowed is judged
    # once per walk, by what `_not_allowed` reads (whether the element is an image, and the attributes).
    verdicts: dict[tuple[object, ...], list[str]] = {}
    root_id = root.mem_id  # (each css() match is a new handle: `is` never finds the root)
    for node in root.css("*"):
        tag = node.tag or ""
        if tag not in _ALLOWED_ELEMENTS and tag.lower() not in _ALLOWED_ELEMENTS and node.mem_id != root_id:
            if node.child is None:
                node.decompose()  # (Lexbor's unwrap leaves an element with no children in place)
            else:
                node.unwrap()
            continue
        current = node.attributes
        if current and not _plainly_allowed(current):
            key = (tag == "img", *current.items())
            removed = verdicts.get(key)
            if removed is None:
                removed = verdicts[key] = _not_allowed(tag, current)
            if removed:
                attrs = node.attrs
                for name in removed:
                    del attrs[name]
                    del current[name]
        if tag == "style" and node.mem_id != root_id and css_is_dangerous(node.text(deep=True) or ""):
            node.decompose()  # (a <style> root was emptied by `remove_forbidden`)
            continue
        yield node, tag, current


def _plainly_allowed(attributes: dict[str, str | None]) -> bool:
    """Every attribute listed by a name whose value cannot hold a scheme, or an `href` or `src` that is relative or
    http(s): the common case, told in a few C-speed calls (a test holds it to `attribute_is_allowed`)."""
    if not _PLAIN_OR_LINK_ATTRIBUTES.issuperset(attributes):
        return False
    values = "".join(filter(None, attributes.values()))
    if ":" not in values and "&" not in values:
        return True  # no value can hold a scheme, a link's included
    for name, value in attributes.items():
        # Only a link may hold one, and only an http(s) one (`_scheme`'s own shortcut).
        if (
            value
            and (":" in value or "&" in value)
            and not ((name == "href" or name == "src") and value.startswith(("http:", "https:")))
        ):
            return False
    return True


def _not_allowed(tag: str, current: dict[str, str | None]) -> list[str]:
    """The names of the attributes of a `tag` element (`current`, its attributes as a plain dict) that must go."""
    return [
        name
        for name, value in current.items()
        # The common case is decided without a call: a listed name, or a `data-*` or `aria-*` one, whose value cannot
        # hold a scheme (`attribute_is_allowed` keeps those: a test holds the shortcut to it).
        if not (
            (name in _PLAIN_ATTRIBUTES or name.startswith(_ATTRIBUTE_PREFIXES))
            and (value is None or (":" not in value and "&" not in value))
        )
        and not attribute_is_allowed(name, value, is_image_source=tag == "img" and name == "src")
    ]


def attribute_is_allowed(name: str, value: str | None, *, is_image_source: bool = False) -> bool:
    """Whether an attribute may stay: its name listed (or `data-*`/`aria-*`), its URL's scheme listed, its CSS
    unable to run code, and no value of any attribute a `javascript:` URL."""
    lowered = name.lower()
    if lowered not in ATTRIBUTES and not lowered.startswith(_ATTRIBUTE_PREFIXES):
        return False
    if value is None:
        return True
    if lowered in URL_ATTRIBUTES:
        return url_is_allowed(value, data_image=is_image_source)
    if lowered in URL_LIST_ATTRIBUTES:
        return all(url_is_allowed(_first_word(part)) for part in value.split(","))
    if lowered == "style":
        return not css_is_dangerous(value)
    return _scheme(value) not in _CODE_SCHEMES


def url_is_allowed(value: str, *, data_image: bool = False) -> bool:
    """Whether a URL may stay: relative, or with a listed scheme; `data:` only for a raster image when
    `data_image` (an `<img>` source)."""
    scheme = _scheme(value)
    if scheme is None or scheme in URL_SCHEMES:
        return True
    if scheme == "data" and data_image:
        compact = _SCHEME_JUNK.sub("", html.unescape(value)).lower()
        return compact.startswith(tuple(f"data:image/{kind}" for kind in DATA_IMAGE_TYPES)) and not (
            compact.startswith("data:image/svg")
        )
    return False


def _scheme(value: str) -> str | None:
    if ":" not in value and "&" not in value:
        return None  # every scheme ends in a colon, and only a character reference could make one appear
    if value.startswith(("http:", "https:")):
        # The most common value of all: decoding, white space and case cannot change a scheme the value opens with
        # in plain lower-case letters (a test holds this to the full reading below).
        return "https" if value[4] == "s" else "http"
    colon, reference = value.find(":"), value.find("&")
    if reference < 0 or 0 <= colon < reference:
        # Decoding leaves what comes before the first `&` as it is, and neither compacting nor lower case adds or
        # removes a colon: the scheme is the part before the first colon, read as the full reading reads it.
        name = _SCHEME_JUNK.sub("", value[:colon]).lower()
        return name if _SCHEME_NAME.fullmatch(name) else None
    if _NOT_IN_SCHEME.search(value, 0, reference) is not None:
        return None  # a character no scheme holds comes before any colon a reference could decode to
    return full_scheme(value)


def full_scheme(value: str) -> str | None:
    """The URL scheme of an attribute's value as a browser would read it, decoded and compacted."""
    # The parser has decoded entities once; decode again (a second layer fools some filters).
    compact = _SCHEME_JUNK.sub("", html.unescape(value)).lower()
    match = _SCHEME.match(compact)
    return match.group(1) if match is not None else None


def _first_word(candidate: str) -> str:
    words = candidate.split()
    return words[0] if words else ""


def css_is_dangerous(css: str) -> bool:
    """Whether CSS could run code or load what the allowlist would not (IE's expression() and behaviors,
    Mozilla's -moz-binding, @import, a url() whose scheme is not listed), after undoing the comments and escapes
    that hide such words."""
    text = _CSS_COMMENT.sub("", css) if "/*" in css else css  # (every comment opens with `/*`)
    if "\\" in text:
        text = _CSS_ESCAPE.sub(_css_unescape, text)
    compact = _SCHEME_JUNK.sub("", text).lower()
    if _CSS_DANGER.search(compact) is not None:
        return True
    if "url(" not in compact:
        return False
    return not all(url_is_allowed(match.group(2), data_image=True) for match in _CSS_URL.finditer(text))


def _css_unescape(match: re.Match[str]) -> str:
    if match.group(2) is not None:
        return match.group(2)
    code = int(match.group(1), 16)
    return chr(code) if 0 < code < 0x110000 and not 0xD800 <= code < 0xE000 else "\ufffd"
