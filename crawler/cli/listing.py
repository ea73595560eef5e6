"""`crawler list`: what the archive holds, newest first, read from the files' front matter and joined with the
feeds the state database says listed each article. Nothing is fetched and nothing written."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from crawler.archive import files as archive
from crawler.config.settings import Config
from crawler.config.values import parse_duration
from crawler.maintenance.reindex import ArticleFile, read_article
from crawler.render import fixes
from crawler.store import open_store, store_location

_DAY_RE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")


@dataclass(frozen=True)
class ListQuery:
    """Which articles to list: every filter is optional."""

    feed: str | None = None
    since: datetime | None = None
    grep: str | None = None  # case-insensitive, in the title or the body's text


@dataclass(frozen=True)
class Listed:
    """One archived article as `crawler list` shows it."""

    article_id: str
    date: datetime | None
    feeds: tuple[str, ...]  # the feeds that listed it, the one it was archived from first; () when unknown
    title: str
    path: str  # relative to the archive, POSIX form

    def to_json(self) -> dict[str, object]:
        """The row as JSON-ready values (the date in ISO 8601, UTC)."""
        return {
            "id": self.article_id,
            "date": self.date.isoformat() if self.date is not None else None,
            "feed": self.feeds[0] if self.feeds else None,
            "feeds": list(self.feeds),
            "title": self.title,
            "path": self.path,
        }


def parse_since(text: str, now: datetime) -> datetime:
    """The moment `--since` names: a day (`2024-05-01`, from its start in UTC) or a duration back from `now` (`7d`,
    `12h`); ValueError with a line to show otherwise."""
    if _DAY_RE.match(text):
        try:
            return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError:
            raise ValueError(f"--since '{text}' is not a date") from None
    try:
        return now - timedelta(seconds=parse_duration(text))
    except ValueError:
        raise ValueError(f"--since '{text}' is neither a date (YYYY-MM-DD) nor a duration (such as 7d)") from None


async def list_articles(config: Config, query: ListQuery) -> list[Listed]:
    """The archive's articles matching `query`, newest first (by the front matter's date, then path)."""
    feeds = await _feeds_by_article(config)
    rows: list[Listed] = []
    for found in archive.archived_files(config.archive):
        listed_by = feeds.get(found.article_id, ())
        if query.feed is not None and query.feed not in listed_by:
            continue
        article = read_article(found.path)
        if article is None or not matches(article, query):
            continue
        path = found.path.relative_to(config.archive).as_posix()
        rows.append(Listed(found.article_id, article.date, listed_by, article.title, path))
    return sorted(rows, key=_newest_first)


def matches(article: ArticleFile, query: ListQuery) -> bool:
    """Whether an article file passes the date and text filters of `query` (the feed is judged by the caller)."""
    if query.since is not None and (article.date is None or article.date < query.since):
        return False
    if query.grep:
        needle = query.grep.casefold()
        if needle not in article.title.casefold() and needle not in fixes.body_text(article.body).casefold():
            return False
    return True


def _newest_first(row: Listed) -> tuple[float, str]:
    return (-(row.date.timestamp() if row.date is not None else float("-inf")), row.path)


async def _feeds_by_article(config: Config) -> Mapping[str, tuple[str, ...]]:
    """Article id -> the feeds that listed it, from the state database opened read-only; none without one."""
    if not await store_location(config).exists():
        return {}
    store = await open_store(config, read_only=True)
    try:
        return {article.article_id: article.feeds for article in await store.articles()}
    finally:
        await store.close()
