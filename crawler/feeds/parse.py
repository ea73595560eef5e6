"""Bytes of a feed -> entries. feedparser is wrapped here and imported nowhere else.

feedparser's own HTML sanitising and URI resolution are off: crawler/sanitize.py and render/fixes.py clean bodies
per docs/FORMAT.md, and an archive keeps the feed's HTML as the feed gives it.
"""

from __future__ import annotations

import html
import json
import re
import xml.parsers.expat
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import feedparser

from crawler.errors import CrawlerError
from crawler.extract import charset
from crawler.identity.keys import item_key

_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_FIRST_TAG = re.compile(rb"<([A-Za-z_][\w.:-]*)")
_HTML_ROOTS = frozenset({"html", "head", "body"})
JSON_FEED_VERSION = "https://jsonfeed.org/version/"

# The prolog vetting (see _vet_prolog). An entity is kept only when its value is a few plain characters, such as
# `<!ENTITY nbsp "&#160;">`: then no reference can expand to much more than itself, however many there are.
_MAX_ENTITY_VALUE = 8
_MAX_ENTITIES = 64
_VET_CHUNK = 65536
_SURROGATE = re.compile("[\ud800-\udfff]")
_CHAR_REFERENCE = re.compile(rb"&#([xX][0-9a-fA-F]{1,16}|[0-9]{1,20});")
_SAFE_ENTITY_NAME = re.compile(r"[A-Za-z_]\w*\Z")
# A complete character reference. feedparser's loose parser (the fallback for a feed that is not well-formed XML)
# hands back the text of some elements, authors and categories among them, escaped once more: `AT&amp;T`.
_REFERENCE = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


class FeedError(CrawlerError):
    """The bytes are not a feed we can read (not XML, hostile, empty); the message says why in one line."""


@dataclass(frozen=True)
class Entry:
    """One item of a feed, in the terms docs/FORMAT.md uses; dates are aware, or naive when the feed gave no offset."""

    key: str  # its identity within its feed (identity.item_key, or a repeat key)
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
        # A shallow dict of the fields: dataclasses.asdict deep-copies every value, and this runs per entry.
        data = {f.name: getattr(self, f.name) for f in fields(self)}
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
    """Parse RSS, Atom or JSON Feed bytes; raise FeedError (and nothing else) when they are not a feed."""
    if not content.strip():
        raise FeedError("empty response, not a feed")
    if _looks_like_json(content):
        return _parse_json_feed(content)
    text = charset.decode(content, _xml_content_type(content_type))
    # feedparser re-detects the encoding from the declaration; hand it UTF-8 that says so.
    body = _XML_DECLARATION.sub("", text, count=1).encode("utf-8")
    prolog = _vet_prolog(body)
    rest = _CHAR_REFERENCE.sub(_valid_reference, body[prolog.root_start :])
    data = b'<?xml version="1.0" encoding="utf-8"?>\n' + prolog.doctype + rest
    try:
        parsed = feedparser.parse(
            data,
            sanitize_html=False,
            resolve_relative_uris=False,
            response_headers={"content-type": "application/xml; charset=utf-8", "content-location": url},
        )
    except (RecursionError, MemoryError, ValueError, OverflowError) as exc:
        # feedparser catches what its parsers say of bad XML, but not every crash inside them.
        raise FeedError(f"not a feed: the XML could not be parsed ({type(exc).__name__})") from None
    channel = parsed.feed
    feed_title = _text(channel.get("title"))
    entries = tuple(_entry(raw, feed_title) for raw in parsed.entries)
    # feedparser's version is empty when it recognised no feed format at all (an HTML page, say).
    if not entries and (not parsed.version or (parsed.bozo and not feed_title) or prolog.root in _HTML_ROOTS):
        raise FeedError(_not_a_feed(prolog.root, parsed))
    return ParsedFeed(
        title=feed_title,
        link=_text(channel.get("link")),
        entries=entries,
        ttl=_ttl(channel),
    )


def _xml_content_type(content_type: str | None) -> str | None:
    return content_type if content_type and "charset" in content_type.lower() else None


@dataclass(frozen=True)
class _Prolog:
    """What stands before a document's root element, made safe: the root's name and offset, and a DOCTYPE
    (empty, or only the harmless entity declarations the document made) to put in place of the original prolog."""

    root: str | None
    root_start: int
    doctype: bytes


class _RootReached(Exception):
    """Raised from expat's start-element handler: the prolog is over and vetted."""


