"""Text of metadata values: entities decoded, tags stripped, white space folded; the limits every reader shares."""

from __future__ import annotations

import html
import re

MAX_VALUE = 2000  # longer attribute values are not metadata, just noise

WS_RE = re.compile(r"\s+")

TAG_RE = re.compile(r"<[^>]{0,2000}>")

CJK_RE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")  # kana and CJK ideographs


def clean(value: object) -> str | None:
    """Text of a metadata value: entities decoded, tags stripped, whitespace folded."""
    if not isinstance(value, str):
        return None
    value = value[:MAX_VALUE]
    if "<" in value:
        value = TAG_RE.sub(" ", value)
    if "&" in value:
        value = html.unescape(value)
    value = WS_RE.sub(" ", value).strip()
    return value or None
