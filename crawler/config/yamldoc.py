"""feeds.yaml as lines with the positions of its feeds and their keys, for the editor's splices
(crawler.config.editor), and the YAML text of one key, as ruamel writes it.

ruamel.yaml's round-trip loader tells where each feed starts and where its keys and values are; the editor splices
lines at those places rather than re-dumping the whole document, because a re-dump moves comments: ruamel attaches
the comment above a feed to the previous feed's last key (or to the list, depending on that value's style), so
deleting a feed from the loaded document drops or shifts its neighbour's comment.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from crawler.config.load import parse_config, read_config_bytes
from crawler.config.settings import ConfigError


@dataclass(frozen=True)
class DocItem:
    """Where one feed of the `feeds:` list sits in the file (0-based line numbers)."""

    index: int
    name: str | None
    node: CommentedMap
    dash_line: int
    dash_col: int
    key_col: int
    end: int  # one past its last line of content


class Document:
    """feeds.yaml as lines, with the positions of its feeds."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            text = read_config_bytes(path).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{path}: cannot read the config file: {exc}") from None
        self.text = text
        self.newline = "\r\n" if "\r\n" in text else "\n"
        self.lines = text.splitlines(keepends=True)
        data = load_positions(text, path.name)
        if data is not None and not isinstance(data, CommentedMap):
            raise ConfigError(f"{path.name}:1: the file must be a mapping with a `feeds:` list")
        self.data: CommentedMap = data if data is not None else CommentedMap()
        feeds = self.data.get("feeds")
        if feeds is not None and not isinstance(feeds, CommentedSeq):
            line = int(self.data.lc.key("feeds")[0]) + 1
            raise ConfigError(f"{path.name}:{line}: `feeds:` must be a list")
        self.feeds: CommentedSeq | None = feeds
        if feeds is not None and len(feeds) and feeds.fa.flow_style():
            line = int(self.data.lc.key("feeds")[0]) + 1
            raise ConfigError(f"{path.name}:{line}: `feeds:` is written in flow style [...]; edit it by hand")
        self.items = [self._item(index) for index in range(len(feeds or ()))]

    def _item(self, index: int) -> DocItem:
        assert self.feeds is not None
        node = self.feeds[index]
        if not isinstance(node, CommentedMap):
            line = int(self.feeds.lc.item(index)[0]) + 1
            raise ConfigError(f"{self.path.name}:{line}: feed #{index + 1}: must be a mapping with name and url")
        line, key_col = (int(part) for part in self.feeds.lc.item(index))
        before = self.lines[line][:key_col].rstrip()
        if not before.endswith("-"):
            raise ConfigError(f"{self.path.name}:{line + 1}: feed #{index + 1}: unusual layout; edit it by hand")
        dash_col = len(before) - 1
        limit = int(self.feeds.lc.item(index + 1)[0]) if index + 1 < len(self.feeds) else len(self.lines)
        end = line + 1
        for number in range(line + 1, limit):
            text = self.lines[number]
            if is_blank_or_comment(text):
                continue
            if indent(text) <= dash_col:
                break
            end = number + 1
        name = node.get("name")
        return DocItem(index, name if isinstance(name, str) else None, node, line, dash_col, key_col, end)

    def find(self, name: str) -> DocItem:
        for item in self.items:
            if item.name == name:
                return item
        known = ", ".join(item.name or f"#{item.index + 1}" for item in self.items) or "none"
        raise ConfigError(f"{self.path.name}: no feed named '{name}' (feeds: {known})")

    def leading_start(self, item: DocItem) -> int:
        """First line of the comment (and the blank lines above it) that belongs to `item`."""
        floor = self.items[item.index - 1].end if item.index > 0 else int(self.data.lc.key("feeds")[0]) + 1
        start = item.dash_line
        while start > floor and is_comment(self.lines[start - 1]):
            start -= 1
        while start > floor and not self.lines[start - 1].strip():
            start -= 1
        return start

    def separated(self) -> bool:
        """Whether the feeds are separated by blank lines (so a new one should be too)."""
        return any(not self.lines[self.leading_start(item)].strip() for item in self.items[1:])


def load_positions(text: str, label: str) -> Any:
    # parse_config reports YAML errors with their line; reuse it for the message, ruamel for the positions.
    try:
        return YAML(typ="rt").load(io.StringIO(text))
    except Exception:  # ruamel raises several unrelated types for broken input
        parse_config(text, Path(label))
        raise ConfigError(f"{label}:1: invalid YAML") from None


def is_blank_or_comment(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def is_comment(line: str) -> bool:
    return line.strip().startswith("#")


def indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def key_span(doc: Document, item: DocItem, key: str) -> tuple[int, int]:
    """Lines [start, end) of `key: value` in the feed: from the key's line to the next key (or the feed's end),
    less the blank and comment lines before that next key (they belong to it)."""
    start = int(item.node.lc.key(key)[0])
    later = [int(item.node.lc.key(other)[0]) for other in item.node if int(item.node.lc.key(other)[0]) > start]
    end = min(later) if later else item.end
    while end > start + 1 and is_blank_or_comment(doc.lines[end - 1]):
        end -= 1
    return start, end


def eol_comment(node: CommentedMap, key: str, width: int) -> str:
    """The comment after a one-line value (`interval: 30m  # half an hour`), at its old column where the new line
    leaves room (else two spaces after it), for a line `width` characters long; '' when there is none."""
    tokens = node.ca.items.get(key)
    token = tokens[2] if tokens and len(tokens) > 2 else None
    text = getattr(token, "value", None)
    if not isinstance(text, str) or not text.startswith("#"):
        return ""
    column = int(getattr(token, "column", 0))
    return " " * max(column - width, 2) + text.split("\n", 1)[0].rstrip()


def render_key(key: str, value: object) -> list[str]:
    """`key: value` as YAML lines at column 0, lists in flow style (`categories: [a, b]`), never folded."""
    node = CommentedMap()
    if isinstance(value, list):
        seq = CommentedSeq(value)
        seq.fa.set_flow_style()
        node[key] = seq
    else:
        node[key] = value
    yaml = YAML(typ="rt")
    yaml.width = 4096
    out = io.StringIO()
    yaml.dump(node, out)
    return out.getvalue().splitlines()
