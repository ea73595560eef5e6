"""Archive files -> state database: rebuild what the state knows of archived articles from the files themselves.

What can be rebuilt: each file's article id (its name: the hash of the canonical URL), its path and its body key
(identity.body_key of the title in its front matter and its body's text). What cannot: the feeds' GUID memory, the
other URLs an article is known by, and poll state (validators, failures), because the files do not hold them. That
still writes no article twice: after a rebuild every entry looks new, so its page is fetched again, but then its
canonical URL gives an id already archived, or its body text and title a key already archived, and it is recorded as
another name of that article.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import yaml

from crawler.archive import files as archive
from crawler.config.settings import Config
from crawler.identity import keys as identity
from crawler.render import fixes, frontmatter
from crawler.store import describe_state, open_store, store_location
from crawler.store.base import IndexedArticle
from crawler.store.history import INDEXED_TEXT_CHARS, ArticleText

log = logging.getLogger("crawler.maintenance.reindex")

_BODY_START = "\n---\n\n<div>"
_BODY_END = "</div>\n"


@dataclass(frozen=True)
class ReindexResult:
    """What a rebuild did."""

    articles: int
    unreadable: tuple[str, ...]  # archive-relative paths whose body could not be read (indexed without a hash)
    moved_aside: Path | None  # where a corrupt database was moved, if it was
    dropped: tuple[str, ...] = ()  # ids of articles the database recorded whose files are gone


@dataclass(frozen=True)
class ArticleFile:
    """What an archive file says of its article: the front matter's title and date, and the body's HTML."""

    title: str
    date: datetime | None  # None when the front matter has no date this crawler could have written
    body: str  # inside the wrapping <div>

    @property
    def body_key(self) -> str:
        """The body key the pipeline recorded for the file: its title and its visible text (identity.body_key)."""
        return identity.body_key(self.title, fixes.body_text(self.body))

    def search_text(self) -> ArticleText:
        """What the search index keeps of the file: its title, its body's visible text and its date."""
        published = self.date.timestamp() if self.date is not None else None
        return ArticleText(self.title, fixes.body_text(self.body)[:INDEXED_TEXT_CHARS], published)


async def rebuild_lost_state(config: Config) -> int | None:
    """With no state database while the archive holds articles (it was deleted, or `state:` moved), rebuild its
    record of them as `crawler reindex` does, so that listed pages fetched again are recognised, not archived again;
    return how many articles it now records, or None when there was nothing to do."""
    if await store_location(config).exists() or not await asyncio.to_thread(_holds_articles, config.archive):
        return None
    rebuilt = (await reindex(config)).articles
    log.warning(
        "no state database, but the archive holds articles: rebuilt its record of them from the archive "
        "(as crawler reindex), so that none is archived again",
        extra={"state": describe_state(config), "articles": rebuilt},
    )
    return rebuilt


async def reindex(config: Config) -> ReindexResult:
    """Rebuild the articles table of the state database from the archive's files; a corrupt database is first
    moved aside (never deleted) and a fresh one built in its place."""
    location = store_location(config)
    moved = await location.set_aside() if await location.problem() is not None else None
    indexed, unreadable = await asyncio.to_thread(_index_archive, config.archive)
    store = await open_store(config)
    try:
        # Said, not silently done: an article whose file was deleted leaves the record here (see check --archive).
        present = {article.article_id for article in indexed}
        dropped = tuple(sorted(a.article_id for a in await store.articles() if a.article_id not in present))
        count = await store.rebuild_articles(indexed)
    finally:
        await store.close()
    return ReindexResult(
        articles=count,
        unreadable=tuple(sorted(unreadable)),
        moved_aside=Path(moved) if moved is not None else None,
        dropped=dropped,
    )


def _holds_articles(root: Path) -> bool:
    return next(archive.archived_files(root), None) is not None


def _index_archive(root: Path) -> tuple[list[IndexedArticle], list[str]]:
    """Every article file in the archive as the state records it, and the paths whose body could not be read."""
    indexed: list[IndexedArticle] = []
    unreadable: list[str] = []
    for found in archive.archived_files(root):
        relative = found.path.relative_to(root).as_posix()
        article = read_article(found.path)
        if article is None:
            unreadable.append(relative)
        indexed.append(
            IndexedArticle(
                article_id=found.article_id,
                path=relative,
                body_hash=article.body_key if article is not None else None,
                archived_at=found.path.stat().st_mtime,
                text=article.search_text() if article is not None else None,
            )
        )
    return indexed, unreadable


def read_article(path: Path) -> ArticleFile | None:
    """The title, date and body of the archive file at `path`, or None when it is not one this crawler wrote (or
    cannot be read)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    start = text.find(_BODY_START)
    if not text.startswith("---\n") or start < 0 or not text.endswith(_BODY_END):
        return None
    front = _front_matter(text[4 : start + 1])
    title = front.get("title") if front is not None else None
    if front is None or not isinstance(title, str):
        return None
    # The file holds the title as the pipeline cleaned it; cleaning again changes nothing but keeps the two equal.
    return ArticleFile(
        title=frontmatter.clean_value(title),
        date=_date(front.get("date")),
        body=text[start + len(_BODY_START) : -len(_BODY_END)],
    )


def _front_matter(head: str) -> dict[object, object] | None:
    try:
        front = yaml.safe_load(head)
    except yaml.YAMLError:
        return None
    return front if isinstance(front, dict) else None


def _date(value: object) -> datetime | None:
    # Written as RFC 822 in GMT (docs/FORMAT.md), which YAML reads back as a plain string.
    if not isinstance(value, str):
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
