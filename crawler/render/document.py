"""Article -> the archive file's text: Hexo front matter and the fixed body, exactly as docs/FORMAT.md prescribes."""

from __future__ import annotations

import functools
import html
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import urljoin

import yaml
from selectolax.lexbor import LexborHTMLParser, LexborNode

from crawler.render import layout

# Elements that could run code or navigate the reader away; an archive must never carry them. SVG animations can
# set an href to a javascript: URL; a template's content is a second document no attribute fix reaches.
_DROP_TAGS = (
    "script",
    "noscript",
    "iframe",
    "object",
    "embed",
    "form",
    "frame",
    "frameset",
    "applet",
    "base",
    "meta",
    "link",
    "template",
    "portal",
    "fencedframe",
    "animate",
    "animatemotion",
    "animatetransform",
    "animatecolor",
    "set",
)
_DROP_SELECTOR = ", ".join(_DROP_TAGS)
# An HTML serialiser writes the text of these elements unescaped, by name alone. Inside <svg> or <math> they are
# ordinary elements, whose text (`&lt;img onerror=...&gt;`) may hold anything: written raw, it would be read back as
# markup. They have no business in an article's drawing or formula.
_RAW_TEXT_NAMES = ("style", "xmp", "noembed", "noframes", "plaintext")
_FOREIGN_RAW_TEXT_SELECTOR = ", ".join(f"{outer} {name}" for outer in ("svg", "math") for name in _RAW_TEXT_NAMES)
_URL_ATTRS = ("href", "src", "action", "formaction", "poster", "cite", "background", "xlink:href")
_URL_LIST_ATTRS = ("srcset", "data-srcset")
_CODE_ATTRS = ("srcdoc",)  # a whole HTML document in an attribute: only ever meant to run
_LAZY_ATTRS = ("data-src", "data-original", "data-lazy-src")
_DANGEROUS_SCHEMES = ("javascript:", "vbscript:", "data:")
_CODE_SCHEMES = ("javascript:", "vbscript:")
_SCHEME_JUNK = re.compile(r"[\x00-\x20\x7f]+")
_CSS_COMMENT = re.compile(r"/\*.*?(\*/|\Z)", re.DOTALL)
_CSS_ESCAPE = re.compile(r"\\(?:([0-9a-fA-F]{1,6})\s?|(.))", re.DOTALL)
_CSS_DANGERS = ("expression(", "javascript:", "vbscript:", "behavior:", "-moz-binding", "behaviour:")
_BODY_JUNK = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
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
_LONG_TAG_CHECKS = 64  # candidates looked at before leaving the decision to the full scan
_ATTRIBUTE = re.compile(r"[^\s=/>]+\s*(?:=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>]*))?")
_SCRIPT_BLOCK = re.compile(r"<(script|style|template)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG_RE = re.compile(r"</?[A-Za-z][^<>]*>")
# A plain YAML scalar is only used for text that cannot be read as anything but itself, in YAML 1.1 (PyYAML)
# and 1.2 (Hexo's js-yaml) alike; everything else is single-quoted, which is always safe.
_PLAIN_FORBIDDEN_START = set("-?:,[]{}#&*!|>'\"%@`~+.0123456789")
_PLAIN_FORBIDDEN_ANY = set(":#{}[],&*!|>'\"%@`\\")
_ROOT_ID = "crawler-body-root"


@dataclass(frozen=True)
class Article:
    """Everything the archive file says about one article, already chosen by precedence."""

    title: str
    categories: tuple[str, ...]
    author: str | None
    comments: bool
    date: datetime
    body: str
    image: str | None


@dataclass(frozen=True)
class FixedBody:
    """A body after docs/FORMAT.md's fixes, and the first image it shows (the file's headimg)."""

    html: str
    first_image: str | None


def render(article: Article, mode: layout.Render = "hexo") -> str:
    """The complete archive file for `article`: front matter, blank line, `<div>` body `</div>`, newline; the body
    laid out for Markdown (`hexo`) or as the page has it (`verbatim`), by docs/FORMAT.md's "Layout of the body"."""
    lines = ["---", f"title: {quoted(clean_value(article.title))}"]
    categories = [clean_value(c) for c in article.categories]
    categories = [c for c in categories if c]
    if categories:
        lines.append("categories: ")
        lines.extend(f" - {scalar(category)}" for category in categories)
    image = clean_value(article.image or "")
    if image:
        lines.append(f"headimg: {quoted(image)}")
    author = clean_value(article.author or "")
    if author:
        lines.append(f"author: {scalar(author)}")
    lines.append(f"comments: {'true' if article.comments else 'false'}")
    lines.append(f"date: {http_date(article.date)}")
    if image:
        lines.append(f"thumbnail: {quoted(image)}")
    lines.append("---")
    # Control characters (NUL ...) have no place in a text file, and a lone surrogate cannot be written as UTF-8.
    # They go before the layout: a dropped carriage return could otherwise join two line breaks into a blank line.
    body = _BODY_JUNK.sub("", article.body)
    if mode == "hexo":
        body = layout.for_markdown(body)
    return "\n".join(lines) + "\n\n<div>" + body + "</div>\n"


def http_date(moment: datetime) -> str:
    """RFC 822 date in GMT with English names whatever the locale: `Tue, 24 Aug 2021 07:07:13 GMT`."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:
        # Beyond what datetime holds in UTC (year 1 east of Greenwich, year 9999 west of it): the nearest end.
        utc = (datetime.min if moment.year == 1 else datetime.max).replace(tzinfo=UTC)
    return format_datetime(utc.replace(microsecond=0), usegmt=True)


def clean_value(value: str) -> str:
    """A front-matter value: control characters, bidirectional controls and unpaired surrogates dropped, white
    space folded, trimmed."""
    kept = "".join(ch for ch in value if ch.isspace() or not _is_unprintable(ch))
    return " ".join(kept.split())


# Unicode's Bidi_Control characters: they reorder what follows, so `Invoice \u202egnp.exe` would display as
# `Invoice exe.png`; a title or author must show the characters it holds, in the order it holds them.
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _is_unprintable(ch: str) -> bool:
    category = unicodedata.category(ch)
    # Cc: control characters; Cs: lone surrogates; U+FEFF/U+FFFE/U+FFFF: not allowed or silently eaten by YAML.
    return category in ("Cc", "Cs") or ch in "\ufeff\ufffe\uffff" or ch in _BIDI_CONTROLS


def title_text(raw: str) -> str:
    """Text of a title that may carry markup: tags stripped, entities decoded, white space folded."""
    return clean_value(html.unescape(_TAG_RE.sub(" ", raw)))


def quoted(value: str) -> str:
    """`value` as a single-quoted YAML scalar."""
    return "'" + value.replace("'", "''") + "'"


def scalar(value: str) -> str:
    """`value` plain when every YAML parser reads it back unchanged, else single-quoted."""
    return value if _plain_is_safe(value) else quoted(value)


# Authors and categories repeat across thousands of articles; the YAML round trip below is the costly part of
# render(), and its answer depends on the value alone.
@functools.lru_cache(maxsize=4096)
def _plain_is_safe(value: str) -> bool:
    if not value or value[0] in _PLAIN_FORBIDDEN_START or value != value.strip():
        return False
    if any(ch in _PLAIN_FORBIDDEN_ANY for ch in value):
        return False
    try:
        loaded: object = yaml.safe_load(f"k: {value}\n")
    except yaml.YAMLError:
        return False
    return loaded == {"k": value}


def fix_body(body_html: str, base_url: str) -> FixedBody:
    """Apply docs/FORMAT.md's body fixes to an HTML fragment whose relative URLs are relative to `base_url`.

    A fragment nested or attributed past what a parser can take in reasonable time (see `markup_problem`) is kept
    as its plain text, escaped, rather than parsed: the words survive, the markup could not be trusted anyway."""
    body_html = strip_junk(body_html)
    if markup_problem(body_html) is not None:
        return FixedBody(
            html=brace_escape(f"<p>{html.escape(plain_text(body_html), quote=False)}</p>"), first_image=None
        )
    tree = LexborHTMLParser(f'<div id="{_ROOT_ID}">{body_html}</div>')
    root = tree.css_first(f"#{_ROOT_ID}")
    if root is None:  # the fragment closed our wrapper early; fall back to the whole body
        root = tree.body
    if root is None:
        return FixedBody(html="", first_image=None)
    fixed = fix_node(root, base_url)
    return FixedBody(html=brace_escape(root.inner_html or ""), first_image=fixed)


def fix_node(root: LexborNode, base_url: str) -> str | None:
    """Fix the subtree under `root` in place; return the first image's absolute URL, if any."""
    # Descendants first: a node inside one already removed must not be touched again.
    for node in reversed(root.css(_DROP_SELECTOR)):
        node.decompose()
    for node in reversed(root.css(_FOREIGN_RAW_TEXT_SELECTOR)):
        node.decompose()
    first_image: str | None = None
    for node in root.css("*"):
        _fix_attributes(node, base_url)
        if node.tag == "img":
            src = node.attrs.get("src")
            if first_image is None and src and src.startswith(("http://", "https://")):
                first_image = src
            if "referrerpolicy" not in node.attrs:
                node.attrs["referrerpolicy"] = "no-referrer"
        elif node.tag == "style" and css_is_dangerous(node.text(deep=True) or ""):
            node.decompose()
    return first_image


def markup_problem(markup: str) -> str | None:
    """Why `markup` is too hostile to parse (nested deeper than MAX_NESTING, an element with more than
    MAX_ATTRIBUTES attributes), or None. A linear scan of the tags, skipping comments and raw text."""
    if not _may_be_hostile(markup):
        return None
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


def _may_be_hostile(markup: str) -> bool:
    """False when neither of markup_problem's limits can be reached, decided in C-speed string operations (the
    tag-by-tag scan costs milliseconds on every page, and half the real pages carry some long attribute list).

    Nesting: each level needs an opening tag, a `<` that starts neither `</` nor `<!`. Attributes: the full scan
    only ever reports a tag found by `_MARKUP_TOKEN` at a position where _LONG_TAG matches; such a tag is
    tested here with the same expressions, so a False here is the full scan's None. Past _LONG_TAG_CHECKS
    candidates the full scan decides, which keeps this linear."""
    opens = markup.count("<")
    if opens > MAX_NESTING and opens - markup.count("</") - markup.count("<!") > MAX_NESTING:
        return True
    first = _ANY_LONG_RUN.search(markup)
    if first is None:
        return False
    position = first.start()
    for _ in range(_LONG_TAG_CHECKS):
        candidate = _LONG_TAG.search(markup, position)
        if candidate is None:
            return False
        token = _MARKUP_TOKEN.match(markup, candidate.start())
        attributes = token.group(3) if token is not None else None
        if attributes is not None and _too_many_attributes(attributes):
            return True
        position = candidate.start() + 1  # the next candidate may start inside this one
    return True


def _too_many_attributes(attributes: str) -> bool:
    return len(attributes) > 2 * MAX_ATTRIBUTES and len(_ATTRIBUTE.findall(attributes)) > MAX_ATTRIBUTES


def plain_text(markup: str) -> str:
    """The words of markup without parsing it into a tree: scripts and styles dropped, tags removed, entities
    decoded, white space folded (for markup too hostile to parse)."""
    return " ".join(html.unescape(_TAG_RE.sub(" ", _SCRIPT_BLOCK.sub(" ", markup))).split())


def css_is_dangerous(css: str) -> bool:
    """Whether CSS could run code (IE's expression() and behaviors, Mozilla's -moz-binding, javascript: URLs),
    after undoing the comments and escapes that hide such words."""
    text = _CSS_COMMENT.sub("", css)
    text = _CSS_ESCAPE.sub(_css_unescape, text)
    compact = _SCHEME_JUNK.sub("", text).lower()
    return any(danger in compact for danger in _CSS_DANGERS)


def _css_unescape(match: re.Match[str]) -> str:
    if match.group(2) is not None:
        return match.group(2)
    code = int(match.group(1), 16)
    return chr(code) if 0 < code < 0x110000 and not 0xD800 <= code < 0xE000 else "\ufffd"


def _fix_attributes(node: LexborNode, base_url: str) -> None:
    attrs = node.attrs
    # Reads go to a plain dict copy kept in step with every change: each lookup through `attrs` is a call into
    # Lexbor, and most elements carry no attribute this function changes.
    current = node.attributes
    if not current and node.tag != "img":
        return
    for name, value in list(current.items()):
        lowered = name.lower()
        if (
            lowered.startswith("on")
            or lowered in _CODE_ATTRS
            or (value is not None and _is_dangerous_url(value, schemes=_CODE_SCHEMES))
            or (lowered == "style" and value is not None and css_is_dangerous(value))
            or (lowered in _URL_LIST_ATTRS and value is not None and _has_dangerous_url(value))
        ):
            del attrs[name]
            del current[name]
    if node.tag == "img":
        _promote_lazy_image(node)
        current = node.attributes
    for name in _URL_ATTRS:
        value = current.get(name)
        if value is None:
            continue
        if _is_dangerous_url(value, allow_data_image=(node.tag == "img" and name == "src")):
            del attrs[name]
            continue
        absolute = _absolute(value, base_url)
        if absolute != value:
            attrs[name] = absolute


def _promote_lazy_image(node: LexborNode) -> None:
    attrs = node.attrs
    for name in _LAZY_ATTRS:
        value = attrs.get(name)
        if value and value.strip():
            attrs["src"] = value.strip()
            return
    srcset = attrs.get("srcset") or attrs.get("data-srcset")
    if srcset and not (attrs.get("src") or "").strip():
        first = srcset.split(",")[0].strip().split(" ")[0]
        if first:
            attrs["src"] = first


def _is_dangerous_url(
    value: str, *, allow_data_image: bool = False, schemes: tuple[str, ...] = _DANGEROUS_SCHEMES
) -> bool:
    if ":" not in value and "&" not in value:
        return False  # every scheme ends in a colon, and only a character reference could make one appear
    # The parser has decoded entities once; decode again (a second layer fools some filters), and drop the
    # white space and control characters browsers ignore inside a scheme (`java\tscript:`).
    compact = _SCHEME_JUNK.sub("", html.unescape(value)).lower()
    if allow_data_image and compact.startswith("data:image/") and not compact.startswith("data:image/svg"):
        return False
    return compact.startswith(schemes)


def _has_dangerous_url(srcset: str) -> bool:
    return any(_is_dangerous_url(part.strip()) for part in srcset.split(","))


def _absolute(value: str, base_url: str) -> str:
    stripped = value.strip()
    if not stripped or stripped.startswith("#"):
        return value
    try:
        return urljoin(base_url, stripped)
    except ValueError:
        return value


def has_junk(text: str) -> bool:
    """Whether `text` holds characters no archive file may (control characters, lone surrogates)."""
    return _BODY_JUNK.search(text) is not None


def strip_junk(text: str) -> str:
    """`text` without the characters `render` would drop. Body HTML must lose them before it is parsed and
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
