"""Page metadata from structured data first, then visible bylines and datelines.

Per field the sources are tried in this order: JSON-LD (NewsArticle and kin, ``@graph`` included), Open Graph
and ``article:*`` meta, Twitter cards, other ``<meta>`` names (Dublin Core, sailthru, Parse.ly, ...),
microdata (``itemprop``), then what a reader sees: bylines and datelines, Chinese forms included.

Everything here treats the page as hostile: bad JSON, huge attributes, absurd dates and deep nesting must
give ``None`` for a field, never an exception.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser, LexborNode

__all__ = ["PageMeta", "author_name", "page_metadata", "parse_date"]


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


_MAX_VALUE = 2000  # longer attribute values are not metadata, just noise
_MAX_JSONLD = 2_000_000
_WS_RE = re.compile(r"\s+")
_TAG_RE = re.compile(r"<[^>]{0,2000}>")

# --- dates ----------------------------------------------------------------------------------------------

_TZ = r"(?P<tz>Z|z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?"
_ISO_RE = re.compile(
    r"(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})"
    r"(?:[T\s]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<f>\d{1,9}))?)?\s*" + _TZ + ")?"
)
_CJK_DATE_RE = re.compile(
    r"(?P<y>\d{4})\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*日"
    r"(?:\s*(?:(?P<ampm>上午|下午|早上|晚上)\s*)?(?P<H>\d{1,2})\s*[:：时]\s*(?P<M>\d{2})(?:\s*[:：分]\s*(?P<S>\d{2}))?)?"
)
_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        (
            "jan january",
            "feb february",
            "mar march",
            "apr april",
            "may",
            "jun june",
            "jul july",
            "aug august",
            "sep sept september",
            "oct october",
            "nov november",
            "dec december",
        )
    )
    for m in names.split()
}
_EN_CLOCK = r"(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?\s*(?P<ampm>[ap]\.?m\.?)?"
_EN_TIME = r"(?:,?\s*(?:at\s+)?" + _EN_CLOCK + r"\s*" + _TZ + ")?"
_EN_DAY = r"(?P<d>\d{1,2})(?:st|nd|rd|th)?"
_EN_MDY_RE = re.compile(r"(?P<mon>[A-Za-z]{3,9})\.?\s+" + _EN_DAY + r",?\s+(?P<y>\d{4})" + _EN_TIME)
_EN_DMY_RE = re.compile(_EN_DAY + r"\s+(?P<mon>[A-Za-z]{3,9})\.?,?\s+(?P<y>\d{4})" + _EN_TIME)
_EPOCH_RE = re.compile(r"\d{10}(?:\d{3})?")
# ISO 8601 basic format: 20180619T055000+0900
_ISO_BASIC_RE = re.compile(
    r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})T(?P<H>\d{2})(?P<M>\d{2})(?P<S>\d{2})?" + _TZ,
)


def _tzinfo(tz: str | None) -> timezone | None:
    if not tz:
        return None
    if tz.upper() in ("Z", "UTC", "GMT"):
        return UTC
    sign = -1 if tz[0] == "-" else 1
    digits = tz[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    if hours > 14 or minutes > 59:
        return None
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _build(
    y: str,
    m: int,
    d: str,
    hh: str | None,
    mm: str | None,
    ss: str | None,
    frac: str | None = None,
    tz: str | None = None,
    ampm: str | None = None,
) -> datetime | None:
    year = int(y)
    if not 1970 <= year <= 2100:
        return None
    hour = int(hh or 0)
    if ampm:
        pm = ampm.lower().startswith("p") or ampm in ("下午", "晚上")
        if pm and hour < 12:
            hour += 12
        elif not pm and hour == 12 and ampm.lower().startswith("a"):
            hour = 0
    micro = int((frac or "0")[:6].ljust(6, "0"))
    try:
        return datetime(year, m, int(d), hour, int(mm or 0), int(ss or 0), micro, tzinfo=_tzinfo(tz))
    except ValueError:
        return None


def parse_date(text: str | None) -> datetime | None:
    """Parse ISO 8601, RFC 822, Chinese (``2021年08月24日 15:07``), English and epoch dates.

    The result is aware when the text carries an offset and naive otherwise. Returns None when nothing
    date-like is found; never raises.
    """
    if not text:
        return None
    text = text.strip()[:200]
    if _EPOCH_RE.fullmatch(text):
        seconds = int(text) / (1000 if len(text) == 13 else 1)
        return datetime.fromtimestamp(seconds, UTC)
    match = _ISO_RE.search(text) or _ISO_BASIC_RE.match(text)
    if match:
        g = match.group
        frac = g("f") if "f" in match.re.groupindex else None
        return _build(g("y"), int(g("m")), g("d"), g("H"), g("M"), g("S"), frac, g("tz"))
    match = _CJK_DATE_RE.search(text)
    if match:
        g = match.group
        return _build(g("y"), int(g("m")), g("d"), g("H"), g("M"), g("S"), ampm=g("ampm"))
    if "," in text[:5] or text[:3].isalpha():
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            parsed = None
        if parsed is not None:
            return parsed
    for rx in (_EN_MDY_RE, _EN_DMY_RE):
        match = rx.search(text)
        if match and match.group("mon").lower() in _MONTHS:
            g = match.group
            month = _MONTHS[g("mon").lower()]
            return _build(g("y"), month, g("d"), g("H"), g("M"), g("S"), None, g("tz"), g("ampm"))
    return None


# --- helpers --------------------------------------------------------------------------------------------


def _clean(value: object) -> str | None:
    """Text of a metadata value: entities decoded, tags stripped, whitespace folded."""
    if not isinstance(value, str):
        return None
    value = value[:_MAX_VALUE]
    if "<" in value:
        value = _TAG_RE.sub(" ", value)
    if "&" in value:
        value = html.unescape(value)
    value = _WS_RE.sub(" ", value).strip()
    return value or None


# Every full-tree CSS query costs about the same, mostly the walk over the elements rather than the test of each,
# so what several fields read is gathered in one walk (see _Scan). Lexbor returns the elements of a selector list in
# document order, an element once per selector of the list it matches.
_SCAN_SELECTOR = (
    "meta[content], script[type='application/ld+json' i], [itemprop], link[rel=canonical], link[rel=image_src], h1, h2"
)
_LD_TYPE = "application/ld+json"


@dataclass(frozen=True)
class _Scan:
    """The page and what one CSS pass over it found, in document order."""

    tree: LexborHTMLParser
    metas: tuple[LexborNode, ...]  # <meta content>
    ld_scripts: tuple[LexborNode, ...]  # <script type=application/ld+json>
    itemprops: tuple[tuple[str | None, LexborNode], ...]  # every [itemprop] element and its itemprop
    headings: tuple[LexborNode, ...]  # every <h1> and <h2>
    has_link: bool  # whether a <link rel=canonical> or <link rel=image_src> is there to look up


def _scan(tree: LexborHTMLParser) -> _Scan:
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
    return _Scan(tree, tuple(metas), tuple(scripts), tuple(itemprops), tuple(headings), has_link)


def _meta_index(scan: _Scan) -> dict[str, str]:
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


def _first_meta(index: dict[str, str], *keys: str) -> str | None:
    for key in keys:
        value = _clean(index.get(key))
        if value:
            return value
    return None


# --- JSON-LD --------------------------------------------------------------------------------------------

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
_CDATA_RE = re.compile(r"^\s*(?://\s*)?<!\[CDATA\[|(?://\s*)?\]\]>\s*$|^\s*<!--|-->\s*$")


def _types(obj: dict[str, object]) -> set[str]:
    t = obj.get("@type")
    if isinstance(t, str):
        return {t.lower()}
    if isinstance(t, list):
        return {x.lower() for x in t if isinstance(x, str)}
    return set()


def _jsonld_objects(scan: _Scan) -> Iterator[dict[str, object]]:
    """Every dict in every JSON-LD block, walked iteratively (no recursion on hostile nesting)."""
    for script in scan.ld_scripts:
        raw = script.text()
        if not raw or len(raw) > _MAX_JSONLD:
            continue
        # Some pages (and Readability's test corpus) wrap the JSON in CDATA markers or comments.
        raw = _CDATA_RE.sub("", raw).strip().rstrip(";")
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


def _jsonld(scan: _Scan) -> tuple[dict[str, object], dict[str, object]]:
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


def _ld_name(value: object) -> str | None:
    """A person's or organisation's name from a JSON-LD value that may be a string, dict or list of them."""
    items = value if isinstance(value, list) else [value]
    names = []
    for item in items[:10]:
        name = _clean(item.get("name")) if isinstance(item, dict) else _clean(item)
        if name and not name.startswith(("http://", "https://")) and name not in names:
            names.append(name)
    return ", ".join(names) or None


def _ld_url(value: object) -> str | None:
    for _ in range(4):
        if isinstance(value, list):
            value = value[0] if value else None
        elif isinstance(value, dict):
            value = value.get("url") or value.get("contentUrl") or value.get("@id")
        else:
            break
    return _clean(value)


# --- visible text ---------------------------------------------------------------------------------------

_DATE_HINT_SELECTOR = (
    "time[datetime], [itemprop=datePublished], [class*=date i], [class*=time i], [id*=date i], [id*=time i], "
    "[class*=pub i], [class*=info i], [class*=source i], [class*=byline i], [class*=meta i]"
)
_VISIBLE_DATE_RE = re.compile(
    r"\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日(?:\s*(?:上午|下午)?\s*\d{1,2}\s*[:：]\s*\d{2}(?:\s*[:：]\s*\d{2})?)?"
    r"|\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?"
)
_TIMED_DATE_RE = re.compile(
    r"\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日\s*(?:上午|下午)?\s*\d{1,2}\s*[:：]\s*\d{2}(?:\s*[:：]\s*\d{2})?"
    r"|\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\s+\d{1,2}:\d{2}(?::\d{2})?"
)
_CJK_AUTHOR_RE = re.compile(
    # A separator is required: "记者获悉" ("the reporter learned") is not a byline.
    r"(?:(?:作者|撰文|记者|编译)\s*(?:[：:|丨/]\s*|\s+)|(?<![\u4e00-\u9fff])文\s*[：:/]\s*)"
    r"([^\s，,。|丨/：:()（）]{2,20})"
)
_CJK_RE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")  # kana and CJK ideographs
_BY_RE = re.compile(r"^\s*(?:by|von|par|por|door|di)\s+(.{2,100})$", re.I)


def _visible_date(tree: LexborHTMLParser) -> datetime | None:
    for node in tree.css(_DATE_HINT_SELECTOR)[:200]:
        stamp = node.attributes.get("datetime")
        if stamp:
            parsed = parse_date(stamp)
            if parsed:
                return parsed
        text = node.text()[:300]
        match = _VISIBLE_DATE_RE.search(text)
        if match:
            parsed = parse_date(match.group(0))
            if parsed:
                return parsed
    body = tree.body
    if body is None:
        return None
    # Anywhere else on the page only a date with a time of day counts: that is a dateline, while a bare
    # date is as likely a date the article talks about.
    match = _TIMED_DATE_RE.search(body.text()[:200_000])
    return parse_date(match.group(0)) if match else None


_HEADER_TEXT = 300  # characters after the headline that still count as the article header
_UPDATE_WORD_RE = re.compile(r"(?:更新|修改|编辑于|updated|modified|edited)[^\d]{0,12}$", re.I)
_SKIP_TAGS = ("script", "style", "noscript", "template", "-comment")


def _headline_node(scan: _Scan, title: str) -> LexborNode | None:
    """The visible heading that shows the title (portals put their logo in the first <h1>)."""
    for node in scan.headings[:20]:
        if _clean(node.text()[:_MAX_VALUE]) == title:
            return node
    return None


def _text_after(node: LexborNode, limit: int) -> str:
    """About ``limit`` characters of the text that follows ``node`` in document order (scripts and
    styles skipped), walking its following siblings, then its ancestors' following siblings."""
    parts: list[str] = []
    size = 0
    current: LexborNode | None = node
    for _ in range(4):  # up to the headline's great-grandparent: far enough for any header layout
        if current is None:
            break
        sibling = current.next
        while sibling is not None and size < limit:
            if sibling.tag not in _SKIP_TAGS:
                text = sibling.text(separator=" ")[: limit - size] if sibling.tag != "-text" else sibling.text()
                parts.append(text)
                size += len(text)
            sibling = sibling.next
        if size >= limit:
            break
        current = current.parent
    return _WS_RE.sub(" ", " ".join(parts))[:limit]


