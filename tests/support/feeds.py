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


# Runs the real CLI module and, at exit, writes the process's own peak RSS (VmHWM, kB) to the file named by argv[1].
# Not ru_maxrss from wait4: Linux carries the parent's RSS over fork and exec into it, so a child of a big pytest
# process would report pytest's size.
_MEASURE = """
import atexit, re, runpy, sys
out = sys.argv.pop(1)
def report():
    with open('/proc/self/status') as status, open(out, 'w') as sink:
        sink.write(re.search(r'VmHWM:\\s+(\\d+) kB', status.read()).group(1))
atexit.register(report)
sys.argv[0] = 'crawler'
runpy.run_module('crawler', run_name='__main__', alter_sys=True)
"""


def run_measured(work: Workdir, *args: str) -> tuple[Result, int]:
    """Run the real CLI like `work.run`, and also return the process's own peak resident memory in bytes."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    peak_file = work.path / ".peak"
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(peak_file), *args],
        cwd=work.path,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr), int(peak_file.read_text()) * 1024
