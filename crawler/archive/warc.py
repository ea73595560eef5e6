"""Raw records (`raw: warc`): each exchange the crawler archives from, as a WARC/1.1 request record and response
record (ISO 28500), written with warcio, each record one gzip member, so that standard tools (warcio, pywb,
ReplayWeb.page) read and replay them. Pure: exchanges in, bytes and index entries out; the files are warcfiles.py's.

A response record keeps the HTTP status line, the headers and the payload as received (see crawler.fetch.capture
for the one header renamed); an HTTP/2 answer is written with an HTTP/1.1 status line, as browser-based crawlers
do, and says so in `WARC-Protocol`.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import io
import json
import mimetypes
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

from isal import isal_zlib
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from crawler import __version__
from crawler.fetch.messages import Exchange
from crawler.store.base import RawRecord

WARC_VERSION = "1.1"
GZIP_LEVEL = 2  # ISA-L's levels run 0-3; 2 is its default
_GZIP_WBITS = 16 + 15  # a gzip member (header and trailer), 32 KB window


@dataclass(frozen=True)
class Built:
    """Records ready to append to a file: their bytes, and for each response record where it lies in them."""

    data: bytes
    responses: tuple[RawRecord, ...]  # offsets relative to the start of `data`, filename empty
    keys: tuple[str, ...]  # each response's SURT key for its CDXJ line, made where the records were built


def build(exchanges: Sequence[Exchange]) -> Built:
    """A request and a response record per exchange (redirect hops first), one gzip member each."""
    out = io.BytesIO()
    responses: list[RawRecord] = []
    keys: list[str] = []
    writer = _Writer()
    for exchange in exchanges:
        moment = datetime.fromtimestamp(exchange.started, UTC)
        response = _response(writer, exchange, moment)
        start = out.tell()
        out.write(writer.member(response))
        end = out.tell()
        out.write(writer.member(_request(writer, exchange, response, moment)))
        responses.append(
            RawRecord(
                filename="",
                offset=start,
                length=end - start,
                url=exchange.url,
                timestamp=moment.strftime("%Y%m%d%H%M%S"),
                status=exchange.status,
                mime=_mime(exchange),
                digest=str(response.rec_headers.get_header("WARC-Payload-Digest")),
            )
        )
        keys.append(surt_key(exchange.url))
    return Built(out.getvalue(), tuple(responses), tuple(keys))


class _Writer(WARCWriter):  # type: ignore[misc]
    """warcio's writer, each record compressed as a gzip member of its own by ISA-L (python-isal) at its level 2:
    warcio's own gzip runs zlib at level 9. Compressing is most of a record's cost, and the crawl's CPU is the budget
    that matters. CPU per page and size ratio on 300 of bench/throughput.py's 97 KB pages: zlib level 3 1.01 ms,
    4.07x; zlib level 1 0.65 ms, 3.87x; ISA-L level 2 0.20 ms, 3.91x (on the 55 pages of tests/fixtures, 90 KB on
    average: zlib 9 3.4 ms, 4.73x; zlib 6 1.8 ms, 4.69x; zlib 3 1.0 ms, 4.27x). The output is plain gzip, read by
    any tool; ISA-L releases the GIL while it works, as zlib does."""

    def __init__(self) -> None:
        self._out = io.BytesIO()
        super().__init__(self._out, gzip=False, warc_version=WARC_VERSION)

    def member(self, record: Any) -> bytes:
        """The record, written by warcio, as one gzip member."""
        self._out.seek(0)
        self._out.truncate()
        self.write_record(record)
        with self._out.getbuffer() as written:  # no copy of the record; released before the next one
            return bytes(isal_zlib.compress(written, GZIP_LEVEL, _GZIP_WBITS))


def warcinfo(filename: str, node: str) -> bytes:
    """The `warcinfo` record a file begins with: who wrote it, on which node."""
    writer = _Writer()
    info = {
        "software": f"feed-crawler/{__version__}",
        "format": "WARC File Format 1.1",
        "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
        "isPartOf": node,
    }
    return writer.member(writer.create_warcinfo_record(filename, info))


def cdxj_line(record: RawRecord, key: str | None = None) -> str:
    """The record's line in a CDXJ index, as pywb reads it: SURT key (`key`, when made already), 14-digit time, then
    a JSON object."""
    fields = {
        "url": record.url,
        "mime": record.mime,
        "status": str(record.status),
        "digest": record.digest,
        "length": str(record.length),
        "offset": str(record.offset),
        "filename": record.filename,
    }
    return f"{key or surt_key(record.url)} {record.timestamp} {json.dumps(fields, ensure_ascii=False)}\n"


def surt_key(url: str) -> str:
    """The SURT form of `url` that pywb sorts and looks up by (its canonicalisation, not ours)."""
    try:
        return str(_surt().surt(url))
    except ValueError:  # a URL surt cannot parse is still indexed, under itself
        return url


def _surt() -> ModuleType:
    """The surt package, imported at its first use (only `raw: warc` needs it) without the tldextract that its
    handyurl module imports at its top: tldextract brings requests, urllib3 and filelock, 130 ms of CPU in every
    process that builds records (the crawler's, for feeds, and the workers' fork server), and surt.surt() never
    calls it (only handyurl's getPublicSuffix and getPublicPrefix do). Those would still work: the stand-in imports
    the real tldextract at its first use."""
    loaded = sys.modules.get("surt")
    if loaded is not None:
        return loaded
    if "tldextract" in sys.modules:
        return importlib.import_module("surt")
    sys.modules["tldextract"] = _Deferred("tldextract")
    try:
        return importlib.import_module("surt")
    finally:
        # Whoever imports tldextract from now on gets the real module; handyurl keeps the stand-in.
        del sys.modules["tldextract"]


class _Deferred(ModuleType):
    """A module's stand-in that imports the real one at the first attribute asked of it."""

    def __getattr__(self, name: str) -> Any:
        return getattr(importlib.import_module(self.__name__), name)


def sha1_digest(payload: bytes) -> str:
    """A payload digest as WARC writes it: `sha1:` and the base32 SHA-1."""
    return _digest_text(hashlib.sha1(payload))


def _digest_text(digest: Any) -> str:  # a hashlib object (its type is private)
    return "sha1:" + base64.b32encode(digest.digest()).decode("ascii")


def timestamp14(moment: float) -> str:
    """YYYYMMDDhhmmss in UTC, the form CDXJ uses."""
    return datetime.fromtimestamp(moment, UTC).strftime("%Y%m%d%H%M%S")


def _warc_date(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _text(headers: Sequence[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    # Header bytes as received, one character per byte: warcio writes them back out byte for byte.
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in headers]


def _protocol(exchange: Exchange) -> str:
    return exchange.http_version if exchange.http_version.startswith("HTTP/1.") else "HTTP/1.1"


class _AsReceived(StatusAndHeaders):  # type: ignore[misc]  # (warcio has no type hints)
    """HTTP headers written back byte for byte. warcio percent-encodes a value that is not ASCII (RFC 8187), so a
    record would hold other bytes than the server sent; ours are the received bytes, one character per byte
    (`_text`), so Latin-1 gives them back as they came."""

    def to_ascii_bytes(self, filter_func: Any = None) -> bytes:
        return bytes(self.to_str(filter_func).encode("latin-1")) + b"\r\n"


def _response(writer: WARCWriter, exchange: Exchange, moment: datetime) -> Any:
    headers = _AsReceived(
        f"{exchange.status} {exchange.reason}".rstrip(), _text(exchange.headers), protocol=_protocol(exchange)
    )
    # Both digests made here and handed to warcio, which then reads the payload only to write it: left to itself it
    # reads it once more for them, in 16 KB pieces through Python. The block is the HTTP header block as warcio
    # writes it (the same call, the same filter), then the payload.
    headers.compute_headers_buffer(writer.header_filter)
    block = hashlib.sha1(headers.headers_buff)
    block.update(exchange.body)
    extra = {
        "WARC-Date": _warc_date(moment),
        "WARC-Payload-Digest": sha1_digest(exchange.body),
        "WARC-Block-Digest": _digest_text(block),
    }
    if not exchange.http_version.startswith("HTTP/1."):
        extra["WARC-Protocol"] = exchange.http_version.lower().replace("http/2", "h2").replace("http/3", "h3")
    return writer.create_warc_record(
        exchange.url,
        "response",
        payload=io.BytesIO(exchange.body),
        length=len(exchange.body),
        http_headers=headers,
        warc_headers_dict=extra,
    )


def _request(writer: WARCWriter, exchange: Exchange, response: Any, moment: datetime) -> Any:
    parts = urlsplit(exchange.url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = _AsReceived(f"GET {target} {_protocol(exchange)}", _text(exchange.request_headers), is_http_request=True)
    extra = {
        "WARC-Date": _warc_date(moment),
        "WARC-Concurrent-To": str(response.rec_headers.get_header("WARC-Record-ID")),
    }
    return writer.create_warc_record(exchange.url, "request", http_headers=headers, warc_headers_dict=extra)


def _mime(exchange: Exchange) -> str:
    for name, value in exchange.headers:
        if name.lower() == b"content-type":
            return value.decode("latin-1").split(";", 1)[0].strip().lower() or "unk"
    guessed, _ = mimetypes.guess_type(urlsplit(exchange.url).path)
    return guessed or "unk"
