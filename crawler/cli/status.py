"""What `crawler status` reports: one row per configured feed, read from the state database (never written), and
whatever makes those rows untrustworthy (a state database that is missing, or knows nothing of the archive)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from crawler.archive import files as archive
from crawler.config.settings import Config
from crawler.logs import visible
from crawler.store import describe_state, open_store, store_location
from crawler.store.base import ArchivedCounts, FeedCounts, FeedState, NodeInfo, PendingEntry, SelectorMisses

NO_DATABASE = "no state database"


@dataclass(frozen=True)
class FeedStatus:
    """One feed's health: when it was polled and will be, how it is failing, and what it has archived."""

    name: str
    url: str
    enabled: bool
    # "ok", "failing", "articles failing", "poll unfinished", "gone", "never polled", "disabled" or
    # "no state database"
    state: str
    last_poll: float | None
    last_success: float | None
    next_poll: float | None
    failures: int
    last_error: str | None
    moved_to: str | None
    archived: int
    pending: int
    articles_failing: int = 0  # pending entries whose page failed at least once
    article_error: str | None = None  # the URL and last error of the one that failed most often
    also_listed: int = 0  # articles it lists that another feed archived first (`archived` counts each file once)
    # How its `body:` selector fared on its last pages.
    selector: SelectorMisses = field(default_factory=lambda: SelectorMisses(0, 0))

    def to_json(self) -> dict[str, object]:
        """The row as JSON-ready values; times as ISO 8601 in UTC."""
        return {
            "name": self.name,
            "url": self.url,
            "enabled": self.enabled,
            "state": self.state,
            "last_poll": _iso(self.last_poll),
            "last_success": _iso(self.last_success),
            "next_poll": _iso(self.next_poll),
            "failures": self.failures,
            "last_error": self.last_error,
            "moved_to": self.moved_to,
            "archived": self.archived,
            "pending": self.pending,
            "articles_failing": self.articles_failing,
            "article_error": self.article_error,
            "also_listed": self.also_listed,
            "selector_missed": self.selector.missed,
            "selector_checked": self.selector.checked,
            "selector_missed_url": self.selector.last_url,
        }


@dataclass(frozen=True)
class StatusReport:
    """Every feed's row, and why they cannot be trusted (None when they can)."""

    database: str
    database_exists: bool
    problem: str | None
    note: str | None  # worth saying, not a failure: no database yet and nothing archived
    feeds: tuple[FeedStatus, ...]
    nodes: tuple[NodeInfo, ...] = ()  # several nodes on PostgreSQL: each, and the feeds it holds now

    def to_json(self) -> dict[str, object]:
        """The report as `crawler status --json` prints it."""
        return {
            "database": {"path": self.database, "exists": self.database_exists},
            "problem": self.problem,
            "feeds": [row.to_json() for row in self.feeds],
            **({"nodes": [_node_json(node) for node in self.nodes]} if self.nodes else {}),
        }


def _node_json(node: NodeInfo) -> dict[str, object]:
    return {
        "node": node.node,
        "host": node.host,
        "pid": node.pid,
        "state": "alive" if node.alive else "stopped" if node.stopped else "dead",
        "started": _iso(node.started_at),
        "last_seen": _iso(node.seen_at),
        "feeds": list(node.feeds),
    }


def render_nodes(nodes: Sequence[NodeInfo]) -> str:
    """One line per node: its state, when it was last seen, and the feeds it is polling now."""
    lines = [f"nodes ({sum(node.alive for node in nodes)} alive):"]
    for node in nodes:
        state = "alive" if node.alive else "stopped" if node.stopped else "dead"
        holds = ", ".join(node.feeds) if node.feeds else "no feed"
        lines.append(f"  {node.node:<32} {state:<8} last seen {_iso(node.seen_at)}  polling: {holds}")
    return "\n".join(lines)


async def status_report(config: Config) -> StatusReport:
    """The status of every feed in `config`, in the file's order, and whether the state database can be trusted:
    a missing one is never created here, and is a problem when the archive already holds articles."""
    if not await store_location(config).exists():
        return _without_database(config)
    store = await open_store(config)
    try:
        owned = await store.archived_counts()
        rows = tuple(
            [
                replace(
                    _row(
                        feed.name,
                        feed.url,
                        feed.enabled,
                        await store.feed_state(feed.name),
                        await store.counts(feed.name),
                        await store.worst_failing(feed.name),
                    ),
                    archived=owned.get(feed.name, ArchivedCounts(0, 0)).archived,
                    also_listed=owned.get(feed.name, ArchivedCounts(0, 0)).also_listed,
                    selector=await store.selector_misses(feed.name, feed.body),
                )
                for feed in config.feeds
            ]
        )
        nodes = store.coordination()
        known = tuple(await nodes.nodes()) if nodes is not None else ()
        problem = None
        if await store.article_count() == 0:
            files = _archive_files(config)
            if files:
                problem = (
                    f"the state database at {describe_state(config)} records no archived article, but the archive at "
                    f"{config.archive} holds {files}: it was deleted or replaced since; run `crawler reindex` to "
                    "rebuild it from the archive"
                )
    finally:
        await store.close()
    return StatusReport(describe_state(config), True, problem, None, rows, known)


