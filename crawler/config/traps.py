"""The traps of feeds.yaml that validate but do not mean what they say, refused with the fix in one line: a key
left empty (`body: #artibody` is a key and a comment) and an interval outside [min_interval, max_interval]."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from crawler.config.settings import ConfigError, FeedConfig, FileSettings
from crawler.config.yamlread import Unsure, has_lines, line_of

# Keys whose value is a section of further keys: left empty, they mean "nothing here" or are refused by the model.
_SECTIONS = frozenset({"feeds", "defaults", "http", "politeness", "hosts", "headers"})


def refuse_nulls(data: Mapping[str, Any], lines: Sequence[str], label: str) -> None:
    """Refuse a key left empty: `body: #artibody` is a key and a YAML comment, never a selector, and a value
    silently missing is how a feed quietly loses its selector. ConfigError names the line and the fix. A written
    `null` or `~` is meant (it clears what `defaults` set) and passes."""
    for who, node, key in _null_keys(data):
        if not has_lines(node, dict):
            raise Unsure  # only the round-trip reading knows the line, and so whether the value was written
        line = line_of(node, key)
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


def check_intervals(data: Mapping[str, Any], top: FileSettings, feeds: Sequence[FeedConfig], label: str) -> None:
    """Refuse a written `interval` outside [min_interval, max_interval]: it would never be honoured, and raising
    or lowering it silently is how `interval: 10s` came to poll every five minutes."""
    defaults = data.get("defaults") or {}
    for raw, feed in zip(data.get("feeds") or (), feeds, strict=True):
        node = raw if "interval" in raw else defaults
        if "interval" not in node:
            continue  # the built-in 30m: min_interval and max_interval apply to it as documented
        written = node["interval"]
        line = line_of(node, "interval", raw)
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
