"""crawler.rules: the pure keep/block/backfill decisions."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from crawler.feeds.parse import Entry
from crawler.pipeline.rules import Rules, allowed, select


def _entry(key: str, title: str = "t", *, hour: int | None = None, naive: bool = False) -> Entry:
    date = None if hour is None else datetime(2021, 8, 24, hour, tzinfo=None if naive else UTC)
    return Entry(
        key=key,
        guid=None,
        link=f"https://news.example/{key}",
        title=title,
        author=None,
        categories=("world",),
        published=date,
        updated=None,
        content="<p>body</p>",
        image=None,
    )


def _rules(keep: tuple[str, ...] = (), block: tuple[str, ...] = (), backfill: int | None = None) -> Rules:
    return Rules(keep=tuple(map(re.compile, keep)), block=tuple(map(re.compile, block)), backfill=backfill)


def test_block_wins_over_keep_and_keep_matches_any_field() -> None:
    rules = _rules(keep=("^world$",), block=("(?i)sponsored",))
    assert allowed(_entry("a"), rules)  # by its category
    assert not allowed(_entry("b", "Sponsored: world news"), rules)
    assert not allowed(_entry("c"), _rules(keep=("python",)))
    assert allowed(_entry("d"), _rules())


def test_backfill_takes_the_newest_by_date_mixing_naive_and_aware_and_undated_last() -> None:
    entries = [_entry("undated"), _entry("old", hour=1), _entry("new", hour=5, naive=True), _entry("mid", hour=3)]
    chosen = select(entries, _rules(backfill=2), first_poll=True)
    assert [e.key for e in chosen.wanted] == ["new", "mid"]
    assert [e.key for e in chosen.skipped] == ["undated", "old"]


def test_backfill_applies_only_to_the_first_poll_and_zero_skips_all() -> None:
    entries = [_entry("a", hour=1), _entry("b", hour=2)]
    assert len(select(entries, _rules(backfill=0), first_poll=False).wanted) == 2
    assert select(entries, _rules(backfill=0), first_poll=True).wanted == ()


def test_undated_items_keep_the_feed_order() -> None:
    entries = [_entry("first"), _entry("second"), _entry("third")]
    assert [e.key for e in select(entries, _rules(backfill=2), first_poll=True).wanted] == ["first", "second"]
