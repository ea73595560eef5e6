"""What a refresh returns: per feed (`FeedResult`, with its `PollOutcome` and the decider's `Timing`) and per entry
(`EntryOutcome`, with its `EntryStatus`). The outcomes are StrEnums: they compare equal to, and serialise as, the
strings the log, the metrics and `fetch --json` have always shown."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from crawler.schedule import Timing


class PollOutcome(StrEnum):
    """How one poll of a feed went, as the `poll` log line's status and the crawler_polls metric's label say it."""

    OK = "ok"  # the feed was read (some of its articles may still have failed)
    NOT_MODIFIED = "not_modified"  # 304, or the same bytes as last time
    FAILED = "failed"  # the feed itself could not be had


class EntryStatus(StrEnum):
    """What became of one pending entry in a poll."""

    NEW = "new"  # archived now
    KNOWN = "known"  # already archived (under this or another name)
    FAILED = "failed"  # left pending, tried again on the next poll
    DEFERRED = "deferred"  # not started: the crawler is stopping (stays pending for the next run)


@dataclass(frozen=True)
class FeedResult:
    """What one poll of one feed did."""

    feed: str
    url: str
    new: int = 0
    known: int = 0
    skipped: int = 0  # new items left out by the feed's keep/block rules or its first poll's backfill
    failed: int = 0
    fallback: int = 0  # archived from the feed's own text (the page failed, or gave no body)
    deferred: int = 0  # listed, not started: the crawler was stopping (they stay pending for the next run)
    selector_missed: int = 0  # pages on which the feed's `body:` selector matched nothing
    images_missing: int = 0  # `images: keep`: images of new articles that could not be had (tried on later polls)
    not_modified: bool = False
    errors: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    # When the feed is due again, as crawler.schedule decided and the state stored; None when the poll could not
    # record it (the daemon then waits a whole interval).
    timing: Timing | None = None

    @property
    def ok(self) -> bool:
        """True when neither the feed nor any of its articles failed."""
        return not self.errors

    @property
    def outcome(self) -> PollOutcome:
        """`failed` when the feed itself could not be had, else `not_modified` or `ok` (articles may still fail)."""
        if self.errors and not self.failed:
            return PollOutcome.FAILED
        return PollOutcome.NOT_MODIFIED if self.not_modified else PollOutcome.OK

    @property
    def next_poll(self) -> float | None:
        """When the feed is due again (before the daemon's jitter); None when never or not known."""
        return None if self.timing is None or self.timing.gone else self.timing.next_poll


@dataclass(frozen=True)
class EntryOutcome:
    """What became of one pending entry."""

    status: EntryStatus
    fallback: bool = False
    error: str | None = None
    note: str | None = None  # why the feed's content was archived instead of the page
    selector_missed: str | None = None  # a warning line: the feed's `body:` selector matched nothing on the page
    images_missing: int = 0  # `images: keep`: the article's images that could not be had


@dataclass
class Progress:
    """Callbacks for a progress display; both default to doing nothing."""

    found: Callable[[int], None] = field(default=lambda n: None)
    done: Callable[[], None] = field(default=lambda: None)
