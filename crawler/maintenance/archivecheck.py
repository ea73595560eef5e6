"""`crawler check --archive`: the archive's files against the state database's record of them.

Deleted (recorded, file gone): the entries archived as it are queued again, so the next poll of their feeds archives
them anew. Added (a file the state does not know) and changed (its body key is not the recorded one) are reported
only: `crawler reindex` adopts them as they are, `crawler refetch` rewrites them from the page.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from crawler.archive import files as archive
from crawler.config.settings import Config
from crawler.maintenance.reindex import read_article
from crawler.store import describe_state, open_store, store_location
from crawler.store.base import RecordedArticle, StoreError

DELETED = "deleted"
ADDED = "added"
CHANGED = "changed"
MOVED = "moved"


@dataclass(frozen=True)
class Difference:
    """One article on which the archive and the state disagree."""

    kind: str  # DELETED, ADDED, CHANGED or MOVED
    article_id: str
    path: str  # relative to the archive: the recorded path when deleted, the file's otherwise
    detail: str

    def to_json(self) -> dict[str, str]:
        """The difference as JSON-ready values."""
        return {"kind": self.kind, "id": self.article_id, "path": self.path, "detail": self.detail}


@dataclass(frozen=True)
class ArchiveReport:
    """What `check --archive` found, and how many entries it queued again for the deleted files."""

    files: int
    recorded: int
    differences: tuple[Difference, ...]
    requeued: int

    def count(self, kind: str) -> int:
        """How many differences are of `kind`."""
        return sum(d.kind == kind for d in self.differences)


def compare(
    recorded: Iterable[RecordedArticle],
    entry_ids: Iterable[str],
    files: Mapping[str, str],
    keys: Mapping[str, str | None],
) -> list[Difference]:
    """The differences between the state (`recorded` articles; `entry_ids`, the ids entries were archived as) and
    the archive (`files`: id -> relative path; `keys`: relative path -> body key, None when unreadable). Pure."""
    found: list[Difference] = []
    by_id = {article.article_id: article for article in recorded}
    for article_id in sorted(set(by_id) | set(entry_ids)):
        article = by_id.get(article_id)
        path = files.get(article_id)
        if path is None:
            where = article.path if article is not None else "(no path recorded)"
            found.append(Difference(DELETED, article_id, where, "recorded, but its file is gone; queued again"))
        elif article is None:
            continue  # an entry names it but the articles table does not: reported as added below
        elif article.path != path:
            found.append(Difference(MOVED, article_id, path, f"recorded at {article.path}"))
        elif article.body_hash is not None and keys.get(path) != article.body_hash:
            found.append(Difference(CHANGED, article_id, path, "its body or title differs from what was archived"))
    for article_id, path in sorted(files.items(), key=lambda item: item[1]):
        if article_id not in by_id:
            found.append(Difference(ADDED, article_id, path, "a file the state does not record"))
    return found


async def check_archive(config: Config) -> ArchiveReport:
    """Compare the archive with the state database and queue again the entries of articles whose files are gone."""
    files = await asyncio.to_thread(_archive_files, config.archive)
    if not await store_location(config).exists():
        # Creating an empty one here would stop the next fetch from rebuilding it from the archive first.
        raise StoreError(f"{describe_state(config)}: no state database to compare with; `crawler reindex` builds one")
    store = await open_store(config)
    try:
        recorded = await store.articles()
        keys = await asyncio.to_thread(_body_keys, config.archive, files.values())
        differences = compare(recorded, await store.archived_entry_ids(), files, keys)
        requeued = await store.requeue(d.article_id for d in differences if d.kind == DELETED)
    finally:
        await store.close()
    return ArchiveReport(files=len(files), recorded=len(recorded), differences=tuple(differences), requeued=requeued)


def _archive_files(root: Path) -> dict[str, str]:
    return {found.article_id: found.path.relative_to(root).as_posix() for found in archive.archived_files(root)}


def _body_keys(root: Path, paths: Iterable[str]) -> dict[str, str | None]:
    return {path: _body_key(root / path) for path in paths}


def _body_key(path: Path) -> str | None:
    found = read_article(path)
    return found.body_key if found is not None else None
