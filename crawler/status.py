"""What `crawler status` reports: one row per configured feed, read from the state database (never written)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from crawler.config import Config
from crawler.logs import visible
from crawler.store import FeedCounts, FeedState, SqliteStore


@dataclass(frozen=True)
class FeedStatus:
    """One feed's health: when it was polled and will be, how it is failing, and what it has archived."""

    name: str
    url: str
    enabled: bool
    state: str  # "ok", "failing", "gone", "never polled" or "disabled"
    last_poll: float | None
    last_success: float | None
    next_poll: float | None
    failures: int
    last_error: str | None
    moved_to: str | None
    archived: int
    pending: int

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
        }


def feed_statuses(config: Config) -> list[FeedStatus]:
    """The status of every feed in `config`, in the file's order; a missing state database means never polled."""
    if not config.state.exists():
        return [
            _row(feed.name, feed.url, feed.enabled, FeedState(name=feed.name), FeedCounts(0, 0))
            for feed in config.feeds
        ]
    store = SqliteStore(config.state)
    try:
        return [
            _row(feed.name, feed.url, feed.enabled, store.feed_state(feed.name), store.counts(feed.name))
            for feed in config.feeds
        ]
    finally:
        store.close()


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
        "pending",
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
            str(row.pending),
            visible((row.last_error or "") + (f" (moved to {row.moved_to})" if row.moved_to else "")),
        )
        for row in rows
    ]
    widths = [max(len(cells[i]) for cells in (header, *lines)) for i in range(len(header) - 1)]
    out = []
    for cells in (header, *lines):
        out.append("  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=False)) + "  " + cells[-1])
    return "\n".join(line.rstrip() for line in out)


def _row(name: str, url: str, enabled: bool, state: FeedState, counts: FeedCounts) -> FeedStatus:
    return FeedStatus(
        name=name,
        url=url,
        enabled=enabled,
        state=_state(enabled, state),
        last_poll=state.last_poll,
        last_success=state.last_success,
        next_poll=state.next_poll,
        failures=state.failures,
        last_error=state.last_error,
        moved_to=state.moved_to,
        archived=counts.archived,
        pending=counts.pending,
    )


def _state(enabled: bool, state: FeedState) -> str:
    if state.gone:
        return "gone"
    if not enabled:
        return "disabled"
    if state.last_poll is None:
        return "never polled"
    return "failing" if state.failures else "ok"


def _iso(moment: float | None) -> str | None:
    return None if moment is None else datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds")


def _short(moment: float | None) -> str:
    return "-" if moment is None else datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
