"""feeds.yaml -> validated, frozen settings.

Every error names the file, the line and the feed, in one line an operator can act on:

    feeds.yaml:14: feed 'sina-finance': interval 'ten minutes' is not a duration like 10m
"""

from __future__ import annotations

import io
import os
import re
import stat
import zoneinfo
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from difflib import get_close_matches
from pathlib import Path
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import ErrorDetails
from selectolax.lexbor import LexborHTMLParser, SelectolaxError

from crawler.errors import CrawlerError
from crawler.render.layout import Render

NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]*\Z")
_DURATION_RE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*\Z")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_SIZE_RE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|kib|mib|gib)?\s*\Z", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "kib": 1024, "mib": 1024**2, "gib": 1024**3}


class ConfigError(CrawlerError):
    """feeds.yaml is missing, unreadable or invalid; the message is the whole one-line report."""


# The fast reading of feeds.yaml (libyaml, plain dicts) is used only where it cannot differ from the round-trip
# reading (YAML 1.2, ruamel): every scalar that either YAML 1.1 or 1.2 could read as anything but a string must be
# one of these unambiguous spellings, else the fast reading gives up.
_PLAIN_NULL_RE = re.compile(r"(?:~|null|Null|NULL|)\Z")
_PLAIN_BOOL_RE = re.compile(r"(?:true|True|TRUE|false|False|FALSE)\Z")
_PLAIN_INT_RE = re.compile(r"[-+]?(?:0|[1-9][0-9]*)\Z")
_PLAIN_FLOAT_RE = re.compile(r"[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)\Z")
# What YAML 1.2 reads as a number but YAML 1.1 (libyaml's resolver) as a string: `1e5`, `+.5`, `0o17`, `-.inf`.
_NUMBER_12_RE = re.compile(
    r"[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?\Z|[-+]?0[oxbOXB][0-9a-fA-F_]+\Z"
    r"|[-+]?\.(?:inf|Inf|INF|nan|NaN|NAN)\Z"
)
# Tags, merge keys and directives change what a value is: such files take the round-trip reading.
_FAST_UNSAFE_RE = re.compile(r"!|<<|^%", re.MULTILINE)


class _Unsure(Exception):
    """The fast reading of feeds.yaml could differ from the round-trip one here."""


