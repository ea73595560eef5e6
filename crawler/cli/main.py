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
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from crawler import __version__
from crawler.archive.files import ArchiveError
from crawler.config.settings import Config, ConfigError, FeedConfig, load_config, parse_config, parse_duration
from crawler.errors import CrawlerError
from crawler.logs import PlainFormatter, visible
from crawler.store.sqlite import StoreError

# Each command imports what it needs when it runs: `crawler status` or `crawler feeds list` need no HTTP client,
# feed parser or HTML parser, whose imports cost more than the command itself.
if TYPE_CHECKING:
    from crawler.pipeline.results import FeedResult

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class UsageError(CrawlerError):
    """The command line asks for something that cannot be done (an unknown feed name, ...)."""


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
        _show(f"crawler: {exc}", sys.stderr)
        return EXIT_USAGE
    except (StoreError, ArchiveError) as exc:
        _show(f"crawler: {exc}", sys.stderr)
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
    _add_dry_run(fetch)
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
    extract.add_argument(
        "--render", choices=("hexo", "verbatim"), default="hexo", help="the body's layout, as a feed's render: key"
    )
    extract.add_argument("--json", action="store_true", help="print the metadata and body as JSON")
    _add_config(extract)
    extract.set_defaults(handler=_extract)

    check = commands.add_parser(
        "check",
        help="validate feeds.yaml and exit 0 (valid), 1 (valid but no feeds) or 2 (invalid)",
        description="Validate the config file without fetching anything.",
    )
    _add_config(check)
    check.add_argument("--repair", action="store_true", help="also rebuild the state database (as `reindex`)")
    _add_check_archive(check)
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
    _add_run(commands)
    _add_feeds(commands)
    # commands imports this module's helpers, so it is imported once this module is whole.
    from crawler.cli.setup import add_completion, add_init

    add_init(commands)
    add_completion(commands)
    reindex = commands.add_parser(
        "reindex",
        help="rebuild the state database's record of archived articles from the archive's files",
        description="Rebuild the state database's articles table from the files in the archive (a corrupt database "
        "is moved aside first). The feeds' GUID memory cannot be rebuilt: the next fetch fetches listed pages again, "
        "and recognises every article already archived by its canonical URL or body text.",
    )
    _add_config(reindex)
    reindex.set_defaults(handler=_reindex)
    _add_list(commands)
    _add_refetch(commands)
    return parser


