"""Small builders for the network tests: an RSS feed, an article page, a feeds.yaml, and a run whose peak memory
is measured."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from html import escape
from typing import Any

import yaml

from tests.conftest import REPO, Result, Workdir


@dataclass(frozen=True)
class Item:
    """One feed item."""

    link: str
    title: str = "An article"
    description: str = "<p>The feed's own words about it.</p>"


def rss(*items: Item, title: str = "Test feed") -> bytes:
    """An RSS 2.0 feed of `items`, dated so each lands in a known folder."""
    parts = [
        f"<item><title>{escape(item.title)}</title><link>{escape(item.link)}</link>"
        f"<guid>{escape(item.link)}</guid><pubDate>Tue, 24 Aug 2021 07:07:13 GMT</pubDate>"
        f"<description>{escape(item.description)}</description></item>"
        for item in items
    ]
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>http://example.org/</link><description>d</description>"
        + "".join(parts)
        + "</channel></rss>"
    ).encode()


def page(text: str, *, charset_tag: str = '<meta charset="utf-8">') -> str:
    """An article page whose body is `#content`."""
    return (
        f"<!doctype html><html><head>{charset_tag}<title>Page</title></head>"
        f'<body><nav>menu</nav><div id="content"><p>{text}</p></div></body></html>'
    )


RSS = "application/rss+xml"


def config(
    *feeds: dict[str, Any],
    http: dict[str, Any] | None = None,
    politeness: dict[str, Any] | None = None,
    **top: Any,
) -> str:
    """A feeds.yaml: quick retries and no politeness delay unless the test says otherwise."""
    data: dict[str, Any] = {
        "archive": "archive",
        "http": {"backoff": "50ms", **(http or {})},
        "politeness": {"delay": 0, **(politeness or {})},
        **top,
        "feeds": [{"body": "#content", **feed} for feed in feeds],
    }
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def run_measured(work: Workdir, *args: str) -> tuple[Result, int]:
    """Run the real CLI like `work.run`, and also return the subprocess's own peak resident memory in bytes."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    out_path, err_path = work.path / ".stdout", work.path / ".stderr"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "crawler", *args], cwd=work.path, stdout=out, stderr=err, env=env
        )
        # wait4 gives this child's own rusage (RUSAGE_CHILDREN would mix in every earlier child of the test run).
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    result = Result(proc.returncode, out_path.read_text("utf-8"), err_path.read_text("utf-8"))
    return result, usage.ru_maxrss * 1024
