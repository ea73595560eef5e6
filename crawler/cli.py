"""The command line: thin, no logic of its own. Exit codes: 0 all well, 1 a feed or article failed, 2 usage or
config error."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from crawler import __version__
from crawler.archive import ArchiveError
from crawler.config import Config, ConfigError, FeedConfig, load_config, parse_config
from crawler.document import http_date, render
from crawler.extract import ExtractError
from crawler.fetch import FetchError
from crawler.pipeline import FeedResult, Progress, fetch_feeds, preview
from crawler.status import feed_statuses, render_table
from crawler.store import StoreError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """The command line asks for something that cannot be done (an unknown feed name, ...)."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `crawler` command; return its exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.ERROR if not getattr(args, "verbose", False) else logging.INFO,
        format="%(levelname)s %(message)s",
        stream=sys.stderr,
    )
    try:
        code: int = args.handler(args)
        return code
    except (ConfigError, UsageError) as exc:
        print(f"crawler: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (StoreError, ArchiveError) as exc:
        print(f"crawler: {exc}", file=sys.stderr)
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

    fetch = commands.add_parser(
        "fetch",
        help="poll feeds once and archive every new article",
        description="Poll every enabled feed (or the named ones) once, archive every new article, and print a "
        "summary per feed. Failures go to stderr, one line each, naming the feed and the URL.",
    )
    _add_config(fetch)
    fetch.add_argument("feeds", nargs="*", metavar="FEED", help="names of the feeds to poll (default: all enabled)")
    fetch.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    fetch.add_argument("--no-progress", action="store_true", help="no progress bar, even on a terminal")
    fetch.add_argument("-v", "--verbose", action="store_true", help="log every article archived")
    fetch.set_defaults(handler=_fetch)

    extract = commands.add_parser(
        "extract",
        help="fetch one page and print the archive file it would give",
        description="Fetch one article page and print the archive file the crawler would write for it (nothing is "
        "written), so a selector can be tried before a feed is added. Uses feeds.yaml's http settings when present.",
    )
    extract.add_argument("url", metavar="URL", help="the article page")
    extract.add_argument("--body", metavar="SEL", help="CSS selector of the article body (default: automatic)")
    extract.add_argument("--remove", metavar="SEL", action="append", default=[], help="CSS selector to drop")
    extract.add_argument("--json", action="store_true", help="print the metadata and body as JSON")
    _add_config(extract)
    extract.set_defaults(handler=_extract)

    check = commands.add_parser(
        "check",
        help="validate feeds.yaml and exit 0 (valid) or 2 (invalid)",
        description="Validate the config file without fetching anything.",
    )
    _add_config(check)
    check.set_defaults(handler=_check)

    status = commands.add_parser(
        "status",
        help="show every feed's last poll, next poll, failures, last error and article counts",
        description="One row per feed: last poll, last success, next poll, consecutive failures, last error, "
        "articles archived and pending. Reads the state database; fetches nothing.",
    )
    _add_config(status)
    status.add_argument("--json", action="store_true", help="print the rows as JSON on stdout")
    status.set_defaults(handler=_status)
    return parser


def _add_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        default=Path("feeds.yaml"),
        metavar="PATH",
        help="the feeds file (default: ./feeds.yaml)",
    )


def _select_feeds(config: Config, names: Sequence[str]) -> list[FeedConfig]:
    if not names:
        return [feed for feed in config.feeds if feed.enabled]
    unknown = [name for name in names if config.feed(name) is None]
    if unknown:
        known = ", ".join(feed.name for feed in config.feeds) or "none"
        raise UsageError(f"{config.path.name}: no feed named {', '.join(map(repr, unknown))} (feeds: {known})")
    return [feed for feed in config.feeds if feed.name in names]


def _fetch(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    feeds = _select_feeds(config, args.feeds)
    show_progress = sys.stderr.isatty() and not args.no_progress
    results = asyncio.run(_fetch_with_progress(config, feeds, show_progress))
    for result in results:
        for line in (*result.notes, *result.errors):
            print(line, file=sys.stderr)
    if args.json:
        print(
            json.dumps(
                {"ok": all(r.ok for r in results), "feeds": [_result_json(r) for r in results]},
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        _print_summary(results)
    return EXIT_OK if all(r.ok for r in results) else EXIT_FAILED


async def _fetch_with_progress(config: Config, feeds: list[FeedConfig], show: bool) -> list[FeedResult]:
    if not show:
        return await fetch_feeds(config, feeds)
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar

    with Bar(TextColumn("archiving"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), transient=True) as bar:
        task = bar.add_task("articles", total=0)
        progress = Progress(
            found=lambda n: bar.update(task, total=(bar.tasks[0].total or 0) + n),
            done=lambda: bar.advance(task),
        )
        return await fetch_feeds(config, feeds, progress)


def _result_json(result: FeedResult) -> dict[str, object]:
    data = asdict(result)
    data["ok"] = result.ok
    return data


def _print_summary(results: Sequence[FeedResult]) -> None:
    width = max([len(r.feed) for r in results] + [4])
    print(f"{'feed':<{width}}  {'new':>5}  {'known':>5}  {'failed':>6}")
    for r in results:
        status = "  feed failed (see above)" if r.errors and not (r.new or r.known or r.failed) else ""
        extra = "  (unchanged)" if r.not_modified else ""
        fallback = f"  ({r.fallback} from the feed's own content)" if r.fallback else ""
        print(f"{r.feed:<{width}}  {r.new:>5}  {r.known:>5}  {r.failed:>6}{status}{extra}{fallback}")


def _extract(args: argparse.Namespace) -> int:
    config = load_config(args.config) if args.config.exists() else parse_config("{}", args.config)
    try:
        shown = asyncio.run(preview(config, args.url, args.body, args.remove))
    except FetchError as exc:
        print(f"crawler: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except ExtractError as exc:
        print(f"crawler: {args.url}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if not args.json:
        sys.stdout.write(render(shown.composed.article))
        return EXIT_OK
    article, meta = shown.composed.article, shown.page.meta
    data = {
        "url": args.url,
        "final_url": shown.final_url,
        "path": shown.relative_path,
        "method": shown.page.method,
        "title": article.title,
        "author": article.author,
        "date": http_date(article.date),
        "image": article.image,
        "site_name": meta.site_name,
        "language": meta.language,
        "canonical": meta.canonical,
        "description": meta.description,
        "body": article.body,
    }
    print(json.dumps(data, ensure_ascii=False, indent=2))
    return EXIT_OK


def _check(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    enabled = sum(feed.enabled for feed in config.feeds)
    print(f"{config.path}: valid ({len(config.feeds)} feeds, {enabled} enabled)")
    return EXIT_OK


def _status(args: argparse.Namespace) -> int:
    rows = feed_statuses(load_config(args.config))
    if args.json:
        print(json.dumps({"feeds": [row.to_json() for row in rows]}, ensure_ascii=False, indent=2))
    else:
        print(render_table(rows))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