class _FastLoader(yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader):  # type: ignore[misc]
    """libyaml with plain dicts: about 15 times faster than the round trip and a fraction of its memory, which
    counts with ten thousand feeds; raises _Unsure where its YAML 1.1 reading might differ."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        keys = [key.value for key, _value in node.value if isinstance(key, yaml.ScalarNode)]
        if len(keys) != len(set(keys)):  # the round trip refuses duplicate keys; libyaml keeps the last
            raise _Unsure
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping


def _checked(tag: str, pattern: re.Pattern[str]) -> None:
    plain = _FastLoader.yaml_constructors[tag]

    def construct(loader: _FastLoader, node: yaml.ScalarNode) -> object:
        if not pattern.match(node.value):
            raise _Unsure
        return plain(loader, node)

    _FastLoader.add_constructor(tag, construct)


def _string(loader: _FastLoader, node: yaml.ScalarNode) -> str:
    if not node.style and _NUMBER_12_RE.match(node.value):  # plain: None in PyYAML, "" in libyaml
        raise _Unsure
    return str(loader.construct_scalar(node))


for _tag, _pattern in (("null", _PLAIN_NULL_RE), ("bool", _PLAIN_BOOL_RE), ("int", _PLAIN_INT_RE)):
    _checked(f"tag:yaml.org,2002:{_tag}", _pattern)
_checked("tag:yaml.org,2002:float", _PLAIN_FLOAT_RE)
_checked("tag:yaml.org,2002:timestamp", re.compile(r"(?!)"))
_FastLoader.add_constructor("tag:yaml.org,2002:str", _string)


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


DIRECT = "direct"  # a feed's `proxy:` that sends it straight to its sites, whatever http.proxy or the environment say


def _feed_proxy(value: object) -> str | None:
    if value is None:
        return None
    if str(value).strip() == DIRECT:
        return DIRECT
    return _proxy_url(value)


def _proxy_url(value: object) -> str | None:
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


def _is_css_selector(selector: str) -> bool:
    # Checked here so a typo in a selector is a config error with its line, not a silent fallback later.
    try:
        LexborHTMLParser("<p></p>").css_first(selector)
    except SelectolaxError:
        return False
    return bool(selector.strip())


def _none_is_empty(value: object) -> object:
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


Duration = Annotated[float, BeforeValidator(parse_duration)]
Size = Annotated[int, BeforeValidator(parse_size)]
TimeZone = Annotated[str, BeforeValidator(_timezone)]
HttpUrl = Annotated[str, BeforeValidator(_http_url)]
StringList = Annotated[tuple[str, ...], BeforeValidator(_string_list)]
Categories = Annotated[tuple[str, ...], BeforeValidator(_categories)]
Patterns = Annotated[tuple[str, ...], BeforeValidator(_patterns)]
WorkerCount = Annotated[int | Literal["auto"], BeforeValidator(_workers)]
ContentMode = Literal["page", "feed", "auto"]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FeedConfig(_Frozen):
    """One feed as the pipeline sees it: the feed's own keys over `defaults`, over the built-in defaults."""

    name: str
    url: HttpUrl
    title: str | None = None  # for people and OPML export; the archive takes titles from the items
    site: HttpUrl | None = None  # the site's own address (OPML htmlUrl), for people and OPML export
    categories: Categories = ()
    author: str | None = None
    body: str | None = None
    remove: StringList = ()
    content: ContentMode = "page"
    render: Render = "hexo"
    interval: Duration = 1800.0
    enabled: bool = True
    comments: bool = False
    timezone: TimeZone = "UTC"
    archive_timezone: TimeZone | None = None
    headers: Mapping[str, str] = Field(default_factory=dict)
    proxy: Annotated[str | None, BeforeValidator(_feed_proxy)] = None  # a proxy URL, or DIRECT
    allow_private_addresses: bool | None = None
    # Item rules (crawler.rules): regular expressions over title, URL, categories and content; and how many of the
    # newest items the feed's first poll archives (None: all of them).
    keep: Patterns = ()
    block: Patterns = ()
    backfill: int | None = Field(default=None, ge=0)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME_RE.match(value):
            raise ValueError("is not a name of lowercase letters, digits, '.', '_' and '-'")
        return value

    @field_validator("body")
    @classmethod
    def _body(cls, value: str | None) -> str | None:
        if value is not None and not _is_css_selector(value):
            raise ValueError("is not a CSS selector")
        return value

    @field_validator("remove")
    @classmethod
    def _remove(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [selector for selector in value if not _is_css_selector(selector)]
        if bad:
            raise ValueError(f"holds '{bad[0]}', which is not a CSS selector")
        return value

    @field_validator("interval")
    @classmethod
    def _interval(cls, value: float) -> float:
        if value < 1:
            raise ValueError("is shorter than one second")
        return value


FEED_KEYS = frozenset(FeedConfig.model_fields)
DEFAULT_KEYS = FEED_KEYS - {"name", "url"}


class HttpConfig(_Frozen):
    """How we talk to servers: timeouts, retries, limits and who we say we are."""

    timeout: Duration = 60.0
    connect_timeout: Duration = 10.0
    read_timeout: Duration = 30.0
    backoff: Duration = 1.0
    retries: int = Field(default=3, ge=0, le=20)
    max_retry_after: Duration = 600.0
    max_bytes: Size = 10_000_000
    max_redirects: int = Field(default=10, ge=0, le=30)
    user_agent: str | None = None
    contact: str | None = None
    proxy: Annotated[str | None, BeforeValidator(_proxy_url)] = None
    http2: bool = True


# One client per host, and at most this many connections in it: measured, httpx's pool slows sharply past about ten
# connections (it re-checks every connection whenever a request completes).
MAX_PER_HOST = 10


class HostPolicy(_Frozen):
    """Per-host override of the politeness settings; unset keys take the global ones."""

    per_host: int | None = Field(default=None, ge=1, le=MAX_PER_HOST)
    delay: Duration | None = None
    robots: bool | None = None


class PolitenessConfig(_Frozen):
    """Kindness to the sites we crawl."""

    per_host: int = Field(default=2, ge=1, le=MAX_PER_HOST)
    delay: Duration = 1.0
    robots: bool = True
    max_connections: int = Field(default=50, ge=1)
    hosts: Mapping[str, HostPolicy] = Field(default_factory=dict)

    def for_host(self, host: str) -> tuple[int, float, bool]:
        """(concurrency, delay, robots) for one host, its override applied."""
        policy = self.hosts.get(host.lower())
        if policy is None:
            return self.per_host, self.delay, self.robots
        return (
            policy.per_host if policy.per_host is not None else self.per_host,
            policy.delay if policy.delay is not None else self.delay,
            policy.robots if policy.robots is not None else self.robots,
        )


class _File(_Frozen):
    archive: str = "archive"
    state: str = ".crawler/state.db"
    archive_timezone: TimeZone = "UTC"
    allow_private_addresses: bool = False
    min_interval: Duration = 300.0
    max_interval: Duration = 86400.0
    workers: WorkerCount = "auto"
    http: HttpConfig = Field(default_factory=HttpConfig)
    politeness: PolitenessConfig = Field(default_factory=PolitenessConfig)
    defaults: Mapping[str, Any] = Field(default_factory=dict)
    feeds: Annotated[tuple[Mapping[str, Any], ...], BeforeValidator(_none_is_empty)] = ()


@dataclass(frozen=True)
class Config:
    """A validated feeds.yaml, with paths resolved against the file's folder."""

    path: Path
    archive: Path
    state: Path
    archive_timezone: str
    allow_private_addresses: bool
    min_interval: float
    max_interval: float
    workers: int | Literal["auto"]
    http: HttpConfig
    politeness: PolitenessConfig
    feeds: tuple[FeedConfig, ...]

    def feed(self, name: str) -> FeedConfig | None:
        """The feed called `name`, or None."""
        return next((feed for feed in self.feeds if feed.name == name), None)

    def private_allowed(self, feed: FeedConfig) -> bool:
        """Whether `feed` may reach non-public addresses by configuration (its own or the file's)."""
        if feed.allow_private_addresses is not None:
            return feed.allow_private_addresses
        return self.allow_private_addresses


def load_config(path: Path) -> Config:
    """Read and validate feeds.yaml at `path`; raise ConfigError naming the file and line on any problem."""
    try:
        text = read_config_bytes(path).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc}") from None
    return parse_config(text, path)


