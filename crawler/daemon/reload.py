"""Live reload of feeds.yaml: watch the file (its size and mtime, then its hash) or wait for SIGHUP, re-read it, and
hand each new valid config to the daemon; an invalid one is logged with its line and the last good one keeps running.
`feed_changes` (pure) says which feeds a new config starts, stops and changes."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from crawler.config.load import parse_config, read_config_bytes
from crawler.config.settings import Config, ConfigError
from crawler.daemon.metrics import Metrics

log = logging.getLogger("crawler")

WATCH_EVERY = 0.5  # seconds between two looks at feeds.yaml


@dataclass(frozen=True)
class FeedChanges:
    """How the enabled feeds of two configs differ, by name."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]


def feed_changes(old: Config, new: Config) -> FeedChanges:
    """Which enabled feeds a reload starts, stops and changes (a feed disabled counts as removed)."""
    before = {feed.name: feed for feed in old.feeds if feed.enabled}
    after = {feed.name: feed for feed in new.feeds if feed.enabled}
    return FeedChanges(
        added=tuple(name for name in after if name not in before),
        removed=tuple(name for name in before if name not in after),
        changed=tuple(name for name in after if name in before and after[name] != before[name]),
    )


def fingerprint(path: Path) -> tuple[int, int] | None:
    """The file's mtime and size (None when it cannot be read): a cheap look for a change, before hashing it."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


class ConfigWatcher:
    """Re-reads feeds.yaml when it changes (once it has stayed the same for one look) or on `request()` (SIGHUP),
    and awaits `apply` with each new valid config."""

    def __init__(self, path: Path, metrics: Metrics, apply: Callable[[Config], Awaitable[None]]) -> None:
        self._path = path
        self._metrics = metrics
        self._apply = apply
        self._now = asyncio.Event()
        self._digest: str | None = None

    async def remember_current(self) -> None:
        """Take the file as it is now as the one already applied (at start)."""
        self._digest = await asyncio.to_thread(self._file_digest)

    def request(self) -> None:
        """Reload at once, even if the file looks unchanged (SIGHUP)."""
        self._now.set()

    async def watch(self, stopping: Callable[[], bool]) -> None:
        """Look at the file every WATCH_EVERY seconds until `stopping()`."""
        seen = fingerprint(self._path)
        settling = False
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(WATCH_EVERY):
                    await self._now.wait()
            if stopping():
                return
            if self._now.is_set():
                self._now.clear()
                log.info("reloading on SIGHUP", extra={"config": str(self._path)})
                await self._reload(force=True)
                continue
            current = fingerprint(self._path)
            if current != seen:
                seen, settling = current, True  # an editor may still be writing: look again next time
            elif settling:
                settling = False
                await self._reload(force=False)

    def _file_digest(self) -> str | None:
        try:
            return hashlib.sha256(read_config_bytes(self._path)).hexdigest()
        except ConfigError:
            return None

    async def _reload(self, *, force: bool) -> None:
        try:
            # Checked before it is opened: a FIFO or a device put in the file's place must not hang this thread
            # (and with it the daemon's stop, which waits for its threads).
            data = await asyncio.to_thread(read_config_bytes, self._path)
        except ConfigError as exc:
            log.error(
                "config unreadable; keeping the last good one",
                extra={"config": str(self._path), "error": str(exc)},
            )
            self._digest = None
            return
        digest = hashlib.sha256(data).hexdigest()
        if digest == self._digest and not force:
            return
        self._digest = digest
        try:
            text = data.decode("utf-8")
            config = await asyncio.to_thread(parse_config, text, self._path)
        except (ConfigError, UnicodeDecodeError) as exc:
            self._metrics.reloads.labels("rejected").inc()
            log.error(
                "config rejected; keeping the last good one",
                extra={"config": str(self._path), "error": str(exc)},
            )
            return
        await self._apply(config)
