"""The state interface: what the crawler keeps between runs, as methods the rest of the code awaits.

`Store` is everything the code needs of the state, repair and rebuild included; `StoreLocation` is what can be done
where a store lives before one is opened (does it exist, is it usable, set a broken one aside). A backend implements
both (store/sqlite.py today); `crawler.store.open_store` is the only place one is built, and tests/store/ is the
contract every backend passes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from crawler.errors import CrawlerError
from crawler.identity.keys import ItemFacts
from crawler.store.history import ArticleHit, ArticleQuery, ArticleText, FeedDay, FeedSummary, PollRecord

if TYPE_CHECKING:
    from crawler.store.migrations import SchemaStatus

SELECTOR_CHECKS_KEPT = 20  # a feed's last pages whose `body:` selector was tried: what `crawler status` judges by
CLAIM_LEASE = 120.0  # seconds a claim holds against other entries; then its holder is taken for dead (a crash)

PENDING = "pending"
ARCHIVED = "archived"
DUPLICATE = "duplicate"
SKIPPED = "skipped"  # listed by the feed, never fetched: a keep/block rule or the first poll's backfill left it out


class StoreError(CrawlerError):
    """The state database cannot be used (locked, corrupt, unwritable); the message says what to do."""


@dataclass(frozen=True)
class FeedState:
    """What we remember about polling one feed."""

    name: str
    url: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    last_poll: float | None = None
    last_success: float | None = None
    next_poll: float | None = None
    last_unconditional: float | None = None
    failures: int = 0
    last_error: str | None = None
    gone: bool = False
    moved_to: str | None = None
    ttl: float | None = None  # seconds the feed itself asks between polls, kept for polls that answer 304

    # The columns every backend stores a feed's state in, in the order of `row()`.
    COLUMNS: ClassVar[tuple[str, ...]] = (
        "name",
        "url",
        "etag",
        "last_modified",
        "body_hash",
        "last_poll",
        "last_success",
        "next_poll",
        "last_unconditional",
        "failures",
        "last_error",
        "gone",
        "moved_to",
        "ttl",
    )

    def row(self) -> tuple[object, ...]:
        """The state as the values of COLUMNS (`gone` a bool, which SQLite keeps as 1 or 0)."""
        return (
            self.name,
            self.url,
            self.etag,
            self.last_modified,
            self.body_hash,
            self.last_poll,
            self.last_success,
            self.next_poll,
            self.last_unconditional,
            self.failures,
            self.last_error,
            self.gone,
            self.moved_to,
            self.ttl,
        )

    @classmethod
    def of_row(cls, row: Sequence[Any]) -> FeedState:
        """The state from a backend's row of COLUMNS."""
        return cls(
            name=str(row[0]),
            url=optional_text(row[1]),
            etag=optional_text(row[2]),
            last_modified=optional_text(row[3]),
            body_hash=optional_text(row[4]),
            last_poll=_optional_float(row[5]),
            last_success=_optional_float(row[6]),
            next_poll=_optional_float(row[7]),
            last_unconditional=_optional_float(row[8]),
            failures=int(row[9]),
            last_error=optional_text(row[10]),
            gone=bool(row[11]),
            moved_to=optional_text(row[12]),
            ttl=_optional_float(row[13]),
        )


@dataclass(frozen=True)
class PendingEntry:
    """An entry found in a feed and not yet archived: enough to archive it even if the feed drops it."""

    feed: str
    key: str
    link: str | None
    payload: str
    first_seen: float
    attempts: int
    last_error: str | None

    @classmethod
    def of_row(cls, feed: str, row: Sequence[Any]) -> PendingEntry:
        """The entry of `feed` from a backend's row of (key, link, payload, first_seen, attempts, last_error)."""
        return cls(
            feed, str(row[0]), optional_text(row[1]), str(row[2]), float(row[3]), int(row[4]), optional_text(row[5])
        )


@dataclass(frozen=True)
class NewEntry:
    """An entry to record as pending."""

    key: str
    link: str | None
    payload: str


@dataclass(frozen=True)
class ArchivedArticle:
    """An article file now in place, and every URL it should be known by."""

    article_id: str
    path: str
    body_hash: str
    urls: tuple[str, ...]
    text: ArticleText | None = None  # what the search index keeps of it (None: it is not indexed)
    body_is_name: bool = True  # whether its claim named it by `body_hash` (its text long enough to tell articles apart)

    def claim(self, feed: str, entry_key: str) -> ArticleClaim:
        """The claim the entry held while this file was written."""
        body = self.body_hash if self.body_is_name else None
        return ArticleClaim(feed, entry_key, self.article_id, self.urls, body)


