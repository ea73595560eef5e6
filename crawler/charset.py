"""Bytes -> text, per FORMAT.md: the HTTP header's charset, else the BOM, else the document's own declaration
(`<meta charset>`, XML declaration), else detection. `gb2312` and `gbk` read as `gb18030`, which contains them."""

from __future__ import annotations

import codecs
import re

import charset_normalizer

_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", re.IGNORECASE)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9._:-]+)", re.IGNORECASE)
_XML_DECLARATION = re.compile(rb"<\?xml[^>]*encoding\s*=\s*[\"']([A-Za-z0-9._:-]+)[\"']", re.IGNORECASE)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Labels whose real-world use is a superset of what they name (as in the WHATWG Encoding Standard).
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "gb_2312-80": "gb18030",
    "csgb2312": "gb18030",
    "chinese": "gb18030",
    "iso-8859-1": "windows-1252",
    "latin1": "windows-1252",
    "latin-1": "windows-1252",
    "us-ascii": "windows-1252",
    "ascii": "windows-1252",
    "big5": "big5hkscs",
    "shift_jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "euc-kr": "cp949",
}
_SNIFF_BYTES = 4096
_DETECT_BYTES = 64 * 1024


def header_charset(content_type: str | None) -> str | None:
    """The charset parameter of a Content-Type header, if it names an encoding Python knows."""
    if not content_type:
        return None
    match = _HEADER_CHARSET.search(content_type)
    return _known(match.group(1)) if match else None


def declared_charset(content: bytes) -> str | None:
    """The encoding a document declares for itself in its first bytes (`<meta charset>` or XML declaration)."""
    head = content[:_SNIFF_BYTES]
    for pattern in (_XML_DECLARATION, _META_CHARSET):
        match = pattern.search(head)
        if match:
            known = _known(match.group(1).decode("ascii", "replace"))
            if known:
                return known
    return None


def choose_encoding(content: bytes, content_type: str | None) -> str:
    """The encoding to read `content` with: header, BOM, declaration, then detection; utf-8 as the last word."""
    chosen = header_charset(content_type)
    if chosen:
        return chosen
    for bom, name in _BOMS:
        if content.startswith(bom):
            return name
    chosen = declared_charset(content)
    if chosen:
        return chosen
    try:
        content[:_DETECT_BYTES].decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= _DETECT_BYTES - 4:  # cut inside a character at our sample's end
            return "utf-8"
    best = charset_normalizer.from_bytes(content[:_DETECT_BYTES]).best()
    detected = _known(best.encoding) if best is not None else None
    return detected or "utf-8"


def decode(content: bytes, content_type: str | None) -> str:
    """`content` as text; undecodable bytes become U+FFFD rather than failing the article."""
    encoding = choose_encoding(content, content_type)
    text = content.decode(encoding, errors="replace")
    return text[1:] if text.startswith("\ufeff") else text


def _known(label: str) -> str | None:
    name = label.strip().lower()
    name = _SUPERSETS.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None
