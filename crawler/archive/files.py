"""Text -> file on disk, atomically, at its dated path: `<archive>/<YYYY>/<MM>/<DD>/<id>.md`."""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import socket
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from crawler.errors import CrawlerError

_ID_RE = re.compile(r"[0-9a-f]{16}\Z")
# `.<id>.md.<pid>.<number>.h-<host>.tmp`: the writer's pid and host (several nodes may share the archive, and a pid
# says nothing of another host's processes); names without the host are from before, and this host's.
_TEMP_RE = re.compile(r"\.([0-9a-f]{16})\.md\.(\d+)(?:\.(\d+))?(?:\.h-([A-Za-z0-9-]+))?\.tmp\Z")
HOST_TAG = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname()) or "unknown"
_temp_numbers = itertools.count()


class ArchiveError(CrawlerError):
    """The archive folder cannot take a file (permissions, full disk, ...); nothing partial is left behind."""


@dataclass(frozen=True)
class TempTag:
    """The number in the name of one staging's temp file, drawn by the crawler's own process before the job goes to
    a worker: when that worker dies before the job's result came back, the file is found by it, and the files of
    the worker's other jobs, whose results came back and wait for their commit, are left alone."""

    number: int


def new_temp_tag() -> TempTag:
    """A tag no other temp file written for this process (by itself or by a worker) bears."""
    return TempTag(next(_temp_numbers))


@dataclass(frozen=True)
class ArchivedFile:
    """One article file found in the archive."""

    article_id: str
    path: Path


def relative_path(article_id: str, date: datetime, timezone: str = "UTC") -> Path:
    """`YYYY/MM/DD/<id>.md` for an article of `date`, the folders in `timezone` (UTC unless configured)."""
    if not _ID_RE.match(article_id):
        raise ValueError(f"not an article id: {article_id!r}")
    moment = date if date.tzinfo is not None else date.replace(tzinfo=UTC)
    local = moment.astimezone(ZoneInfo(timezone))
    return Path(f"{local.year:04d}", f"{local.month:02d}", f"{local.day:02d}", f"{article_id}.md")


def write_atomic(root: Path, relative: Path, text: str) -> Path:
    """Write `text` to `root/relative` so that a reader (or a crash) sees either no file or the whole file."""
    return commit(write_temp(root, relative, text), root, relative)


def write_temp(root: Path, relative: Path, text: str, tag: TempTag | None = None) -> Path:
    """Write `text` to a temp file beside `root/relative`, flushed to disk, and return its path: the first half of
    an atomic write, which `commit` completes (or `discard` abandons). A crash in between leaves only a temp file,
    which `remove_stale_temp_files` deletes once its writer is gone (`remove_lost_temp_files`, by `tag`, mid-run)."""
    target = root / relative
    # Unique per write, not only per process: a worker may stage one article twice before either is committed.
    number = tag.number if tag is not None else next(_temp_numbers)
    temp = target.with_name(f".{target.stem}.md.{os.getpid()}.{number}.h-{HOST_TAG}.tmp")
    data = text.encode("utf-8")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(temp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        discard(temp)
        raise ArchiveError(f"cannot write {target}: {exc.strerror or exc}") from exc
    return temp


def commit(temp: Path, root: Path, relative: Path) -> Path:
    """Move a file from `write_temp` into its place, durably."""
    error = commit_all([(temp, relative)], root)[0]
    if error is not None:
        raise error
    return root / relative


def commit_all(moves: Sequence[tuple[Path, Path]], root: Path) -> list[ArchiveError | None]:
    """Move files from `write_temp` (temp, relative place) into their places, durably; return each move's error,
    if any. Each folder they went into is fsynced once, after all of them: that makes every rename into it
    durable, and a burst of articles for one day shares one folder."""
    errors: list[ArchiveError | None] = []
    folders: dict[Path, None] = {}
    for temp, relative in moves:
        target = root / relative
        try:
            os.replace(temp, target)
        except OSError as exc:
            discard(temp)
            errors.append(ArchiveError(f"cannot write {target}: {exc.strerror or exc}"))
            continue
        folders[target.parent] = None
        errors.append(None)
    for folder in folders:
        _fsync_dir(folder)
    return errors


def remove_committed(root: Path, relative: Path) -> None:
    """Take back a file `commit_all` put in place whose article was not recorded, durably."""
    target = root / relative
    with contextlib.suppress(FileNotFoundError):
        target.unlink()
        _fsync_dir(target.parent)


def discard(temp: Path) -> None:
    """Delete a temp file from `write_temp` that will not be committed."""
    with contextlib.suppress(OSError):
        temp.unlink()


def _fsync_dir(folder: Path) -> None:
    # The rename is only durable once the directory entry is; not every filesystem lets us open a directory.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def host_tag(host: str) -> str:
    """A host's name as temp file names carry it."""
    return re.sub(r"[^A-Za-z0-9-]", "-", host) or "unknown"


def remove_stale_temp_files(root: Path, *, at_start: bool = True, dead_hosts: Collection[str] = ()) -> int:
    """Delete temp files left by a process that died mid-write; return how many were removed: this host's whose
    process is gone, and any of `dead_hosts` (hosts whose every crawler node is known dead). `at_start`: called
    before this process stages anything, so that files bearing its own pid are a past life's (pids are reused)."""
    dead = {host_tag(host) for host in dead_hosts}
    removed = 0
    for folder, _dirs, files in os.walk(root):
        for name in files:
            match = _TEMP_RE.match(name)
            if match is None:
                continue
            writer_host = match.group(4) or HOST_TAG
            mine = writer_host == HOST_TAG
            if (mine and not _process_alive(int(match.group(2)), at_start)) or (not mine and writer_host in dead):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(folder, name))
                    removed += 1
    return removed


def remove_lost_temp_files(root: Path, tags: Collection[TempTag]) -> int:
    """Delete the temp files written under `tags` by processes that are gone (a dead worker's jobs whose results
    never came back); return how many were removed. Files of the same worker under other tags are kept: their
    results came back, and they wait for their commit."""
    numbers = {str(tag.number) for tag in tags}
    removed = 0
    for folder, _dirs, files in os.walk(root):
        for name in files:
            match = _TEMP_RE.match(name)
            if (
                match
                and match.group(3) in numbers
                and (match.group(4) or HOST_TAG) == HOST_TAG
                and not _process_alive(int(match.group(2)), at_start=False)
            ):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(folder, name))
                    removed += 1
    return removed


def _process_alive(pid: int, at_start: bool) -> bool:
    if pid == os.getpid():
        return not at_start
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    # A writer that has exited but is not yet reaped (a worker of a crawler just killed) still answers kill(0).
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False  # not Linux, or gone meanwhile: kill(0) decided
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


def archived_files(root: Path) -> Iterator[ArchivedFile]:
    """Every article file in the archive, by walking its dated folders."""
    for folder, _dirs, files in os.walk(root):
        for name in files:
            stem, dot, ext = name.partition(".")
            if dot and ext == "md" and _ID_RE.match(stem):
                yield ArchivedFile(article_id=stem, path=Path(folder, name))
