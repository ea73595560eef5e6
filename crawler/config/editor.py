"""The editor behind `crawler feeds add/remove/enable/disable/set/unset/import`: changes feeds.yaml in place.

Every byte the edit does not concern stays as it was: comments, order, blank lines, quoting (the splices are at the
positions crawler.config.yamldoc finds). The edited text is validated with `parse_config` before it is written
(atomically, crawler.config.atomic): an edit that would make the file invalid is refused and the file is left
untouched. Every edit holds the exclusive edit lock (crawler.config.lock) from its read to its write.
"""

from __future__ import annotations

import difflib
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from crawler.config.atomic import write_text_atomic
from crawler.config.load import parse_config
from crawler.config.lock import edit_lock
from crawler.config.settings import FEED_KEYS, NAME_RE, Config, ConfigError
from crawler.config.yamldoc import DocItem, Document, eol_comment, is_comment, key_span, render_key
from crawler.identity.urls import normalize_url

_SLUG_DROP = re.compile(r"[^a-z0-9._-]+")
MAX_NAME = 60


@dataclass(frozen=True)
class NewFeed:
    """A feed to add: the keys an operator gives on the command line or an OPML file provides."""

    name: str
    url: str
    title: str | None = None
    categories: tuple[str, ...] = ()
    author: str | None = None
    site: str | None = None
    body: str | None = None
    content: str | None = None
    render: str | None = None
    interval: str | None = None
    enabled: bool = True


def render_feed(feed: NewFeed, dash_col: int, key_col: int, newline: str = "\n") -> list[str]:
    """The lines of one `feeds:` item, in the file's indentation, values quoted by ruamel where YAML needs it."""
    node = CommentedMap()
    node["name"] = feed.name
    node["url"] = feed.url
    if feed.title:
        node["title"] = feed.title
    if feed.site:
        node["site"] = feed.site
    if feed.categories:
        categories = CommentedSeq(feed.categories)
        categories.fa.set_flow_style()
        node["categories"] = categories
    for key in ("author", "body", "content", "render", "interval"):
        value = getattr(feed, key)
        if value is not None:
            node[key] = value
    if not feed.enabled:
        node["enabled"] = False
    yaml = YAML(typ="rt")
    yaml.width = 4096  # never fold a long title or URL over two lines
    out = io.StringIO()
    yaml.dump(node, out)
    body = out.getvalue().splitlines()
    first = " " * dash_col + "-" + " " * (key_col - dash_col - 1) + body[0]
    return [first + newline, *(" " * key_col + line + newline for line in body[1:])]


def add_feeds(path: Path, feeds: Sequence[NewFeed], *, check_only: bool = False) -> Config:
    """Append `feeds` to the end of the `feeds:` list; refuse (ConfigError) a duplicate name or URL (once
    normalised) or an invalid result. `check_only` refuses the same, and writes nothing."""
    with edit_lock(path):
        doc = _open(path)
        taken = {item.name: item for item in doc.items if item.name}
        urls = {normalize_url(str(item.node["url"])): item for item in doc.items if item.node.get("url")}
        adding: dict[str, str] = {}  # normalised URL -> name, of the feeds this edit adds
        for feed in feeds:
            if feed.name in taken:
                line = taken[feed.name].dash_line + 1
                raise ConfigError(f"{path.name}:{line}: a feed named '{feed.name}' already exists")
            key = normalize_url(feed.url)
            holder = urls.get(key)
            if holder is not None:
                line = holder.dash_line + 1
                raise ConfigError(f"{path.name}:{line}: {feed.url} is already the URL of feed '{holder.name}'")
            if key in adding:
                raise ConfigError(
                    f"{path.name}: {feed.url} is the URL of two new feeds, '{adding[key]}' and '{feed.name}'"
                )
            adding[key] = feed.name
        lines = list(doc.lines)
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += doc.newline
        if doc.items:
            last = doc.items[-1]
            at, dash_col, key_col = last.end, last.dash_col, last.key_col
        else:
            at, dash_col = _open_feeds_list(doc, lines)
            key_col = dash_col + 2
        block: list[str] = []
        for number, feed in enumerate(feeds):
            if doc.separated() or (number and not doc.items):
                block.append(doc.newline)
            block += render_feed(feed, dash_col, key_col, doc.newline)
        lines[at:at] = block
        return _commit(doc, "".join(lines), write=not check_only)


