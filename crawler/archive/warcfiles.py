"""The WARC files of an archive (`<archive>/_warc/`, a folder Hexo never reads: it skips names that begin with `_`):
`WarcWriter` appends raw records (crawler.archive.warc) and makes them durable; `repair` trims what a crash cut off.

Files are `<node>-<YYYYMMDD>-<NNNNN>.warc.gz`, begun each UTC day and when one reaches `warc.max_size`, each with a
CDXJ index beside it (`.cdxj`, the form pywb reads; sorted once the file is finished). A writer holds an exclusive
lock (flock) on the file it appends to, so two processes of one node never share a file, and a file that no one
holds after a crash is known to be nobody's.

Crash safety, as for articles: records are appended with one write each, so a kill leaves at most one unfinished
gzip member at a file's end. `durable` fsyncs the file and appends the records' CDXJ lines, and only then may an
article be recorded as made from them (crawler.archive.commit). The CDXJ is not fsynced there (it is once the file
is finished): every line of it can be made again from the WARC file, and the next start (`repair`) does so, after
trimming an unfinished member, for the complete records the CDXJ does not list, dropping a line a power cut left
torn. Nothing durable is lost, and a group of articles waits on one fsync rather than two.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import functools
import io
import json
import logging
import os
import re
import socket
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import ParamSpec, TypeVar

from warcio.archiveiterator import ArchiveIterator

from crawler.archive import warc
from crawler.archive.files import ArchiveError
from crawler.config.settings import WarcConfig
from crawler.fetch.messages import Exchange
from crawler.store.base import RawRecord

log = logging.getLogger("crawler")
P = ParamSpec("P")
T = TypeVar("T")

FOLDER = "_warc"
_NAME_RE = re.compile(r"(?P<node>[A-Za-z0-9._]+)-(?P<day>\d{8})-(?P<seq>\d{5})\.warc\.gz\Z")
_SORTING_RE = re.compile(r"\..+\.cdxj\.(\d+)\.tmp\Z")
_READ = 1 << 20


class WarcError(ArchiveError):
    """A WARC file cannot be written or read (full disk, permissions, a damaged record); the message names it. An
    ArchiveError: an article whose raw record cannot be made durable fails as one whose file cannot be written."""


def folder_of(archive: Path) -> Path:
    """Where an archive's WARC files live."""
    return archive / FOLDER


def node_name(config: WarcConfig) -> str:
    """The node's name in file names: the configured one, else the host's (its first label, in file-name letters)."""
    if config.node:
        return config.node
    host = socket.gethostname().split(".", 1)[0]
    return re.sub(r"[^A-Za-z0-9_]", "_", host) or "node"


def cdxj_path(warc_file: Path) -> Path:
    """The CDXJ index beside a WARC file."""
    return warc_file.with_name(warc_file.name.removesuffix(".warc.gz") + ".cdxj")


@dataclass
class _Open:
    path: Path
    fd: int
    size: int
    day: str


