"""The command line: the parser and the dispatch, thin, no logic of its own; each command group lives in a module of
its own (fetch, feeds, archive, run, setup) and the shared printing in output.py. Exit codes: 0 all well, 1 a feed
or article failed, 2 usage or config error."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from crawler import __version__
from crawler.archive.files import ArchiveError
from crawler.cli import archive, console, db, feeds, fetch, run, setup
from crawler.cli.output import EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError, show
from crawler.config.settings import ConfigError
from crawler.logs import PlainFormatter
from crawler.store.base import StoreError

# Each command imports what it needs when it runs: `crawler status` or `crawler feeds list` need no HTTP client,
# feed parser or HTML parser, whose imports cost more than the command itself.

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "UsageError", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `crawler` command; return its exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(PlainFormatter("%(levelname)s %(message)s", fields=True))
    logging.basicConfig(
        level=logging.ERROR if not getattr(args, "verbose", False) else logging.INFO, handlers=[handler]
    )
    try:
        code: int = args.handler(args)
        return code
    except (ConfigError, UsageError) as exc:
        show(f"crawler: {exc}", sys.stderr)
        return EXIT_USAGE
    except (StoreError, ArchiveError) as exc:
        show(f"crawler: {exc}", sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("crawler: interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crawler",
        description="Poll RSS/Atom/JSON feeds, fetch every new article and keep a deduplicated, dated archive of "
        "Markdown files with Hexo front matter.",
        epilog="Exit codes: 0 all went well, 1 a feed or article failed, 2 usage or config error.",
    )
    parser.add_argument("--version", action="version", version=f"crawler {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # The order of `crawler --help`.
    fetch.add_fetch(commands)
    fetch.add_extract(commands)
    archive.add_check(commands)
    archive.add_status(commands)
    run.add_run(commands)
    console.add_serve(commands)
    feeds.add_feeds(commands)
    setup.add_init(commands)
    setup.add_completion(commands)
    archive.add_reindex(commands)
    archive.add_list(commands)
    archive.add_refetch(commands)
    archive.add_reextract(commands)
    db.add_db(commands)
    return parser


if __name__ == "__main__":
    sys.exit(main())
