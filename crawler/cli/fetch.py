"""`crawler fetch` (and `--dry-run`) and `crawler extract`: poll feeds once, or show one page's archive file."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import fields
from typing import TYPE_CHECKING

from crawler.cli.output import EXIT_FAILED, EXIT_OK, add_config, say, select_feeds, show, visible_lines
from crawler.config.load import load_config, parse_config
from crawler.config.settings import Config, FeedConfig

# Each command imports what it needs when it runs (see main.py).
if TYPE_CHECKING:
    Commands = argparse._SubParsersAction[argparse.ArgumentParser]
    from crawler.pipeline.results import FeedResult


def add_fetch(commands: Commands) -> None:
    """`crawler fetch [FEED...]`."""
    fetch = commands.add_parser(
        "fetch",
        help="poll feeds once and archive every new article",
        description="Poll every enabled feed (or the named ones) once, archive every new article, and print a "
        "summary per feed. Failures go to stderr, one line each, naming the feed and the URL.",
    )
    add_config(fetch)
    fetch.add_argument("feeds", nargs="*", metavar="FEED", help="names of the feeds to poll (default: all enabled)")
    fetch.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    fetch.add_argument("--no-progress", action="store_true", help="no progress bar, even on a terminal")
    fetch.add_argument("-v", "--verbose", action="store_true", help="log every article archived")
    _add_dry_run(fetch)
    fetch.set_defaults(handler=_fetch)


def add_extract(commands: Commands) -> None:
    """`crawler extract URL`."""
    extract = commands.add_parser(
        "extract",
        help="fetch one page and print the archive file it would give",
        description="Fetch one article page and print the archive file the crawler would write for it (nothing is "
        "written), so a selector can be tried before a feed is added. Uses feeds.yaml's http settings when present.",
    )
    extract.add_argument("url", metavar="URL", help="the article page")
    extract.add_argument("--body", metavar="SEL", help="CSS selector of the article body (default: automatic)")
    extract.add_argument("--remove", metavar="SEL", action="append", default=[], help="CSS selector to drop")
    extract.add_argument(
        "--render", choices=("hexo", "verbatim"), default="hexo", help="the body's layout, as a feed's render: key"
    )
    extract.add_argument("--json", action="store_true", help="print the metadata and body as JSON")
    add_config(extract)
    extract.set_defaults(handler=_extract)


def _add_dry_run(fetch: argparse.ArgumentParser) -> None:
    fetch.add_argument(
        "--dry-run",
        action="store_true",
        help="poll the feeds and print what would be archived (feed, URL, title); writes nothing: no file, no "
        "state. Article pages are not fetched, so the list is the feeds' new entries",
    )


def _fetch(args: argparse.Namespace) -> int:
    if args.dry_run:
        return _fetch_dry_run(args)
    if not args.verbose:
        # Errors only, and the few warnings an operator must see even so: the state rebuilt from the archive (it was
        # deleted or moved), and worker processes unavailable (every page extracted in threads, slower).
        for name in ("crawler.maintenance.reindex", "crawler.workers"):
            logging.getLogger(name).setLevel(logging.WARNING)
    config = load_config(args.config)
    feeds = select_feeds(config, args.feeds)
    show_progress = sys.stderr.isatty() and not args.no_progress
    results = asyncio.run(_fetch_with_progress(config, feeds, show_progress))
    for result in results:
        for line in (*result.notes, *result.errors):
            say(line, sys.stderr)
    if args.json:
        show_json(results)
    else:
        _print_summary(results)
    return EXIT_OK if all(r.ok for r in results) else EXIT_FAILED


async def _fetch_with_progress(config: Config, feeds: list[FeedConfig], show: bool) -> list[FeedResult]:
    from crawler.pipeline.results import Progress
    from crawler.runner import fetch_feeds

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


def show_json(results: Sequence[FeedResult]) -> None:
    """Print `{"ok": ..., "feeds": [...]}` as json.dumps(indent=2) would, one feed at a time: the whole document
    at once (every result as a dict, then the encoder's pieces and the text) took 300 MB for 100,000 feeds."""
    ok = all(r.ok for r in results)
    if not results:
        show(json.dumps({"ok": ok, "feeds": []}, ensure_ascii=False, indent=2))
        return
    show(f'{{\n  "ok": {json.dumps(ok)},\n  "feeds": [')
    last = len(results) - 1
    for index, result in enumerate(results):
        text = json.dumps(_result_json(result), ensure_ascii=False, indent=2)
        show(textwrap.indent(text, "    ") + ("," if index < last else ""))
    show("  ]\n}")


def _result_json(result: FeedResult) -> dict[str, object]:
    # The timing is the daemon's business (`crawler status` shows the next poll). Every other field is a string, a
    # number, a flag or a tuple of strings: no deep copy (dataclasses.asdict) is needed, which was a tenth of the
    # CPU of an unchanged poll of many feeds.
    data: dict[str, object] = {f.name: getattr(result, f.name) for f in fields(result) if f.name != "timing"}
    data["ok"] = result.ok
    return data


def _print_summary(results: Sequence[FeedResult]) -> None:
    width = max([len(r.feed) for r in results] + [4])
    print(f"{'feed':<{width}}  {'new':>5}  {'known':>5}  {'skipped':>7}  {'failed':>6}  {'from feed':>9}")
    for r in results:
        failed_feed = r.errors and not (r.new or r.known or r.skipped or r.failed)
        status = f"  feed failed: {_short_reason(r)}" if failed_feed else ""
        extra = "  (unchanged)" if r.not_modified else ""
        counts = f"{r.new:>5}  {r.known:>5}  {r.skipped:>7}  {r.failed:>6}  {r.fallback:>9}"
        say(f"{r.feed:<{width}}  {counts}{status}{extra}")


SHORT_REASON = 80  # characters of a feed's error the summary row keeps; the whole line is on stderr


def _short_reason(result: FeedResult) -> str:
    """The feed's error without its `feed 'NAME': URL: ` prefix (the row names the feed), cut to fit a row."""
    reason = result.errors[0].removeprefix(f"feed '{result.feed}': {result.url}: ")
    return reason if len(reason) <= SHORT_REASON else reason[: SHORT_REASON - 1] + "…"


def _fetch_dry_run(args: argparse.Namespace) -> int:
    from crawler.runner import dry_run
    from crawler.store import describe_state

    config = load_config(args.config)
    feeds = select_feeds(config, args.feeds)
    no_state = config.state_url is None and not config.state.exists()  # (a PostgreSQL one is asked when opened)
    if no_state and config.archive.is_dir() and any(config.archive.iterdir()):
        say(
            f"crawler: {describe_state(config)}: no state database; a real fetch first rebuilds it from the archive, "
            "so articles already archived may be listed here too",
            sys.stderr,
        )
    results = asyncio.run(dry_run(config, feeds))
    for result in results:
        if result.error:
            say(result.error, sys.stderr)
    rows = [(r.feed, e.link or "(no link)", e.title or "(no title)") for r in results for e in r.entries]
    if args.json:
        data = {
            "dry_run": True,
            "ok": not any(r.error for r in results),
            "articles": [{"feed": feed, "url": url, "title": title} for feed, url, title in rows],
            "errors": [r.error for r in results if r.error],
        }
        show(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        width = max([len(feed) for feed, _url, _title in rows] + [4])
        for feed, url, title in rows:
            say(f"{feed:<{width}}  {url}  {title}")
        print(
            f"dry run: {len(rows)} articles would be archived (from the feeds' lists; no page fetched, nothing written)"
        )
    return EXIT_FAILED if any(r.error for r in results) else EXIT_OK


def _extract(args: argparse.Namespace) -> int:
    from crawler.extract.page import ExtractError
    from crawler.fetch import FetchError
    from crawler.render.archive_file import render
    from crawler.render.frontmatter import http_date
    from crawler.runner import extract_preview

    config = load_config(args.config) if args.config.exists() else parse_config("{}", args.config)
    try:
        shown = asyncio.run(extract_preview(config, args.url, args.body, args.remove))
    except FetchError as exc:
        say(f"crawler: {exc}", sys.stderr)
        return EXIT_FAILED
    except ExtractError as exc:
        say(f"crawler: {args.url}: {exc}", sys.stderr)
        return EXIT_FAILED
    if shown.page.selector_missed is not None:
        # Trying a selector is what this command is for: a body found some other way would hide that it failed.
        say(
            f"crawler: {args.url}: body selector {shown.page.selector_missed!r} matched nothing "
            f"(without it the body would be found by {shown.page.method})",
            sys.stderr,
        )
        return EXIT_FAILED
    if not args.json:
        sys.stdout.write(visible_lines(render(shown.composed.article, args.render)))
        return EXIT_OK
    article, meta = shown.composed.article, shown.page.meta
    data = {
        "url": args.url,
        "final_url": shown.final_url,
        "path": shown.relative_path,
        "method": shown.page.method,
        "title": article.title,
        "author": article.author,
        # A caller must be able to tell the page's date from none: with no date on the page, "date" is null and
        # "archived_date" is the first-seen time the file would carry instead.
        "date": None if shown.composed.date_source == "first_seen" else http_date(article.date),
        "date_source": shown.composed.date_source,
        "archived_date": http_date(article.date),
        "image": article.image,
        "site_name": meta.site_name,
        "language": meta.language,
        "canonical": meta.canonical,
        "description": meta.description,
        "body": article.body,
    }
    show(json.dumps(data, ensure_ascii=False, indent=2))
    return EXIT_OK