class WarcWriter:
    """Appends raw records to this node's current WARC file, on a thread of its own (compressing and writing never
    hold the event loop; records are appended in the order they were asked for). Records come built (`append`: an
    article page's, built in a worker process beside its article, see crawler.pipeline.compose) or are built here
    (`write`: a feed's). A file is opened at the first record, so a run with `raw: warc` nowhere writes nothing."""

    def __init__(self, archive: Path, config: WarcConfig, clock: Callable[[], float] = time.time) -> None:
        self._folder = folder_of(archive)  # read and changed on the writer's thread only
        self._target = self._folder  # the folder the last reconfigure asked for (on the event loop's side)
        self._config = config
        self._clock = clock
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crawler-warc")
        self._file: _Open | None = None
        # Response records appended since the last `durable`, with their SURT keys.
        self._unindexed: list[tuple[Path, RawRecord, str]] = []
        self._closed: list[_Open] = []  # files finished since the last `durable`, their sync still owed
        self._dirty = False  # whether anything was appended since the last `durable` (else it costs no fsync)
        self._appending: list[tuple[warc.Built, asyncio.Future[RawRecord]]] = []  # waiting for the next group
        self._appender: asyncio.Task[None] | None = None

    def reconfigure(self, archive: Path, config: WarcConfig) -> None:
        """Use a reloaded `warc:` section from the next file on, and a reloaded `archive:` from the next record on
        (the file open under the old archive is made durable and finished first)."""
        self._config = config
        folder = folder_of(archive)
        if folder != self._target:
            self._target = folder
            # Queued behind the records already asked for, which stay in the old archive's file.
            self._executor.submit(self._retarget, folder)

    async def _call(self, method: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, functools.partial(method, *args, **kwargs)
        )

    async def write(self, exchanges: Sequence[Exchange]) -> RawRecord | None:
        """Append a request and a response record per exchange; return where the last response lies (the answer
        itself, after its redirects), or None when there was nothing to write. Durable only after `durable`."""
        if not exchanges:
            return None
        return await self._call(self._write, tuple(exchanges))

    async def append(self, built: warc.Built) -> RawRecord:
        """Append records built already (crawler.archive.warc.build); return where the last response lies. Durable
        only after `durable`. Those asked for while a group is being appended go together in the next, with one
        thread hand-off (worker processes hand their articles back in groups): as Commits does."""
        done: asyncio.Future[RawRecord] = asyncio.get_running_loop().create_future()
        self._appending.append((built, done))
        if self._appender is None:
            self._appender = asyncio.create_task(self._append_queued())
        return await done

    async def _append_queued(self) -> None:
        try:
            while self._appending:
                group, self._appending = self._appending, []
                placed: list[RawRecord | Exception]
                try:
                    placed = [*await self._call(self._append_all, [built for built, _ in group])]
                except asyncio.CancelledError:
                    for _, done in [*group, *self._appending]:
                        done.cancel()
                    self._appending = []
                    raise
                except Exception as exc:  # a bug: each article of the group says so
                    placed = [exc] * len(group)
                for (_, done), outcome in zip(group, placed, strict=True):
                    if done.done():  # its waiter was cancelled; its record stays in the file, unreferenced
                        continue
                    if isinstance(outcome, Exception):
                        done.set_exception(outcome)
                    else:
                        done.set_result(outcome)
        finally:
            self._appender = None

    async def durable(self) -> None:
        """Make every record appended so far durable, and its CDXJ line with it."""
        await self._call(self._durable)

    async def aclose(self) -> None:
        """Make everything durable, finish the open file (its CDXJ sorted) and stop the thread."""
        try:
            await self._call(self._finish)
        finally:
            self._executor.shutdown(wait=True)

    # --- on the writer's thread ------------------------------------------------------------------------------------

    def _write(self, exchanges: tuple[Exchange, ...]) -> RawRecord:
        return self._append(warc.build(exchanges))

    def _append_all(self, group: list[warc.Built]) -> list[RawRecord | WarcError]:
        placed: list[RawRecord | WarcError] = []
        for built in group:
            try:
                placed.append(self._append(built))
            except WarcError as exc:  # this one's article fails; the others' records are whole
                placed.append(exc)
        return placed

    def _append(self, built: warc.Built) -> RawRecord:
        current = self._current(len(built.data))
        try:
            _write_all(current.fd, built.data)
        except OSError as exc:
            # A partial write is an unfinished record at the end: cut it now, as a restart would.
            with contextlib.suppress(OSError):
                os.ftruncate(current.fd, current.size)
            raise WarcError(f"{current.path}: cannot write a raw record: {exc.strerror or exc}") from None
        base, current.size = current.size, current.size + len(built.data)
        placed = [replace(one, filename=current.path.name, offset=base + one.offset) for one in built.responses]
        self._unindexed.extend((current.path, one, key) for one, key in zip(placed, built.keys, strict=True))
        self._dirty = True
        return placed[-1]

    def _current(self, adding: int) -> _Open:
        day = datetime.fromtimestamp(self._clock(), UTC).strftime("%Y%m%d")
        current = self._file
        if current is not None and current.day == day and current.size + adding <= self._config.max_size:
            return current
        if current is not None and current.size > 0:
            self._closed.append(current)
            self._file = None
        self._file = self._open_file(day)
        return self._file

    def _open_file(self, day: str) -> _Open:
        """Today's last file of this node if no one holds it and it has room, else a new one."""
        node = node_name(self._config)
        try:
            self._folder.mkdir(parents=True, exist_ok=True)
            seqs = sorted(
                int(m["seq"])
                for m in map(_NAME_RE.match, os.listdir(self._folder))
                if m and m["node"] == node and m["day"] == day
            )
            seq = seqs[-1] if seqs else 1
            while True:
                path = self._folder / f"{node}-{day}-{seq:05d}.warc.gz"
                opened = _lock_open(path)
                if opened is not None:
                    fd, size = opened
                    if size < self._config.max_size:
                        break
                    os.close(fd)
                seq += 1
            if size == 0:
                _write_all(fd, warc.warcinfo(path.name, node))
                size = os.fstat(fd).st_size
                _fsync_folder(self._folder)
        except OSError as exc:
            raise WarcError(f"{self._folder}: cannot open a WARC file: {exc.strerror or exc}") from None
        return _Open(path, fd, size, day)

    def _durable(self) -> None:
        if not (self._dirty or self._closed):
            return
        files = [*self._closed, *([self._file] if self._file is not None else [])]
        try:
            for one in files:
                os.fsync(one.fd)
            by_file: dict[Path, list[tuple[RawRecord, str | None]]] = {}
            for path, record, key in self._unindexed:
                by_file.setdefault(path, []).append((record, key))
            for path, records in by_file.items():
                _append_lines(cdxj_path(path), records)
        except OSError as exc:
            raise WarcError(f"{self._folder}: cannot make raw records durable: {exc.strerror or exc}") from None
        self._unindexed, self._dirty = [], False
        for one in self._closed:
            _finish_file(one)
        self._closed = []

    def _finish(self) -> None:
        if self._file is not None:
            self._closed.append(self._file)
            self._file = None
        self._durable()

    def _retarget(self, folder: Path) -> None:
        self._folder = folder
        try:
            self._finish()
        except WarcError as exc:
            # Still owed: the next `durable` tries again (and fails the articles waiting on it if it cannot).
            log.warning("cannot finish the WARC file of the archive before the reload", extra={"error": str(exc)})


