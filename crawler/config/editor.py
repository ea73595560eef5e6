"""The editor behind `crawler feeds add/remove/enable/disable/import`: changes feeds.yaml in place.

Every byte the edit does not concern stays as it was: comments, order, blank lines, quoting. ruamel.yaml's
round-trip loader tells where each feed starts and where its keys and values are; the edit splices lines at those
places rather than re-dumping the whole document, because a re-dump moves comments: ruamel attaches the comment
above a feed to the previous feed's last key (or to the list, depending on that value's style), so deleting a
feed from the loaded document drops or shifts its neighbour's comment. New feeds are rendered by ruamel in the
file's own indentation. The edited text is validated with `config.parse_config` before it is written (atomically):
an edit that would make the file invalid is refused and the file is left untouched.

Every edit holds an exclusive lock (`edit_lock`) from its read to its write, so two `crawler feeds` commands at once
cannot both read the old file and have the second write drop the first's change.
"""

from __future__ import annotations

import contextlib
import difflib
import io
import os
import re
import sys
import time
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from crawler.config.settings import FEED_KEYS, NAME_RE, Config, ConfigError, parse_config, read_config_bytes
from crawler.identity.urls import normalize_url

if sys.platform != "win32":
    import fcntl

_SLUG_DROP = re.compile(r"[^a-z0-9._-]+")
MAX_NAME = 60
LOCK_TIMEOUT = 30.0  # seconds an edit waits for another one to finish before giving up
_LOCK_POLL = 0.05
_held: dict[Path, int] = {}  # lock files this process holds, with their depth, so nested edit_lock()s do not wait on
# themselves (flock locks belong to an open file, so a second open in the same process would block on the first)


def lock_path(path: Path) -> Path:
    """The lock file of the feeds file at `path`: `.feeds.yaml.lock` beside it."""
    return path.with_name(f".{path.name}.lock")


@contextlib.contextmanager
def edit_lock(path: Path, timeout: float | None = None) -> Iterator[None]:
    """Hold the exclusive edit lock of the feeds file at `path`, waiting up to `timeout` (LOCK_TIMEOUT) seconds.

    The lock is taken on a separate file, never on feeds.yaml itself: an edit replaces feeds.yaml by renaming a new
    file over it, so a lock on feeds.yaml would stay with the old inode, and a command that opened the file after the
    rename would lock the new inode and run alongside one still waiting on the old. The lock file is never replaced
    or removed (removing it reopens that race), so every command locks the same inode. It is advisory: it orders the
    `crawler feeds` commands among themselves; the daemon only reads, and the atomic rename already keeps it from
    seeing a half-written file. Re-entrant within one process.
    """
    if sys.platform == "win32":  # no fcntl; the crawler targets Linux and macOS, so edits are unlocked there
        yield
        return
    if not path.exists():  # the edit fails on reading it, and creates no file a lock would have to order
        yield
        return
    lock = lock_path(path).absolute()
    if lock in _held:
        _held[lock] += 1
        try:
            yield
        finally:
            _held[lock] -= 1
        return
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot open the lock file {lock.name}: {exc.strerror or exc}") from None
    try:
        _acquire(fd, path, lock, LOCK_TIMEOUT if timeout is None else timeout)
        _held[lock] = 1
        try:
            yield
        finally:
            del _held[lock]
    finally:
        os.close(fd)  # closing the file releases the lock


def _acquire(fd: int, path: Path, lock: Path, timeout: float) -> None:
    if sys.platform == "win32":
        return
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass  # another command is editing the file: wait, within the deadline
        except OSError as exc:
            raise ConfigError(f"{path}: cannot lock {lock.name}: {exc.strerror or exc}") from None
        if time.monotonic() >= deadline:
            raise ConfigError(
                f"{path}: waited {timeout:g} s for another `crawler feeds` command to finish editing it "
                f"(it holds {lock.name}); try again when it has finished"
            )
        time.sleep(_LOCK_POLL)


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