def _header_dateline(scan: _Scan, title: str | None) -> datetime | None:
    """The date and time printed right below the headline (Sina's ``.date-source``, a byline's
    timestamp), when it carries minutes and is not labelled as an update."""
    if not title:
        return None
    headline = _headline_node(scan, title)
    if headline is None:
        return None
    text = _text_after(headline, _HEADER_TEXT)
    match = _TIMED_DATE_RE.search(text)
    if match is None or _UPDATE_WORD_RE.search(text[: match.start()]):
        return None
    return parse_date(match.group(0))


def _reconcile(declared: datetime, shown: datetime) -> datetime:
    """The published date when the page's metadata and its visible dateline disagree.

    Portals rewrite ``article:published_time`` when they re-index a story (Sina's is minutes to hours
    after the dateline and after its own ``weibo: article:create_at``), while the dateline next to the
    headline is what the newsroom printed. So the dateline wins when the two differ by more than the
    minute it is printed to and by less than a day. A difference of whole quarter hours, or any
    difference of hours from a UTC metadata date, may be a time-zone shift between the two (UTC in the
    meta, local time on the page) and keeps the metadata date.
    """
    wall = declared.replace(tzinfo=None)
    if wall.time() == datetime.min.time() and wall.date() == shown.date():
        return shown.replace(tzinfo=declared.tzinfo)  # the metadata gave the day only
    gap = abs((wall.replace(second=0, microsecond=0) - shown.replace(second=0, microsecond=0)).total_seconds())
    if gap < 60 or gap >= 86_400 or gap % 900 == 0:
        return declared
    if declared.utcoffset() == timedelta(0) and gap >= 900:
        return declared
    # The dateline's wall clock, in the metadata's zone: they differ by less than any zone shift.
    return shown.replace(tzinfo=declared.tzinfo)


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


