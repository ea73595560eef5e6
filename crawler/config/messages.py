"""One line for each problem pydantic finds in feeds.yaml: the file, the line, the key, and for an unknown key the
key likely meant (did you mean ...?) or the keys allowed at that level."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from difflib import get_close_matches
from typing import Any, get_args

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from crawler.config.settings import FileSettings
from crawler.config.yamlread import has_lines, line_of


def unknown_key(key: str, known: Collection[str], prefix: str = "") -> str:
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


def message(error: ErrorDetails, model: type[BaseModel]) -> str:
    loc = [str(part) for part in error["loc"]]
    key = ".".join(loc) or "value"
    kind = error["type"]
    if kind == "extra_forbidden":
        prefix = "".join(f"{part}." for part in loc[:-1])
        return unknown_key(loc[-1], _keys_at(model, loc[:-1]), prefix)
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


def describe(error: ErrorDetails, data: dict[str, Any], label: str) -> str:
    loc = list(error["loc"])
    node: Any = data
    line = 1
    for part in loc:
        if has_lines(node, dict) and part in node:
            line = line_of(node, str(part), node)
            node = node[part]
        elif has_lines(node, dict):
            line = line_of(node, str(part), node)
            break
        else:
            break
    return f"{label}:{line}: {message(error, FileSettings)}"
