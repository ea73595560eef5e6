"""Claims on the PostgreSQL backend: the transaction that lets one entry at a time, on any node, write an article
known by a name.

Rows of `claims` hold names as on SQLite, and the primary key makes one claimant win; what SQLite gets from its one
writer at a time (the check that no archived article has the name, and the insert, seen together), PostgreSQL gets
from a transaction-level advisory lock per name, taken in one order by the claim and by every write that records a
name (record_archived_all, record_duplicate, record_refetched): under READ COMMITTED, a claim that waited for such
a lock sees what the holder committed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable

from crawler.store.base import CLAIM_LEASE, ArchivedArticle, ArticleClaim, Claim, ClaimStatus, LostClaim
from crawler.store.postgres_rows import Conn
from crawler.store.sqlite_claims import claim_names


def name_key(name: str) -> int:
    """The advisory lock key of a name: 64 bits of its hash, as PostgreSQL's signed bigint."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


async def lock_names(conn: Conn, names: Iterable[str]) -> None:
    """Inside the caller's transaction, hold each name's lock until it ends; keys sorted, so that two transactions
    locking overlapping names never wait on each other in a circle."""
    keys = sorted({name_key(name) for name in names})
    if keys:
        await conn.execute("SELECT pg_advisory_xact_lock(k) FROM unnest(%s::bigint[]) AS k", (keys,))


def article_names(article_id: str, urls: Iterable[str], body_hash: str | None) -> list[str]:
    """The names an archived article is recorded under: those a claim of it held."""
    return claim_names(ArticleClaim("", "", article_id, tuple(urls), body_hash))


async def claim(conn: Conn, claim: ArticleClaim, now: float, owner: str, alive: Callable[[str], bool]) -> Claim:
    """Inside the caller's transaction: ARCHIVED when an archived article has one of the claim's names, HELD when
    another entry's claim on one of them is younger than CLAIM_LEASE and its owner `alive`, else WON (the names
    are the entry's until it records its article or releases them)."""
    names = claim_names(claim)
    await lock_names(conn, names)
    winner = await _archived_under(conn, claim)
    if winner is not None:
        return Claim(ClaimStatus.ARCHIVED, winner)
    # A claim's owner is a node: alive while it beats (nodes table); a process that never joined as a node
    # (`crawler fetch`) is asked as on SQLite (its pid, on this host) or lapses with the claim's lease.
    cursor = await conn.execute(
        "SELECT c.article_id, c.owner, n.id IS NOT NULL, "
        "n.stopped_at IS NULL AND n.seen_at > extract(epoch from clock_timestamp()) - n.lease "
        "FROM claims c LEFT JOIN nodes n ON n.id = c.owner "
        "WHERE c.name = ANY(%s) AND NOT (c.feed = %s AND c.entry_key = %s) AND c.claimed_at > %s ORDER BY c.claimed_at",
        (names, claim.feed, claim.entry_key, now - CLAIM_LEASE),
    )
    live = next((str(row[0]) for row in await cursor.fetchall() if (row[3] if row[2] else alive(str(row[1])))), None)
    if live is not None:
        return Claim(ClaimStatus.HELD, live)
    # An earlier claim of this entry's is replaced; one of a dead owner, or older than the lease, is taken over
    # (the names' locks keep every other claimant out meanwhile).
    await conn.execute("DELETE FROM claims WHERE feed = %s AND entry_key = %s", (claim.feed, claim.entry_key))
    await conn.execute(
        "INSERT INTO claims (name, article_id, feed, entry_key, claimed_at, owner) "
        "SELECT name, %s, %s, %s, %s, %s FROM unnest(%s::text[]) AS name "
        "ON CONFLICT (name) DO UPDATE SET article_id = EXCLUDED.article_id, feed = EXCLUDED.feed, "
        "entry_key = EXCLUDED.entry_key, claimed_at = EXCLUDED.claimed_at, owner = EXCLUDED.owner",
        (claim.article_id, claim.feed, claim.entry_key, now, owner, names),
    )
    return Claim(ClaimStatus.WON, claim.article_id)


async def overtaken(conn: Conn, feed: str, entry_key: str, article: ArchivedArticle) -> LostClaim | None:
    """Inside the transaction that records the article, its names locked: None when the entry may record it (it
    still holds every name its claim took, or nobody else holds or archived them), else the claim that took its
    names over (its node was taken for dead while it wrote the file: a stall past its lease)."""
    claim = article.claim(feed, entry_key)
    names = claim_names(claim)
    cursor = await conn.execute(
        "SELECT count(*) FROM claims WHERE name = ANY(%s) AND feed = %s AND entry_key = %s", (names, feed, entry_key)
    )
    row = await cursor.fetchone()
    if row is not None and int(row[0]) == len(names):
        return None
    winner = await _archived_under(conn, claim)
    if winner is not None:
        return LostClaim(feed, entry_key, article.article_id, winner, archived=True)
    cursor = await conn.execute(
        "SELECT article_id FROM claims WHERE name = ANY(%s) AND NOT (feed = %s AND entry_key = %s) LIMIT 1",
        (names, feed, entry_key),
    )
    row = await cursor.fetchone()
    return None if row is None else LostClaim(feed, entry_key, article.article_id, str(row[0]), archived=False)


async def _archived_under(conn: Conn, claim: ArticleClaim) -> str | None:
    """The id of the archived article known by one of the claim's URLs, its body key or its id, if any (in that
    order of trust, as on SQLite)."""
    urls = list(dict.fromkeys(claim.urls))
    cursor = await conn.execute(
        "SELECT article_id FROM urls JOIN unnest(%s::text[]) WITH ORDINALITY AS wanted(url, n) USING (url) "
        "ORDER BY n LIMIT 1",
        (urls,),
    )
    row = await cursor.fetchone()
    if row is not None:
        return str(row[0])
    if claim.body_hash:
        cursor = await conn.execute("SELECT id FROM articles WHERE body_hash = %s LIMIT 1", (claim.body_hash,))
        row = await cursor.fetchone()
        if row is not None:
            return str(row[0])
    cursor = await conn.execute("SELECT id FROM articles WHERE id = %s", (claim.article_id,))
    row = await cursor.fetchone()
    return str(row[0]) if row is not None else None