def _visible_authors(tree: LexborHTMLParser, cjk: bool) -> Iterator[str]:
    """Bylines a reader sees, best first: byline/author elements, then, on a Chinese or Japanese page (`cjk`), a
    labelled writer (作者：) in the text. Lazy, so the page's text is only read when no element gave a name that
    `author_name` accepts."""
    for node in tree.css("[rel=author], [class*=byline i], [class*=author i], [id*=author i]")[:50]:
        text = _clean(node.text(separator=" "))
        if not text or len(text) > 120:
            continue
        if "编辑" in text or "来源" in text or "作者" in text:
            # A labelled Chinese line: take the writer if named, never the editor (责任编辑).
            match = _CJK_AUTHOR_RE.search(text)
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
    for match in _CJK_AUTHOR_RE.finditer(text):
        yield match.group(1)


# --- authors --------------------------------------------------------------------------------------------

# A label in front of the name: "作者：张三", "文/张三", "记者 | 张三", "By Jane Doe", "Posted by ...".
_AUTHOR_LABEL_RE = re.compile(
    r"^\s*(?:(?:作者|撰文|记者|编译|文)\s*[：:/|丨]\s*|(?:(?:posted|written)\s+)?(?:by|von|par|por|door|di)\s+)",
    re.I,
)
# What follows a name on the same line and is not part of it: a time, the source, the editor, a follow button,
# a column's counters ("IT之家 发布时间：09-30", "中国广州发布 关注", "股市行情 总篇数 919 篇").
_AUTHOR_TAIL_RE = re.compile(
    r"\s*(?:发布时间|发表时间|发布于|时间\s*[：:]|来源|责任编辑|编辑|关注|总篇数|阅读\s*\d|评论\s*\d).*$"
    r"|\s+(?:edited|updated|published)\s+(?:by|on)\b.*$"
    r"|\s+\d{1,2}\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?,?\s+\d{4}\b.*$",
    re.S | re.I,
)
# A source label ("转载", "reprint"), a rights notice or a page control: the value is not a byline at all.
_NOT_AUTHOR_RE = re.compile(
    r"转载|授权|版权|原创声明|网络整理|reprint|copyright|©|\bsign\s*(?:in|up)\b|\blog\s*in\b|\bsubscribe\b|\bfollow\b",
    re.I,
)
_NOT_AUTHOR_WORDS = frozenset(
    ("未知", "佚名", "匿名", "全部", "更多", "首页", "登录", "注册", "unknown", "anonymous", "admin", "none", "null")
)
# A number or an id rather than a name: "104363", "L_104485", "CC7567", "#42".
_AUTHOR_ID_RE = re.compile(r"[A-Za-z]{0,4}[_\-#]?\d[\d_\-.]*")
_AUTHOR_URL_RE = re.compile(r"\s*\(?\s*https?://[^\s)]*\s*\)?")
_SENTENCE_RE = re.compile(r"[。！？；]")
_NAME_SPLIT_RE = re.compile(r"\s*(?:[,，、&()（）]|\b(?:and|et|und|y|avec|with)\b|和|与)\s*", re.I)
_MAX_AUTHOR = 80
_MAX_NAME_WORDS = 6  # one person's or organisation's name; more is a caption or a sentence