def _lock_open(path: Path) -> tuple[int, int] | None:
    """The file opened for appending and locked, with its size; None when another process holds it."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return None
        raise
    return fd, os.fstat(fd).st_size


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _append_lines(index: Path, records: Sequence[tuple[RawRecord, str | None]], *, sync: bool = False) -> None:
    with open(index, "a", encoding="utf-8") as handle:
        handle.write("".join(warc.cdxj_line(record, key) for record, key in records))
        if sync:
            handle.flush()
            os.fsync(handle.fileno())


def _finish_file(one: _Open) -> None:
    with contextlib.suppress(OSError):
        sort_index(cdxj_path(one.path))
    os.close(one.fd)  # the lock goes with it


def sort_index(index: Path) -> None:
    """Sort a CDXJ file in place, atomically (pywb looks lines up by binary search)."""
    if not index.exists():
        return
    lines = sorted(set(index.read_text(encoding="utf-8").splitlines(keepends=True)))
    _replace_text(index, "".join(lines))


def _replace_text(index: Path, text: str) -> None:
    """Replace an index's text atomically and durably."""
    temp = index.with_name(f".{index.name}.{os.getpid()}.tmp")
    with open(temp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, index)


# --- repair after a crash ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Repaired:
    """What `repair` did to one file: bytes cut from its end, records newly indexed."""

    path: Path
    trimmed: int
    indexed: int


def repair(archive: Path) -> list[Repaired]:
    """For each WARC file of the archive no process holds: cut an unfinished record from its end, index its complete
    records that its CDXJ does not list, and sort the CDXJ. Files held by a running crawler are left alone."""
    folder = folder_of(archive)
    if not folder.is_dir():
        return []
    done: list[Repaired] = []
    for name in sorted(os.listdir(folder)):
        sorting = _SORTING_RE.match(name)
        if sorting and not _alive(int(sorting[1])):  # a sort's temp file whose process died; its index is whole
            with contextlib.suppress(OSError):
                (folder / name).unlink()
        if not _NAME_RE.match(name):
            continue
        path = folder / name
        try:
            opened = _lock_open(path)
        except OSError as exc:
            raise WarcError(f"{path}: cannot open it to check it: {exc.strerror or exc}") from None
        if opened is None:
            continue
        fd, size = opened
        try:
            fixed = _repair_file(path, fd, size)
        finally:
            os.close(fd)
        if fixed.trimmed or fixed.indexed:
            done.append(fixed)
    return done


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return pid != os.getpid()  # our own pid at start is a past life's (pids are reused)