def _vet_prolog(data: bytes) -> _Prolog:
    """Vet the prolog of UTF-8 XML with expat; raise FeedError on an entity that could expand or read a file.

    Everything before the root element is then replaced: feedparser rebuilds a DOCTYPE from any `<!ENTITY`
    text it finds before the first tag (even inside comments) and keeps long entity values, which is a
    quadratic blowup; both its strict parser and its loose (sgmllib) fallback then expand them. So it is only
    shown the entities vetted here, never the original prolog; an external DTD is dropped, never read.
    """
    parser = xml.parsers.expat.ParserCreate()
    safe: list[tuple[str, str]] = []
    root: list[str] = []
    root_at: list[int] = []

    def entity(
        name: str,
        is_parameter: int,
        value: str | None,
        base: str | None,
        system_id: str | None,
        public_id: str | None,
        notation: str | None,
    ) -> None:
        if system_id is not None or public_id is not None or notation is not None:
            raise FeedError(f"refused: the feed declares an external XML entity '{name}' (an XXE attack)")
        if is_parameter:
            raise FeedError(f"refused: the feed declares an XML parameter entity '{name}' (an entity attack)")
        text = value or ""
        if len(text) > _MAX_ENTITY_VALUE or any(ch in text for ch in '&<%"') or not _SAFE_ENTITY_NAME.match(name):
            raise FeedError(
                f"refused: the feed declares an expanding XML entity '{name}' (a billion-laughs or quadratic-blowup "
                "attack)"
            )
        safe.append((name, text))
        if len(safe) > _MAX_ENTITIES:
            raise FeedError(f"refused: the feed declares more than {_MAX_ENTITIES} XML entities")

    def start(name: str, _attrs: object) -> None:
        root.append(name)
        root_at.append(parser.CurrentByteIndex)
        raise _RootReached

    parser.EntityDeclHandler = entity
    parser.StartElementHandler = start
    root_start = -1
    try:
        for offset in range(0, len(data), _VET_CHUNK):
            parser.Parse(data[offset : offset + _VET_CHUNK], False)
        parser.Parse(b"", True)
    except _RootReached:
        root_start = root_at[0]
    except xml.parsers.expat.ExpatError:
        pass  # not well-formed before its root: feedparser's loose parser reads it, from its first tag on
    if root_start < 0:
        match = _FIRST_TAG.search(data)
        root_start = match.start() if match else len(data)
        root = [match.group(1).decode("ascii", "replace")] if match else []
    name = root[0].rsplit(":", 1)[-1].lower() if root else None
    doctype = b""
    if safe and root:
        declarations = "".join(f'<!ENTITY {key} "{value}">\n' for key, value in safe)
        doctype = f"<!DOCTYPE {root[0]} [\n{declarations}]>\n".encode()
    return _Prolog(root=name, root_start=root_start, doctype=doctype)


def _valid_reference(match: re.Match[bytes]) -> bytes:
    # feedparser's loose parser turns `&#xD800;` into a lone surrogate and then fails to encode it: the whole
    # parse raises. A reference to no character (NUL, a surrogate, past U+10FFFF) becomes U+FFFD first.
    digits = match.group(1)
    value = int(digits[1:], 16) if digits[:1] in (b"x", b"X") else int(digits)
    if value == 0 or 0xD800 <= value <= 0xDFFF or value > 0x10FFFF:
        return b"&#xFFFD;"
    return match.group(0)


def _not_a_feed(root: str | None, parsed: Any) -> str:
    if root in _HTML_ROOTS:
        return "not a feed: the server sent an HTML page, not RSS, Atom or JSON Feed (is the feed URL right?)"
    problem = parsed.get("bozo_exception")
    reason = str(problem).splitlines()[0] if problem else "no entries and no channel"
    if root is None:
        return f"not a feed: no XML element found ({reason})"
    return f"not a feed: <{root}> document without entries ({reason})"


def _looks_like_json(content: bytes) -> bool:
    # By the bytes, not the Content-Type: servers label feeds of either kind as text/plain or application/json.
    return content.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")


def _parse_json_feed(content: bytes) -> ParsedFeed:
    """A JSON Feed (https://jsonfeed.org, versions 1 and 1.1) as the same entries an XML feed gives."""
    try:
        document: object = json.loads(charset.decode(content, "application/json; charset=utf-8"))
    except (ValueError, RecursionError) as exc:
        reason = str(exc).splitlines()[0] if isinstance(exc, ValueError) else "nested too deeply"
        raise FeedError(f"not a feed: invalid JSON ({reason})") from None
    if not isinstance(document, dict):
        raise FeedError("not a feed: JSON that is not a JSON Feed object")
    version = _json_str(document.get("version"))
    if not version or not version.startswith(JSON_FEED_VERSION):
        raise FeedError("not a feed: JSON without a JSON Feed version (https://jsonfeed.org/version/1.1)")
    items = document.get("items")
    if not isinstance(items, list):
        raise FeedError("not a feed: JSON Feed without an items list")
    feed_title = _json_str(document.get("title"))
    feed_author = _json_author(document)
    entries = tuple(_json_entry(item, feed_title, feed_author) for item in items if isinstance(item, dict))
    return ParsedFeed(title=feed_title, link=_json_str(document.get("home_page_url")), entries=entries, ttl=None)