@dataclass(frozen=True)
class IndexedArticle:
    """An article file found in the archive, as `crawler reindex` records it."""

    article_id: str
    path: str
    body_hash: str | None  # None when the file's body could not be read
    archived_at: float
    text: ArticleText | None = None  # what the search index keeps of it (None: it is not indexed)


@dataclass(frozen=True)
class RecordedArticle:
    """An archived article as the state database records it, with the feeds that listed it."""

    article_id: str
    path: str
    body_hash: str | None
    archived_at: float
    feeds: tuple[str, ...]


@dataclass(frozen=True)
class FeedCounts:
    """How many of a feed's entries are archived (or recognised as duplicates), how many wait, and how many of
    those waiting have failed at least once (their page could not be fetched or archived)."""

    archived: int
    pending: int
    failing: int = 0


@dataclass(frozen=True)
class SelectorCheck:
    """Whether a feed's `body:` selector matched on one page, and when it was tried (epoch seconds)."""

    feed: str
    url: str
    selector: str
    missed: bool
    at: float


@dataclass(frozen=True)
class SelectorMisses:
    """How a feed's `body:` selector fared on its last pages: how many it matched nothing on, of how many tried,
    and the last page it missed on."""

    missed: int
    checked: int
    last_url: str | None = None
    selector: str | None = None


@dataclass(frozen=True)
class ArchivedCounts:
    """A feed's articles: `archived` are those first archived for it (each file counted by one feed only, so the
    column adds up to the archive's files); `also_listed` are articles it lists that another feed archived first."""

    archived: int
    also_listed: int


@dataclass(frozen=True)
class ArticleClaim:
    """One entry asking to be archived as article `article_id`, known by `urls` and (when its text is long enough
    to tell articles apart) by the body key `body_hash`."""

    feed: str
    entry_key: str
    article_id: str
    urls: tuple[str, ...]
    body_hash: str | None


class ClaimStatus(StrEnum):
    """What a claim found."""

    WON = "won"  # no other article has these names: the entry may write its file, then record it
    ARCHIVED = "archived"  # an archived article has one of these names: the entry is a duplicate of it
    HELD = "held"  # another entry claimed one of these names and has not recorded its article yet


@dataclass(frozen=True)
class Claim:
    """The answer to a claim: the status, and the article that won (ours when WON)."""

    status: ClaimStatus
    article_id: str


@dataclass(frozen=True)
class LostClaim:
    """An article whose file was put in place after another entry took its claim over (its process was taken for
    dead: stalled past its node's lease, or its claim older than CLAIM_LEASE), so it was not recorded. `holder` is
    the article now archived under one of its names (`archived`: the entry was recorded as a duplicate of it) or
    being written under them (the entry stays pending and finds it at its next try)."""

    feed: str
    entry_key: str
    article_id: str
    holder: str | None
    archived: bool


# --- Raw records (`raw: warc`, crawler.archive.warc) ----------------------------------------------------------------


@dataclass(frozen=True)
class RawRecord:
    """Where the response record of a page (or feed) lies: a WARC file in the archive's `_warc/` folder, the gzip
    member's offset and length there, and what a CDXJ line says of it."""

    filename: str
    offset: int
    length: int
    url: str  # the WARC-Target-URI: the URL the answer came from (after redirects)
    timestamp: str  # YYYYMMDDhhmmss, UTC
    status: int
    mime: str
    digest: str  # the payload's WARC-Payload-Digest (sha1:BASE32)

    def row(self) -> tuple[str, int, int, str, str, int, str, str]:
        """The record as every backend stores it, in the order of the fields."""
        return (self.filename, self.offset, self.length, self.url, self.timestamp, self.status, self.mime, self.digest)

    @classmethod
    def of_row(cls, row: Sequence[Any]) -> RawRecord:
        """The record from a backend's row of `row()`'s values."""
        return cls(
            filename=str(row[0]),
            offset=int(row[1]),
            length=int(row[2]),
            url=str(row[3]),
            timestamp=str(row[4]),
            status=int(row[5]),
            mime=str(row[6]),
            digest=str(row[7]),
        )


class RawIndex(Protocol):
    """Which raw record each archived article was made from: a backend's Store implements these beside the rest."""

    async def record_raw_all(self, records: Sequence[tuple[str, RawRecord]]) -> None:
        """Record (or replace) the raw record of each article id, in one transaction."""
        ...

    async def raw_record(self, article_id: str) -> RawRecord | None:
        """The raw record article `article_id` was made from, or None (archived without `raw: warc`)."""
        ...