def _repair_file(path: Path, fd: int, size: int) -> Repaired:
    index = cdxj_path(path)
    start = _indexed_end(index)
    if start > size:
        # The index lists records the file no longer has (cut by hand, restored from an older copy): rebuilt.
        log.warning("a CDXJ index lists records past its WARC file's end; rebuilding it", extra={"path": str(index)})
        index.unlink()
        start = 0
    records: list[RawRecord] = []
    end = start
    with open(path, "rb") as handle:
        for offset, member in _members(handle, start):
            if member is None:
                break
            parsed = _record_of(path.name, offset, member)
            if parsed is False:
                break
            if isinstance(parsed, RawRecord):
                records.append(parsed)
            end = offset + len(member)
    trimmed = size - end
    if trimmed:
        log.warning("trimmed an unfinished WARC record", extra={"path": str(path), "bytes": trimmed})
        os.ftruncate(fd, end)
        os.fsync(fd)
    if records:
        _append_lines(index, [(record, None) for record in records], sync=True)
    sort_index(index)
    return Repaired(path, trimmed, len(records))


def _indexed_end(index: Path) -> int:
    """Where the records a CDXJ lists end in their WARC file (0 with no index). Lines that are not whole (a power
    cut before the index was synced can leave one torn, or zeros) are dropped from the index: their records come
    after the last whole line's, and are indexed again from the WARC file."""
    if not index.exists():
        return 0
    end, kept, dropped = 0, [], 0
    for line in index.read_bytes().decode("utf-8", errors="replace").splitlines(keepends=True):
        try:
            fields = json.loads(line.split(" ", 2)[2])
            end = max(end, int(fields["offset"]) + int(fields["length"]))
        except (IndexError, ValueError, KeyError, TypeError):
            dropped += 1
            continue
        kept.append(line if line.endswith("\n") else line + "\n")
    if dropped:
        log.warning("dropped CDXJ lines a crash left torn", extra={"path": str(index), "lines": dropped})
        _replace_text(index, "".join(kept))
    return end


def _members(handle: io.BufferedReader, start: int) -> Iterator[tuple[int, bytes | None]]:
    """Each gzip member from `start` on, as its compressed bytes: (offset, bytes), or (offset, None) for one the
    file ends inside of (or that is no gzip at all)."""
    handle.seek(start)
    offset, pending = start, b""
    while True:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        member = bytearray()
        data = pending
        while not inflater.eof:
            if not data:
                data = handle.read(_READ)
                if not data:
                    if member or pending:
                        yield offset, None
                    return
            try:
                inflater.decompress(data)
            except zlib.error:
                yield offset, None
                return
            used = len(data) - len(inflater.unused_data)
            member += data[:used]
            data = b""
        pending = inflater.unused_data
        yield offset, bytes(member)
        offset += len(member)


def _record_of(filename: str, offset: int, member: bytes) -> RawRecord | bool | None:
    """The index entry of a complete member's record (None for a record not indexed: request, warcinfo), or False
    when the member holds no whole WARC record."""
    try:
        for record in ArchiveIterator(io.BytesIO(member), no_record_parse=False):
            if record.rec_type != "response":
                record.content_stream().read()
                return None
            payload = record.raw_stream.read()
            headers = record.http_headers
            moment = record.rec_headers.get_header("WARC-Date") or ""
            return RawRecord(
                filename=filename,
                offset=offset,
                length=len(member),
                url=str(record.rec_headers.get_header("WARC-Target-URI")),
                timestamp=re.sub(r"\D", "", moment)[:14],
                status=int(headers.get_statuscode()) if headers else 0,
                mime=(headers.get_header("Content-Type") or "unk").split(";", 1)[0].strip().lower()
                if headers
                else "unk",
                digest=str(record.rec_headers.get_header("WARC-Payload-Digest") or warc.sha1_digest(payload)),
            )
    except Exception:  # warcio's parse errors have no common base; any of them means a broken record
        return False
    return False
