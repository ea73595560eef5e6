"""Bytes -> text, per docs/FORMAT.md "Character sets": the BOM, else the HTTP header's charset, else the document's own
declaration (`<meta charset>`, XML declaration), else detection. Beyond that order, what the bytes prove wins over
what is declared: bytes that are valid UTF-8 and hold multi-byte sequences are UTF-8 whatever a header or meta says,
and a declared UTF-8 that the bytes break is set aside. Detection prefers UTF-8, then GB18030 for bytes that decode
cleanly to Chinese text, then charset_normalizer. `gb2312` and `gbk` read as `gb18030`, which contains them.

This runs on every page and feed: the usual page (valid UTF-8) costs one strict UTF-8 decode, whose result is the
answer; a page declared in another encoding costs a UTF-8 attempt that fails at its first non-ASCII byte, then one
decode in the declared encoding."""

from __future__ import annotations

import codecs
import functools
import re

import charset_normalizer

_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", re.IGNORECASE)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9._:-]+)", re.IGNORECASE)
_XML_DECLARATION = re.compile(rb"<\?xml[^>]*encoding\s*=\s*[\"']([A-Za-z0-9._:-]+)[\"']", re.IGNORECASE)
# Longest first: a UTF-32 LE BOM begins with the UTF-16 LE one.
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
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
_UTF8 = "utf-8"
_GB18030 = "gb18030"
_SNIFF_BYTES = 4096
_DETECT_BYTES = 64 * 1024
_SAMPLE_CHARS = 64 * 1024  # the text the GB18030 test looks at: enough for the statistics, bounded in cost
# "Mostly UTF-8": a UTF-8 page with a stray byte or two (a template's Latin-1 byte, a cut character) stays UTF-8.
# Text in another encoding read as UTF-8 breaks on most of its non-ASCII bytes: GBK on nine pairs in ten.
_UTF8_GOOD_PER_BAD = 20
# Chinese text decoded from GB18030 bytes: han characters make most of what is not ASCII (the rest is CJK
# punctuation), nearly all of them among the common ones, with no spaces between them. Other encodings' bytes that
# happen to decode as GB18030 fail one test or another: Big5, Shift_JIS or Latin-1 give mostly rare characters,
# EUC-JP gives kana beside the han, EUC-KR gives common han in space-separated words (Korean's spacing).
_MIN_HAN = 5
_HAN_SHARE = 0.6
_COMMON_SHARE = 0.9
_KANA_PER_HAN = 0.25
_SPACED_PER_HAN = 0.1
_FIRST_NOT_ASCII = re.compile(r"[^\x00-\x7f]")
_HAN_RANGES = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN = re.compile(f"[{_HAN_RANGES}]")
_SPACED_HAN = re.compile(f"[{_HAN_RANGES}] [{_HAN_RANGES}]")
_KANA = re.compile("[\u3040-\u30ff]")


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
                # A declaration readable as ASCII cannot be in UTF-16 or UTF-32 (WHATWG: it means UTF-8).
                return _UTF8 if known.startswith(("utf-16", "utf-32")) else known
    return None


def choose_encoding(content: bytes, content_type: str | None) -> str:
    """The encoding `decode` reads `content` with (a BOM's encoding names the bytes after the BOM)."""
    return _read(content, content_type)[0]


def decode(content: bytes, content_type: str | None) -> str:
    """`content` as text, by docs/FORMAT.md's rules; undecodable bytes become U+FFFD rather than failing the article."""
    return _read(content, content_type)[1]


def _read(content: bytes, content_type: str | None) -> tuple[str, str]:
    """(encoding, text) of `content`; each step decodes at most once, and its text is the answer when it is kept."""
    for bom, name in _BOMS:
        if content.startswith(bom):
            return name, content[len(bom) :].decode(name, errors="replace")
    ascii_text: str | None = None
    first_error = 0
    try:
        text = content.decode(_UTF8)
    except UnicodeDecodeError as exc:
        first_error = exc.start
    else:
        if len(text) != len(content):  # multi-byte sequences: UTF-8, whatever is declared
            return _UTF8, text
        ascii_text = text  # all ASCII: every ASCII-compatible encoding reads it the same
    for declared in (header_charset(content_type), declared_charset(content)):
        if declared is None or (declared == _UTF8 and ascii_text is None):
            continue  # nothing said, or a UTF-8 that the bytes break: the next word, or detection
        if ascii_text is not None and _ascii_compatible(declared):
            return declared, ascii_text
        return declared, content.decode(declared, errors="replace")
    if ascii_text is not None:
        return _UTF8, ascii_text
    return _detect(content, first_error)