def author_name(candidate: str | None) -> str | None:
    """`candidate` as an author per docs/FORMAT.md, with its label ("作者：", "By ") and what trails the name on its
    line (a time, a source, an editor) removed; None when it is no byline at all: a number or an id, an attribute
    fragment (`size="20"`), a source label (来源, 转载, "reprint") or an editor (责任编辑), a page control
    ("Sign In", 关注), a profile URL or handle, or a caption or sentence."""
    if not candidate:
        return None
    text = _WS_RE.sub(" ", candidate).strip()
    if not text or len(text) > 4 * _MAX_AUTHOR:
        return None
    text = _AUTHOR_LABEL_RE.sub("", text, count=1)
    text = _AUTHOR_TAIL_RE.sub("", text).strip(" ,;:：，|丨/·-")
    if not text or len(text) > _MAX_AUTHOR or text.casefold() in _NOT_AUTHOR_WORDS:
        return None
    if text.startswith(("http://", "https://", "@")) or "@" in text:
        return None  # a profile URL, a handle or a template's "name, email@example.com"
    text = _AUTHOR_URL_RE.sub("", text)  # "Bradley M. Kuhn (http://ebb.org/bkuhn/)": the name stays
    # Markup, a headline's colon or a price is no name ('size="20"', "Trump's inauguration: $25,000 ...").
    if any(c in text for c in "=<>{}:：$%") or _NOT_AUTHOR_RE.search(text) or _SENTENCE_RE.search(text):
        return None
    if not any(c.isalpha() for c in text) or _AUTHOR_ID_RE.fullmatch(text):
        return None
    if any(len(part.split()) > _MAX_NAME_WORDS for part in _NAME_SPLIT_RE.split(text)):
        return None
    return text


