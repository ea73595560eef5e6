"""feeds.yaml as a file, through the real CLI: edits write through a symlink and keep the target's owner and mode;
a feeds.yaml that is not a regular file, or is too large, is refused in one line and never hangs a command."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.conftest import Workdir
from tests.support.feeds import config

LIMIT = 8 * 1024 * 1024  # the documented limit of a feeds file
VALID = config({"name": "news", "url": "http://127.0.0.1:9/feed.xml"})


def _target(work: Workdir) -> Path:
    """The real feeds file in a folder of its own, with feeds.yaml a symlink to it."""
    real = work.path / "etc" / "crawler" / "feeds.yaml"
    real.parent.mkdir(parents=True)
    real.write_text("# the real file\n" + VALID, encoding="utf-8")
    work.config.symlink_to(real)
    return real


def test_feeds_edits_write_through_a_symlink_and_keep_the_targets_mode(work: Workdir) -> None:
    real = _target(work)
    real.chmod(0o640)

    added = work.run("feeds", "add", "other", "http://127.0.0.1:9/other.xml", "--no-probe")
    disabled = work.run("feeds", "disable", "news")

    assert added.code == disabled.code == 0, added.stderr + disabled.stderr
    assert work.config.is_symlink() and work.config.resolve() == real.resolve()
    text = real.read_text("utf-8")
    assert text.startswith("# the real file\n") and "name: other" in text and "enabled: false" in text
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert [p.name for p in real.parent.iterdir()] == ["feeds.yaml"]  # no temp file left beside it


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another owner needs root")
def test_feeds_edits_keep_the_owner_and_group_of_the_target(work: Workdir) -> None:
    real = _target(work)
    os.chown(real, 12345, 23456)

    result = work.run("feeds", "add", "other", "http://127.0.0.1:9/other.xml", "--no-probe")

    assert result.code == 0, result.stderr
    after = real.stat()
    assert (after.st_uid, after.st_gid) == (12345, 23456)
    assert "name: other" in real.read_text("utf-8")


def _fifo(work: Workdir) -> str:
    os.mkfifo(work.config)
    return "not a regular file but a FIFO (named pipe); the config must be a file"


def _directory(work: Workdir) -> str:
    work.config.mkdir()
    return "not a regular file but a directory"


def _device(work: Workdir) -> str:
    work.config.symlink_to("/dev/zero")
    return "not a regular file but a character device"


def _too_large(work: Workdir) -> str:
    work.write_config(VALID + "#" * LIMIT + "\n")
    return "is too large for a config file (the limit is 8 MiB)"


@pytest.mark.parametrize("make", [_fifo, _directory, _device, _too_large])
@pytest.mark.parametrize(
    "command",
    [("check",), ("fetch",), ("feeds", "add", "x", "http://127.0.0.1:9/x.xml", "--no-probe")],
    ids=["check", "fetch", "feeds-add"],
)
def test_a_feeds_file_that_is_not_a_small_regular_file_is_refused_in_one_line(
    work: Workdir, make: object, command: tuple[str, ...]
) -> None:
    assert callable(make)
    expected = make(work)

    # A FIFO opened for reading waits for a writer: without the check, the command would hang here.
    result = work.run(*command, timeout=30)

    assert result.code == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("crawler: feeds.yaml: ") and expected in result.stderr
