"""The values of feeds.yaml one at a time: durations, sizes, time zones, URLs, CSS selectors, regular expressions.

Each check raises ValueError with the words that follow the value in the one-line report (`is not a duration like
10m`); crawler.config.messages puts the file, the line and the key in front. The Annotated types bind the checks
to the settings' fields (crawler.config.settings).
"""

from __future__ import annotations

import re
import zoneinfo
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BeforeValidator
from selectolax.lexbor import LexborHTMLParser, SelectolaxError

_DURATION_RE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*\Z")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_SIZE_RE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|kib|mib|gib)?\s*\Z", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "kib": 1024, "mib": 1024**2, "gib": 1024**3}


def parse_duration(value: object) -> float:
    """Seconds in a duration written like `500ms`, `10s`, `10m`, `1h`, `1d`; a bare number is seconds."""
    if isinstance(value, bool):
        raise ValueError("is not a duration like 10m")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION_RE.match(str(value))
        if not match:
            raise ValueError("is not a duration like 10m")
        seconds = float(match.group(1)) * _DURATION_UNITS[match.group(2)]
    if seconds < 0:
        raise ValueError("is not a duration like 10m")
    return seconds


def parse_size(value: object) -> int:
    """Bytes in a size written like `10MB`, `512KB`, `1GiB`; a bare number is bytes."""
    if isinstance(value, bool):
        raise ValueError("is not a size like 10MB")
    if isinstance(value, int):
        size = value
    else:
        match = _SIZE_RE.match(str(value))
        if not match:
            raise ValueError("is not a size like 10MB")
        size = int(float(match.group(1)) * _SIZE_UNITS[(match.group(2) or "b").lower()])
    if size <= 0:
        raise ValueError("is not a size like 10MB")
    return size


def _timezone(value: object) -> str:
    try:
        zoneinfo.ZoneInfo(str(value))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError("is not an IANA time zone like Asia/Shanghai") from None
    return str(value)


MAX_WORKERS = 64


def _workers(value: object) -> int | Literal["auto"]:
    if value == "auto":
        return "auto"
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_WORKERS:
        return value
    raise ValueError(f"is not 'auto' or a number of worker processes from 0 to {MAX_WORKERS}")


def _http_url(value: object) -> str:
    text = str(value).strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("is not an http(s) URL")
    return text


def proxy_url(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https", "socks5", "socks5h") or not parts.hostname:
        raise ValueError("is not a proxy URL (http://, https:// or socks5://)")
    return text


def is_http_url(value: str) -> bool:
    """Whether `value` is an http(s) URL with a host, as the config's URL keys require."""
    try:
        _http_url(value)
    except ValueError:
        return False
    return True


def is_css_selector(selector: str) -> bool:
    # Checked here so a typo in a selector is a config error with its line, not a silent fallback later.
    try:
        LexborHTMLParser("<p></p>").css_first(selector)
    except SelectolaxError:
        return False
    return bool(selector.strip())


def none_is_empty(value: object) -> object:
    # `feeds:` with nothing under it yet is an empty list, as an operator starting a file means it.
    return () if value is None else value


def _string_list(value: object) -> object:
    # `categories: 金融` reads naturally as a list of one; accept it.
    if isinstance(value, str):
        return [value]
    return value


def _categories(value: object) -> object:
    # `categories: news, world` is one plain string to YAML: almost always a list was meant.
    if isinstance(value, str) and "," in value:
        parts = ", ".join(part.strip() for part in value.split(",") if part.strip())
        raise ValueError(f"is one category with a comma in it; for several write a list: [{parts}]")
    return _string_list(value)


def _patterns(value: object) -> object:
    # A `keep:`/`block:` rule is a regular expression or a list of them; each must compile, so a typo is a
    # config error with its line rather than a rule that silently never matches.
    patterns = _string_list(value)
    if isinstance(patterns, list | tuple):
        for pattern in patterns:
            try:
                re.compile(str(pattern))
            except re.error as exc:
                where = "is" if isinstance(value, str) else f"holds '{pattern}', which is"
                raise ValueError(f"{where} not a regular expression: {exc}") from None
    return patterns


def _raw_mode(value: object) -> object:
    # YAML 1.1 reads a bare `off` or `no` as false: it means no raw records, as the operator wrote it.
    return "none" if value is False else value


def _node_id(value: object) -> object:
    # The node's name goes into WARC file names: a character that is no part of a portable file name would break
    # them, or the `-` that separates the name's parts would make them ambiguous to read back.
    if value is not None and not re.fullmatch(r"[A-Za-z0-9._]{1,64}", str(value)):
        raise ValueError("is not a node name of 1 to 64 letters, digits, '.' and '_'")
    return value


def _url_prefix(value: object) -> object:
    # Where a Hexo site serves the kept images from: a path (`/assets/`) or a whole URL, ending with a slash so
    # that a file's name can simply follow it.
    text = str(value).strip()
    if not (text.startswith("/") or is_http_url(text)) or not text.endswith("/") or any(c in text for c in "\"' <>"):
        raise ValueError("is not a URL prefix like /assets/ or https://example.com/assets/ (ending with /)")
    return text


Duration = Annotated[float, BeforeValidator(parse_duration)]
Size = Annotated[int, BeforeValidator(parse_size)]
TimeZone = Annotated[str, BeforeValidator(_timezone)]
HttpUrl = Annotated[str, BeforeValidator(_http_url)]
StringList = Annotated[tuple[str, ...], BeforeValidator(_string_list)]
Categories = Annotated[tuple[str, ...], BeforeValidator(_categories)]
Patterns = Annotated[tuple[str, ...], BeforeValidator(_patterns)]
WorkerCount = Annotated[int | Literal["auto"], BeforeValidator(_workers)]
ContentMode = Literal["page", "feed", "auto"]
ImagesMode = Literal["link", "keep"]
RawMode = Annotated[Literal["none", "warc"], BeforeValidator(_raw_mode)]
UrlPrefix = Annotated[str, BeforeValidator(_url_prefix)]
NodeId = Annotated[str | None, BeforeValidator(_node_id)]