# --- Kept images (`images: keep`, crawler.pipeline.images) -----------------------------------------------------------


class MissingImages(Protocol):
    """The images kept (by URL), and those an archived article could not have kept yet, tried again on later polls
    of its feed."""

    async def record_kept_image(self, url: str, name: str) -> None:
        """`url` is kept as `name` (an archive-relative path under assets/)."""
        ...

    async def kept_images(self, urls: Sequence[str]) -> dict[str, str]:
        """The kept name of each of `urls` that was kept."""
        ...

    async def record_missing_images(self, feed: str, article_id: str, urls: Sequence[str]) -> None:
        """Replace the article's missing images with `urls` (none: all kept)."""
        ...

    async def articles_missing_images(self, feed: str, limit: int) -> list[tuple[str, str]]:
        """Up to `limit` (article id, path) of the feed's archived articles that miss images, longest waiting first."""
        ...


# -- several nodes on one database (PostgreSQL; SQLite is one node) ----------------------------------------------


class LeaseLost(StoreError):
    """This node's lease on a feed was taken over by another node (it was paused or cut off for longer than the
    lease): nothing more is written for that feed by this node."""


@dataclass(frozen=True)
class FeedLease:
    """A feed granted to this node until `until` (the database's clock), renewed while its poll runs; `token` is the
    fence every write of the feed's state is checked against."""

    feed: str
    token: int
    until: float


@dataclass(frozen=True)
class LeaseHeld:
    """A feed another node holds (or is being granted right now): ask again in `remaining` seconds, when its
    lease ends unless renewed."""

    feed: str
    node: str | None
    remaining: float


@dataclass(frozen=True)
class NodeInfo:
    """One crawler node as the database knows it, and the feeds it holds now."""

    node: str
    host: str
    pid: int
    started_at: float
    seen_at: float
    alive: bool  # beat within its lease, and not stopped
    stopped: bool  # left cleanly
    feeds: tuple[str, ...]


class Nodes(Protocol):
    """Coordination between nodes sharing one database: who is alive, which node polls which feed, which node may
    send to which host."""

    node: str  # this node's id: "host pid token"
    lease: float  # seconds a lease (and a node's beat) lasts

    async def join(self) -> None:
        """Say this node is alive (at start)."""
        ...

    async def beat(self) -> list[str]:
        """Say this node is still alive and renew every lease it holds; return the feeds whose lease it lost."""
        ...

    async def lease_feed(self, feed: str) -> FeedLease | LeaseHeld:
        """Grant `feed` to this node, unless another node holds it; from now on the store fences the feed's writes
        with the lease's token."""
        ...

    async def release_feed(self, feed: str) -> None:
        """Give the feed back (its poll is over); this node's writes for it are refused until it is granted again."""
        ...

    def held(self) -> int:
        """How many feeds this node holds a lease on now."""
        ...

    async def leave(self) -> None:
        """Give every lease back and say this node stopped (a clean exit)."""
        ...

    async def nodes(self) -> list[NodeInfo]:
        """Every node the database knows, live ones first, with the feeds each holds."""
        ...

    async def dead_nodes(self) -> set[str]:
        """The ids of nodes known dead (stopped, or silent longer than their lease): their leftovers may go."""
        ...

    async def host_turn(self, host: str, next_start: float, now: float) -> float:
        """Hold `host` for this node (waiting while another node holds it); return when its next request may start
        (the caller's clock, whose present is `now`): `next_start`, or later if the node before asked for it."""
        ...

    async def host_idle(self, host: str, wait: float) -> None:
        """This node has no request to `host` in flight: hand the host back; its next request may start `wait`
        seconds from now, whichever node sends it."""
        ...


