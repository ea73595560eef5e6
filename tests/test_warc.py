"""`raw: warc`: every response archived from is kept as WARC records that standard tools read, indexed by CDXJ and
by the state database, and a file a crash cut is repaired at the next start. The real CLI against the local server;
warcio's own commands check the files."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from crawler.store.base import RawRecord
from tests.conftest import REPO, Workdir
from tests.support.feeds import RSS, Item, config, page, rss
from tests.support.server import Answer, TestServer
from tests.support.warc import assert_tools_accept, cdxj_lines, raw_rows, record_at, warc_files

WORDS = "The council met on Tuesday to discuss the harbour plan and the new ferry timetable for the spring. " * 4


def _pages(server: TestServer) -> dict[str, bytes]:
    """Three pages, sent three ways: plain, gzip-compressed (bytes fixed here), chunked. Returns what each sent."""
    plain = page("Plain page. " + WORDS).encode()
    zipped_page = page("Compressed page. " + WORDS.replace("harbour", "market")).encode()
    zipped = gzip.compress(zipped_page, mtime=0)
    chunked = page("Chunked page. " + WORDS.replace("harbour", "school")).encode()
    server.add("/plain", body=plain)
    server.add("/zipped", Answer(body=zipped, headers={"Content-Encoding": "gzip"}))
    server.add("/chunked", Answer(body=chunked, fault="chunked"))
    server.add("/moved", Answer(status=301, headers={"Location": server.url("/plain")}, content_type=None))
    return {"/plain": plain, "/zipped": zipped, "/chunked": chunked}


def _crawl(server: TestServer, work: Workdir, *paths: str, **feed: object) -> None:
    server.add("/feed.xml", body=rss(*(Item(server.url(p), title=p) for p in paths)), content_type=RSS)
    work.write_config(config({"name": "news", "url": server.url("/feed.xml"), "raw": "warc", **feed}))
    result = work.run("fetch")
    assert result.code == 0, result.stdout + result.stderr


def test_warc_files_pass_warcio_check_and_index(server: TestServer, work: Workdir) -> None:
    _pages(server)
    _crawl(server, work, "/plain", "/zipped", "/chunked")

    entries = assert_tools_accept(work.archive)

    kinds = [(e["warc-type"], e.get("warc-target-uri")) for e in entries]
    assert kinds[0][0] == "warcinfo"
    for path in ("/feed.xml", "/plain", "/zipped", "/chunked"):
        assert ("response", server.url(path)) in kinds and ("request", server.url(path)) in kinds
    # Hexo skips folders whose names begin with '_': the raw records stay out of the published site.
    assert all(path.parent.name == "_warc" for path in warc_files(work.archive))


def test_each_cdxj_line_leads_to_the_bytes_the_server_sent(server: TestServer, work: Workdir) -> None:
    sent = _pages(server)
    _crawl(server, work, "/plain", "/zipped", "/chunked")

    lines = cdxj_lines(work.archive)
    by_url = {line.fields["url"]: line for line in lines}
    assert set(by_url) == {server.url(p) for p in ("/feed.xml", "/plain", "/zipped", "/chunked")}
    for path, body in sent.items():
        line = by_url[server.url(path)]
        assert line.key.startswith("1,0,0,127:") and len(line.timestamp) == 14
        record = record_at(
            work.archive / "_warc" / line.fields["filename"], int(line.fields["offset"]), int(line.fields["length"])
        )
        assert record.kind == "response" and record.url == server.url(path)
        assert record.payload == body  # as sent: the compressed bytes of /zipped, not what they decode to
    zipped = record_at(
        work.archive / "_warc" / by_url[server.url("/zipped")].fields["filename"],
        int(by_url[server.url("/zipped")].fields["offset"]),
        int(by_url[server.url("/zipped")].fields["length"]),
    )
    assert zipped.headers["content-encoding"] == "gzip" and b"Compressed page." in zipped.decoded
    chunked = record_at(
        work.archive / "_warc" / by_url[server.url("/chunked")].fields["filename"],
        int(by_url[server.url("/chunked")].fields["offset"]),
        int(by_url[server.url("/chunked")].fields["length"]),
    )
    # The chunk framing is gone from the kept body, so the header that announced it is kept under another name.
    assert "transfer-encoding" not in chunked.headers
    assert chunked.headers["x-archive-orig-transfer-encoding"] == "chunked"


def test_state_database_leads_each_article_to_its_raw_record(server: TestServer, work: Workdir) -> None:
    sent = _pages(server)
    _crawl(server, work, "/plain", "/zipped", "/moved")

    rows = raw_rows(work.path / ".crawler" / "state.db")
    articles = {p.stem: p for p in work.archive.rglob("*.md")}
    assert set(rows) == set(articles)
    urls = sorted(row[3] for row in rows.values())
    # /moved redirected to /plain: one article (deduplicated), and its record is the answer after the redirect.
    assert urls == sorted([server.url("/plain"), server.url("/zipped")])
    for filename, offset, length, url in rows.values():
        record = record_at(work.archive / "_warc" / filename, offset, length)
        assert record.url == url and record.payload == sent[url.removeprefix(server.base)]


def test_raw_off_writes_no_warc(server: TestServer, work: Workdir) -> None:
    _pages(server)
    _crawl(server, work, "/plain", raw="none")

    assert not (work.archive / "_warc").exists()
    assert raw_rows(work.path / ".crawler" / "state.db") == {}


def test_a_record_cut_mid_write_is_trimmed_at_the_next_start_and_nothing_is_lost(
    server: TestServer, work: Workdir
) -> None:
    _pages(server)
    _crawl(server, work, "/plain")
    [path] = warc_files(work.archive)
    whole = path.read_bytes()
    before = cdxj_lines(work.archive)
    # What a kill -9 in the middle of appending leaves: the start of a record, cut off (here: half of the last one).
    last = max(before, key=lambda line: int(line.fields["offset"]))
    start, length = int(last.fields["offset"]), int(last.fields["length"])
    with open(path, "ab") as handle:
        handle.write(whole[start : start + length // 2])
        handle.flush()
        os.fsync(handle.fileno())

    _crawl(server, work, "/plain", "/zipped")

    assert_tools_accept(work.archive)  # the cut record is gone: every file reads to its end
    after = cdxj_lines(work.archive)
    assert {line.fields["url"] for line in after} >= {line.fields["url"] for line in before} | {server.url("/zipped")}
    for line in before:  # every record indexed before the crash is still where its line says
        record = record_at(path, int(line.fields["offset"]), int(line.fields["length"]))
        assert record.url == line.fields["url"]
    assert path.read_bytes().startswith(whole)  # appended to after the cut, nothing before it changed


def test_complete_records_a_crash_left_unindexed_are_indexed_at_the_next_start(
    server: TestServer, work: Workdir
) -> None:
    _pages(server)
    _crawl(server, work, "/plain", "/zipped")
    [index] = sorted((work.archive / "_warc").glob("*.cdxj"))
    lines = index.read_text(encoding="utf-8").splitlines(keepends=True)
    # A crash after the last records were written and before their index lines were (lines are appended in the
    # records' order, so what a crash loses is the last ones): the last line is missing.
    by_offset = sorted(lines, key=lambda line: int(json.loads(line.split(" ", 2)[2])["offset"]))
    index.write_text("".join(by_offset[:-1]), encoding="utf-8")

    result = work.run("fetch")
    assert result.code == 0, result.stderr

    assert sorted(index.read_text(encoding="utf-8").splitlines(keepends=True)) == sorted(lines)


def test_a_crawl_killed_while_writing_loses_nothing_at_the_next_start(server: TestServer, work: Workdir) -> None:
    # Twenty pages answered slowly, so that the kill lands while the crawl is writing records.
    paths = [f"/p{i}" for i in range(20)]
    for i, path in enumerate(paths):
        server.add(path, Answer(body=page(f"Page {i}. " + WORDS).encode(), delay=0.2))
    server.add("/feed.xml", body=rss(*(Item(server.url(p), title=p) for p in paths)), content_type=RSS)
    work.write_config(
        config({"name": "news", "url": server.url("/feed.xml"), "raw": "warc"}, politeness={"per_host": 2})
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    crawl = subprocess.Popen([sys.executable, "-m", "crawler", "fetch"], cwd=work.path, env=env)
    try:
        deadline = time.monotonic() + 60
        while len(cdxj_lines(work.archive) if (work.archive / "_warc").exists() else []) < 3:
            assert crawl.poll() is None and time.monotonic() < deadline, "the crawl ended before it could be killed"
            time.sleep(0.01)
    finally:
        crawl.send_signal(signal.SIGKILL)
        crawl.wait(30)
    indexed = cdxj_lines(work.archive)

    again = work.run("fetch")

    assert again.code == 0, again.stderr
    assert_tools_accept(work.archive)
    lines = {(line.fields["filename"], line.fields["offset"]) for line in cdxj_lines(work.archive)}
    assert {(line.fields["filename"], line.fields["offset"]) for line in indexed} <= lines
    rows = raw_rows(work.path / ".crawler" / "state.db")
    assert len(rows) == len(list(work.archive.rglob("*.md"))) == len(paths)
    for filename, offset, length, url in rows.values():
        assert record_at(work.archive / "_warc" / filename, offset, length).url == url


def test_an_index_line_a_power_cut_left_torn_is_dropped_and_made_again_from_the_warc_file(
    server: TestServer, work: Workdir
) -> None:
    _pages(server)
    _crawl(server, work, "/plain", "/zipped")
    [index] = sorted((work.archive / "_warc").glob("*.cdxj"))
    lines = index.read_text(encoding="utf-8").splitlines(keepends=True)
    # The index is synced when its file is finished, not with each group of records (the WARC file is): a power cut
    # can leave its last line torn, and zeros after it.
    by_offset = sorted(lines, key=lambda line: int(json.loads(line.split(" ", 2)[2])["offset"]))
    index.write_bytes("".join(by_offset[:-1]).encode() + by_offset[-1][:40].encode() + b"\0" * 300)

    result = work.run("fetch")

    assert result.code == 0, result.stderr
    assert sorted(index.read_text(encoding="utf-8").splitlines(keepends=True)) == sorted(lines)


def test_records_appended_together_each_lead_to_their_own_bytes(tmp_path: Path) -> None:
    # Articles handed back together by a worker append their built records together (one thread hand-off): each
    # must still get its own place in the file, and its own CDXJ line once durable.
    import asyncio

    from crawler.archive import warc, warcfiles
    from crawler.config.settings import WarcConfig
    from crawler.fetch.messages import Exchange

    bodies = {f"http://127.0.0.1:9/story/{i}": f"<p>Story {i}. {WORDS}</p>".encode() * (i + 1) for i in range(7)}
    built = [
        warc.build(
            [
                Exchange(
                    url=url,
                    request_headers=((b"Host", b"127.0.0.1:9"),),
                    http_version="HTTP/1.1",
                    status=200,
                    reason="OK",
                    headers=((b"Content-Type", b"text/html"),),
                    body=body,
                    started=time.time(),
                )
            ]
        )
        for url, body in bodies.items()
    ]

    async def append_all() -> list[RawRecord]:
        writer = warcfiles.WarcWriter(tmp_path, WarcConfig(node="test"))
        try:
            placed = await asyncio.gather(*(writer.append(one) for one in built))
            await writer.durable()
            return placed
        finally:
            await writer.aclose()

    placed = asyncio.run(append_all())
    assert len({(one.filename, one.offset) for one in placed}) == len(bodies)
    for one in placed:
        record = record_at(tmp_path / "_warc" / one.filename, one.offset, one.length)
        assert record.url == one.url and record.payload == bodies[one.url]
    lines = cdxj_lines(tmp_path)
    assert sorted(line.fields["url"] for line in lines) == sorted(bodies)
    assert all(line.key == "1,0,0,127:9)/story/" + line.fields["url"].rsplit("/", 1)[1] for line in lines)
    assert_tools_accept(tmp_path)


def test_digests_handed_to_warcio_are_the_ones_warcio_check_verifies(tmp_path: Path) -> None:
    # The payload and block digests are made before warcio writes the record (it then reads the payload only once):
    # they must be those of the bytes it writes, non-ASCII header bytes included; and those bytes are the server's
    # (warcio alone would percent-encode them).
    from crawler.archive import warc, warcfiles
    from crawler.fetch.messages import Exchange

    body = f"<p>Caf\u00e9 story. {WORDS}</p>".encode() * 40
    exchanges = [
        Exchange(
            url="http://127.0.0.1:9/caf%C3%A9",
            request_headers=((b"Host", b"127.0.0.1:9"), (b"Accept", b"*/*")),
            http_version=version,
            status=200,
            reason="OK",
            headers=((b"Content-Type", b"text/html; charset=utf-8"), (b"X-Note", b"caf\xe9 cr\xe8me")),
            body=body,
            started=time.time(),
        )
        for version in ("HTTP/1.1", "HTTP/2")
    ]
    built = warc.build(exchanges)
    folder = warcfiles.folder_of(tmp_path)
    folder.mkdir()
    name = "test-20260101-00001.warc.gz"
    (folder / name).write_bytes(warc.warcinfo(name, "test") + built.data)

    entries = assert_tools_accept(tmp_path)  # `warcio check -v` verifies each digest a record carries

    assert [e["warc-type"] for e in entries] == ["warcinfo", "response", "request", "response", "request"]
    from warcio.archiveiterator import ArchiveIterator

    with open(folder / name, "rb") as handle:
        responses = [r for r in ArchiveIterator(handle) if r.rec_type == "response" and r.raw_stream.read() == body]
    assert len(responses) == 2
    for record in responses:
        assert record.rec_headers.get_header("WARC-Block-Digest").startswith("sha1:")
        assert record.rec_headers.get_header("WARC-Payload-Digest") == warc.sha1_digest(body)
    assert [one.digest for one in built.responses] == [warc.sha1_digest(body)] * 2
    for one in built.responses:
        record = gzip.decompress(built.data[one.offset : one.offset + one.length])
        assert b"\r\nX-Note: caf\xe9 cr\xe8me\r\n" in record


def test_surt_keys_are_made_without_importing_tldextract() -> None:
    # surt imports tldextract (and requests with it, 130 ms of CPU) for functions surt.surt() never calls; every
    # process that builds records would pay for it.
    code = (
        "import sys; from crawler.archive import warc; "
        "print(warc.surt_key('http://www.Example.com/a/b?z=1&a=2'), "
        "'tldextract' in sys.modules, 'requests' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["com,example)/a/b?a=2&z=1", "False", "False"]


def test_surt_keeps_tldextract_within_reach_of_the_functions_that_use_it() -> None:
    # handyurl's getPublicSuffix still works: the stand-in imports the real tldextract at its first use.
    code = (
        "import sys; from crawler.archive import warc; warc.surt_key('http://a.example/'); "
        "handyurl = sys.modules['surt.handyurl']; "
        "print(handyurl.tldextract.TLDExtract.__module__, type(sys.modules.get('tldextract')).__name__)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["tldextract.tldextract", "module"]
