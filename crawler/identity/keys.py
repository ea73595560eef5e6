"""What makes two items or two pages the same article (docs/FORMAT.md, "Deduplication"): pure decisions, no I/O.

- An item's key: its GUID within its feed, else its link, else the hash of its title and content.
- A GUID a feed repeats for another item (another link and another title) gets a key of its own.
- A linkless item's article identity comes from its feed and its own key, never from the feed's URL alone.
- A page's `<link rel="canonical">` is trusted only on the page's own site and port, never for a home page or
  section index.
- The body key joins the normalized title to the normalized text: one body under two titles is two articles.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, urlsplit

from crawler.identity.urls import DEFAULT_PORTS, article_id, normalize_url

if TYPE_CHECKING:
    from publicsuffixlist import PublicSuffixList

    from crawler.feeds.parse import Entry


def item_key(guid: str | None, link: str | None, title: str | None, content: str | None) -> str:
    """An item's key within its feed: its GUID, else its link, else the hash of its title and content."""
    return guid or link or hashlib.sha256(f"{title}\n{content}".encode()).hexdigest()


@dataclass(frozen=True)
class ItemFacts:
    """What tells two items under one key apart: their link and their title."""

    link: str | None
    title: str | None


def same_item(a: ItemFacts, b: ItemFacts) -> bool:
    """Whether two items under one GUID are one item (an update): the same link, or the same title. Only a
    repeat with another link *and* another title is another item (a CMS that reuses GUIDs)."""
    if a.link == b.link or a.title == b.title:  # the usual case (every known item on every poll), at no cost
        return True
    return _norm_link(a.link) == _norm_link(b.link) or _norm_text(a.title) == _norm_text(b.title)


def repeat_key(guid: str, link: str | None, title: str | None) -> str:
    """The key of an item whose GUID its feed already gave to another item: the GUID and a hash of what differs
    (stable across polls, so the same repeat is known the next time)."""
    digest = hashlib.sha256(f"{_norm_link(link)}\n{_norm_text(title)}".encode()).hexdigest()[:16]
    return f"{guid} #{digest}"


@dataclass(frozen=True)
class KeyedEntries:
    """A feed's entries, each once, under keys that tell different items apart; and the GUIDs found repeated."""

    entries: tuple[Entry, ...]
    repeated: tuple[Entry, ...]  # entries given a repeat key: their GUID belongs to another item


def assign_keys(entries: Sequence[Entry], stored: Mapping[str, ItemFacts]) -> KeyedEntries:
    """Give each entry its key: the one it has, unless the item first seen under that GUID (`stored`, else the
    first in the feed) is another item, when it gets a repeat key. Entries that are one item appear once."""
    owners: dict[str, ItemFacts] = dict(stored)
    seen: set[str] = set()
    kept: list[Entry] = []
    repeated: list[Entry] = []
    for entry in entries:
        facts = ItemFacts(entry.link, entry.title)
        owner = owners.setdefault(entry.key, facts)
        # Only a GUID can be shared by different items: a link key, or a hash of title and content, is the item.
        if entry.guid is not None and entry.key == entry.guid and not same_item(owner, facts):
            entry = replace(entry, key=repeat_key(entry.guid, entry.link, entry.title))
            if entry.key not in seen:
                repeated.append(entry)
        if entry.key not in seen:
            seen.add(entry.key)
            kept.append(entry)
    return KeyedEntries(tuple(kept), tuple(repeated))


def linkless_identity(feed_url: str, key: str) -> str:
    """The identity of an item without a link, hashed for its article id: its feed and its own key. A fragment
    marks it, so no fetched URL (normalized ones have none) can ever be the same."""
    return f"{normalize_url(feed_url)}#item-{hashlib.sha256(key.encode('utf-8')).hexdigest()[:32]}"


def linkless_article_id(feed_url: str, key: str) -> str:
    """The article id of an item without a link (see linkless_identity)."""
    return article_id(linkless_identity(feed_url, key))


def body_key(title: str, text: str) -> str:
    """The body-text dedup key: the title and the text, each with white space normalized. Equal for one article
    under two URLs; different for one paywall or consent notice under two titles."""
    return hashlib.sha256(f"{_norm_text(title)}\n{_norm_text(text)}".encode()).hexdigest()


def trusted_canonical(canonical: str | None, page_url: str) -> bool:
    """Whether a page at `page_url` may name `canonical` as the URL it is really known by: http(s), on the page's
    own host or registrable domain (by the Public Suffix List), on the page's port (or both on their scheme's
    default), and not the site's home page or a section index above the page (see _is_index)."""
    if not canonical:
        return False
    try:
        claim = urlsplit(canonical.strip())
        page = urlsplit(page_url.strip())
        claim_port, page_port = _port(claim), _port(page)
    except ValueError:
        return False
    if claim.scheme not in DEFAULT_PORTS or page.scheme not in DEFAULT_PORTS:
        return False
    if not same_site(claim.hostname or "", page.hostname or ""):
        return False
    both_default = claim_port == DEFAULT_PORTS[claim.scheme] and page_port == DEFAULT_PORTS[page.scheme]
    if not both_default and (claim.scheme, claim_port) != (page.scheme, page_port):
        return False
    return not _is_index(claim.path, page.path)


def same_site(host_a: str, host_b: str) -> bool:
    """Whether two hosts are one site: the same host, or the same registrable domain by the Public Suffix List
    (so `a.co.uk` and `b.co.uk`, or `x.github.io` and `y.github.io`, are two sites). IP addresses only match
    themselves."""
    a, b = host_a.lower().rstrip("."), host_b.lower().rstrip(".")
    if not a or not b:
        return False
    if a == b:
        return True
    if _is_ip(a) or _is_ip(b):
        return False
    site_a = _suffixes().privatesuffix(a)
    # None: the host is itself a public suffix (or unknown): it shares a site with nothing but itself.
    return site_a is not None and site_a == _suffixes().privatesuffix(b)


def _is_index(claim_path: str, page_path: str) -> bool:
    """Whether a claimed canonical path is the site's home page or a section index rather than an article.

    Conservative, since an ignored canonical only costs a merge that the body text can still make, while a
    wrongly trusted one loses an article: the home page (`/` or empty, whatever the query); any path that is a
    proper ancestor of the page's own (`/news/` or `/news` for `/news/2021/story`); and a path of one segment
    without an extension (`/news`, `/world/`) unless it is the page's own path.
    """
    claim = [part for part in claim_path.split("/") if part]
    page = [part for part in page_path.split("/") if part]
    if not claim:
        return True
    if len(claim) < len(page) and page[: len(claim)] == claim:
        return True
    return len(claim) == 1 and "." not in claim[0] and claim != page


def _port(parts: SplitResult) -> int | None:
    return parts.port if parts.port is not None else DEFAULT_PORTS.get(parts.scheme)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


@functools.cache
def _suffixes() -> PublicSuffixList:
    # Built once per process, on first use (about a tenth of a second): from the list the package ships, never
    # downloaded. Private suffixes (github.io, blogspot.com) count, so two users' sites are two sites.
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList(only_icann=False)


def _norm_text(text: str | None) -> str:
    return " ".join((text or "").split())


def _norm_link(link: str | None) -> str:
    return normalize_url(link) if link else ""