class Store(RawIndex, MissingImages, Protocol):
    """Everything the crawler keeps between runs. Every method may raise StoreError."""

    # Feeds' poll state.
    async def feed_state(self, name: str) -> FeedState: ...
    async def save_feed_state(self, state: FeedState) -> None: ...
    async def all_feed_states(self) -> list[FeedState]: ...

    # Entries a feed listed.
    async def known_keys(self, feed: str, keys: Iterable[str]) -> set[str]: ...
    async def known_items(self, feed: str, keys: Iterable[str]) -> dict[str, ItemFacts]: ...
    async def add_pending(self, feed: str, entries: Iterable[NewEntry], seen_at: float) -> int: ...
    async def add_skipped(self, feed: str, entries: Iterable[NewEntry], seen_at: float) -> int: ...
    async def pending(self, feed: str) -> list[PendingEntry]: ...
    async def record_failure(self, feed: str, key: str, error: str) -> int: ...

    # Articles and the names they are known by (deduplication rests on these).
    async def article_for_url(self, url: str) -> str | None: ...
    async def article_for_body(self, body_hash: str) -> str | None: ...
    async def article_path(self, article_id: str) -> str | None: ...
    async def claim(self, claim: ArticleClaim, now: float) -> Claim: ...
    async def release_claim(self, feed: str, entry_key: str) -> None: ...
    async def record_archived_all(self, archived: Sequence[tuple[str, str, ArchivedArticle]]) -> list[LostClaim]: ...
    async def record_duplicate(self, feed: str, key: str, article_id: str, urls: Iterable[str]) -> None: ...

    # What `crawler status` reports.
    async def counts(self, feed: str) -> FeedCounts: ...
    async def worst_failing(self, feed: str) -> PendingEntry | None: ...
    async def record_selectors(self, checks: Sequence[SelectorCheck]) -> None: ...
    async def selector_misses(self, feed: str, selector: str | None) -> SelectorMisses: ...
    async def archived_counts(self) -> dict[str, ArchivedCounts]: ...
    async def article_count(self) -> int: ...

    # Repair and rebuild (`reindex`, `check --archive`, `refetch`, `list`).
    async def articles(self) -> list[RecordedArticle]: ...
    async def archived_entry_ids(self) -> set[str]: ...
    async def entries_of(self, article_id: str) -> list[PendingEntry]: ...
    async def rebuild_articles(self, articles: Iterable[IndexedArticle]) -> int: ...
    async def requeue(self, article_ids: Iterable[str]) -> int: ...
    async def record_refetched(
        self, article_id: str, body_hash: str, urls: Iterable[str], text: ArticleText | None = None
    ) -> None: ...

    # History and search, for the web console (store/history.py). `record_archived_all` also counts each article in
    # its feed's day and indexes the text it carries; `rebuild_articles` rebuilds the index from the texts given;
    # `requeue` takes the articles out of it. tests/store/test_history_contract.py is what a backend must do.
    async def record_poll(self, poll: PollRecord) -> None: ...
    async def poll_log(self, feed: str, limit: int) -> list[PollRecord]: ...
    async def days(self, feed: str | None, since: date) -> list[FeedDay]: ...
    async def archived_days_by_feed(
        self, since: date, feeds: Sequence[str] | None = None
    ) -> dict[str, dict[date, int]]: ...
    async def feed_summaries(self) -> dict[str, FeedSummary]: ...
    async def all_selector_misses(self) -> dict[tuple[str, str], SelectorMisses]: ...
    async def search_articles(self, query: ArticleQuery) -> list[ArticleHit]: ...
    async def indexed_article(self, article_id: str) -> ArticleHit | None: ...

    # The store itself.
    def coordination(self) -> Nodes | None: ...  # several nodes sharing it (PostgreSQL); None: one node (SQLite)
    async def replaced(self) -> str | None: ...
    async def close(self) -> None: ...


class StoreLocation(Protocol):
    """Where a store lives, and what can be done there before one is opened."""

    def describe(self) -> str:
        """The location as messages name it (a path, a URL without its password)."""
        ...

    async def exists(self) -> bool:
        """Whether a store is there (opening one where there is none creates it, unless read-only)."""
        ...

    async def problem(self) -> str | None:
        """Why the store there cannot be used as it is (corrupt), or None when it can or there is none."""
        ...

    async def set_aside(self) -> str:
        """Move a broken store out of the way, never deleting it; return where it went."""
        ...

    async def open(self, *, read_only: bool = False) -> Store:
        """Open the store, first applying the schema migrations it still needs (under the backend's lock) unless
        `read_only` (then every write raises StoreError). Raise StoreError when it cannot be opened."""
        ...

    async def schema_status(self) -> SchemaStatus:
        """Where the schema there stands against this crawler's (version 0 where there is no store yet); changes
        nothing."""
        ...

    async def upgrade(self) -> list[str]:
        """Apply the migrations still due (creating the store where there is none); return "N name" of each step
        applied, none when it was up to date (`crawler db upgrade`)."""
        ...


def optional_text(value: object) -> str | None:
    """A column's value as text, NULL kept as None."""
    return None if value is None else str(value)


def _optional_float(value: object) -> float | None:
    return None if value is None else float(str(value))