def _open_feeds_list(doc: Document, lines: list[str]) -> tuple[int, int]:
    """Where the first feed goes in a file whose `feeds:` list is empty or missing: (line, dash column)."""
    if "feeds" not in doc.data:
        lines.append("feeds:" + doc.newline)
        return len(lines), 2
    line, col = (int(part) for part in doc.data.lc.value("feeds"))
    key_line, key_col = (int(part) for part in doc.data.lc.key("feeds"))
    if doc.feeds is not None:  # `feeds: []`: drop the brackets, the items go below
        text = lines[line]
        if text[col : col + 2] != "[]":
            raise ConfigError(f"{doc.path.name}:{line + 1}: `feeds:` has an unusual layout; edit it by hand")
        lines[line] = text[:col].rstrip() + text[col + 2 :]
    return key_line + 1, key_col + 2


def remove_feed(path: Path, name: str) -> Config:
    """Delete feed `name` with the comment above it; refuse (ConfigError) when that would make the file invalid."""
    with edit_lock(path):
        doc = _open(path)
        item = doc.find(name)
        lines = list(doc.lines)
        del lines[doc.leading_start(item) : item.end]
        return _commit(doc, "".join(lines))


def set_enabled(path: Path, name: str, enabled: bool) -> bool:
    """Set feed `name`'s `enabled:`; return False when it already was (the file is then left alone)."""
    with edit_lock(path):
        doc = _open(path)
        current = parse_config(doc.text, path).feed(name)
        item = doc.find(name)
        if current is not None and current.enabled == enabled:
            return False
        lines = list(doc.lines)
        word = "true" if enabled else "false"
        if "enabled" in item.node:
            line, col = (int(part) for part in item.node.lc.value("enabled"))
            match = re.compile(r"[^\s#,}]+").match(lines[line], col)
            if match is None:
                raise ConfigError(f"{path.name}:{line + 1}: feed '{name}': cannot find the value of `enabled:`")
            lines[line] = lines[line][: match.start()] + word + lines[line][match.end() :]
        else:
            lines.insert(item.end, " " * item.key_col + f"enabled: {word}" + doc.newline)
        _commit(doc, "".join(lines))
        return True


def _commit(doc: Document, text: str, write: bool = True) -> Config:
    try:
        config = parse_config(text, doc.path)
    except ConfigError as exc:
        raise ConfigError(f"refusing the edit, it would make the file invalid: {exc}") from None
    if write:
        write_text_atomic(doc.path, text)
    return config


def slugify(text: str) -> str:
    """A feed name from a title: lowercase ASCII letters, digits, '.', '_' and '-' (may be empty)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    slug = _SLUG_DROP.sub("-", ascii_text)
    slug = re.sub(r"-{2,}", "-", slug).strip("-._")
    return slug[:MAX_NAME].rstrip("-._")


def derive_name(title: str | None, url: str, taken: Iterable[str]) -> str:
    """A unique feed name: the slugified title, else the URL's host and path; `-2`, `-3` ... when taken."""
    used = set(taken)
    base = slugify(title or "")
    if not base:
        parts = urlsplit(url)
        host = (parts.hostname or "").removeprefix("www.")
        base = slugify(f"{host}-{parts.path.rsplit('.', 1)[0]}") or "feed"
    if not NAME_RE.match(base):
        base = f"feed-{base}".strip("-")
    name, number = base, 2
    while name in used:
        suffix = f"-{number}"
        name = base[: MAX_NAME - len(suffix)] + suffix
        number += 1
    return name


def _open(path: Path) -> Document:
    """feeds.yaml at `path` with its feeds' positions, once require_file has found it."""
    require_file(path)
    return Document(path)


