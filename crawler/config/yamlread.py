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

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        keys = [key.value for key, _value in node.value if isinstance(key, yaml.ScalarNode)]
        if len(keys) != len(set(keys)):  # the round trip refuses duplicate keys; libyaml keeps the last
            raise Unsure
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping


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


def read_yaml_fast(text: str) -> object:
    """The file read by libyaml, or None when that reading could differ from the round trip's (or fails)."""
    if _FAST_UNSAFE_RE.search(text):
        return None
    try:
        return yaml.load(text, Loader=_FastLoader)
    except (Unsure, yaml.YAMLError, ValueError, TypeError):
        return None


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
