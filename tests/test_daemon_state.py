"""`crawler run` and the files under it, as a real subprocess against the local server: a state database deleted
or replaced while it runs stops it with a clear error, and a feeds.yaml turned into a FIFO is refused without
hanging its reload or its stop."""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Callable
from pathlib import Path

from tests.conftest import Workdir
from tests.support.daemon import RunningDaemon, archived_texts, article, rss, start_daemon
from tests.support.server import TestServer

__all__ = ["start_daemon"]  # the fixture, imported so pytest finds it

StartDaemon = Callable[..., RunningDaemon]
STATE = Path(".crawler") / "state.db"


def _config(server: TestServer, interval: str) -> str:
    return (
        "archive: archive\n"
        "min_interval: 1s\n"
        "politeness:\n"
        "  delay: 0\n"
        "feeds:\n"
        "  - name: news\n"
        f"    url: {server.url('/feed.xml')}\n"
        '    body: "#body"\n'
        f"    interval: {interval}\n"
    )


def _serve(server: TestServer) -> None:
    server.add("/feed.xml", body=rss(server.base, [("One", "/one")]), content_type="application/rss+xml")
    server.add("/one", body=article("One", "marker-one"))


def _archived(work: Workdir) -> Callable[[], bool]:
    return lambda: any("marker-one" in text for text in archived_texts(work))


def _polls(server: TestServer) -> Callable[[], int]:
    return lambda: len(server.requests("/feed.xml"))


def test_state_database_deleted_under_the_daemon_stops_it_with_an_error(
    server: TestServer, work: Workdir, start_daemon: StartDaemon
) -> None:
    _serve(server)
    work.write_config(_config(server, "1s"))
    daemon = start_daemon()
    daemon.wait_for("the article", _archived(work))
    polls = _polls(server)()

    for suffix in ("", "-wal", "-shm"):
        Path(f"{work.path / STATE}{suffix}").unlink(missing_ok=True)

    # The feed is due every second: its next poll finds the file gone.
    code = daemon.wait(timeout=30)
    assert code == 1, daemon.log()
    log = daemon.log()
    assert "state database lost; stopping" in log
    assert f"{STATE}: the state database was deleted while the crawler was using it" in log
    assert "crawler reindex" in log
    assert len(server.requests("/one")) == 1  # never fetched again as "new"
    assert _polls(server)() <= polls + 1  # at most a poll that was already under way


def test_state_database_replaced_under_the_daemon_stops_it_with_an_error(
    server: TestServer, work: Workdir, start_daemon: StartDaemon
) -> None:
    _serve(server)
    work.write_config(_config(server, "1s"))
    daemon = start_daemon()
    daemon.wait_for("the article", _archived(work))
    state = work.path / STATE
    copy = state.with_name("restored.db")
    shutil.copyfile(state, copy)

    os.replace(copy, state)  # a backup restored over it, say: another file under the same name

    assert daemon.wait(timeout=30) == 1, daemon.log()
    assert f"{STATE}: the state database was replaced by another file while the crawler was using it" in daemon.log()


def test_feeds_yaml_turned_into_a_fifo_is_refused_and_the_daemon_still_stops(
    server: TestServer, work: Workdir, start_daemon: StartDaemon
) -> None:
    _serve(server)
    work.write_config(_config(server, "1h"))
    daemon = start_daemon()
    daemon.wait_for("the article", _archived(work))

    work.config.unlink()
    os.mkfifo(work.config)  # opened for reading, it would wait for a writer forever
    daemon.wait_for("the refusal in the log", lambda: "not a regular file but a FIFO" in daemon.log())

    assert "config unreadable; keeping the last good one" in daemon.log()
    daemon.signal(signal.SIGTERM)
    assert daemon.wait(timeout=30) == 0, daemon.log()


def test_daemon_started_without_its_state_database_rebuilds_it_from_the_archive_and_archives_nothing_again(
    server: TestServer, work: Workdir, start_daemon: StartDaemon
) -> None:
    _serve(server)
    work.write_config(_config(server, "1h"))
    assert work.run("fetch").code == 0
    (archived,) = work.files()
    written = archived.stat().st_mtime_ns
    for suffix in ("", "-wal", "-shm"):
        Path(f"{work.path / STATE}{suffix}").unlink(missing_ok=True)

    daemon = start_daemon()
    daemon.wait_for("the first poll", lambda: " INFO poll feed=news" in daemon.log())

    log = daemon.log()
    assert "no state database, but the archive holds articles: rebuilt its record" in log and "articles=1" in log
    assert "new=0 known=1" in log  # the page, fetched again for want of the feed's memory, is recognised
    assert work.files() == [archived] and archived.stat().st_mtime_ns == written
    daemon.signal(signal.SIGTERM)
    assert daemon.wait(timeout=30) == 0