def _json_entry(item: dict[str, Any], feed_title: str | None, feed_author: str | None) -> Entry:
    guid = _json_str(item.get("id"))
    link = _json_str(item.get("url")) or _json_str(item.get("external_url"))
    title = _json_str(item.get("title"))
    content = _json_str(item.get("content_html"))
    if content is None:
        plain = _json_str(item.get("content_text")) or _json_str(item.get("summary"))
        content = "".join(f"<p>{html.escape(part)}</p>" for part in plain.split("\n\n")) if plain else None
    published = _json_str(item.get("date_published"))
    updated = _json_str(item.get("date_modified"))
    tags = item.get("tags")
    categories = (
        tuple(dict.fromkeys(t.strip() for t in tags if isinstance(t, str) and t.strip()))
        if isinstance(tags, list)
        else ()
    )
    return Entry(
        key=item_key(guid, link, title, content),
        guid=guid,
        link=link,
        title=title,
        author=_json_author(item) or feed_author,
        categories=categories,
        published=parse_date_text(published) if published else None,
        updated=parse_date_text(updated) if updated else None,
        content=content,
        image=_json_image(item),
        feed_title=feed_title,
    )


def _json_str(value: object) -> str | None:
    # JSON Feed fields are strings, but a careless generator writes numbers (ids) too; anything else is ignored.
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    return _text(value)


def _json_author(holder: dict[str, Any]) -> str | None:
    """Version 1.1's `authors` list, else version 1's `author` object."""
    authors = holder.get("authors")
    candidates = authors if isinstance(authors, list) else [holder.get("author")]
    for author in candidates:
        if isinstance(author, dict):
            name = _json_str(author.get("name"))
            if name:
                return name
    return None


def _json_image(item: dict[str, Any]) -> str | None:
    image = _json_str(item.get("image")) or _json_str(item.get("banner_image"))
    if image:
        return image
    attachments = item.get("attachments")
    for attachment in attachments if isinstance(attachments, list) else []:
        if isinstance(attachment, dict) and str(attachment.get("mime_type", "")).startswith("image/"):
            url = _json_str(attachment.get("url"))
            if url:
                return url
    return None


def _entry(raw: Any, feed_title: str | None) -> Entry:
    guid = _text(raw.get("id"))
    link = _link(raw)
    title = _text(raw.get("title"))
    content = _content(raw)
    return Entry(
        key=item_key(guid, link, title, content),
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
    text = _valid(str(value)).strip()
    return text or None


def _plain_text(value: object) -> str | None:
    """A plain-text field (an author, a category): its character references decoded, once. Only complete
    references: `AT&T` stays itself, where html.unescape alone would read `&T`-like legacy names without `;`."""
    text = _text(value)
    if text is None or "&" not in text:
        return text
    return _valid(_REFERENCE.sub(lambda match: html.unescape(match.group()), text)).strip() or None


def _valid(text: str) -> str:
    # A lone surrogate (from a JSON escape or a bad character reference) cannot be stored or written as UTF-8.
    return _SURROGATE.sub("\ufffd", text)


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
            return _valid(str(item.get("value")))
    summary = raw.get("summary")
    return _valid(str(summary)) if summary and str(summary).strip() else None


def _author(raw: Any) -> str | None:
    author = _plain_text(raw.get("author"))
    if author:
        return author
    detail = raw.get("author_detail") or {}
    return _plain_text(detail.get("name") or detail.get("email"))


def _categories(raw: Any) -> tuple[str, ...]:
    names: list[str] = []
    for tag in raw.get("tags", []):
        term = _plain_text(tag.get("term") or tag.get("label"))
        if term and term not in names:
            names.append(term)
    return tuple(names)


def _date(raw: Any, field: str) -> datetime | None:
    """The entry's date as written (keeping 'no offset' visible as a naive datetime), else feedparser's UTC."""
    # dict.get: feedparser's own lookup answers a missing `updated` with `published` (and a warning).
    written = _text(dict.get(raw, field))
    if written:
        moment = parse_date_text(written)
        if moment is not None:
            return moment
    parsed = dict.get(raw, f"{field}_parsed")
    if parsed:
        try:
            year, month, day, hour, minute, second = (int(part) for part in parsed[:6])
            return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
        except (TypeError, ValueError, OverflowError):
            return None
    return None


def parse_date_text(text: str) -> datetime | None:
    """An RFC 822 or ISO 8601 date; naive when the text carries no offset; None when it is not one, or names a
    year, hour or offset no datetime can hold (such a number overflows instead of failing as a bad value)."""
    text = text.strip()
    try:
        moment = parsedate_to_datetime(text)
        # email.utils marks "-0000" (no zone known) as naive already; keep that meaning.
        return moment
    except (TypeError, ValueError, IndexError, OverflowError):
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
