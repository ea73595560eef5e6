"""What a raw record keeps of one exchange (`raw: warc`): the request's headers as sent, the answer's status line,
headers and body as received. Built only for a Request that asked for `capture`.

httpx hands over the body with its transfer framing (chunked encoding) removed, so a Transfer-Encoding header would
describe framing the kept body no longer has: it is kept under pywb's `X-Archive-Orig-` prefix, as replay tools do
for a header they must not act on. Likewise a Content-Encoding already undone before the body reached us (an
in-memory transport decodes on its own).
"""

from __future__ import annotations

import httpx

from crawler.fetch.messages import Exchange

ORIGINAL_PREFIX = b"X-Archive-Orig-"
_FRAMING = b"transfer-encoding"
_ENCODING = b"content-encoding"


def exchange_of(
    answer: httpx.Response, url: str, content: bytes, raw: list[bytes], *, decoded: bool, started: float
) -> Exchange:
    """The exchange behind `answer`: `raw` holds the body as received when it was compressed (else `content` is it);
    `decoded` says the body reached us decoded already, whatever Content-Encoding says."""
    renamed = {_FRAMING, _ENCODING} if decoded else {_FRAMING}
    headers = tuple(
        (ORIGINAL_PREFIX + name if name.lower() in renamed else name, value) for name, value in answer.headers.raw
    )
    return Exchange(
        url=url,
        request_headers=tuple(answer.request.headers.raw),
        http_version=answer.http_version,
        status=answer.status_code,
        reason=answer.reason_phrase,
        headers=headers,
        body=b"".join(raw) if raw else content,
        started=started,
    )
