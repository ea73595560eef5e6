"""Bytes of a feed -> entries. feedparser is wrapped here and imported nowhere else.

feedparser's own HTML sanitising and URI resolution are off: document.py sanitises bodies per FORMAT.md, and an
archive keeps the feed's HTML as the feed gives it.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import feedparser

from crawler import charset

_ENTITY_DECLARATION = re.compile(rb"<!ENTITY", re.IGNORECASE)
_DOCTYPE_SYSTEM = re.compile(rb"<!DOCTYPE[^>\[]*\b(SYSTEM|PUBLIC)\b", re.IGNORECASE)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_HTML_START = re.compile(rb"^\s*(<!DOCTYPE\s+html|<html)", re.IGNORECASE)


class FeedError(Exception):
    """The bytes are not a feed we can read (not XML, hostile, empty); the message says why in one line."""


@dataclass(frozen=True)
class Entry:
    """One item of a feed, in the terms FORMAT.md uses; dates are aware, or naive when the feed gave no offset."""

    key: str
    guid: str | None
    link: str | None
    title: str | None
    author: str | None
    categories: tuple[str, ...]
    published: datetime | None
    updated: datetime | None
    content: str | None
    image: str | None
    feed_title: str | None = None  # the channel's title: the author of last resort

    def to_json(self) -> str:
        """The entry as JSON, for the state database's record of a pending entry."""
        data = asdict(self)
        for name in ("published", "updated"):
            value = data[name]
            data[name] = value.isoformat() if value is not None else None
        return json.dumps(data, ensure_ascii=False)

    @staticmethod
    def from_json(text: str) -> Entry:
        """The entry `to_json` wrote."""
        data: dict[str, Any] = json.loads(text)
        for name in ("published", "updated"):
            if data[name] is not None:
                data[name] = datetime.fromisoformat(data[name])
        data["categories"] = tuple(data["categories"])
        return Entry(**data)


@dataclass(frozen=True)
class ParsedFeed:
    """A feed's entries and the channel facts the pipeline uses."""

    title: str | None
    link: str | None
    entries: tuple[Entry, ...]
    ttl: float | None  # seconds the feed asks us to wait between polls (<ttl>, sy:updatePeriod/Frequency)


def parse_feed(content: bytes, url: str, content_type: str | None = None) -> ParsedFeed:
    """Parse RSS, Atom or JSON Feed bytes; raise FeedError when they are not a feed."""
    if not content.strip():
        raise FeedError("empty response, not a feed")
    _refuse_hostile_xml(content)
    text = charset.decode(content, _xml_content_type(content_type))
    # feedparser re-detects the encoding from the declaration; hand it UTF-8 that says so.
    data = _XML_DECLARATION.sub('<?xml version="1.0" encoding="utf-8"?>', text, count=1).encode("utf-8")
    parsed = feedparser.parse(
        data,
        sanitize_html=False,
        resolve_relative_uris=False,
        response_headers={"content-type": _parser_content_type(content_type), "content-location": url},
    )
    channel = parsed.feed
    feed_title = _text(channel.get("title"))
    entries = tuple(_entry(raw, feed_title) for raw in parsed.entries)
    # feedparser's version is empty when it recognised no feed format at all (an HTML page, say).
    if not entries and (not parsed.version or (parsed.bozo and not feed_title)):
        raise FeedError(_not_a_feed(content, parsed))
    return ParsedFeed(
        title=feed_title,
        link=_text(channel.get("link")),
        entries=entries,
        ttl=_ttl(channel),
    )


def _xml_content_type(content_type: str | None) -> str | None:
    return content_type if content_type and "charset" in content_type.lower() else None


def _parser_content_type(content_type: str | None) -> str:
    base = (content_type or "application/xml").split(";", 1)[0].strip().lower()
    if "json" in base:
        return "application/feed+json; charset=utf-8"
    return "application/xml; charset=utf-8"


def _refuse_hostile_xml(content: bytes) -> None:
    head = content[:65536]
    # Entity declarations are how billion-laughs, quadratic blowup and XXE attacks begin; no real feed needs one.
    if _ENTITY_DECLARATION.search(head):
        raise FeedError("refused: the feed declares XML entities (a possible entity-expansion or XXE attack)")
    if _DOCTYPE_SYSTEM.search(head) and not _HTML_START.match(head) and b"rss-0.91" not in head.lower():
        raise FeedError("refused: the feed references an external DTD")


