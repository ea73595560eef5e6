"""Archive files -> state database: rebuild what the state knows of archived articles from the files themselves.

What can be rebuilt: each file's article id (its name: the hash of the canonical URL), its path and its body key
(identity.body_key of the title in its front matter and its body's text). What cannot: the feeds' GUID memory, the
other URLs an article is known by, and poll state (validators, failures), because the files do not hold them. That
still writes no article twice: after a rebuild every entry looks new, so its page is fetched again, but then its
canonical URL gives an id already archived, or its body text and title a key already archived, and it is recorded as
another name of that article.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from crawler import archive, document, identity
from crawler.config import Config
from crawler.store import IndexedArticle, SqliteStore, StoreError, database_problem

log = logging.getLogger("crawler.reindex")

_BODY_START = "\n---\n\n<div>"
_BODY_END = "</div>\n"


@dataclass(frozen=True)
class ReindexResult:
    """What a rebuild did."""

    articles: int
    unreadable: tuple[str, ...]  # archive-relative paths whose body could not be read (indexed without a hash)
    moved_aside: Path | None  # where a corrupt database was moved, if it was


def rebuild_lost_state(config: Config) -> int | None:
    """With no state database while the archive holds articles (it was deleted, or `state:` moved), rebuild its
    record of them as `crawler reindex` does, so that listed pages fetched again are recognised, not archived again;
    return how many articles it now records, or None when there was nothing to do."""
    if config.state.exists() or next(archive.archived_files(config.archive), None) is None:
        return None
    rebuilt = reindex(config).articles
    log.warning(
        "no state database, but the archive holds articles: rebuilt its record of them from the archive "
        "(as crawler reindex), so that none is archived again",
        extra={"state": str(config.state), "articles": rebuilt},
    )
    return rebuilt


def reindex(config: Config) -> ReindexResult:
    """Rebuild the articles table of the state database from the archive's files; a corrupt database is first
    moved aside (never deleted) and a fresh one built in its place."""
    moved = _move_aside_if_corrupt(config.state)
    indexed: list[IndexedArticle] = []
    unreadable: list[str] = []
    for found in archive.archived_files(config.archive):
        relative = found.path.relative_to(config.archive).as_posix()
        body_hash = _body_hash(found.path)
        if body_hash is None:
            unreadable.append(relative)
        indexed.append(
            IndexedArticle(
                article_id=found.article_id,
                path=relative,
                body_hash=body_hash,
                archived_at=found.path.stat().st_mtime,
            )
        )
    store = SqliteStore(config.state)
    try:
        count = store.rebuild_articles(indexed)
    finally:
        store.close()
    return ReindexResult(articles=count, unreadable=tuple(sorted(unreadable)), moved_aside=moved)


def _body_hash(path: Path) -> str | None:
    """The body key the pipeline recorded for the file: its title (from the front matter) and its visible text."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    start = text.find(_BODY_START)
    if not text.startswith("---\n") or start < 0 or not text.endswith(_BODY_END):
        return None
    title = _front_matter_title(text[4 : start + 1])
    if title is None:
        return None
    body = text[start + len(_BODY_START) : -len(_BODY_END)]
    return identity.body_key(title, document.body_text(body))


def _front_matter_title(head: str) -> str | None:
    try:
        front = yaml.safe_load(head)
    except yaml.YAMLError:
        return None
    title = front.get("title") if isinstance(front, dict) else None
    # The file holds the title as the pipeline cleaned it; cleaning again changes nothing but keeps the two equal.
    return document.clean_value(title) if isinstance(title, str) else None


def _move_aside_if_corrupt(state: Path) -> Path | None:
    if not state.exists() or database_problem(state) is None:
        return None
    aside = state.with_name(f"{state.name}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}")
    try:
        for suffix in ("", "-wal", "-shm"):
            source = Path(f"{state}{suffix}")
            if source.exists():
                os.replace(source, Path(f"{aside}{suffix}"))
    except OSError as exc:
        raise StoreError(f"{state}: corrupt, and it cannot be moved aside: {exc.strerror or exc}") from None
    return aside
