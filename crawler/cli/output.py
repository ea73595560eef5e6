"""What every command shares: exit codes, the usage error, the `--config` option, choosing feeds by name, and
printing lines that may hold what a feed or a page said."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from crawler.config.settings import Config, FeedConfig
from crawler.errors import CrawlerError
from crawler.logs import visible

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class UsageError(CrawlerError):
    """The command line asks for something that cannot be done (an unknown feed name, ...)."""


def add_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        default=Path("feeds.yaml"),
        metavar="PATH",
        help="the feeds file (default: ./feeds.yaml)",
    )


def select_feeds(config: Config, names: Sequence[str]) -> list[FeedConfig]:
    if not names:
        return [feed for feed in config.feeds if feed.enabled]
    unknown = [name for name in names if config.feed(name) is None]
    if unknown:
        known = ", ".join(feed.name for feed in config.feeds) or "none"
        raise UsageError(f"{config.path.name}: no feed named {', '.join(map(repr, unknown))} (feeds: {known})")
    return [feed for feed in config.feeds if feed.name in names]


def since_option(text: str | None) -> datetime | None:
    from crawler.cli.listing import parse_since

    if text is None:
        return None
    try:
        return parse_since(text, datetime.now(UTC))
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def say(line: str, file: TextIO | None = None) -> None:
    """Print one line that may hold what a feed or a page said: its control characters (a newline too) escaped,
    so it stays one line and cannot drive the terminal."""
    print(visible(line), file=file or sys.stdout)


def show(text: str, file: TextIO | None = None) -> None:
    """Print text laid out in lines by us (a table, indented JSON, an archive file), each line escaped as `say`."""
    print(visible_lines(text).removesuffix("\n"), file=file or sys.stdout)


def visible_lines(text: str) -> str:
    return "\n".join(visible(line) for line in text.split("\n"))
