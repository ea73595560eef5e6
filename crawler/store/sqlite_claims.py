"""Claims on the SQLite backend: the transaction that lets one entry at a time write an article known by a name.

A claim is rows of the `claims` table, one per name, owned by the claiming process ("host pid token"). Names already
recorded (urls, articles' body keys and ids) win outright; a name another entry claimed holds while its process runs
(SQLite is one file on one machine, so that can be asked) and its claim is younger than CLAIM_LEASE.
"""

from __future__ import annotations

import sqlite3

from crawler.store.base import CLAIM_LEASE, ArchivedArticle, ArticleClaim, Claim, ClaimStatus, LostClaim
from crawler.store.owners import owner as _owner
from crawler.store.owners import owner_alive as _owner_alive


def claim(db: sqlite3.Connection, claim: ArticleClaim, now: float) -> Claim:
    """Inside the caller's transaction: the archived article already known by one of the claim's names (ARCHIVED),
    else the article another entry is writing under one of them (HELD, while its claim's process runs and the claim
    is younger than CLAIM_LEASE), else the names are now the claiming entry's (WON) until it records its article or
    releases them."""
    names = claim_names(claim)
    winner = _archived_under(db, claim)
    if winner is not None:
        return Claim(ClaimStatus.ARCHIVED, winner)
    marks = ", ".join("?" * len(names))
    held = db.execute(
        f"SELECT article_id, owner FROM claims WHERE name IN ({marks}) AND NOT (feed = ? AND entry_key = ?) "
        "AND claimed_at > ? ORDER BY claimed_at",
        (*names, claim.feed, claim.entry_key, now - CLAIM_LEASE),
    ).fetchall()
    live = next((str(row[0]) for row in held if _owner_alive(str(row[1]))), None)
    if live is not None:
        return Claim(ClaimStatus.HELD, live)
    # A claim of this entry's from an earlier try (a crash, a failed write) is replaced, not added to; one
    # left by a process that died, or older than the lease, is taken over.
    db.execute("DELETE FROM claims WHERE feed = ? AND entry_key = ?", (claim.feed, claim.entry_key))
    owner = _owner()
    db.executemany(
        "INSERT OR REPLACE INTO claims (name, article_id, feed, entry_key, claimed_at, owner) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [(name, claim.article_id, claim.feed, claim.entry_key, now, owner) for name in names],
    )
    return Claim(ClaimStatus.WON, claim.article_id)


def overtaken(db: sqlite3.Connection, feed: str, entry_key: str, article: ArchivedArticle) -> LostClaim | None:
    """Inside the transaction that records the article: None when the entry may record it (it still holds every
    name its claim took, or nobody else holds or archived them), else the claim that took its names over."""
    claim = article.claim(feed, entry_key)
    names = claim_names(claim)
    marks = ", ".join("?" * len(names))
    (kept,) = db.execute(
        f"SELECT count(*) FROM claims WHERE name IN ({marks}) AND feed = ? AND entry_key = ?",
        (*names, feed, entry_key),
    ).fetchone()
    if kept == len(names):
        return None
    winner = _archived_under(db, claim)
    if winner is not None:
        return LostClaim(feed, entry_key, article.article_id, winner, archived=True)
    row = db.execute(
        f"SELECT article_id FROM claims WHERE name IN ({marks}) AND NOT (feed = ? AND entry_key = ?) LIMIT 1",
        (*names, feed, entry_key),
    ).fetchone()
    return None if row is None else LostClaim(feed, entry_key, article.article_id, str(row[0]), archived=False)


def claim_names(claim: ArticleClaim) -> list[str]:
    """The names a claim holds: each URL, the body key (when there is one), the article id."""
    body = [f"body {claim.body_hash}"] if claim.body_hash else []
    return [*(f"url {url}" for url in dict.fromkeys(claim.urls) if url), *body, f"id {claim.article_id}"]


def _archived_under(db: sqlite3.Connection, claim: ArticleClaim) -> str | None:
    """The id of the archived article known by one of the claim's URLs, its body key or its id, if any."""
    for url in dict.fromkeys(claim.urls):
        row = db.execute("SELECT article_id FROM urls WHERE url = ?", (url,)).fetchone()
        if row is not None:
            return str(row[0])
    if claim.body_hash:
        row = db.execute("SELECT id FROM articles WHERE body_hash = ? LIMIT 1", (claim.body_hash,)).fetchone()
        if row is not None:
            return str(row[0])
    # Its canonical URL is one already archived (known by id alone after `crawler reindex`).
    row = db.execute("SELECT id FROM articles WHERE id = ?", (claim.article_id,)).fetchone()
    return str(row[0]) if row is not None else None