@dataclass(frozen=True)
class _Item:
    """Where one feed of the `feeds:` list sits in the file (0-based line numbers)."""

    index: int
    name: str | None
    node: CommentedMap
    dash_line: int
    dash_col: int
    key_col: int
    end: int  # one past its last line of content


class _Document:
    """feeds.yaml as lines, with the positions of its feeds."""

    def __init__(self, path: Path) -> None:
        self.path = path
        require_file(path)
        try:
            text = read_config_bytes(path).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{path}: cannot read the config file: {exc}") from None
        self.text = text
        self.newline = "\r\n" if "\r\n" in text else "\n"
        self.lines = text.splitlines(keepends=True)
        data = _load(text, path.name)
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

    def _item(self, index: int) -> _Item:
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
            if _is_blank_or_comment(text):
                continue
            if _indent(text) <= dash_col:
                break
            end = number + 1
        name = node.get("name")
        return _Item(index, name if isinstance(name, str) else None, node, line, dash_col, key_col, end)

    def find(self, name: str) -> _Item:
        for item in self.items:
            if item.name == name:
                return item
        known = ", ".join(item.name or f"#{item.index + 1}" for item in self.items) or "none"
        raise ConfigError(f"{self.path.name}: no feed named '{name}' (feeds: {known})")

    def leading_start(self, item: _Item) -> int:
        """First line of the comment (and the blank lines above it) that belongs to `item`."""
        floor = self.items[item.index - 1].end if item.index > 0 else int(self.data.lc.key("feeds")[0]) + 1
        start = item.dash_line
        while start > floor and _is_comment(self.lines[start - 1]):
            start -= 1
        while start > floor and not self.lines[start - 1].strip():
            start -= 1
        return start

    def separated(self) -> bool:
        """Whether the feeds are separated by blank lines (so a new one should be too)."""
        return any(not self.lines[self.leading_start(item)].strip() for item in self.items[1:])


def _load(text: str, label: str) -> Any:
    # parse_config reports YAML errors with their line; reuse it for the message, ruamel for the positions.
    try:
        return YAML(typ="rt").load(io.StringIO(text))
    except Exception:  # ruamel raises several unrelated types for broken input
        parse_config(text, Path(label))
        raise ConfigError(f"{label}:1: invalid YAML") from None