def _detect(content: bytes, first_error: int) -> tuple[str, str]:
    """Bytes that are not valid UTF-8 (from `first_error` on) and declare nothing usable: mostly UTF-8, else
    Chinese GB18030, else charset_normalizer's guess (Big5, the Cyrillic code pages ...), else UTF-8.

    Each test looks at the bytes from where UTF-8 first breaks, not at the page's first bytes: a long ASCII head
    (scripts, styles) says nothing of the text's encoding."""
    if _mostly_utf8(content[: first_error + _DETECT_BYTES]):
        return _UTF8, content.decode(_UTF8, errors="replace")
    try:
        chinese = content.decode(_GB18030)
    except UnicodeDecodeError:
        pass
    else:
        start = _FIRST_NOT_ASCII.search(chinese)
        if start is not None and _reads_as_chinese(chinese[start.start() : start.start() + _SAMPLE_CHARS]):
            return _GB18030, chinese
    best = charset_normalizer.from_bytes(content[first_error : first_error + _DETECT_BYTES]).best()
    encoding = (_known(best.encoding) if best is not None else None) or _UTF8
    return encoding, content.decode(encoding, errors="replace")


def _mostly_utf8(sample: bytes) -> bool:
    """Whether UTF-8 breaks on only a few of the non-ASCII characters of `sample` (at least one breaks)."""
    # Incremental, not final: a character cut at the sample's end is held back, not counted as broken.
    text = codecs.getincrementaldecoder(_UTF8)(errors="replace").decode(sample, final=False)
    broken = text.count("\ufffd")
    good = len(text) - len(text.encode("ascii", errors="ignore")) - broken
    return good >= _UTF8_GOOD_PER_BAD * max(1, broken)


def _reads_as_chinese(text: str) -> bool:
    """Whether text decoded from GB18030 bytes is Chinese rather than another encoding's bytes misread."""
    han = _HAN.findall(text)
    not_ascii = len(text) - len(text.encode("ascii", errors="ignore"))
    if len(han) < _MIN_HAN or len(han) < _HAN_SHARE * not_ascii:
        return False
    if len(_KANA.findall(text)) > _KANA_PER_HAN * len(han):
        return False
    if len(_SPACED_HAN.findall(text)) > _SPACED_PER_HAN * len(han):
        return False
    common = _common_han()
    return sum(1 for char in han if char in common) >= _COMMON_SHARE * len(han)


@functools.cache
def _common_han() -> frozenset[str]:
    """The common han characters: GB2312's first level (3,755 simplified) and Big5's (5,401 traditional)."""
    chars: set[str] = set()
    for codec, leads, trails in (
        ("gb2312", range(0xB0, 0xD8), range(0xA1, 0xFF)),
        ("big5", range(0xA4, 0xC7), (*range(0x40, 0x7F), *range(0xA1, 0xFF))),
    ):
        for lead in leads:
            for trail in trails:
                try:
                    chars.add(bytes((lead, trail)).decode(codec))
                except UnicodeDecodeError:
                    continue  # a gap in the table
    return frozenset(chars)


@functools.cache
def _ascii_compatible(encoding: str) -> bool:
    """Whether `encoding` reads ASCII bytes as ASCII (not UTF-16, UTF-7, EBCDIC ...)."""
    sample = bytes(range(128))
    try:
        return sample.decode(encoding) == sample.decode("ascii")
    except UnicodeDecodeError:
        return False


def _known(label: str) -> str | None:
    name = label.strip().lower()
    name = _SUPERSETS.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None
