"""Disk and state faults: an archive folder that cannot be written, a full disk, a locked or corrupt state database.
Each gives a clear one-line error and no partial file, and a later run after the fault is gone archives what was
missed, once. `crawler reindex` rebuilds the state database from the archive's files."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from tests.adversarial.support import file_size_limit, read_archive_file, run_limited
from tests.conftest import Workdir
from tests.support.server import TestServer
from tests.support.store import nothing, on_store

WORDS = "The harbour committee met on Tuesday to discuss the new plan, debated for three years by the council. "


def _page(number: int, paragraphs: int = 4) -> str:
    body = "".join(f"<p>Story {number}. {WORDS * 3}</p>" for _ in range(paragraphs))
    return f"<html><head><title>Story {number}</title></head><body><article>{body}</article></body></html>"


def _serve(server: TestServer, numbers: list[int], paragraphs: int = 4) -> None:
    items = "".join(
        f"<item><title>Story {n}</title><link>{server.url(f'/story/{n}')}</link>"
        f"<pubDate>Tue, 24 Aug 2021 07:0{n}:00 GMT</pubDate></item>"
        for n in numbers
    )
    feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Harbour</title>{items}</channel></rss>'
    server.add("/feed.xml", body=feed, content_type="application/rss+xml")
    for n in numbers:
        server.add(f"/story/{n}", body=_page(n, paragraphs))


def _config(server: TestServer) -> str:
    return (
        "archive: archive\npoliteness:\n  delay: 0\nfeeds:\n"
        f"  - name: harbour\n    url: {server.url('/feed.xml')}\n    body: article\n"
    )


def _no_partial_files(work: Workdir) -> None:
    leftovers = [p for p in work.path.rglob("*") if p.is_file() and (p.name.startswith(".") and p.suffix == ".tmp")]
    assert leftovers == []
    for path in work.files():
        read_archive_file(path.read_text(encoding="utf-8"))


def test_an_archive_path_that_is_a_file_fails_each_article_clearly_and_a_later_run_archives_them(
    server: TestServer, work: Workdir
) -> None:
    _serve(server, [1, 2])
    work.write_config(_config(server))
    work.archive.write_text("not a folder", encoding="utf-8")  # chmod would not stop root; this stops everyone

    failed = work.run("fetch", "--json")

    assert failed.code == 1
    lines = failed.stderr.splitlines()
    assert len(lines) == 2, failed.stderr
    for n, line in zip((1, 2), sorted(lines), strict=True):
        assert line.startswith(f"feed 'harbour': {server.url(f'/story/{n}')}: cannot write archive/2021/08/24/")
        assert line.endswith(".md: Not a directory")
    assert failed.json()["feeds"][0]["failed"] == 2

    work.archive.unlink()
    again = work.run("fetch", "--json")

    assert again.code == 0, again.stderr
    assert again.json()["feeds"][0]["new"] == 2
    assert len(work.files()) == 2
    _no_partial_files(work)


def test_a_full_disk_leaves_no_partial_file_and_a_later_run_archives_the_article(
    server: TestServer, work: Workdir
) -> None:
    # An article of ~750 KB against a limit of 400 KB per file: the article's file cannot be written, while the
    # state database (its WAL holds the schema's pages and each transaction's: the console's history and search
    # tables made it outgrow the 150 KB this test used to allow) still can.
    _serve(server, [1], paragraphs=2400)
    work.write_config(_config(server))

    full = run_limited(work, "fetch", "--json", limits=file_size_limit(400_000))

    assert full.code == 1, full.stderr
    (line,) = full.stderr.splitlines()
    assert line.startswith(f"feed 'harbour': {server.url('/story/1')}: cannot write ")
    assert line.endswith("File too large")
    assert work.files() == []
    _no_partial_files(work)

    again = work.run("fetch", "--json")

    assert again.code == 0, again.stderr
    (path,) = work.files()
    assert "Story 1." in read_archive_file(path.read_text(encoding="utf-8")).body


def test_a_state_database_locked_by_another_process_is_a_clear_error(server: TestServer, work: Workdir) -> None:
    _serve(server, [1])
    work.write_config(_config(server))
    state = work.path / ".crawler" / "state.db"
    on_store(state, nothing)
    holder = sqlite3.connect(state, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        locked = work.run("fetch")
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    assert locked.code == 1
    assert locked.stderr.strip() == (
        "crawler: .crawler/state.db: the state database is locked by another process (is another crawler running?)"
    )
    assert work.files() == []

    again = work.run("fetch", "--json")
    assert again.code == 0, again.stderr
    assert len(work.files()) == 1


def test_a_corrupt_state_database_is_reported_and_reindex_rebuilds_it_without_duplicates(
    server: TestServer, work: Workdir
) -> None:
    _serve(server, [1, 2])
    server.add("/story/3", body=_page(3, paragraphs=0).replace("<article>", "<article><p>Tiny story 3.</p>"))
    work.write_config(_config(server))
    assert work.run("fetch").code == 0
    state = work.path / ".crawler" / "state.db"
    before = _articles(state)
    files_before = {p: p.read_bytes() for p in work.files()}
    state.write_bytes(b"this is not a database, it is garbage" * 100)
    for suffix in ("-wal", "-shm"):
        Path(f"{state}{suffix}").unlink(missing_ok=True)
    _serve(server, [1, 2, 3])  # story 3 is new, and too short for the body-text check: only its id can match

    corrupt = work.run("fetch")

    assert corrupt.code == 1
    (line,) = corrupt.stderr.splitlines()
    assert line.startswith("crawler: .crawler/state.db: the state database is corrupt (")
    assert line.endswith("run `crawler reindex` to move it aside and rebuild it from the archive")
    assert set(work.files()) == set(files_before)

    rebuilt = work.run("reindex")

    assert rebuilt.code == 0, rebuilt.stderr
    assert rebuilt.stdout.strip() == ".crawler/state.db: 2 articles indexed from archive"
    assert "corrupt; moved aside to state.db.corrupt-" in rebuilt.stderr
    assert _articles(state) == before  # ids, paths and body hashes exactly as the pipeline recorded them

    after = work.run("fetch", "--json")

    assert after.code == 0, after.stderr
    summary = after.json()["feeds"][0]
    assert (summary["new"], summary["known"]) == (1, 2)
    assert len(work.files()) == 3
    assert {p: p.read_bytes() for p in files_before} == files_before  # the old files untouched
    assert work.run("fetch", "--json").json()["feeds"][0]["new"] == 0


def test_reindex_alone_prevents_a_second_file_for_a_short_article(server: TestServer, work: Workdir) -> None:
    server.add(
        "/feed.xml",
        body=f'<rss version="2.0"><channel><title>H</title><item><title>Tiny</title><link>{server.url("/tiny")}</link>'
        "</item></channel></rss>",
        content_type="application/rss+xml",
    )
    server.add("/tiny", body="<html><body><article><p>Too short to match by text.</p></article></body></html>")
    work.write_config(_config(server))
    assert work.run("fetch").code == 0
    shutil.rmtree(work.path / ".crawler")
    assert work.run("check", "--repair").code == 0

    again = work.run("fetch", "--json")

    assert again.json()["feeds"][0]["known"] == 1
    assert len(work.files()) == 1


def _articles(state: Path) -> list[tuple[str, str, str]]:
    db = sqlite3.connect(state)
    try:
        return sorted(db.execute("SELECT id, path, body_hash FROM articles").fetchall())
    finally:
        db.close()