def require_file(path: Path) -> None:
    """ConfigError, pointing at `crawler init`, when there is no feeds file at `path` to edit."""
    if not path.exists() and not path.is_symlink():
        raise ConfigError(f"{path}: no such file here: run `crawler init` first (or pass --config PATH)")


def feed_with_url(config: Config, url: str) -> str | None:
    """The name of the feed whose URL is `url` once both are normalised (urls.normalize_url), or None."""
    key = normalize_url(url)
    return next((feed.name for feed in config.feeds if normalize_url(feed.url) == key), None)


def parse_value(text: str) -> object:
    """A value typed on the command line, read as YAML (`[a, b]` a list, `true` a boolean, `30m` a string); text
    that YAML reads as nothing but is not a null (`#main`, which YAML takes for a comment) stays the string typed."""
    try:
        value = YAML(typ="safe").load(io.StringIO(text))
    except Exception:  # ruamel raises several unrelated types for broken input
        raise ConfigError(f"'{text}' is not a YAML value (quote it, or write a list as [a, b])") from None
    if value is None and text.strip() not in _NULLS:
        return text
    return value


_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_SETTABLE = FEED_KEYS - {"name"}


def _check_key(path: Path, name: str, key: str) -> None:
    if key == "name":
        raise ConfigError(
            f"{path.name}: feed '{name}': its name cannot be changed here (the state database knows the feed by it)"
        )
    if key not in _SETTABLE:
        close = difflib.get_close_matches(key, sorted(_SETTABLE), n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise ConfigError(
            f"{path.name}: feed '{name}': unknown key '{key}' ({hint}known keys: {', '.join(sorted(_SETTABLE))})"
        )


def set_key(path: Path, name: str, key: str, value: object) -> Config:
    """Set feed `name`'s `key` to `value`, replacing its old value (an end-of-line comment on a one-line value is
    kept) or adding the key at the end of the feed; refuse (ConfigError) an unknown key or an invalid result."""
    _check_key(path, name, key)
    with edit_lock(path):
        doc = _open(path)
        item = _editable(doc, name)
        if key == "url" and isinstance(value, str):
            _refuse_taken_url(doc, item, value)
        rendered = render_key(key, value)
        lines = list(doc.lines)
        if key in item.node:
            start, end = key_span(doc, item, key)
            prefix = lines[start][: int(item.node.lc.key(key)[1])]
            first = prefix + rendered[0]
            if end - start == 1:
                first += eol_comment(item.node, key, len(first))
            body = [first, *(" " * len(prefix) + line for line in rendered[1:])]
            lines[start:end] = [line + doc.newline for line in body]
        else:
            lines[item.end : item.end] = [" " * item.key_col + line + doc.newline for line in rendered]
        return _commit(doc, "".join(lines))


def unset_key(path: Path, name: str, key: str) -> bool:
    """Remove feed `name`'s `key` (so the default applies); False when the feed has no such key (file untouched)."""
    _check_key(path, name, key)
    with edit_lock(path):
        doc = _open(path)
        item = _editable(doc, name)
        if key not in item.node:
            return False
        start, end = key_span(doc, item, key)
        while start - 1 > item.dash_line and is_comment(doc.lines[start - 1]):
            start -= 1  # the comment above the key speaks of it: it goes with it
        if start == item.dash_line:
            raise ConfigError(
                f"{path.name}:{start + 1}: feed '{name}': `{key}:` is on the feed's first line; edit by hand"
            )
        lines = list(doc.lines)
        del lines[start:end]
        _commit(doc, "".join(lines))
        return True


def _refuse_taken_url(doc: Document, item: DocItem, url: str) -> None:
    wanted = normalize_url(url)
    for other in doc.items:
        if other is not item and other.node.get("url") and normalize_url(str(other.node["url"])) == wanted:
            raise ConfigError(f"{doc.path.name}:{other.dash_line + 1}: {url} is already the URL of feed '{other.name}'")


def _editable(doc: Document, name: str) -> DocItem:
    item = doc.find(name)
    if item.node.fa.flow_style():
        raise ConfigError(f"{doc.path.name}:{item.dash_line + 1}: feed '{name}' is written in flow style; edit by hand")
    return item
