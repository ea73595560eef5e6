"""The two readings of feeds.yaml's YAML: libyaml's fast one where it cannot differ from YAML 1.2, else ruamel's
round trip, which knows each key's line; and the look-ups of those lines for the one-line reports."""

from __future__ import annotations

import io
import re
from typing import Any

import yaml

from crawler.config.settings import ConfigError

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


class Unsure(Exception):
    """The fast reading of feeds.yaml could differ from the round-trip one here."""


class _FastLoader(yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader):  # type: ignore[misc]
    """libyaml with plain dicts: about 15 times faster than the round trip and a fraction of its memory, which
    counts with ten thousand feeds; raises Unsure where its YAML 1.1 reading might differ."""


def _checked(tag: str, pattern: re.Pattern[str]) -> None:
    plain = _FastLoader.yaml_constructors[tag]

    def construct(loader: _FastLoader, node: yaml.ScalarNode) -> object:
        if not pattern.match(node.value):
            raise Unsure
        return plain(loader, node)

    _FastLoader.add_constructor(tag, construct)


def _string(loader: _FastLoader, node: yaml.ScalarNode) -> str:
    if not node.style and _NUMBER_12_RE.match(node.value):  # plain: None in PyYAML, "" in libyaml
        raise Unsure
    return str(loader.construct_scalar(node))


for _tag, _pattern in (("null", _PLAIN_NULL_RE), ("bool", _PLAIN_BOOL_RE), ("int", _PLAIN_INT_RE)):
    _checked(f"tag:yaml.org,2002:{_tag}", _pattern)
_checked("tag:yaml.org,2002:float", _PLAIN_FLOAT_RE)
_checked("tag:yaml.org,2002:timestamp", re.compile(r"(?!)"))
_FastLoader.add_constructor("tag:yaml.org,2002:str", _string)
# The scalars the fast reading knows: every other tag (binary, the value and merge keys...) takes the round trip.
_SCALARS = {
    f"tag:yaml.org,2002:{name}": _FastLoader.yaml_constructors[f"tag:yaml.org,2002:{name}"]
    for name in ("null", "bool", "int", "float", "timestamp", "str")
}


def read_yaml_fast(text: str) -> object:
    """The file read by libyaml, or None when that reading could differ from the round trip's (or fails)."""
    if _FAST_UNSAFE_RE.search(text):
        return None
    loader = _FastLoader(text)
    try:
        return _Builder(loader).stream()
    except (Unsure, yaml.YAMLError, ValueError, TypeError, RecursionError):
        return None
    finally:
        loader.dispose()


class _Builder:
    """Builds the document's values straight from libyaml's events, as PyYAML's composer and constructor would
    from its node graph, but without that graph: composing a hundred thousand feeds' nodes (with their marks) first
    tripled the reading's peak memory, and the freed graph, interleaved with the strings and dicts that live on,
    left the process that much larger for good."""

    def __init__(self, loader: _FastLoader) -> None:
        self.loader = loader
        self.anchors: dict[str, object] = {}

    def stream(self) -> object:
        loader = self.loader
        loader.get_event()  # StreamStart
        data: object = None
        if not loader.check_event(yaml.StreamEndEvent):
            loader.get_event()  # DocumentStart
            data = self.value(loader.get_event())
            loader.get_event()  # DocumentEnd
        if not loader.check_event(yaml.StreamEndEvent):  # PyYAML refuses a second document
            raise Unsure
        return data

    def value(self, event: yaml.Event) -> object:
        if isinstance(event, yaml.AliasEvent):
            if event.anchor not in self.anchors:
                raise Unsure
            return self.anchors[event.anchor]
        if isinstance(event, yaml.ScalarEvent):
            result = self.scalar(event)
        elif isinstance(event, yaml.SequenceStartEvent):
            result = self.sequence(event)
        elif isinstance(event, yaml.MappingStartEvent):
            result = self.mapping(event)
        else:
            raise Unsure
        return result

    def anchor(self, event: yaml.NodeEvent, value: object) -> None:
        if event.anchor is not None:
            if event.anchor in self.anchors:  # PyYAML refuses a second anchor of the same name
                raise Unsure
            self.anchors[event.anchor] = value

    def scalar(self, event: yaml.ScalarEvent) -> object:
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.loader.resolve(yaml.ScalarNode, event.value, event.implicit)
        construct = _SCALARS.get(tag)
        if construct is None:  # the value, merge and other tags that plain dicts do not mean the same by
            raise Unsure
        node = yaml.ScalarNode(tag, event.value, style=event.style)  # no marks: a failure here only gives up
        value = construct(self.loader, node)
        self.anchor(event, value)
        return value

    def sequence(self, event: yaml.SequenceStartEvent) -> list[object]:
        items: list[object] = []
        self.anchor(event, items)
        loader = self.loader
        while not loader.check_event(yaml.SequenceEndEvent):
            items.append(self.value(loader.get_event()))
        loader.get_event()
        return items

    def mapping(self, event: yaml.MappingStartEvent) -> dict[Any, Any]:
        mapping: dict[Any, Any] = {}
        self.anchor(event, mapping)
        loader = self.loader
        spellings: set[str] = set()
        while not loader.check_event(yaml.MappingEndEvent):
            key_event = loader.get_event()
            key = self.value(key_event)
            spelling = key_event.value if isinstance(key_event, yaml.ScalarEvent) else None
            # The round trip refuses duplicate keys, where libyaml keeps the last; so do a key that is no string or
            # number and two spellings of one key (`~` and `null`).
            if not isinstance(key, str | int | float | bool | None) or key in mapping or spelling in spellings:
                raise Unsure
            if spelling is not None:
                spellings.add(spelling)
            mapping[key] = self.value(loader.get_event())
        loader.get_event()
        return mapping


def read_yaml(text: str, label: str) -> object:
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


def has_lines(node: object, kind: type) -> bool:
    # Only the round-trip reader's mappings and lists (CommentedMap, CommentedSeq) know their lines; testing for
    # that without naming them keeps ruamel unimported when the fast reading succeeds.
    return isinstance(node, kind) and hasattr(node, "lc")


def line_of(node: Any, key: str, fallback: Any = None) -> int:
    """1-based line of `key` in a round-trip mapping (or else in `fallback`), else the mapping's own line."""
    for candidate in (node, fallback):
        if has_lines(candidate, dict):
            if key in candidate:
                return int(candidate.lc.key(key)[0]) + 1
            return int(candidate.lc.line) + 1
    return 1


def item_line(seq: Any, index: int) -> int:
    if has_lines(seq, list):
        try:
            return int(seq.lc.item(index)[0]) + 1
        except (KeyError, TypeError, IndexError):
            return int(seq.lc.line) + 1
    return 1
