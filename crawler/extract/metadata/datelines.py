"""The published and modified dates: declared ones first, then the datelines a reader sees (near the headline,
in date-like elements, a timed date in the text), and how a declared date and the printed one are reconciled."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from selectolax.lexbor import LexborHTMLParser, LexborNode

from crawler.extract.metadata.dates import parse_date
from crawler.extract.metadata.structured import Scan, first_meta, meta_keys, microdata
from crawler.extract.metadata.text import MAX_VALUE, WS_RE, clean

_PUBLISHED_KEYS = meta_keys(
    "article:published_time og:published_time og:article:published_time pubdate publishdate "
    "publish-date publish_date date dc.date dc.date.issued dcterms.created dcterms.date sailthru.date "
    "parsely-pub-date article.published datepublished og:pubdate weibo:article:create_at "
    "article:create_at citation_publication_date article_date_original date_published pub_date "
    "article.created"
)

_MODIFIED_KEYS = meta_keys(
    "article:modified_time og:updated_time dc.date.modified dcterms.modified last-modified "
    "datemodified weibo:article:update_at article:update_at"
)


def published_date(ld: dict[str, object], index: dict[str, str], scan: Scan, title: str | None) -> datetime | None:
    """The published date: declared (JSON-LD, <meta>, microdata), reconciled with the dateline under the
    headline; with none declared, the dateline a reader sees."""
    declared = (
        parse_date(clean(ld.get("datePublished") or ld.get("dateCreated")))
        or parse_date(first_meta(index, *_PUBLISHED_KEYS))
        or parse_date(microdata(scan, "datePublished"))
    )
    if declared is None:
        return visible_date(scan.tree)
    shown = header_dateline(scan, title)
    return reconcile(declared, shown) if shown is not None else declared


def modified_date(ld: dict[str, object], index: dict[str, str], scan: Scan) -> datetime | None:
    """The modified date the page declares (JSON-LD, <meta>, microdata); never guessed from the text."""
    return (
        parse_date(clean(ld.get("dateModified")))
        or parse_date(first_meta(index, *_MODIFIED_KEYS))
        or parse_date(microdata(scan, "dateModified"))
    )


_DATE_HINT_SELECTOR = (
    "time[datetime], [itemprop=datePublished], [class*=date i], [class*=time i], [id*=date i], [id*=time i], "
    "[class*=pub i], [class*=info i], [class*=source i], [class*=byline i], [class*=meta i]"
)

_VISIBLE_DATE_RE = re.compile(
    r"\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日(?:\s*(?:上午|下午)?\s*\d{1,2}\s*[:：]\s*\d{2}(?:\s*[:：]\s*\d{2})?)?"
    r"|\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?"
)

TIMED_DATE_RE = re.compile(
    r"\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日\s*(?:上午|下午)?\s*\d{1,2}\s*[:：]\s*\d{2}(?:\s*[:：]\s*\d{2})?"
    r"|\d{4}[-/.]\d{1,2}[-/.]\d{1,2}\s+\d{1,2}:\d{2}(?::\d{2})?"
)

# A clock's minutes: every timed date has one, and they are few in a page's text. Text without a full-width colon
# is searched for the ASCII one alone: a pattern that opens with one character is looked for at C speed, one that
# opens with a choice of two is tried at every position (seven times slower).
_CLOCK_RE = re.compile(r"[:：]\s*\d{2}")
_ASCII_CLOCK_RE = re.compile(r":\s*\d{2}")

# How far before its clock a timed date may start: "2021 年 08 月 24 日 下午 15" and then some white space.
_DATE_BEFORE_CLOCK = 64


def first_timed_date(text: str) -> re.Match[str] | None:
    """The first match of TIMED_DATE_RE in `text`, looked for only just before each clock. Searched for directly,
    the pattern (which starts with a digit class) is tried at every position of the text: 2 ms a page, more than
    the rest of the metadata together."""
    clocks = _CLOCK_RE if "：" in text else _ASCII_CLOCK_RE
    position = 0
    while (clock := clocks.search(text, position)) is not None:
        found = TIMED_DATE_RE.search(text, max(0, clock.start() - _DATE_BEFORE_CLOCK), clock.end())
        if found is not None:  # matched again without the window's end, for the seconds after the clock
            return TIMED_DATE_RE.match(text, found.start())
        position = clock.start() + 1
    return None


def visible_date(tree: LexborHTMLParser) -> datetime | None:
    """The first date a reader sees in a date-like element, else the first date with a time of day in the
    page's text."""
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
    match = first_timed_date(body.text()[:200_000])
    return parse_date(match.group(0)) if match else None


_HEADER_TEXT = 300  # characters after the headline that still count as the article header

_UPDATE_WORD_RE = re.compile(r"(?:更新|修改|编辑于|updated|modified|edited)[^\d]{0,12}$", re.I)

_SKIP_TAGS = ("script", "style", "noscript", "template", "-comment")


def _headline_node(scan: Scan, title: str) -> LexborNode | None:
    """The visible heading that shows the title (portals put their logo in the first <h1>)."""
    for node in scan.headings[:20]:
        if clean(node.text()[:MAX_VALUE]) == title:
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
    return WS_RE.sub(" ", " ".join(parts))[:limit]


def header_dateline(scan: Scan, title: str | None) -> datetime | None:
    """The date and time printed right below the headline (Sina's ``.date-source``, a byline's
    timestamp), when it carries minutes and is not labelled as an update."""
    if not title:
        return None
    headline = _headline_node(scan, title)
    if headline is None:
        return None
    text = _text_after(headline, _HEADER_TEXT)
    match = TIMED_DATE_RE.search(text)
    if match is None or _UPDATE_WORD_RE.search(text[: match.start()]):
        return None
    return parse_date(match.group(0))


def reconcile(declared: datetime, shown: datetime) -> datetime:
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
