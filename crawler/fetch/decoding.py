"""Response bodies, read within http.max_bytes: Content-Encoding (gzip, deflate, identity, or a list of them) undone
in bounded pieces, so the limit holds after decompression and a gzip bomb stays small; a compressed stream that ends
before its end marker is a failed fetch (zlib would hand back the part it has, silently).

    read_body(answer, url, limit) -> bytes    or FetchError(kind=too-large | network)
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

import httpx

from crawler.fetch.messages import FetchError, FetchKind


async def read_body(answer: httpx.Response, url: str, limit: int, raw: list[bytes] | None = None) -> bytes:
    """The whole body of `answer`, decoded; FetchError (too-large) as soon as it passes `limit` bytes, decoded.
    Given `raw`, the bytes as received are appended to it where they differ from the decoded ones (a compressed
    body): a raw record needs them, and nothing is kept when no one asked."""
    declared = answer.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(url, limit)
    if answer.is_stream_consumed:
        # Read in full already (an in-memory transport, as in tests and benches): httpx decoded it.
        if len(answer.content) > limit:
            raise too_large(url, limit)
        return answer.content
    decoder = Decoder(url, answer.headers.get("content-encoding", ""))
    chunks: list[bytes] = []
    size = 0
    if decoder.passthrough:
        # No Content-Encoding (or identity): the raw bytes are the body, no decoder in between.
        async for received in answer.aiter_raw():
            size += len(received)
            if size > limit:
                raise too_large(url, limit)
            chunks.append(received)
        return b"".join(chunks)
    # Raw bytes are decompressed here in bounded pieces (not by httpx, which inflates a whole network read at once),
    # so the limit holds after decompression and a gzip bomb stays small.
    async for received in answer.aiter_raw():
        if raw is not None:
            raw.append(received)
        for piece in decoder.feed(received):
            size += len(piece)
            if size > limit:
                raise too_large(url, limit)
            chunks.append(piece)
    for piece in decoder.flush():
        size += len(piece)
        if size > limit:
            raise too_large(url, limit)
        chunks.append(piece)
    return b"".join(chunks)


def too_large(url: str, limit: int) -> FetchError:
    """The error for a body past http.max_bytes."""
    return FetchError(
        url, FetchKind.TOO_LARGE, f"body larger than http.max_bytes ({limit:,} bytes); cut off", transient=False
    )


class Decoder:
    """Undoes a Content-Encoding (gzip, deflate, identity, or a list of them) in bounded pieces."""

    def __init__(self, url: str, header: str) -> None:
        self._url = url
        self._layers: list[_Inflater] = []
        names = [name.strip().lower() for name in header.split(",") if name.strip()]
        for name in reversed(names):  # the encoding applied last is undone first
            if name in ("gzip", "x-gzip"):
                self._layers.append(_Inflater("gzip", 16 + zlib.MAX_WBITS))
            elif name == "deflate":
                self._layers.append(_Inflater("deflate", zlib.MAX_WBITS, raw_fallback=True))
            elif name != "identity":
                raise FetchError(url, FetchKind.NETWORK, f"unsupported Content-Encoding '{name}'", transient=False)

    @property
    def passthrough(self) -> bool:
        """Whether there is nothing to undo: the raw bytes are the body."""
        return not self._layers

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The decoded pieces of the next raw bytes."""
        return self._through(0, iter((data,)))

    def flush(self) -> Iterator[bytes]:
        """What the layers still hold at the end of the body; a FetchError if a stream ends before its end marker
        (zlib would hand back the part it has, silently: a connection cut short, a proxy's truncated cache entry)."""
        for index, layer in enumerate(self._layers):
            yield from self._through(index + 1, layer.flush())
        for layer in self._layers:
            if layer.cut_short:
                raise FetchError(
                    self._url,
                    FetchKind.NETWORK,
                    f"truncated {layer.name} body: the compressed stream ends before its end marker",
                    transient=True,
                )

    def _through(self, start: int, pieces: Iterator[bytes]) -> Iterator[bytes]:
        for layer in self._layers[start:]:
            pieces = _inflate_all(layer, pieces)
        return pieces


class _Inflater:
    """One gzip or deflate layer, undone in pieces of at most PIECE bytes."""

    PIECE = 64 * 1024

    def __init__(self, name: str, wbits: int, *, raw_fallback: bool = False) -> None:
        self.name = name
        self._inflate = zlib.decompressobj(wbits)
        self._raw_fallback = raw_fallback  # "deflate" is often sent raw, without the zlib header it should have
        self._started = False
        self._fed = False

    @property
    def cut_short(self) -> bool:
        """Whether the layer was given bytes but no end-of-stream marker: the body stopped before its end."""
        return self._fed and not self._inflate.eof

    def feed(self, data: bytes) -> Iterator[bytes]:
        self._fed = self._fed or bool(data)
        while data and not self._inflate.eof:
            try:
                out = self._inflate.decompress(data, self.PIECE)
            except zlib.error:
                if self._started or not self._raw_fallback:
                    raise
                self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
                self._raw_fallback = False
                continue
            self._started = True
            if out:
                yield out
            data = self._inflate.unconsumed_tail

    def flush(self) -> Iterator[bytes]:
        out = self._inflate.flush()
        if out:
            yield out


def _inflate_all(layer: _Inflater, pieces: Iterator[bytes]) -> Iterator[bytes]:
    for piece in pieces:
        yield from layer.feed(piece)
