"""One article, from its fetched page (or its feed item alone) to the text of its archive file, written to a temp
file: the CPU-bound half of archiving.

It runs in worker processes during a burst, so it imports nothing of the network or the state database: a worker
starts by importing this module, and each module it drags in is start-up time paid again by every worker.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

from crawler.archive import files as archive
from crawler.config.settings import FeedConfig
from crawler.extract import charset
from crawler.extract.auto import FeedHint
from crawler.extract.page import Extracted, ExtractError, extract_page
from crawler.feeds.parse import Entry
from crawler.identity import keys as identity
from crawler.identity.urls import article_id, normalize_url
from crawler.render import archive_file, fixes, frontmatter
from crawler.store.history import INDEXED_TEXT_CHARS, ArticleText

if TYPE_CHECKING:  # imported where used: only `raw: warc` needs them, and every worker starts by importing this
    from crawler.archive.warc import Built
    from crawler.fetch.messages import Exchange


def local_date(moment: datetime | None, timezone: str) -> datetime | None:
    """An aware datetime: naive ones are read in the feed's `timezone` (dates that carry no offset)."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=ZoneInfo(timezone))


# The archive's folders may be in any time zone, up to a day off UTC: a date closer than that to the ends of what
# `datetime` holds could not be placed in them, so it counts as no date, like one beyond those ends.
_EARLIEST = datetime.min.replace(tzinfo=UTC) + timedelta(days=1)
_LATEST = datetime.max.replace(tzinfo=UTC) - timedelta(days=1)


def utc_date(moment: datetime | None, timezone: str) -> datetime | None:
    """`moment` in UTC (naive ones read in the feed's `timezone`), or None when it is missing or lies beyond what
    `datetime` can hold in every time zone (`0001-01-01T00:00:00+14:00`, `31 Dec 9999 23:59:59 -1400`)."""
    local = local_date(moment, timezone)
    if local is None:
        return None
    try:
        utc = local.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    return utc if _EARLIEST <= utc <= _LATEST else None


DateSource = Literal["item", "item_updated", "page", "first_seen"]


@dataclass(frozen=True)
class Dated:
    """An article's date and where it came from, so a caller can tell a real date from the first-seen fallback."""

    moment: datetime
    source: DateSource


def dated(entry: Entry, page_published: datetime | None, timezone: str, seen_at: float) -> Dated:
    """docs/FORMAT.md's date: item published, else updated, else the page's, else first seen; never in the future.
    A date out of `datetime`'s range is no date: the next one in that order is taken."""
    seen = datetime.fromtimestamp(seen_at, UTC)
    sources: tuple[tuple[datetime | None, DateSource], ...] = (
        (entry.published, "item"),
        (entry.updated, "item_updated"),
        (page_published, "page"),
    )
    for candidate, source in sources:
        moment = utc_date(candidate, timezone)
        if moment is not None:
            return Dated(min(moment, seen), source)
    return Dated(seen, "first_seen")


def article_date(entry: Entry, page_published: datetime | None, timezone: str, seen_at: float) -> datetime:
    """The date `dated` chooses, without its source."""
    return dated(entry, page_published, timezone, seen_at).moment


def merged_categories(configured: Sequence[str], own: Sequence[str]) -> tuple[str, ...]:
    """The feed's categories, then the item's own ones not already listed, in order."""
    merged = list(configured)
    for category in own:
        if category not in merged:
            merged.append(category)
    return tuple(merged)


@dataclass(frozen=True)
class Composed:
    """An article ready to write, with what identifies it: its id, the URLs it is known by, its text's hash."""

    article: archive_file.Article
    article_id: str
    names: tuple[str, ...]
    text: str
    body_hash: str  # identity.body_key: the title and the body's text
    date_source: DateSource  # where article.date came from: "first_seen" when nothing gave a date


def compose(feed: FeedConfig, entry: Entry, page: Extracted | None, final_url: str, first_seen: float) -> Composed:
    """Choose every field of the archive file by docs/FORMAT.md's precedence: feed config, item, page, first seen.
    Without a page, the item's own content is the body."""
    if page is not None:
        body, first_image, text = page.body, page.first_image, page.text
        canonical = _canonical(page, final_url)
    else:
        fixed = fixes.fix_body(entry.content or _link_only(entry), entry.link or feed.url)
        body, first_image, text = fixed.html, fixed.first_image, fixes.body_text(fixed.html)
        canonical = final_url
    meta = page.meta if page is not None else None
    when = dated(entry, meta.published if meta else None, feed.timezone, first_seen)
    article = archive_file.Article(
        title=_title(entry, page) or (canonical if entry.link else entry.feed_title or feed.url),
        categories=merged_categories(feed.categories, entry.categories),
        author=feed.author or entry.author or (meta.author if meta else None) or entry.feed_title,
        comments=feed.comments,
        date=when.moment,
        body=body,
        image=first_image or (meta.image if meta else None) or entry.image,
    )
    key = identity.body_key(frontmatter.clean_value(article.title), text)
    if not entry.link:
        # No URL names this item: its id comes from its feed and its own key (GUID, or title and content), and it
        # is known by no URL, so it never takes the feed's URL as a name that every other linkless item matches.
        return Composed(article, identity.linkless_article_id(feed.url, entry.key), (), text, key, when.source)
    canonical_norm = normalize_url(canonical)
    names = tuple(dict.fromkeys((canonical_norm, normalize_url(final_url))))
    return Composed(article, article_id(canonical_norm), names, text, key, when.source)