async def feed_statuses(config: Config) -> list[FeedStatus]:
    """The status of every feed in `config`, in the file's order (see `status_report` for the whole picture)."""
    return list((await status_report(config)).feeds)


def _without_database(config: Config) -> StatusReport:
    files = _archive_files(config)
    missing = (
        f"no state database at {describe_state(config)}: nothing has been polled with this config yet, "
        "or it was deleted"
    )
    if not files:
        rows = tuple(
            _row(feed.name, feed.url, feed.enabled, FeedState(name=feed.name), FeedCounts(0, 0), None)
            for feed in config.feeds
        )
        return StatusReport(describe_state(config), False, None, missing, rows)
    # Articles were archived with some state database, and it is gone: nothing is known of any feed.
    rows = tuple(
        FeedStatus(
            name=feed.name,
            url=feed.url,
            enabled=feed.enabled,
            state=NO_DATABASE,
            last_poll=None,
            last_success=None,
            next_poll=None,
            failures=0,
            last_error=None,
            moved_to=None,
            archived=0,
            pending=0,
        )
        for feed in config.feeds
    )
    problem = (
        f"{missing}; the archive at {config.archive} holds {files} articles: run `crawler reindex` to rebuild the "
        "database from them before the next fetch"
    )
    return StatusReport(describe_state(config), False, problem, None, rows)


def _archive_files(config: Config) -> int:
    return sum(1 for _ in archive.archived_files(config.archive))


def render_table(rows: Sequence[FeedStatus]) -> str:
    """A plain-text table, one line per feed, times in UTC; what a feed said (its last error, where it moved)
    escaped as the logs are, so no value can break its row or drive the terminal."""
    header = (
        "feed",
        "state",
        "last poll",
        "last success",
        "next poll",
        "failures",
        "archived",
        "also listed",
        "pending",
        "art. failing",
        "selector missed",
        "last error",
    )
    lines = [
        (
            visible(row.name),
            row.state,
            _short(row.last_poll),
            _short(row.last_success),
            _short(row.next_poll),
            str(row.failures),
            str(row.archived),
            str(row.also_listed),
            str(row.pending),
            str(row.articles_failing),
            _selector_cell(row.selector),
            visible(_error_cell(row)),
        )
        for row in rows
    ]
    widths = [max(len(cells[i]) for cells in (header, *lines)) for i in range(len(header) - 1)]
    out = []
    for cells in (header, *lines):
        out.append("  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=False)) + "  " + cells[-1])
    return "\n".join(line.rstrip() for line in out)


def _selector_cell(selector: SelectorMisses) -> str:
    # "-" when the feed has no selector or it was never tried; else how many of its last pages it missed on.
    return f"{selector.missed} of last {selector.checked}" if selector.checked else "-"


def _error_cell(row: FeedStatus) -> str:
    parts = [(row.last_error or "") + (f" (moved to {row.moved_to})" if row.moved_to else "")]
    if row.article_error:
        parts.append(f"article {row.article_error}")
    if row.selector.missed:
        parts.append(f"body selector {row.selector.selector!r} matched nothing on {row.selector.last_url} (last miss)")
    return "; ".join(part for part in parts if part)


def _row(
    name: str, url: str, enabled: bool, state: FeedState, counts: FeedCounts, worst: PendingEntry | None
) -> FeedStatus:
    return FeedStatus(
        name=name,
        url=url,
        enabled=enabled,
        state=_state(enabled, state, counts),
        last_poll=state.last_poll,
        last_success=state.last_success,
        next_poll=state.next_poll,
        failures=state.failures,
        last_error=state.last_error,
        moved_to=state.moved_to,
        archived=counts.archived,
        pending=counts.pending,
        articles_failing=counts.failing,
        article_error=None if worst is None else f"{worst.link or worst.key}: {worst.last_error or 'failed'}",
    )


def _state(enabled: bool, state: FeedState, counts: FeedCounts) -> str:
    if state.gone:
        return "gone"
    if not enabled:
        return "disabled"
    if state.last_poll is None:
        # Entries are recorded during a poll, its state at its end: entries without a poll is a poll that died.
        return "poll unfinished" if counts.archived or counts.pending else "never polled"
    if state.failures:
        return "failing"
    return "articles failing" if counts.failing else "ok"


def _iso(moment: float | None) -> str | None:
    return None if moment is None else datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds")


def _short(moment: float | None) -> str:
    return "-" if moment is None else datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
