"""What the console's pages show, read from the store in bulk (a few reads per page, whatever the number of feeds)
and shaped by pure functions: each feed's row and its state, the order and filter of the dashboard's table, the
plots' series with every day of their range filled in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

from crawler.config.settings import Config, FeedConfig
from crawler.console.charts import DayOutcomes, DayValue
from crawler.store.base import FeedState, SelectorMisses, Store
from crawler.store.history import HISTORY_DAYS, FeedDay, FeedSummary, day_of

SPARK_DAYS = 30  # days in a feed's sparkline
PAGE_ROWS = 250  # the table's rows on one page (sorting and filtering take in every feed)

# The dashboard's columns, as its links and its `sort=` name them.
SORTS = ("state", "name", "last_success", "next_poll", "failures", "archived", "pending", "selector", "error")
STATES = ("failing", "selector", "gone", "new", "ok", "disabled", "removed")  # failing first: the default order


@dataclass(frozen=True)
class FeedRow:
    """One feed as the dashboard's table shows it."""

    name: str
    url: str | None
    state: str  # one of STATES
    last_poll: float | None
    last_success: float | None
    next_poll: float | None
    failures: int
    archived: int
    pending: int
    failing: int  # pending entries that have failed at least once
    selector: str | None  # the feed's `body:` selector, when it matched nothing on some of its last pages
    selector_missed: int
    selector_checked: int
    last_error: str | None
    spark: tuple[int, ...] = ()  # articles archived per day, the last SPARK_DAYS days, oldest first


@dataclass(frozen=True)
class Dashboard:
    """Everything the dashboard shows."""

    rows: tuple[FeedRow, ...]  # every feed, as the state has them (no sparkline)
    shown: tuple[FeedRow, ...]  # the page of the table asked for, arranged, with sparklines
    matched: int  # the rows that pass the filter, on every page
    archived: tuple[DayValue, ...]  # every feed's articles per day, HISTORY_DAYS days
    polls: tuple[DayOutcomes, ...]


@dataclass(frozen=True)
class TableView:
    """How the reader asked for the table: sorted by a column, either way, filtered by name/URL/error and state."""

    sort: str = "state"
    descending: bool = False
    text: str = ""
    state: str = ""
    page: int = 1
    per_page: int = PAGE_ROWS  # 0: every row on one page


def feed_state_name(feed: FeedConfig | None, state: FeedState, misses: SelectorMisses | None) -> str:
    """A feed's state in one word, the worst first: failing, selector (its `body:` selector missed on every page
    lately), gone, new (never polled), ok, disabled, removed (no longer in feeds.yaml)."""
    if feed is None:
        return "removed"
    if not feed.enabled:
        return "disabled"
    if state.gone:
        return "gone"
    if state.failures > 0:
        return "failing"
    if misses is not None and misses.checked and misses.missed == misses.checked:
        return "selector"
    if state.last_poll is None:
        return "new"
    return "ok"


_NO_SUMMARY = FeedSummary()


def feed_rows(
    config: Config,
    states: Sequence[FeedState],
    summaries: Mapping[str, FeedSummary],
    misses: Mapping[tuple[str, str], SelectorMisses],
) -> list[FeedRow]:
    """A row for every feed of the config, and for every feed the state still remembers (sparklines not yet)."""
    by_name = {state.name: state for state in states}
    configured = {feed.name: feed for feed in config.feeds}  # Config.feed() is a scan: once per feed is quadratic
    names = [*configured, *sorted(by_name.keys() - configured.keys())]
    rows: list[FeedRow] = []
    for name in names:
        feed = configured.get(name)
        state = by_name.get(name) or FeedState(name=name)  # not a default argument: built only when missing
        summary = summaries.get(name, _NO_SUMMARY)
        missed = misses.get((name, feed.body)) if feed is not None and feed.body else None
        rows.append(
            FeedRow(
                name=name,
                url=feed.url if feed is not None else state.url,
                state=feed_state_name(feed, state, missed),
                last_poll=state.last_poll,
                last_success=state.last_success,
                next_poll=state.next_poll if not state.gone else None,
                failures=state.failures,
                archived=summary.archived,
                pending=summary.pending,
                failing=summary.failing,
                selector=missed.selector if missed is not None and missed.missed else None,
                selector_missed=missed.missed if missed is not None else 0,
                selector_checked=missed.checked if missed is not None else 0,
                last_error=state.last_error,
            )
        )
    return rows


