"""`raw: warc` under the daemon: a reload that moves the archive moves the WARC files with it. The real daemon
against the local server; warcio's own commands check the files."""

from __future__ import annotations

import fcntl
import os
import signal
from collections.abc import Callable
from pathlib import Path

from tests.conftest import Workdir
from tests.support.daemon import RunningDaemon, article, rss, start_daemon
from tests.support.server import TestServer
from tests.support.warc import assert_tools_accept, cdxj_lines, warc_files

__all__ = ["start_daemon"]  # the fixture, imported so pytest finds it

StartDaemon = Callable[..., RunningDaemon]


def _config(server: TestServer, archive: str, feeds: list[str]) -> str:
    lines = [f"archive: {archive}", "min_interval: 1s", "politeness:", "  delay: 0", "defaults:", "  raw: warc"]
    lines += ["warc:", "  node: web1", "feeds:"]
    for name in feeds:
        lines += [f"  - name: {name}", f"    url: {server.url(f'/{name}.xml')}", '    body: "#body"']
        lines += ["    interval: 1h"]
    return "\n".join(lines) + "\n"


def _serve(server: TestServer, name: str) -> None:
    server.add(f"/{name}.xml", body=rss(server.base, [(name, f"/{name}/1")]), content_type="application/rss+xml")
    server.add(f"/{name}/1", body=article(name, f"marker-{name}"))


def _urls(archive: Path) -> set[str]:
    return {line.fields["url"] for line in cdxj_lines(archive)} if (archive / "_warc").is_dir() else set()


def _texts(archive: Path) -> list[str]:
    return [path.read_text(encoding="utf-8") for path in archive.rglob("*.md") if not path.name.startswith(".")]


def _unheld(path: Path) -> bool:
    """Whether no process holds the WARC file's lock (a writer holds it while the file is open to it)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


def test_a_reload_that_moves_the_archive_moves_the_warc_files_and_finishes_the_old_one(
    server: TestServer, work: Workdir, start_daemon: StartDaemon
) -> None:
    _serve(server, "a")
    _serve(server, "b")
    old, new = work.path / "archive", work.path / "moved"
    work.write_config(_config(server, "archive", ["a"]))
    daemon = start_daemon()
    daemon.wait_for("feed a's page in the old archive's WARC index", lambda: server.url("/a/1") in _urls(old))
    [old_file] = warc_files(old)
    assert not _unheld(old_file)  # open to the daemon

    work.write_config(_config(server, "moved", ["a", "b"]))
    daemon.wait_for("feed b's article in the new archive", lambda: any("marker-b" in text for text in _texts(new)))
    assert server.url("/b/1") in _urls(new)  # an article is recorded only once its raw record is durable

    # The old file was let go while the daemon runs on: made durable, its index sorted, its lock released.
    daemon.wait_for("the old archive's WARC file let go", lambda: _unheld(old_file))
    assert server.url("/b/1") not in _urls(old) and server.url("/b.xml") not in _urls(old)
    assert [path.name[:5] for path in warc_files(new)] == ["web1-"]
    daemon.signal(signal.SIGTERM)
    assert daemon.wait() == 0
    assert_tools_accept(old)
    assert_tools_accept(new)
    assert {server.url("/b.xml"), server.url("/b/1")} <= _urls(new)