MAX_CONFIG_BYTES = 8 * 1024 * 1024  # ten thousand feeds take about 1 MB


def read_config_bytes(path: Path) -> bytes:
    """The bytes of the config file at `path` (a symlink is followed); ConfigError, in one line, unless it is a
    regular file of at most MAX_CONFIG_BYTES. Never blocks: a FIFO or a device is refused before it is opened."""
    try:
        _check_config_file(path, os.stat(path))
        # Non-blocking, should a FIFO take the file's place between the look and the open: then fstat refuses it.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as handle:
            _check_config_file(path, os.fstat(handle.fileno()))
            data = handle.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file (create one, or pass --config PATH)") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc.strerror or exc}") from None
    if len(data) > MAX_CONFIG_BYTES:  # it grew after the look
        raise ConfigError(_too_large(path, len(data)))
    return data


def _check_config_file(path: Path, info: os.stat_result) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"{path}: not a regular file but {_file_kind(info.st_mode)}; the config must be a file")
    if info.st_size > MAX_CONFIG_BYTES:
        raise ConfigError(_too_large(path, info.st_size))


def _too_large(path: Path, size: int) -> str:
    return (
        f"{path}: {size} bytes is too large for a config file "
        f"(the limit is {MAX_CONFIG_BYTES // (1024 * 1024)} MiB); is it the right file?"
    )


def _file_kind(mode: int) -> str:
    kinds = (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((name for test, name in kinds if test(mode)), "not a plain file")


def parse_config(text: str, path: Path) -> Config:
    """Validate the YAML `text` of a config file that lives (or will live) at `path`."""
    fast = _read_yaml_fast(text)
    if isinstance(fast, dict):
        try:
            return _build_config(fast, path, text)
        except (ConfigError, _Unsure):
            pass  # the round-trip reading below finds the same problem and knows its line
    return _build_config(_read_yaml(text, path.name), path, text)


def _build_config(data: object, path: Path, text: str) -> Config:
    label = path.name
    if data is None:
        data = {}
    # A plain dict only comes from the fast reading; errors are reported from the round-trip one.
    if not isinstance(data, dict):
        raise ConfigError(f"{label}:1: the file must be a mapping with a `feeds:` list")
    _refuse_nulls(data, text.splitlines(), label)
    try:
        top = _File.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc.errors()[0], data, label)) from None
    feeds = _validate_feeds(data, top.defaults, label)
    _check_intervals(data, top, feeds, label)
    base = path.parent
    return Config(
        path=path,
        archive=(base / top.archive),
        state=(base / top.state),
        archive_timezone=top.archive_timezone,
        allow_private_addresses=top.allow_private_addresses,
        min_interval=top.min_interval,
        max_interval=top.max_interval,
        workers=top.workers,
        http=top.http,
        politeness=top.politeness,
        feeds=feeds,
    )