def _not_a_feed(content: bytes, parsed: Any) -> str:
    if _HTML_START.match(content[:1024]):
        return "not a feed: the server sent an HTML page (is the feed URL right?)"
    problem = parsed.get("bozo_exception")
    reason = str(problem).splitlines()[0] if problem else "no entries and no channel"
    return f"not a feed: {reason}"


def _entry(raw: Any, feed_title: str | None) -> Entry:
    guid = _text(raw.get("id"))
    link = _link(raw)
    title = _text(raw.get("title"))
    content = _content(raw)
    key = guid or link or hashlib.sha256(f"{title}\n{content}".encode()).hexdigest()
    return Entry(
        key=key,
        guid=guid,
        link=link,
        title=title,
        author=_author(raw),
        categories=_categories(raw),
        published=_date(raw, "published"),
        updated=_date(raw, "updated"),
        content=content,
        image=_image(raw),
        feed_title=feed_title,
    )


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _link(raw: Any) -> str | None:
    link = _text(raw.get("link"))
    if link:
        return link
    for candidate in raw.get("links", []):
        if candidate.get("rel", "alternate") == "alternate" and candidate.get("href"):
            return str(candidate["href"]).strip()
    guid = _text(raw.get("id"))
    if guid and raw.get("guidislink") and guid.startswith(("http://", "https://")):
        return guid
    return None


def _content(raw: Any) -> str | None:
    for item in raw.get("content", []):
        value = _text(item.get("value"))
        if value:
            return str(item.get("value"))
    summary = raw.get("summary")
    return str(summary) if summary and str(summary).strip() else None


def _author(raw: Any) -> str | None:
    author = _text(raw.get("author"))
    if author:
        return author
    detail = raw.get("author_detail") or {}
    return _text(detail.get("name") or detail.get("email"))


def _categories(raw: Any) -> tuple[str, ...]:
    names: list[str] = []
    for tag in raw.get("tags", []):
        term = _text(tag.get("term") or tag.get("label"))
        if term and term not in names:
            names.append(term)
    return tuple(names)


def _date(raw: Any, field: str) -> datetime | None:
    """The entry's date as written (keeping 'no offset' visible as a naive datetime), else feedparser's UTC."""
    written = _text(raw.get(field))
    if written:
        moment = parse_date_text(written)
        if moment is not None:
            return moment
    parsed = raw.get(f"{field}_parsed")
    if parsed:
        try:
            year, month, day, hour, minute, second = (int(part) for part in parsed[:6])
            return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
        except (TypeError, ValueError):
            return None
    return None


def parse_date_text(text: str) -> datetime | None:
    """An RFC 822 or ISO 8601 date; naive when the text carries no offset."""
    text = text.strip()
    try:
        moment = parsedate_to_datetime(text)
        # email.utils marks "-0000" (no zone known) as naive already; keep that meaning.
        return moment
    except (TypeError, ValueError, IndexError):
        pass
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _image(raw: Any) -> str | None:
    for enclosure in raw.get("enclosures", []):
        if str(enclosure.get("type", "")).startswith("image/") and enclosure.get("href"):
            return str(enclosure["href"])
    for thumb in raw.get("media_thumbnail", []):
        if thumb.get("url"):
            return str(thumb["url"])
    for media in raw.get("media_content", []):
        is_image = str(media.get("medium", "")) == "image" or str(media.get("type", "")).startswith("image/")
        if is_image and media.get("url"):
            return str(media["url"])
    return None


def _ttl(channel: Any) -> float | None:
    ttl = _text(channel.get("ttl"))
    if ttl and ttl.isdigit():
        return float(ttl) * 60.0
    period = _text(channel.get("sy_updateperiod"))
    if period:
        seconds = {
            "hourly": 3600.0,
            "daily": 86400.0,
            "weekly": 604800.0,
            "monthly": 2592000.0,
            "yearly": 31536000.0,
        }.get(period.lower())
        frequency = _text(channel.get("sy_updatefrequency")) or "1"
        if seconds and frequency.isdigit() and int(frequency) > 0:
            return seconds / int(frequency)
    return None