@dataclass(frozen=True)
class FetchedPage:
    """An article's page as fetched: what extraction needs of the response."""

    content: bytes
    content_type: str | None
    url: str  # after redirects


@dataclass(frozen=True)
class Staged:
    """An article rendered and written to a temp file beside its place in the archive, waiting for
    de-duplication to commit or discard it; with what the state database needs to know of it."""

    article_id: str
    names: tuple[str, ...]  # the URLs it is known by
    text_chars: int
    body_hash: str
    path: str  # its place, relative to the archive, in POSIX form
    temp: str  # the temp file holding it
    extract_error: str | None = None  # the page held no body, so the feed's content was used
    kept_feed_text: bool = False  # `content: auto`: the page gave clearly less text than the item
    selector_missed: str | None = None  # the feed's `body:` selector, when it matched nothing on the page
    method: str = "feed text"  # how the body was found: "selector", "site-rule", "automatic" or "feed text"
    search: ArticleText | None = None  # its title, text and date, for the search index
    records: Built | None = None  # `raw: warc`: the page's WARC records, built here, for the crawler to append


def extract_fetched(feed: FeedConfig, page: FetchedPage, hint: FeedHint | None = None) -> Extracted:
    """The article in a fetched page, by the feed's selectors (or a site rule, or automatic extraction guided by
    `hint`, the feed item's title and teaser)."""
    html = charset.decode(page.content, page.content_type)
    return extract_page(html, page.url, feed.body, feed.remove, hint=hint)


def place(feed: FeedConfig, composed: Composed, archive_tz: str) -> Path:
    """Where `composed` goes in the archive: its dated folder (in the feed's or the file's time zone) and id."""
    return archive.relative_path(composed.article_id, composed.article.date, feed.archive_timezone or archive_tz)


def stage_article(
    root: Path,
    feed: FeedConfig,
    entry: Entry,
    page: FetchedPage | None,
    final_url: str,
    first_seen: float,
    archive_tz: str,
    tag: archive.TempTag | None = None,
    exchanges: Sequence[Exchange] = (),
) -> Staged:
    """Everything CPU-bound about one article, from its fetched page (or the item alone) to its file's text,
    written to a temp file under `root` (named by `tag`, if given), and the WARC records of the page's `exchanges`
    (`raw: warc`). Reads no state, so it can run in a worker process."""
    extracted: Extracted | None = None
    extract_error: str | None = None
    selector_missed: str | None = None
    kept_feed_text = False
    if page is not None:
        try:
            extracted = extract_fetched(feed, page, FeedHint(title=entry.title, teaser=entry.content))
            selector_missed = extracted.selector_missed
        except ExtractError as exc:
            extract_error = str(exc)
            selector_missed = exc.selector_missed
    if extracted is not None and feed.content == "auto" and entry.content:
        kept_feed_text = len(extracted.text) < 0.5 * len(fixes.body_text(entry.content))
        if kept_feed_text:
            extracted = None
    composed = compose(feed, entry, extracted, final_url, first_seen)
    relative = place(feed, composed, archive_tz)
    temp = archive.write_temp(root, relative, archive_file.render(composed.article, feed.render), tag)
    return Staged(
        article_id=composed.article_id,
        names=composed.names,
        text_chars=len(composed.text),
        body_hash=composed.body_hash,
        path=relative.as_posix(),
        temp=str(temp),
        extract_error=extract_error,
        kept_feed_text=kept_feed_text,
        selector_missed=selector_missed,
        method=extracted.method if extracted is not None else "feed text",
        search=ArticleText(
            composed.article.title, composed.text[:INDEXED_TEXT_CHARS], composed.article.date.timestamp()
        ),
        records=_records(exchanges),
    )


def _records(exchanges: Sequence[Exchange]) -> Built | None:
    # Built here, in the worker, rather than on the crawler's WARC thread: compressing, hashing and warcio's Python
    # are 0.4 ms a page, held (in part) under the GIL of the process whose event loop paces the crawl. The page's
    # bytes come along with the job at no cost: pickle sends the body and the page's content, one object, once.
    if not exchanges:
        return None
    from crawler.archive import warc

    return warc.build(exchanges)


def _canonical(page: Extracted, final_url: str) -> str:
    # An untrusted canonical (another site, another port, a home page or section index) is ignored, never
    # followed: trusting it would let any page claim another's article and have the real one skipped as known.
    canonical = page.meta.canonical
    return canonical if canonical and identity.trusted_canonical(canonical, final_url) else final_url


def _title(entry: Entry, page: Extracted | None) -> str | None:
    for raw in (entry.title, page.meta.title if page is not None else None):
        if raw:
            title = frontmatter.title_text(raw)
            if title:
                return title
    return None


def _link_only(entry: Entry) -> str:
    # Nothing but a link survives of this article: keep at least that, so it is never lost.
    link = html.escape(entry.link or "")
    return f'<p><a href="{link}">{link}</a></p>' if link else ""
