"""Reading a raw record back (`crawler reextract`): the page a response record holds, decoded as the fetcher would
have decoded it, checked against the digest recorded when it was written."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from crawler.archive import warc
from crawler.archive.warcfiles import WarcError, folder_of
from crawler.store.base import RawRecord


@dataclass(frozen=True)
class RawPage:
    """A response as kept: its URL, Content-Type and body (Content-Encoding undone)."""

    url: str
    content_type: str | None
    content: bytes


def read_page(archive: Path, record: RawRecord) -> RawPage:
    """The page in `record`; WarcError when the file is gone or the record is not the one recorded there."""
    path = folder_of(archive) / record.filename
    try:
        with open(path, "rb") as handle:
            handle.seek(record.offset)
            member = handle.read(record.length)
    except OSError as exc:
        raise WarcError(f"{path}: cannot read the raw record: {exc.strerror or exc}") from None
    try:
        url, content_type, stored, decoded = _parse(member)
    except Exception as exc:  # warcio's parse errors share no base class: any of them is a damaged record
        raise WarcError(f"{path}@{record.offset}: not a whole WARC record ({type(exc).__name__})") from None
    if url != record.url or warc.sha1_digest(stored) != record.digest:
        raise WarcError(f"{path}@{record.offset}: the record there is not {record.url} as it was kept")
    return RawPage(record.url, content_type, decoded)


def _parse(member: bytes) -> tuple[str, str | None, bytes, bytes]:
    """The URL, Content-Type, payload as stored and payload decoded of the one record in `member`."""
    first = next(iter(ArchiveIterator(io.BytesIO(member))))
    url = str(first.rec_headers.get_header("WARC-Target-URI"))
    content_type = first.http_headers.get_header("Content-Type") if first.http_headers else None
    stored = first.raw_stream.read()
    # A second reading for the decoded payload: warcio's streams are read once.
    decoded = next(iter(ArchiveIterator(io.BytesIO(member)))).content_stream().read()
    return url, content_type, stored, decoded
