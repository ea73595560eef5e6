"""feeds.yaml -> validated, frozen settings (crawler.config.settings).

Every error names the file, the line and the feed, in one line an operator can act on:

    feeds.yaml:14: feed 'sina-finance': interval 'ten minutes' is not a duration like 10m
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from crawler.config.messages import describe, message, unknown_key
from crawler.config.settings import (
    DEFAULT_KEYS,
    DEFAULT_STATE,
    Config,
    ConfigError,
    FeedConfig,
    FeedShapes,
    FileSettings,
    is_database_url,
)
from crawler.config.traps import check_intervals, refuse_nulls
from crawler.config.yamlread import Unsure, item_line, line_of, read_yaml, read_yaml_fast


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
    fast = read_yaml_fast(text)
    if isinstance(fast, dict):
        try:
            return _build_config(fast, path, text)
        except (ConfigError, Unsure):
            pass  # the round-trip reading below finds the same problem and knows its line
    return _build_config(read_yaml(text, path.name), path, text)


def _build_config(data: object, path: Path, text: str) -> Config:
    label = path.name
    if data is None:
        data = {}
    # A plain dict only comes from the fast reading; errors are reported from the round-trip one.
    if not isinstance(data, dict):
        raise ConfigError(f"{label}:1: the file must be a mapping with a `feeds:` list")
    refuse_nulls(data, text.splitlines(), label)
    try:
        top = FileSettings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe(exc.errors()[0], data, label)) from None
    feeds = _validate_feeds(data, top.defaults, label)
    check_intervals(data, top, feeds, label)
    base = path.parent
    return Config(
        path=path,
        archive=(base / top.archive),
        state=(base / (DEFAULT_STATE if is_database_url(top.state) else top.state)),
        state_url=top.state if is_database_url(top.state) else None,
        lease=top.lease,
        archive_timezone=top.archive_timezone,
        allow_private_addresses=top.allow_private_addresses,
        min_interval=top.min_interval,
        max_interval=top.max_interval,
        workers=top.workers,
        http=top.http,
        politeness=top.politeness,
        feeds=feeds,
        warc=top.warc,
        assets=top.assets,
    )


def _validate_feeds(data: dict[str, Any], defaults: Mapping[str, Any], label: str) -> tuple[FeedConfig, ...]:
    unknown = [key for key in defaults if key not in DEFAULT_KEYS]
    if unknown:
        where = line_of(data.get("defaults"), unknown[0], data)
        raise ConfigError(f"{label}:{where}: defaults: {unknown_key(str(unknown[0]), DEFAULT_KEYS)}")
    raw_feeds = data.get("feeds") or ()
    seen: dict[str, int] = {}
    feeds: list[FeedConfig] = []
    shapes = FeedShapes()
    for index, raw in enumerate(raw_feeds):
        first_line = item_line(raw_feeds, index)
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{label}:{first_line}: feed #{index + 1}: must be a mapping with name and url")
        name = raw.get("name")
        who = f"feed '{name}'" if isinstance(name, str) else f"feed #{index + 1}"
        try:
            feed = FeedConfig.model_validate({**defaults, **raw})
        except ValidationError as exc:
            error = exc.errors()[0]
            key = str(error["loc"][0]) if error["loc"] else ""
            node: Any = raw if key in raw or error["type"] == "missing" else data.get("defaults")
            line = line_of(node, key, raw) if node is not None else first_line
            raise ConfigError(f"{label}:{line}: {who}: {message(error, FeedConfig)}") from None
        if feed.name in seen:
            line = line_of(raw, "name", raw)
            raise ConfigError(
                f"{label}:{line}: {who}: duplicate name '{feed.name}' (first used on line {seen[feed.name]})"
            )
        seen[feed.name] = line_of(raw, "name", raw)
        feeds.append(shapes.compact(feed))
    return tuple(feeds)
