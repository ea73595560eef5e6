"""Reading back what `raw: warc` wrote, with warcio as any other tool would: the files, the CDXJ lines, the records
they lead to, and warcio's own `check` and `index` commands run on each file."""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator


@dataclass(frozen=True)
class Line:
    """One CDXJ line."""

    key: str
    timestamp: str
    fields: dict[str, str]


def warc_files(archive: Path) -> list[Path]:
    return sorted((archive / "_warc").glob("*.warc.gz"))


def cdxj_lines(archive: Path) -> list[Line]:
    lines = []
    for index in sorted((archive / "_warc").glob("*.cdxj")):
        for text in index.read_text(encoding="utf-8").splitlines():
            key, timestamp, fields = text.split(" ", 2)
            lines.append(Line(key, timestamp, json.loads(fields)))
    return lines


@dataclass(frozen=True)
class Record:
    """A response record read at one offset: its target URI, HTTP headers and payload as stored (not decoded)."""

    kind: str
    url: str
    headers: dict[str, str]
    payload: bytes
    decoded: bytes


def record_at(path: Path, offset: int, length: int) -> Record:
    with open(path, "rb") as handle:
        handle.seek(offset)
        member = handle.read(length)
    record = next(iter(ArchiveIterator(io.BytesIO(member))))
    assert record.http_headers is not None
    headers = {name.lower(): value for name, value in record.http_headers.headers}
    payload = record.raw_stream.read()
    again = next(iter(ArchiveIterator(io.BytesIO(member))))
    decoded = again.content_stream().read()
    return Record(record.rec_type, record.rec_headers.get_header("WARC-Target-URI"), headers, payload, decoded)


def warcio_tool(*args: str) -> subprocess.CompletedProcess[str]:
    """warcio's own command line (`warcio check`, `warcio index`), as an archivist would run it."""
    return subprocess.run(
        [sys.executable, "-c", "import sys; from warcio.cli import main; sys.exit(main())", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_tools_accept(archive: Path) -> list[dict[str, str]]:
    """`warcio check` and `warcio index` pass on every WARC file; return the index's entries."""
    files = warc_files(archive)
    assert files, "no WARC file written"
    entries = []
    for path in files:
        checked = warcio_tool("check", "-v", str(path))
        assert checked.returncode == 0, checked.stdout + checked.stderr
        indexed = warcio_tool("index", "-f", "warc-type,warc-target-uri,offset,length", str(path))
        assert indexed.returncode == 0, indexed.stderr
        entries += [json.loads(line) for line in indexed.stdout.splitlines()]
    return entries


def raw_rows(state: Path) -> dict[str, tuple[str, int, int, str]]:
    """The state database's raw record of each article: filename, offset, length, URL."""
    db = sqlite3.connect(state)
    try:
        made = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'raw_records'").fetchall()
        # The table is made at the first raw record: a crawler that never kept one has none.
        rows = (
            db.execute("SELECT article_id, filename, offset, length, url FROM raw_records").fetchall() if made else []
        )
    finally:
        db.close()
    return {str(r[0]): (str(r[1]), int(r[2]), int(r[3]), str(r[4])) for r in rows}
