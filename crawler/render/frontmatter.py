"""Values -> Hexo front matter lines (docs/FORMAT.md, "Front matter"): each value cleaned, quoted only where YAML
needs it, dates in RFC 822 GMT."""

from __future__ import annotations

import functools
import html
import re
import unicodedata
from datetime import UTC, datetime
from email.utils import format_datetime

import yaml

_TAG_RE = re.compile(r"</?[A-Za-z][^<>]*>")
# A plain YAML scalar is only used for text that cannot be read as anything but itself, in YAML 1.1 (PyYAML)
# and 1.2 (Hexo's js-yaml) alike; everything else is single-quoted, which is always safe.
_PLAIN_FORBIDDEN_START = set("-?:,[]{}#&*!|>'\"%@`~+.0123456789")
_PLAIN_FORBIDDEN_ANY = set(":#{}[],&*!|>'\"%@`\\")
# Unicode's Bidi_Control characters: they reorder what follows, so `Invoice \u202egnp.exe` would display as
# `Invoice exe.png`; a title or author must show the characters it holds, in the order it holds them.
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def front_matter(
    *, title: str, categories: tuple[str, ...], image: str | None, author: str | None, comments: bool, date: datetime
) -> str:
    """The front matter block, `---` to `---` with no final newline, keys in docs/FORMAT.md's order; categories,
    headimg/thumbnail and author left out when empty after cleaning."""
    lines = ["---", f"title: {quoted(clean_value(title))}"]
    kept = [c for c in (clean_value(category) for category in categories) if c]
    if kept:
        lines.append("categories: ")
        lines.extend(f" - {scalar(category)}" for category in kept)
    cleaned_image = clean_value(image or "")
    if cleaned_image:
        lines.append(f"headimg: {quoted(cleaned_image)}")
    cleaned_author = clean_value(author or "")
    if cleaned_author:
        lines.append(f"author: {scalar(cleaned_author)}")
    lines.append(f"comments: {'true' if comments else 'false'}")
    lines.append(f"date: {http_date(date)}")
    if cleaned_image:
        lines.append(f"thumbnail: {quoted(cleaned_image)}")
    lines.append("---")
    return "\n".join(lines)


def http_date(moment: datetime) -> str:
    """RFC 822 date in GMT with English names whatever the locale: `Tue, 24 Aug 2021 07:07:13 GMT`."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:
        # Beyond what datetime holds in UTC (year 1 east of Greenwich, year 9999 west of it): the nearest end.
        utc = (datetime.min if moment.year == 1 else datetime.max).replace(tzinfo=UTC)
    return format_datetime(utc.replace(microsecond=0), usegmt=True)


def clean_value(value: str) -> str:
    """A front-matter value: control characters, bidirectional controls and unpaired surrogates dropped, white
    space folded, trimmed."""
    kept = "".join(ch for ch in value if ch.isspace() or not _is_unprintable(ch))
    return " ".join(kept.split())


def _is_unprintable(ch: str) -> bool:
    category = unicodedata.category(ch)
    # Cc: control characters; Cs: lone surrogates; U+FEFF/U+FFFE/U+FFFF: not allowed or silently eaten by YAML.
    return category in ("Cc", "Cs") or ch in "\ufeff\ufffe\uffff" or ch in _BIDI_CONTROLS


def title_text(raw: str) -> str:
    """Text of a title that may carry markup: tags stripped, entities decoded, white space folded."""
    return clean_value(html.unescape(_TAG_RE.sub(" ", raw)))


def quoted(value: str) -> str:
    """`value` as a single-quoted YAML scalar."""
    return "'" + value.replace("'", "''") + "'"


def scalar(value: str) -> str:
    """`value` plain when every YAML parser reads it back unchanged, else single-quoted."""
    return value if _plain_is_safe(value) else quoted(value)


# Authors and categories repeat across thousands of articles; the YAML round trip below is the costly part of
# rendering, and its answer depends on the value alone.
@functools.lru_cache(maxsize=4096)
def _plain_is_safe(value: str) -> bool:
    if not value or value[0] in _PLAIN_FORBIDDEN_START or value != value.strip():
        return False
    if any(ch in _PLAIN_FORBIDDEN_ANY for ch in value):
        return False
    try:
        loaded: object = yaml.safe_load(f"k: {value}\n")
    except yaml.YAMLError:
        return False
    return loaded == {"k": value}