def _microdata(scan: _Scan, prop: str) -> str | None:
    # The first element whose itemprop is exactly `prop`, as `[itemprop=prop]` selects it (case-sensitive).
    node = next((node for itemprop, node in scan.itemprops if itemprop == prop), None)
    if node is None:
        return None
    attrs = node.attributes
    for attr in ("content", "datetime", "src", "href"):
        if attrs.get(attr):
            return _clean(attrs[attr])
    name = node.css_first("[itemprop=name]")
    return _clean((name or node).text()[:_MAX_VALUE])


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
    for img in body.css("img[src]")[:200]:
        attrs = img.attributes
        src = _usable_image(attrs)
        if src and _declared_width(attrs) >= _MIN_LEAD_WIDTH:
            return src
    for img in body.css(_CONTENT_IMAGES)[:50]:
        attrs = img.attributes
        src = _usable_image(attrs)
        if src and not attrs.get("width") and not attrs.get("height"):
            return src
    return None


# --- titles ---------------------------------------------------------------------------------------------

_TITLE_SEP_RE = re.compile(
    r"\s+[|\-–—·•»:/\\]\s+|\s*[|_｜]\s*|\s+(?:::|--)\s+"
    # CJK titles join the site name with a bare hyphen: "全力保障临床用药需求-新华网".
    r"|(?<=[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff01-\uff60])[-－–—](?=[\u3400-\u9fff\uf900-\ufaff])"
)
_PORTAL_SUFFIX_RE = re.compile(r"(网|频道|新闻|资讯|在线|日报|晚报|报|中心|官网|首页|门户|社区)$")


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
    headline, name = _clean(ld.get("headline")), _clean(ld.get("name"))
    if headline and name and headline != name and doc_title:
        # Wikipedia-style pages put a description in "headline" and the title in "name"; the one that
        # shares more words with <title> is the title.
        words = _words(doc_title)
        return name if len(_words(name) & words) > len(_words(headline) & words) else headline
    return headline or name