def _read_yaml_fast(text: str) -> object:
    """The file read by libyaml, or None when that reading could differ from the round trip's (or fails)."""
    if _FAST_UNSAFE_RE.search(text):
        return None
    try:
        return yaml.load(text, Loader=_FastLoader)
    except (_Unsure, yaml.YAMLError, ValueError, TypeError):
        return None


def _read_yaml(text: str, label: str) -> object:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError

    reader = YAML(typ="rt")
    try:
        return reader.load(io.StringIO(text))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(f"{label}:{line}: invalid YAML: {problem}") from None
    except Exception as exc:  # ruamel raises several unrelated types for broken input
        raise ConfigError(f"{label}:1: invalid YAML: {exc}") from None


def _validate_feeds(data: dict[str, Any], defaults: Mapping[str, Any], label: str) -> tuple[FeedConfig, ...]:
    unknown = [key for key in defaults if key not in DEFAULT_KEYS]
    if unknown:
        where = _line_of(data.get("defaults"), unknown[0], data)
        raise ConfigError(f"{label}:{where}: defaults: {_unknown_key(str(unknown[0]), DEFAULT_KEYS)}")
    raw_feeds = data.get("feeds") or ()
    seen: dict[str, int] = {}
    feeds: list[FeedConfig] = []
    for index, raw in enumerate(raw_feeds):
        item_line = _item_line(raw_feeds, index)
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{label}:{item_line}: feed #{index + 1}: must be a mapping with name and url")
        name = raw.get("name")
        who = f"feed '{name}'" if isinstance(name, str) else f"feed #{index + 1}"
        try:
            feed = FeedConfig.model_validate({**defaults, **raw})
        except ValidationError as exc:
            error = exc.errors()[0]
            key = str(error["loc"][0]) if error["loc"] else ""
            node: Any = raw if key in raw or error["type"] == "missing" else data.get("defaults")
            line = _line_of(node, key, raw) if node is not None else item_line
            raise ConfigError(f"{label}:{line}: {who}: {_message(error, FeedConfig)}") from None
        if feed.name in seen:
            line = _line_of(raw, "name", raw)
            raise ConfigError(
                f"{label}:{line}: {who}: duplicate name '{feed.name}' (first used on line {seen[feed.name]})"
            )
        seen[feed.name] = _line_of(raw, "name", raw)
        feeds.append(feed)
    return tuple(feeds)


def _unknown_key(key: str, known: Collection[str], prefix: str = "") -> str:
    """The one line for an unknown key: the likely meant key of the same level, else that level's keys."""
    close = get_close_matches(key, sorted(known), n=1)
    if close:
        return f"unknown key '{prefix}{key}': did you mean '{prefix}{close[0]}'?"
    return f"unknown key '{prefix}{key}' (known keys here: {', '.join(sorted(known))})"


def _keys_at(model: type[BaseModel], parents: Sequence[str | int]) -> frozenset[str]:
    """The keys allowed in the mapping that `parents` leads to from `model` (through nested models and through
    mappings of them, as `politeness.hosts.HOST`)."""
    current: object = model
    for part in parents:
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            current = field.annotation if field is not None else None
        else:  # a Mapping[str, Model]: `part` is one of its keys
            args = get_args(current)
            current = args[-1] if args else None
    if isinstance(current, type) and issubclass(current, BaseModel):
        return frozenset(current.model_fields)
    return frozenset()


def _message(error: ErrorDetails, model: type[BaseModel]) -> str:
    loc = [str(part) for part in error["loc"]]
    key = ".".join(loc) or "value"
    kind = error["type"]
    if kind == "extra_forbidden":
        prefix = "".join(f"{part}." for part in loc[:-1])
        return _unknown_key(loc[-1], _keys_at(model, loc[:-1]), prefix)
    if kind == "missing":
        return f"missing key '{key}'"
    value = error.get("input")
    shown = value if isinstance(value, str | int | float | bool) else type(value).__name__
    if kind == "value_error":
        reason = str(error["ctx"]["error"]) if "ctx" in error else error["msg"]
        return f"{key} '{shown}' {reason}"
    if kind == "literal_error":
        return f"{key} '{shown}' is not one of {error['ctx']['expected']}"
    return f"{key} '{shown}': {error['msg'][0].lower()}{error['msg'][1:]}"