def with_sparks(rows: Sequence[FeedRow], spark_days: Mapping[str, Mapping[date, int]], today: date) -> list[FeedRow]:
    """`rows` with their sparklines: articles per day over the SPARK_DAYS days to `today`."""
    days = [today - timedelta(days=SPARK_DAYS - 1 - n) for n in range(SPARK_DAYS)]
    return [replace(row, spark=tuple(spark_days.get(row.name, {}).get(day, 0) for day in days)) for row in rows]


def page_of(rows: Sequence[FeedRow], view: TableView) -> list[FeedRow]:
    """The rows of the page `view` asks for."""
    if view.per_page <= 0:
        return list(rows)
    start = (max(1, view.page) - 1) * view.per_page
    return list(rows[start : start + view.per_page])


def arrange(rows: Sequence[FeedRow], view: TableView) -> list[FeedRow]:
    """The table's rows filtered and sorted as `view` asks; by state (the default), failing feeds come first and
    the longest failing first among them."""
    needle = view.text.casefold()
    kept = [
        row
        for row in rows
        if (not view.state or row.state == view.state)
        and (
            not needle
            or needle in row.name.casefold()
            or needle in (row.url or "").casefold()
            or needle in (row.last_error or "").casefold()
        )
    ]
    key = _SORT_KEYS.get(view.sort, _SORT_KEYS["state"])
    return sorted(kept, key=key, reverse=view.descending)


def _rank(state: str) -> int:
    return STATES.index(state) if state in STATES else len(STATES)


_NEVER = float("inf")
_SORT_KEYS = {
    "state": lambda r: (_rank(r.state), -r.failures, r.name),
    "name": lambda r: (r.name,),
    "last_success": lambda r: (r.last_success if r.last_success is not None else -_NEVER, r.name),
    "next_poll": lambda r: (r.next_poll if r.next_poll is not None else _NEVER, r.name),
    "failures": lambda r: (r.failures, r.name),
    "archived": lambda r: (r.archived, r.name),
    "pending": lambda r: (r.pending, r.name),
    "selector": lambda r: (r.selector_missed, r.name),
    "error": lambda r: (r.last_error or "", r.name),
}


def day_series(days: Sequence[FeedDay], first: date, last: date) -> tuple[list[DayValue], list[DayOutcomes]]:
    """Articles archived per day and polls per day by outcome, one entry for every day from `first` to `last`."""
    by_day = {d.day: d for d in days}
    archived: list[DayValue] = []
    polls: list[DayOutcomes] = []
    for n in range((last - first).days + 1):
        day = first + timedelta(days=n)
        found = by_day.get(day, FeedDay("", day))
        archived.append(DayValue(day, found.archived))
        polls.append(DayOutcomes(day, found.ok, found.not_modified, found.failed))
    return archived, polls


async def dashboard(store: Store, config: Config, now: float, view: TableView) -> Dashboard:
    """The dashboard's figures, in five reads of the store whatever the number of feeds (sparklines only for the
    rows of the page shown)."""
    today = day_of(now)
    first = today - timedelta(days=HISTORY_DAYS - 1)
    states, summaries = await store.all_feed_states(), await store.feed_summaries()
    rows = feed_rows(config, states, summaries, await store.all_selector_misses())
    arranged = arrange(rows, view)
    shown = page_of(arranged, view)
    sparks = await store.archived_days_by_feed(today - timedelta(days=SPARK_DAYS - 1), [row.name for row in shown])
    archived, polls = day_series(await store.days(None, first), first, today)
    sparked = tuple(with_sparks(shown, sparks, today))
    return Dashboard(tuple(rows), sparked, len(arranged), tuple(archived), tuple(polls))


def with_view(view: TableView, **changes: object) -> TableView:
    """`view` with some fields changed (for the table's links)."""
    return replace(view, **changes)  # type: ignore[arg-type]