def _squeeze(text: str) -> str:
    return text.replace(" ", "")


def _title(
    ld: dict[str, object],
    index: dict[str, str],
    scan: _Scan,
    site: str | None,
) -> str | None:
    h1_node = next((node for node in scan.headings if node.tag == "h1"), None)
    h1 = _clean(h1_node.text()[:_MAX_VALUE]) if h1_node is not None else None
    node = scan.tree.css_first("title")
    doc_title = _clean(node.text()[:_MAX_VALUE]) if node is not None else None
    title = (
        _ld_title(ld, doc_title)
        or _first_meta(
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
        or _microdata(scan, "headline")
        or doc_title
    )
    if title is None:
        return h1
    if h1 and len(h1) > len(title) and h1.startswith(title) and h1[len(title)] in "\"'“”":
        # A meta title cut short by an unescaped quote in its attribute (content="a "b" c").
        return h1
    return _strip_site_suffix(title, site, h1)


_WORD_RE = re.compile(r"\w+")


# --- entry point ----------------------------------------------------------------------------------------


def _absolute(url: str, value: str | None) -> str | None:
    if not value:
        return None
    try:
        return urljoin(url, value.strip())
    except ValueError:
        return None


def _keys(names: str) -> tuple[str, ...]:
    return tuple(names.split())


# <meta> names per field, Open Graph first, then Twitter, then the rest; earlier keys win.
_SITE_KEYS = ("og:site_name", "application-name", "al:ios:app_name")
_AUTHOR_KEYS = (
    *_keys("author article:author sailthru.author parsely-author dc.creator dcterms.creator byl byline"),
    "twitter:creator",
)
_PUBLISHED_KEYS = _keys(
    "article:published_time og:published_time og:article:published_time pubdate publishdate "
    "publish-date publish_date date dc.date dc.date.issued dcterms.created dcterms.date sailthru.date "
    "parsely-pub-date article.published datepublished og:pubdate weibo:article:create_at "
    "article:create_at citation_publication_date article_date_original date_published pub_date "
    "article.created"
)
_MODIFIED_KEYS = _keys(
    "article:modified_time og:updated_time dc.date.modified dcterms.modified last-modified "
    "datemodified weibo:article:update_at article:update_at"
)
_IMAGE_KEYS = _keys(
    "og:image og:image:url og:image:secure_url twitter:image twitter:image:src thumbnail image",
)
_LANGUAGE_KEYS = ("content-language", "og:locale", "dc.language", "language")
_DESCRIPTION_KEYS = _keys(
    "og:description twitter:description description dc.description sailthru.description",
)


def _author_candidates(
    ld: dict[str, object], index: dict[str, str], scan: _Scan, title: str | None
) -> Iterator[str | None]:
    # docs/FORMAT.md's order for the page's author; lazy, so a later (dearer) source is only read when every earlier
    # one gave nothing that `author_name` accepts.
    yield _ld_name(ld.get("author") or ld.get("creator"))
    for key in _AUTHOR_KEYS:
        yield _clean(index.get(key))
    yield _microdata(scan, "author")
    yield from _visible_authors(scan.tree, bool(title and _CJK_RE.search(title)))


def _author(ld: dict[str, object], index: dict[str, str], scan: _Scan, title: str | None) -> str | None:
    for candidate in _author_candidates(ld, index, scan, title):
        name = author_name(candidate)
        if name:
            return name
    return None


def _published(ld: dict[str, object], index: dict[str, str], scan: _Scan, title: str | None) -> datetime | None:
    declared = (
        parse_date(_clean(ld.get("datePublished") or ld.get("dateCreated")))
        or parse_date(_first_meta(index, *_PUBLISHED_KEYS))
        or parse_date(_microdata(scan, "datePublished"))
    )
    if declared is None:
        return _visible_date(scan.tree)
    shown = _header_dateline(scan, title)
    return _reconcile(declared, shown) if shown is not None else declared


def _modified(ld: dict[str, object], index: dict[str, str], scan: _Scan) -> datetime | None:
    return (
        parse_date(_clean(ld.get("dateModified")))
        or parse_date(_first_meta(index, *_MODIFIED_KEYS))
        or parse_date(_microdata(scan, "dateModified"))
    )


def _image(ld: dict[str, object], index: dict[str, str], scan: _Scan) -> str | None:
    image = (
        _ld_url(ld.get("image") or ld.get("thumbnailUrl"))
        or _first_meta(index, *_IMAGE_KEYS)
        or _microdata(scan, "image")
    )
    if image is None:
        link = scan.tree.css_first("link[rel=image_src]") if scan.has_link else None
        image = _clean(link.attributes.get("href")) if link is not None else None
    return image or _first_big_image(scan.tree)


def _language(ld: dict[str, object], index: dict[str, str], tree: LexborHTMLParser) -> str | None:
    html_node = tree.css_first("html")
    language = (
        _clean(ld.get("inLanguage"))
        or (_clean(html_node.attributes.get("lang")) if html_node is not None else None)
        or _first_meta(index, *_LANGUAGE_KEYS)
    )
    return language.replace("_", "-") if language else None  # og:locale writes en_US


def page_metadata(tree: LexborHTMLParser, url: str) -> PageMeta:
    """Metadata of a page from JSON-LD (NewsArticle and kin, @graph too), Open Graph, Twitter cards,
    <meta> tags, microdata, then visible bylines/datelines. Never raises on hostile input."""
    scan = _scan(tree)
    article, page = _jsonld(scan)
    ld = article or page
    index = _meta_index(scan)
    publisher = ld.get("publisher")
    site_name = _first_meta(index, *_SITE_KEYS) or (_ld_name(publisher) if publisher else None)
    # The scan saw whether either link exists; which one, Lexbor's rel matching (case-insensitive) tells.
    canonical_node = tree.css_first("link[rel=canonical]") if scan.has_link else None
    canonical = _clean(canonical_node.attributes.get("href")) if canonical_node is not None else None
    title = _title(ld, index, scan, site_name)
    return PageMeta(
        title=title,
        author=_author(ld, index, scan, title),
        published=_published(ld, index, scan, title),
        modified=_modified(ld, index, scan),
        image=_absolute(url, _image(ld, index, scan)),
        site_name=site_name,
        language=_language(ld, index, tree),
        canonical=_absolute(url, canonical),
        description=_clean(ld.get("description")) or _first_meta(index, *_DESCRIPTION_KEYS),
    )
