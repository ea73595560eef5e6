"""The page's author by docs/FORMAT.md's order of sources, and the rule for what counts as an author at all."""

from __future__ import annotations

import re
from collections.abc import Iterator

from crawler.extract.metadata.bylines import visible_authors
from crawler.extract.metadata.structured import Scan, ld_name, meta_keys, microdata
from crawler.extract.metadata.text import CJK_RE, WS_RE, clean

_AUTHOR_KEYS = (
    *meta_keys("author article:author sailthru.author parsely-author dc.creator dcterms.creator byl byline"),
    "twitter:creator",
)


def _author_candidates(
    ld: dict[str, object], index: dict[str, str], scan: Scan, title: str | None
) -> Iterator[str | None]:
    # docs/FORMAT.md's order for the page's author; lazy, so a later (dearer) source is only read when every earlier
    # one gave nothing that `author_name` accepts.
    yield ld_name(ld.get("author") or ld.get("creator"))
    for key in _AUTHOR_KEYS:
        yield clean(index.get(key))
    yield microdata(scan, "author")
    yield from visible_authors(scan.tree, bool(title and CJK_RE.search(title)))


def page_author(ld: dict[str, object], index: dict[str, str], scan: Scan, title: str | None) -> str | None:
    """The first candidate, in docs/FORMAT.md's order, that `author_name` accepts as an author."""
    for candidate in _author_candidates(ld, index, scan, title):
        name = author_name(candidate)
        if name:
            return name
    return None


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
    text = WS_RE.sub(" ", candidate).strip()
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
