"""Replacing feeds.yaml so that a reader (the daemon) or a crash sees the old file or the new one, never half."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from crawler.config.settings import ConfigError


def write_text_atomic(path: Path, text: str) -> None:
    """Replace the file at `path` with `text` so that a reader (or a crash) sees either the old file or the new one.
    A symlink is written through (the link stays a link, its target gets the text); the file keeps its mode, owner
    and group, or the edit is refused."""
    target = Path(os.path.realpath(path))
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        try:
            before: os.stat_result | None = os.stat(target)
        except FileNotFoundError:
            before = None
        with open(temp, "wb") as handle:
            handle.write(text.encode("utf-8"))
            handle.flush()
            if before is not None:
                _keep_owner_and_mode(path, handle.fileno(), before)
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            temp.unlink()
        if isinstance(exc, OSError):
            raise ConfigError(f"{path}: cannot write the config file: {exc.strerror or exc}") from None
        raise


def _keep_owner_and_mode(path: Path, fd: int, before: os.stat_result) -> None:
    """Give the new file (open at `fd`) the owner, group and mode the old one had."""
    now = os.fstat(fd)
    if (now.st_uid, now.st_gid) != (before.st_uid, before.st_gid):
        try:
            os.fchown(fd, before.st_uid, before.st_gid)
        except PermissionError:
            # Written under our own name, the file would change hands (and a 0640 file its readers) unnoticed.
            raise ConfigError(
                f"{path}: cannot keep its owner and group {before.st_uid}:{before.st_gid}; edit it as that user "
                "or as root"
            ) from None
    os.fchmod(fd, before.st_mode & 0o7777)  # after the chown, which clears set-id bits