def _is_blank_or_comment(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _is_comment(line: str) -> bool:
    return line.strip().startswith("#")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


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
        doc = _Document(path)
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


def _open_feeds_list(doc: _Document, lines: list[str]) -> tuple[int, int]:
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
        doc = _Document(path)
        item = doc.find(name)
        lines = list(doc.lines)
        del lines[doc.leading_start(item) : item.end]
        return _commit(doc, "".join(lines))


def set_enabled(path: Path, name: str, enabled: bool) -> bool:
    """Set feed `name`'s `enabled:`; return False when it already was (the file is then left alone)."""
    with edit_lock(path):
        doc = _Document(path)
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


def _commit(doc: _Document, text: str, write: bool = True) -> Config:
    try:
        config = parse_config(text, doc.path)
    except ConfigError as exc:
        raise ConfigError(f"refusing the edit, it would make the file invalid: {exc}") from None
    if write:
        write_text_atomic(doc.path, text)
    return config


def write_text_atomic(path: Path, text: str) -> None:
    """Replace the file at `path` with `text` so that a reader (or a crash) sees either the old file or the new one.
    A symlink is written through (the link stays a link, its target gets the text); the file keeps its mode, owner
    and group, or the edit is refused."""
    target = Path(os.path.realpath(path))
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        try:
            before: os.stat_result | None = os.stat(target)
        except FileNotFoundError:
            before = None
        with open(temp, "wb") as handle:
            handle.write(text.encode("utf-8"))
            handle.flush()
            if before is not None:
                _keep_owner_and_mode(path, handle.fileno(), before)
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            temp.unlink()
        if isinstance(exc, OSError):
            raise ConfigError(f"{path}: cannot write the config file: {exc.strerror or exc}") from None
        raise


def _keep_owner_and_mode(path: Path, fd: int, before: os.stat_result) -> None:
    """Give the new file (open at `fd`) the owner, group and mode the old one had."""
    now = os.fstat(fd)
    if (now.st_uid, now.st_gid) != (before.st_uid, before.st_gid):
        try:
            os.fchown(fd, before.st_uid, before.st_gid)
        except PermissionError:
            # Written under our own name, the file would change hands (and a 0640 file its readers) unnoticed.
            raise ConfigError(
                f"{path}: cannot keep its owner and group {before.st_uid}:{before.st_gid}; edit it as that user "
                "or as root"
            ) from None
    os.fchmod(fd, before.st_mode & 0o7777)  # after the chown, which clears set-id bits


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
        doc = _Document(path)
        item = _editable(doc, name)
        if key == "url" and isinstance(value, str):
            _refuse_taken_url(doc, item, value)
        rendered = _render_key(key, value)
        lines = list(doc.lines)
        if key in item.node:
            start, end = _key_span(doc, item, key)
            prefix = lines[start][: int(item.node.lc.key(key)[1])]
            first = prefix + rendered[0]
            if end - start == 1:
                first += _eol_comment(item.node, key, len(first))
            body = [first, *(" " * len(prefix) + line for line in rendered[1:])]
            lines[start:end] = [line + doc.newline for line in body]
        else:
            lines[item.end : item.end] = [" " * item.key_col + line + doc.newline for line in rendered]
        return _commit(doc, "".join(lines))


def unset_key(path: Path, name: str, key: str) -> bool:
    """Remove feed `name`'s `key` (so the default applies); False when the feed has no such key (file untouched)."""
    _check_key(path, name, key)
    with edit_lock(path):
        doc = _Document(path)
        item = _editable(doc, name)
        if key not in item.node:
            return False
        start, end = _key_span(doc, item, key)
        while start - 1 > item.dash_line and _is_comment(doc.lines[start - 1]):
            start -= 1  # the comment above the key speaks of it: it goes with it
        if start == item.dash_line:
            raise ConfigError(
                f"{path.name}:{start + 1}: feed '{name}': `{key}:` is on the feed's first line; edit by hand"
            )
        lines = list(doc.lines)
        del lines[start:end]
        _commit(doc, "".join(lines))
        return True


def _refuse_taken_url(doc: _Document, item: _Item, url: str) -> None:
    wanted = normalize_url(url)
    for other in doc.items:
        if other is not item and other.node.get("url") and normalize_url(str(other.node["url"])) == wanted:
            raise ConfigError(f"{doc.path.name}:{other.dash_line + 1}: {url} is already the URL of feed '{other.name}'")


def _editable(doc: _Document, name: str) -> _Item:
    item = doc.find(name)
    if item.node.fa.flow_style():
        raise ConfigError(f"{doc.path.name}:{item.dash_line + 1}: feed '{name}' is written in flow style; edit by hand")
    return item


def _key_span(doc: _Document, item: _Item, key: str) -> tuple[int, int]:
    """Lines [start, end) of `key: value` in the feed: from the key's line to the next key (or the feed's end),
    less the blank and comment lines before that next key (they belong to it)."""
    start = int(item.node.lc.key(key)[0])
    later = [int(item.node.lc.key(other)[0]) for other in item.node if int(item.node.lc.key(other)[0]) > start]
    end = min(later) if later else item.end
    while end > start + 1 and _is_blank_or_comment(doc.lines[end - 1]):
        end -= 1
    return start, end


def _eol_comment(node: CommentedMap, key: str, width: int) -> str:
    """The comment after a one-line value (`interval: 30m  # half an hour`), at its old column where the new line
    leaves room (else two spaces after it), for a line `width` characters long; '' when there is none."""
    tokens = node.ca.items.get(key)
    token = tokens[2] if tokens and len(tokens) > 2 else None
    text = getattr(token, "value", None)
    if not isinstance(text, str) or not text.startswith("#"):
        return ""
    column = int(getattr(token, "column", 0))
    return " " * max(column - width, 2) + text.split("\n", 1)[0].rstrip()


def _render_key(key: str, value: object) -> list[str]:
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
