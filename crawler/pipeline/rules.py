"""Which of a feed's new items are archived: its `keep:`/`block:` rules and its first poll's `backfill:`.

Pure decisions, no I/O: the pipeline records what is chosen as pending and the rest as skipped (known to the
state, never fetched, never archived).

- `block:` a regular expression (or a list of them): an item is skipped when any of them is found (re.search) in
  its title, its link, any one of its categories or its content as the feed gives it.
- `keep:` the same, the other way round: when set, an item is skipped unless one of them is found there.
- `backfill: N`: on the feed's first poll (nothing recorded of it yet), only the N newest of the items the rules
  let through are archived; the older ones are skipped. Later polls archive every new item.

Block wins over keep. Patterns are Python regular expressions: `(?i)` makes one case-insensitive.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC

from crawler.config.settings import FeedConfig
from crawler.feeds.parse import Entry


@dataclass(frozen=True)
class Rules:
    """A feed's item rules, compiled."""

    keep: tuple[re.Pattern[str], ...] = ()
    block: tuple[re.Pattern[str], ...] = ()
    backfill: int | None = None  # None: the first poll archives every item

    @staticmethod
    def of(feed: FeedConfig) -> Rules:
        """The rules of `feed` (its patterns were checked when the config was loaded)."""
        return Rules(keep=_compiled(feed.keep), block=_compiled(feed.block), backfill=feed.backfill)


@dataclass(frozen=True)
class Selection:
    """New items split into those to archive and those to record as skipped, each in the feed's order."""

    wanted: tuple[Entry, ...]
    skipped: tuple[Entry, ...]


@functools.lru_cache(maxsize=1024)
def _compiled(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    # Cached: a daemon applies the same few rules at every poll of every feed.
    return tuple(re.compile(pattern) for pattern in patterns)


def _texts(entry: Entry) -> tuple[str, ...]:
    return tuple(text for text in (entry.title, entry.link, *entry.categories, entry.content) if text)


def _found(patterns: Sequence[re.Pattern[str]], texts: Sequence[str]) -> bool:
    return any(pattern.search(text) for pattern in patterns for text in texts)


def allowed(entry: Entry, rules: Rules) -> bool:
    """Whether `entry` passes the feed's keep and block rules."""
    texts = _texts(entry)
    if _found(rules.block, texts):
        return False
    return not rules.keep or _found(rules.keep, texts)


def _age_key(indexed: tuple[int, Entry]) -> tuple[int, float, int]:
    # Newest first by the item's date; undated items after dated ones, in the feed's order (feeds list newest first).
    position, entry = indexed
    date = entry.published or entry.updated
    if date is None:
        return (1, 0.0, position)
    aware = date if date.tzinfo is not None else date.replace(tzinfo=UTC)
    return (0, -aware.timestamp(), position)


def newest(entries: Sequence[Entry], count: int) -> set[int]:
    """The positions in `entries` of the `count` newest items."""
    ranked = sorted(enumerate(entries), key=_age_key)
    return {position for position, _entry in ranked[:count]}


def select(entries: Sequence[Entry], rules: Rules, *, first_poll: bool) -> Selection:
    """Split a feed's new `entries` into those to archive and those to skip, by the rules and, on the feed's first
    poll, its backfill."""
    passing = [entry for entry in entries if allowed(entry, rules)]
    if first_poll and rules.backfill is not None and len(passing) > rules.backfill:
        keep_at = newest(passing, rules.backfill)
        passing = [entry for position, entry in enumerate(passing) if position in keep_at]
    chosen = {id(entry) for entry in passing}
    return Selection(
        wanted=tuple(passing),
        skipped=tuple(entry for entry in entries if id(entry) not in chosen),
    )