def _add_run(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = commands.add_parser(
        "run",
        help="poll every enabled feed at its interval, forever (the daemon)",
        description="Poll every enabled feed at its interval until stopped. feeds.yaml is re-read when it changes "
        "(or on SIGHUP); SIGTERM or SIGINT stops new polls and lets running ones finish, a second one exits at once.",
    )
    _add_config(run)
    run.add_argument(
        "--grace",
        type=_duration,
        default=30.0,
        metavar="DURATION",
        help="how long running polls may take to finish after SIGTERM (default: 30s)",
    )
    run.add_argument(
        "--health",
        type=_host_port,
        default=None,
        metavar="HOST:PORT",
        help="serve /healthz and /metrics (Prometheus) on this address (default: off)",
    )
    run.add_argument(
        "--stall-after",
        type=_duration,
        default=15.0,
        metavar="DURATION",
        help="/healthz answers 503 once the event loop has been blocked this long (default: 15s; at least 2s)",
    )
    run.add_argument(
        "--late-after",
        type=_duration,
        default=300.0,
        metavar="DURATION",
        help="/healthz answers 503 once a poll due this long ago has not started (default: 5m; at least 2s)",
    )
    run.add_argument(
        "--log-format", choices=("text", "json"), default="text", help="log lines as key=value text or JSON"
    )
    run.set_defaults(handler=_run)


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a duration like 30s") from None


def _host_port(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"'{text}' is not HOST:PORT, such as 127.0.0.1:9108")
    return host.strip("[]"), int(port)


def _run(args: argparse.Namespace) -> int:
    from crawler.daemon.service import Daemon, DaemonError, DaemonOptions
    from crawler.logs import setup_logging

    setup_logging(args.log_format)
    config = load_config(args.config)
    try:
        options = DaemonOptions(
            config_path=args.config,
            grace=args.grace,
            health=args.health,
            stall_after=args.stall_after,
            late_after=args.late_after,
        )
        return asyncio.run(Daemon(config, options).run())
    except DaemonError as exc:
        _show(f"crawler: {exc}", sys.stderr)
        return EXIT_USAGE


def _add_feeds(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    feeds = commands.add_parser(
        "feeds",
        help="list, add, remove, enable, disable, import or export feeds (edits feeds.yaml in place)",
        description="Change feeds.yaml in place, keeping its comments and layout; an edit that would make the file "
        "invalid is refused and the file is left untouched. A running `crawler run` picks the change up.",
    )
    actions = feeds.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="list the feeds")
    _add_config(listing)
    listing.add_argument("--json", action="store_true", help="print the feeds as JSON")
    listing.set_defaults(handler=_feeds_list)
    from crawler.cli.setup import add_feeds_add, add_feeds_set

    add_feeds_add(actions, _add_config)
    add_feeds_set(actions, _add_config)
    for action, handler, text in (
        ("remove", _feeds_remove, "remove a feed (and the comment above it)"),
        ("enable", _feeds_enable, "set a feed's enabled: true"),
        ("disable", _feeds_disable, "set a feed's enabled: false (kept in the file, not polled)"),
    ):
        sub = actions.add_parser(action, help=text)
        _add_config(sub)
        sub.add_argument("name", metavar="NAME")
        sub.set_defaults(handler=handler)
    imports = actions.add_parser("import", help="add the feeds of an OPML file (its folders become categories)")
    _add_config(imports)
    imports.add_argument("opml", type=Path, metavar="FILE.opml")
    imports.set_defaults(handler=_feeds_import)
    export = actions.add_parser("export", help="print the feeds as OPML 2.0 (categories become folders)")
    _add_config(export)
    export.set_defaults(handler=_feeds_export)


def _feeds_list(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    if args.json:
        rows = [
            {
                "name": f.name,
                "url": f.url,
                "title": f.title,
                "categories": list(f.categories),
                "enabled": f.enabled,
                "interval": f.interval,
            }
            for f in config.feeds
        ]
        _show(json.dumps(rows, ensure_ascii=False, indent=2))
        return EXIT_OK
    for feed in config.feeds:
        state = "" if feed.enabled else "  (disabled)"
        categories = f"  [{', '.join(feed.categories)}]" if feed.categories else ""
        _say(f"{feed.name}  {feed.url}{categories}{state}")
    return EXIT_OK


def _feeds_remove(args: argparse.Namespace) -> int:
    from crawler.config.editor import remove_feed

    remove_feed(args.config, args.name)
    print(f"{args.config}: removed feed '{args.name}'")
    return EXIT_OK


def _feeds_enable(args: argparse.Namespace) -> int:
    return _set_enabled(args, True)


def _feeds_disable(args: argparse.Namespace) -> int:
    return _set_enabled(args, False)


def _set_enabled(args: argparse.Namespace, enabled: bool) -> int:
    from crawler.config.editor import set_enabled

    word = "enabled" if enabled else "disabled"
    changed = set_enabled(args.config, args.name, enabled)
    print(f"{args.config}: feed '{args.name}' {word}" + ("" if changed else " already; file unchanged"))
    return EXIT_OK


def _feeds_import(args: argparse.Namespace) -> int:
    from crawler.config.editor import edit_lock, require_file

    require_file(args.config)
    with edit_lock(args.config):  # from reading the names and URLs taken to writing the new feeds
        return _import_opml(args)


def _import_opml(args: argparse.Namespace) -> int:
    from crawler.config.editor import NewFeed, add_feeds, derive_name
    from crawler.config.opml import OpmlError, read_opml
    from crawler.config.settings import is_http_url
    from crawler.identity.urls import normalize_url

    config = load_config(args.config)
    try:
        found = read_opml(args.opml.read_bytes(), args.opml.name)
    except OSError as exc:
        raise UsageError(f"{args.opml}: cannot read: {exc.strerror or exc}") from None
    except OpmlError as exc:
        raise UsageError(str(exc)) from None
    known_urls = {normalize_url(feed.url) for feed in config.feeds}
    taken = [feed.name for feed in config.feeds]
    new: list[NewFeed] = []
    for item in found:
        if normalize_url(item.url) in known_urls:
            _say(f"{args.opml.name}: {item.url}: already in {args.config.name}; skipped", sys.stderr)
            continue
        name = derive_name(item.title, item.url, taken)
        taken.append(name)
        known_urls.add(normalize_url(item.url))
        site = item.site
        if site is not None and not is_http_url(site):  # informational: keep the feed, leave out the address
            _say(f"{args.opml.name}: {item.url}: htmlUrl '{site}' is not an http(s) URL; not kept", sys.stderr)
            site = None
        new.append(
            NewFeed(
                name=name, url=item.url, title=item.title, categories=item.categories, site=site, enabled=item.enabled
            )
        )
    if new:
        add_feeds(args.config, new)
    print(f"{args.config}: imported {len(new)} feeds from {args.opml.name}")
    return EXIT_OK


def _feeds_export(args: argparse.Namespace) -> int:
    from crawler.config.opml import write_opml

    config = load_config(args.config)
    sys.stdout.write(write_opml(config.feeds))
    return EXIT_OK


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
    if args.dry_run:
        return _fetch_dry_run(args)
    if not args.verbose:
        # Errors only, and the few warnings an operator must see even so: the state rebuilt from the archive (it was
        # deleted or moved), and worker processes unavailable (every page extracted in threads, slower).
        for name in ("crawler.maintenance.reindex", "crawler.pipeline.workers"):
            logging.getLogger(name).setLevel(logging.WARNING)
    config = load_config(args.config)
    feeds = _select_feeds(config, args.feeds)
    show_progress = sys.stderr.isatty() and not args.no_progress
    results = asyncio.run(_fetch_with_progress(config, feeds, show_progress))
    for result in results:
        for line in (*result.notes, *result.errors):
            _say(line, sys.stderr)
    if args.json:
        _show(
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


def _result_json(result: FeedResult) -> dict[str, object]:
    data = asdict(result)
    del data["timing"]  # the daemon's business: `crawler status` shows the next poll
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
        _say(f"{r.feed:<{width}}  {counts}{status}{extra}")


SHORT_REASON = 80  # characters of a feed's error the summary row keeps; the whole line is on stderr


def _short_reason(result: FeedResult) -> str:
    """The feed's error without its `feed 'NAME': URL: ` prefix (the row names the feed), cut to fit a row."""
    reason = result.errors[0].removeprefix(f"feed '{result.feed}': {result.url}: ")
    return reason if len(reason) <= SHORT_REASON else reason[: SHORT_REASON - 1] + "…"


def _extract(args: argparse.Namespace) -> int:
    from crawler.extract.page import ExtractError
    from crawler.fetch.client import FetchError
    from crawler.render.document import http_date, render
    from crawler.runner import extract_preview

    config = load_config(args.config) if args.config.exists() else parse_config("{}", args.config)
    try:
        shown = asyncio.run(extract_preview(config, args.url, args.body, args.remove))
    except FetchError as exc:
        _say(f"crawler: {exc}", sys.stderr)
        return EXIT_FAILED
    except ExtractError as exc:
        _say(f"crawler: {args.url}: {exc}", sys.stderr)
        return EXIT_FAILED
    if shown.page.selector_missed is not None:
        # Trying a selector is what this command is for: a body found some other way would hide that it failed.
        _say(
            f"crawler: {args.url}: body selector {shown.page.selector_missed!r} matched nothing "
            f"(without it the body would be found by {shown.page.method})",
            sys.stderr,
        )
        return EXIT_FAILED
    if not args.json:
        sys.stdout.write(_visible_lines(render(shown.composed.article, args.render)))
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
    _show(json.dumps(data, ensure_ascii=False, indent=2))
    return EXIT_OK


def _check(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    if not config.feeds:
        # Valid YAML, but nothing would ever be fetched: an empty or wrong file is far likelier than intent.
        _say(
            f"crawler: {config.path}: no feeds: nothing to fetch (add one with `crawler feeds add NAME URL`)",
            sys.stderr,
        )
        return EXIT_FAILED
    enabled = sum(feed.enabled for feed in config.feeds)
    if not (args.json and args.archive):  # JSON alone on stdout
        print(f"{config.path}: valid ({len(config.feeds)} feeds, {enabled} enabled)")
    if args.repair:
        return _reindex(args)
    if args.archive:
        return _check_archive(args, config)
    return EXIT_OK


def _reindex(args: argparse.Namespace) -> int:
    from crawler.maintenance.reindex import reindex

    config = load_config(args.config)
    result = reindex(config)
    if result.moved_aside is not None:
        print(f"crawler: {config.state}: corrupt; moved aside to {result.moved_aside.name}", file=sys.stderr)
    for path in result.unreadable:
        print(f"crawler: {config.archive / path}: not an archive file; indexed without its body", file=sys.stderr)
    print(f"{config.state}: {result.articles} articles indexed from {config.archive}")
    if result.dropped:
        print(
            f"crawler: {config.state}: dropped {len(result.dropped)} recorded articles whose files are gone "
            "(`crawler check --archive` queues them to be archived again)",
            file=sys.stderr,
        )
    return EXIT_OK


def _status(args: argparse.Namespace) -> int:
    from crawler.cli.status import render_table, status_report

    report = status_report(load_config(args.config))
    for line in (report.note, report.problem):
        if line:
            _say(f"crawler: {line}", file=sys.stderr)
    if args.json:
        _show(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        _show(render_table(report.feeds))
    # The rows are printed either way; a state database that cannot be trusted fails the command.
    return EXIT_FAILED if report.problem else EXIT_OK


def _add_dry_run(fetch: argparse.ArgumentParser) -> None:
    fetch.add_argument(
        "--dry-run",
        action="store_true",
        help="poll the feeds and print what would be archived (feed, URL, title); writes nothing: no file, no "
        "state. Article pages are not fetched, so the list is the feeds' new entries",
    )


def _fetch_dry_run(args: argparse.Namespace) -> int:
    from crawler.runner import dry_run

    config = load_config(args.config)
    feeds = _select_feeds(config, args.feeds)
    if not config.state.exists() and config.archive.is_dir() and any(config.archive.iterdir()):
        _say(
            f"crawler: {config.state}: no state database; a real fetch first rebuilds it from the archive, so "
            "articles already archived may be listed here too",
            sys.stderr,
        )
    results = asyncio.run(dry_run(config, feeds))
    for result in results:
        if result.error:
            _say(result.error, sys.stderr)
    rows = [(r.feed, e.link or "(no link)", e.title or "(no title)") for r in results for e in r.entries]
    if args.json:
        data = {
            "dry_run": True,
            "ok": not any(r.error for r in results),
            "articles": [{"feed": feed, "url": url, "title": title} for feed, url, title in rows],
            "errors": [r.error for r in results if r.error],
        }
        _show(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        width = max([len(feed) for feed, _url, _title in rows] + [4])
        for feed, url, title in rows:
            _say(f"{feed:<{width}}  {url}  {title}")
        print(
            f"dry run: {len(rows)} articles would be archived (from the feeds' lists; no page fetched, nothing written)"
        )
    return EXIT_FAILED if any(r.error for r in results) else EXIT_OK


def _add_check_archive(check: argparse.ArgumentParser) -> None:
    check.add_argument(
        "--archive",
        action="store_true",
        help="also compare the archive's files with the state database: files deleted (queued to be archived "
        "again), added or changed behind its back; exit 1 when any differ",
    )
    check.add_argument("--json", action="store_true", help="with --archive: print the differences as JSON")


def _check_archive(args: argparse.Namespace, config: Config) -> int:
    from crawler.maintenance.archivecheck import check_archive

    report = check_archive(config)
    if args.json:
        data = {
            "ok": not report.differences,
            "files": report.files,
            "recorded": report.recorded,
            "requeued": report.requeued,
            "differences": [d.to_json() for d in report.differences],
        }
        _show(json.dumps(data, ensure_ascii=False, indent=2))
        return EXIT_FAILED if report.differences else EXIT_OK
    if not report.differences:
        print(f"{config.archive}: matches the state ({report.files} files)")
        return EXIT_OK
    kinds = ("deleted", "added", "changed", "moved")
    counts = ", ".join(f"{report.count(kind)} {kind}" for kind in kinds if report.count(kind))
    queued = f"; {report.requeued} entries queued to be archived again" if report.requeued else ""
    print(f"{config.archive}: differs from the state: {counts}{queued}")
    for difference in report.differences:
        _say(f"{difference.kind:<8} {difference.path}  {difference.detail}")
    return EXIT_FAILED


def _add_list(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    listing = commands.add_parser(
        "list",
        help="list the archived articles, newest first: date, feed, file and title",
        description="List the archive's articles, newest first, from the files' front matter and the state "
        "database (opened read-only). Fetches and writes nothing.",
    )
    _add_config(listing)
    listing.add_argument("--feed", metavar="F", help="only the articles feed F listed")
    listing.add_argument(
        "--since", metavar="DATE", help="only those dated since DATE (YYYY-MM-DD, UTC) or a duration ago (7d)"
    )
    listing.add_argument("--grep", metavar="TEXT", help="only those whose title or body text holds TEXT (any case)")
    listing.add_argument("--json", action="store_true", help="print the articles as JSON")
    listing.set_defaults(handler=_list)


def _since(text: str | None) -> datetime | None:
    from crawler.cli.listing import parse_since

    if text is None:
        return None
    try:
        return parse_since(text, datetime.now(UTC))
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _list(args: argparse.Namespace) -> int:
    from crawler.cli.listing import ListQuery, list_articles

    config = load_config(args.config)
    if args.feed is not None and config.feed(args.feed) is None:
        _select_feeds(config, [args.feed])  # an unknown name: the usage error that lists the known ones
    rows = list_articles(config, ListQuery(feed=args.feed, since=_since(args.since), grep=args.grep))
    if args.json:
        _show(json.dumps([row.to_json() for row in rows], ensure_ascii=False, indent=2))
        return EXIT_OK
    width = max([len(row.feeds[0]) for row in rows if row.feeds] + [4])
    for row in rows:
        date = f"{row.date:%Y-%m-%d %H:%M}" if row.date is not None else "-" * 16
        feed = row.feeds[0] if row.feeds else "?"
        _say(f"{date}  {feed:<{width}}  {row.path}  {row.title}")
    return EXIT_OK


def _add_refetch(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    refetch = commands.add_parser(
        "refetch",
        help="fetch archived articles again and rewrite their files in place (after a selector fix)",
        description="Fetch the page of one archived article (by id or URL), or of a feed's articles, again with "
        "the feed's current settings, and rewrite each file in place: same id, same path, same date, replaced "
        "atomically. A page that cannot be fetched, or in which no body is found, leaves its file as it is.",
    )
    _add_config(refetch)
    refetch.add_argument("article", nargs="?", metavar="ID|URL", help="the article's id (file name) or a URL of it")
    refetch.add_argument("--feed", metavar="F", help="every article feed F listed")
    refetch.add_argument("--since", metavar="DATE", help="with --feed: only those dated since DATE or a duration ago")
    refetch.set_defaults(handler=_refetch)


def _refetch(args: argparse.Namespace) -> int:
    from crawler.maintenance.refetch import FAILED, REWRITTEN, RefetchError, Selection, refetch

    if (args.article is None) == (args.feed is None):
        raise UsageError("refetch: name one article (ID or URL) or --feed F, not both")
    if args.since is not None and args.feed is None:
        raise UsageError("refetch: --since goes with --feed")
    config = load_config(args.config)
    if args.feed is not None:
        _select_feeds(config, [args.feed])  # an unknown name is a usage error listing the known ones
    try:
        results = refetch(config, Selection(article=args.article, feed=args.feed, since=_since(args.since)))
    except RefetchError as exc:
        _say(f"crawler: {exc}", sys.stderr)
        return EXIT_FAILED
    for result in results:
        where = f"feed '{result.feed}': {result.url}" if result.feed else result.article_id
        if result.status == FAILED:
            _say(f"crawler: {where}: {result.detail} ({result.path})", sys.stderr)
        else:
            _say(f"{result.status:<9}  {result.path}  {where}")
    rewritten = sum(r.status == REWRITTEN for r in results)
    failed = sum(r.status == FAILED for r in results)
    print(f"refetch: {rewritten} rewritten, {len(results) - rewritten - failed} unchanged, {failed} failed")
    return EXIT_FAILED if failed else EXIT_OK


def _say(line: str, file: TextIO | None = None) -> None:
    """Print one line that may hold what a feed or a page said: its control characters (a newline too) escaped,
    so it stays one line and cannot drive the terminal."""
    print(visible(line), file=file or sys.stdout)


def _show(text: str, file: TextIO | None = None) -> None:
    """Print text laid out in lines by us (a table, indented JSON, an archive file), each line escaped as `_say`."""
    print(_visible_lines(text).removesuffix("\n"), file=file or sys.stdout)


def _visible_lines(text: str) -> str:
    return "\n".join(visible(line) for line in text.split("\n"))


if __name__ == "__main__":
    sys.exit(main())
