"""Helpers for the adversarial tests: read an archive file back strictly, run the CLI under resource limits."""

from __future__ import annotations

import html
import re
import resource
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml
from selectolax.lexbor import LexborHTMLParser

from tests.conftest import Result, Workdir

FEED_FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "feeds"


@dataclass(frozen=True)
class ArchiveFile:
    """One archive file split into what docs/FORMAT.md says it holds."""

    front: dict[str, object]
    body: str


def read_archive_file(text: str) -> ArchiveFile:
    """Split and parse an archive file; fail the test on anything docs/FORMAT.md does not allow."""
    assert text.startswith("---\n"), text[:80]
    head, sep, rest = text[4:].partition("\n---\n\n<div>")
    assert sep, "no end of front matter followed by <div>"
    assert rest.endswith("</div>\n")
    front = yaml.safe_load(head)
    assert isinstance(front, dict)
    assert set(front) <= {"title", "categories", "headimg", "author", "comments", "date", "thumbnail"}
    assert isinstance(front["title"], str)
    body = rest[: -len("</div>\n")]
    assert "\x00" not in text
    tree = LexborHTMLParser(f"<div>{body}</div>")
    assert tree.body is not None
    return ArchiveFile(front=front, body=body)


def run_limited(work: Workdir, *args: str, limits: Callable[[], None], timeout: float = 120) -> Result:
    """Run the real CLI in `work` with `limits()` applied in the child before it starts (rlimits and such)."""
    return work.run(*args, timeout=timeout, limits=limits)


def file_size_limit(size: int) -> Callable[[], None]:
    """A child setup giving a "full disk": writes past `size` bytes fail with EFBIG instead of killing it."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    return apply


def memory_limit(size: int) -> Callable[[], None]:
    """A child setup capping its address space: an expansion attack would die with MemoryError."""

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (size, size))

    return apply


_FORBIDDEN_ELEMENTS = {
    "script",
    "noscript",
    "iframe",
    "object",
    "embed",
    "form",
    "frame",
    "frameset",
    "applet",
    "base",
    "meta",
    "link",
    "template",
    "animate",
    "set",
    "animatemotion",
    "animatetransform",
}
_JUNK = re.compile(r"[\x00-\x20\x7f]+")


def assert_sanitised(body: str) -> None:
    """Fail unless an archived body is free of everything docs/FORMAT.md's fixes remove, however it is disguised."""
    tree = LexborHTMLParser(f"<div>{body}</div>")
    for node in tree.css("*"):
        assert node.tag.lower() not in _FORBIDDEN_ELEMENTS, node.html
        for name, value in node.attrs.items():
            assert not name.lower().startswith("on"), node.html
            assert name.lower() != "srcdoc", node.html
            compact = _JUNK.sub("", html.unescape(html.unescape(value or ""))).lower()
            assert not compact.startswith(("javascript:", "vbscript:")), node.html
            assert "javascript:" not in compact or name.lower() not in ("style", "srcset"), node.html
            if name.lower() in ("href", "src", "action", "formaction", "xlink:href"):
                assert not compact.startswith("data:") or compact.startswith("data:image/png"), node.html
            if name.lower() == "style":
                assert "expression(" not in compact and "binding" not in compact, node.html