def _describe(error: ErrorDetails, data: dict[str, Any], label: str) -> str:
    loc = list(error["loc"])
    node: Any = data
    line = 1
    for part in loc:
        if _has_lines(node, dict) and part in node:
            line = _line_of(node, str(part), node)
            node = node[part]
        elif _has_lines(node, dict):
            line = _line_of(node, str(part), node)
            break
        else:
            break
    return f"{label}:{line}: {_message(error, _File)}"


def _has_lines(node: object, kind: type) -> bool:
    # Only the round-trip reader's mappings and lists (CommentedMap, CommentedSeq) know their lines; testing for
    # that without naming them keeps ruamel unimported when the fast reading succeeds.
    return isinstance(node, kind) and hasattr(node, "lc")


def _line_of(node: Any, key: str, fallback: Any = None) -> int:
    """1-based line of `key` in a round-trip mapping (or else in `fallback`), else the mapping's own line."""
    for candidate in (node, fallback):
        if _has_lines(candidate, dict):
            if key in candidate:
                return int(candidate.lc.key(key)[0]) + 1
            return int(candidate.lc.line) + 1
    return 1


def _item_line(seq: Any, index: int) -> int:
    if _has_lines(seq, list):
        try:
            return int(seq.lc.item(index)[0]) + 1
        except (KeyError, TypeError, IndexError):
            return int(seq.lc.line) + 1
    return 1


# Keys whose value is a section of further keys: left empty, they mean "nothing here" or are refused by the model.
_SECTIONS = frozenset({"feeds", "defaults", "http", "politeness", "hosts", "headers"})


def _refuse_nulls(data: Mapping[str, Any], lines: Sequence[str], label: str) -> None:
    """Refuse a key left empty: `body: #artibody` is a key and a YAML comment, never a selector, and a value
    silently missing is how a feed quietly loses its selector. ConfigError names the line and the fix. A written
    `null` or `~` is meant (it clears what `defaults` set) and passes."""
    for who, node, key in _null_keys(data):
        if not _has_lines(node, dict):
            raise _Unsure  # only the round-trip reading knows the line, and so whether the value was written
        line = _line_of(node, key)
        source = lines[line - 1] if 0 < line <= len(lines) else ""
        _head, colon, rest = source.partition(f"{key}:")
        rest = rest.strip()
        if not colon or (rest and not rest.startswith("#")):
            continue  # written out (`null`, `~`), or laid out in a way this line alone does not show
        if rest:
            hint = f"YAML reads '{rest}' as a comment: quote the value, {key}: \"{rest}\""
        else:
            hint = "give it a value or delete the line"
        raise ConfigError(f"{label}:{line}: {who}{key} has no value; {hint}")


def _null_keys(data: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any], str]]:
    """(who, mapping, key) for each key whose value is null, apart from sections, in document order."""
    yield from _nulls_in(data, "")
    feeds = data.get("feeds")
    if isinstance(feeds, list):
        for index, raw in enumerate(feeds):
            if isinstance(raw, Mapping):
                name = raw.get("name")
                yield from _nulls_in(raw, f"feed '{name}': " if isinstance(name, str) else f"feed #{index + 1}: ")


def _nulls_in(node: Mapping[str, Any], who: str, prefix: str = "") -> Iterator[tuple[str, Mapping[str, Any], str]]:
    for key, value in node.items():
        if value is None and key not in _SECTIONS:
            yield f"{who}{prefix}", node, str(key)
        elif isinstance(value, Mapping) and key != "feeds":
            yield from _nulls_in(value, who, f"{prefix}{key}.")


def _check_intervals(data: Mapping[str, Any], top: _File, feeds: Sequence[FeedConfig], label: str) -> None:
    """Refuse a written `interval` outside [min_interval, max_interval]: it would never be honoured, and raising
    or lowering it silently is how `interval: 10s` came to poll every five minutes."""
    defaults = data.get("defaults") or {}
    for raw, feed in zip(data.get("feeds") or (), feeds, strict=True):
        node = raw if "interval" in raw else defaults
        if "interval" not in node:
            continue  # the built-in 30m: min_interval and max_interval apply to it as documented
        written = node["interval"]
        line = _line_of(node, "interval", raw)
        if feed.interval < top.min_interval:
            bound = data.get("min_interval", "5m")
            raise ConfigError(
                f"{label}:{line}: feed '{feed.name}': interval {written} is under min_interval {bound}; "
                f"lower min_interval or raise interval"
            )
        if feed.interval > max(top.max_interval, top.min_interval):
            bound = data.get("max_interval", "24h")
            raise ConfigError(
                f"{label}:{line}: feed '{feed.name}': interval {written} is over max_interval {bound}; "
                f"raise max_interval or lower interval"
            )
