"""The edit lock of feeds.yaml: two `crawler feeds` commands at once cannot both read the old file and have the
second write drop the first's change."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from crawler.config.settings import ConfigError

if sys.platform != "win32":
    import fcntl

LOCK_TIMEOUT = 30.0  # seconds an edit waits for another one to finish before giving up
# Overrides LOCK_TIMEOUT: a script that queues many edits at once, or a slow machine, may wait longer.
LOCK_TIMEOUT_ENV = "CRAWLER_EDIT_LOCK_TIMEOUT"
_LOCK_POLL = 0.05
_held: dict[Path, int] = {}  # lock files this process holds, with their depth, so nested edit_lock()s do not wait on
# themselves (flock locks belong to an open file, so a second open in the same process would block on the first)


def lock_path(path: Path) -> Path:
    """The lock file of the feeds file at `path`: `.feeds.yaml.lock` beside it."""
    return path.with_name(f".{path.name}.lock")


@contextlib.contextmanager
def edit_lock(path: Path, timeout: float | None = None) -> Iterator[None]:
    """Hold the exclusive edit lock of the feeds file at `path`, waiting up to `timeout` (LOCK_TIMEOUT) seconds.

    The lock is taken on a separate file, never on feeds.yaml itself: an edit replaces feeds.yaml by renaming a new
    file over it, so a lock on feeds.yaml would stay with the old inode, and a command that opened the file after the
    rename would lock the new inode and run alongside one still waiting on the old. The lock file is never replaced
    or removed (removing it reopens that race), so every command locks the same inode. It is advisory: it orders the
    `crawler feeds` commands among themselves; the daemon only reads, and the atomic rename already keeps it from
    seeing a half-written file. Re-entrant within one process.
    """
    if sys.platform == "win32":  # no fcntl; the crawler targets Linux and macOS, so edits are unlocked there
        yield
        return
    if not path.exists():  # the edit fails on reading it, and creates no file a lock would have to order
        yield
        return
    lock = lock_path(path).absolute()
    if lock in _held:
        _held[lock] += 1
        try:
            yield
        finally:
            _held[lock] -= 1
        return
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot open the lock file {lock.name}: {exc.strerror or exc}") from None
    try:
        _acquire(fd, path, lock, lock_timeout() if timeout is None else timeout)
        _held[lock] = 1
        try:
            yield
        finally:
            del _held[lock]
    finally:
        os.close(fd)  # closing the file releases the lock


def lock_timeout() -> float:
    """Seconds an edit waits for the lock: CRAWLER_EDIT_LOCK_TIMEOUT when set, else LOCK_TIMEOUT."""
    raw = os.environ.get(LOCK_TIMEOUT_ENV, "").strip()
    if not raw:
        return LOCK_TIMEOUT
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:  # also refuses nan
        raise ConfigError(f"{LOCK_TIMEOUT_ENV}={raw!r}: expected a number of seconds, such as 30 or 120")
    return seconds


def _acquire(fd: int, path: Path, lock: Path, timeout: float) -> None:
    if sys.platform == "win32":
        return
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass  # another command is editing the file: wait, within the deadline
        except OSError as exc:
            raise ConfigError(f"{path}: cannot lock {lock.name}: {exc.strerror or exc}") from None
        if time.monotonic() >= deadline:
            raise ConfigError(
                f"{path}: waited {timeout:g} s for another `crawler feeds` command to finish editing it "
                f"(it holds {lock.name}); try again when it has finished"
            )
        time.sleep(_LOCK_POLL)
