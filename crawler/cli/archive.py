"""The commands about the archive and its state: `check` (`--repair`, `--archive`), `reindex`, `status`, `list` and
`refetch` and `reextract`."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import TYPE_CHECKING

from crawler.cli.output import EXIT_FAILED, EXIT_OK, UsageError, add_config, say, select_feeds, show, since_option
from crawler.config.load import load_config
from crawler.config.settings import Config

if TYPE_CHECKING:
    Commands = argparse._SubParsersAction[argparse.ArgumentParser]


def add_check(commands: Commands) -> None:
    """`crawler check`."""
    check = commands.add_parser(
        "check",
        help="validate feeds.yaml and exit 0 (valid), 1 (valid but no feeds) or 2 (invalid)",
        description="Validate the config file without fetching anything.",
    )
    add_config(check)
    check.add_argument("--repair", action="store_true", help="also rebuild the state database (as `reindex`)")
    _add_check_archive(check)
    check.set_defaults(handler=_check)


def add_status(commands: Commands) -> None:
    """`crawler status`."""
    status = commands.add_parser(
        "status",
        help="show every feed's last poll, next poll, failures, last error and article counts",
        description="One row per feed: last poll, last success, next poll, consecutive failures, last error, "
        "articles archived and pending. Reads the state database; fetches nothing.",
    )
    add_config(status)
    status.add_argument("--json", action="store_true", help="print the rows as JSON on stdout")
    status.set_defaults(handler=_status)


def add_reindex(commands: Commands) -> None:
    """`crawler reindex`."""
    reindex = commands.add_parser(
        "reindex",
        help="rebuild the state database's record of archived articles (and the search index) from the archive",
        description="Rebuild the state database's articles table, and the web console's search index, from the files "
        "in the archive (a corrupt database is moved aside first). The feeds' GUID memory cannot be rebuilt: the "
        "next fetch fetches listed pages again, and recognises every article already archived by its canonical URL "
        "or body text.",
    )
    add_config(reindex)
    reindex.set_defaults(handler=_reindex)


def _add_check_archive(check: argparse.ArgumentParser) -> None:
    check.add_argument(
        "--archive",
        action="store_true",
        help="also compare the archive's files with the state database: files deleted (queued to be archived "
        "again), added or changed behind its back; exit 1 when any differ",
    )
    check.add_argument("--json", action="store_true", help="with --archive: print the differences as JSON")


def _check(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    if not config.feeds:
        # Valid YAML, but nothing would ever be fetched: an empty or wrong file is far likelier than intent.
        say(
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


def _check_archive(args: argparse.Namespace, config: Config) -> int:
    from crawler.maintenance.archivecheck import check_archive

    report = asyncio.run(check_archive(config))
    if args.json:
        data = {
            "ok": not report.differences,
            "files": report.files,
            "recorded": report.recorded,
            "requeued": report.requeued,
            "differences": [d.to_json() for d in report.differences],
        }
        show(json.dumps(data, ensure_ascii=False, indent=2))
        return EXIT_FAILED if report.differences else EXIT_OK
    if not report.differences:
        print(f"{config.archive}: matches the state ({report.files} files)")
        return EXIT_OK
    kinds = ("deleted", "added", "changed", "moved")
    counts = ", ".join(f"{report.count(kind)} {kind}" for kind in kinds if report.count(kind))
    queued = f"; {report.requeued} entries queued to be archived again" if report.requeued else ""
    print(f"{config.archive}: differs from the state: {counts}{queued}")
    for difference in report.differences:
        say(f"{difference.kind:<8} {difference.path}  {difference.detail}")
    return EXIT_FAILED


def _reindex(args: argparse.Namespace) -> int:
    from crawler.maintenance.reindex import reindex
    from crawler.store import describe_state

    config = load_config(args.config)
    result = asyncio.run(reindex(config))
    if result.moved_aside is not None:
        print(f"crawler: {describe_state(config)}: corrupt; moved aside to {result.moved_aside.name}", file=sys.stderr)
    for path in result.unreadable:
        print(f"crawler: {config.archive / path}: not an archive file; indexed without its body", file=sys.stderr)
    print(f"{describe_state(config)}: {result.articles} articles indexed from {config.archive}")
    if result.dropped:
        print(
            f"crawler: {describe_state(config)}: dropped {len(result.dropped)} recorded articles whose files are gone "
            "(`crawler check --archive` queues them to be archived again)",
            file=sys.stderr,
        )
    return EXIT_OK


def _status(args: argparse.Namespace) -> int:
    from crawler.cli.status import render_nodes, render_table, status_report

    report = asyncio.run(status_report(load_config(args.config)))
    for line in (report.note, report.problem):
        if line:
            say(f"crawler: {line}", file=sys.stderr)
    if args.json:
        show(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        show(render_table(report.feeds))
        if report.nodes:
            show(render_nodes(report.nodes))
    # The rows are printed either way; a state database that cannot be trusted fails the command.
    return EXIT_FAILED if report.problem else EXIT_OK


def add_list(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    listing = commands.add_parser(
        "list",
        help="list the archived articles, newest first: date, feed, file and title",
        description="List the archive's articles, newest first, from the files' front matter and the state "
        "database (opened read-only). Fetches and writes nothing.",
    )
    add_config(listing)
    listing.add_argument("--feed", metavar="F", help="only the articles feed F listed")
    listing.add_argument(
        "--since", metavar="DATE", help="only those dated since DATE (YYYY-MM-DD, UTC) or a duration ago (7d)"
    )
    listing.add_argument("--grep", metavar="TEXT", help="only those whose title or body text holds TEXT (any case)")
    listing.add_argument("--json", action="store_true", help="print the articles as JSON")
    listing.set_defaults(handler=_list)


def _list(args: argparse.Namespace) -> int:
    from crawler.cli.listing import ListQuery, list_articles

    config = load_config(args.config)
    if args.feed is not None and config.feed(args.feed) is None:
        select_feeds(config, [args.feed])  # an unknown name: the usage error that lists the known ones
    rows = asyncio.run(list_articles(config, ListQuery(feed=args.feed, since=since_option(args.since), grep=args.grep)))
    if args.json:
        show(json.dumps([row.to_json() for row in rows], ensure_ascii=False, indent=2))
        return EXIT_OK
    width = max([len(row.feeds[0]) for row in rows if row.feeds] + [4])
    for row in rows:
        date = f"{row.date:%Y-%m-%d %H:%M}" if row.date is not None else "-" * 16
        feed = row.feeds[0] if row.feeds else "?"
        say(f"{date}  {feed:<{width}}  {row.path}  {row.title}")
    return EXIT_OK


def add_refetch(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    refetch = commands.add_parser(
        "refetch",
        help="fetch archived articles again and rewrite their files in place (after a selector fix)",
        description="Fetch the page of one archived article (by id or URL), or of a feed's articles, again with "
        "the feed's current settings, and rewrite each file in place: same id, same path, same date, replaced "
        "atomically. A page that cannot be fetched, or in which no body is found, leaves its file as it is.",
    )
    add_config(refetch)
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
        select_feeds(config, [args.feed])  # an unknown name is a usage error listing the known ones
    try:
        results = asyncio.run(
            refetch(config, Selection(article=args.article, feed=args.feed, since=since_option(args.since)))
        )
    except RefetchError as exc:
        say(f"crawler: {exc}", sys.stderr)
        return EXIT_FAILED
    for result in results:
        where = f"feed '{result.feed}': {result.url}" if result.feed else result.article_id
        if result.status == FAILED:
            say(f"crawler: {where}: {result.detail} ({result.path})", sys.stderr)
        else:
            say(f"{result.status:<9}  {result.path}  {where}")
    rewritten = sum(r.status == REWRITTEN for r in results)
    failed = sum(r.status == FAILED for r in results)
    print(f"refetch: {rewritten} rewritten, {len(results) - rewritten - failed} unchanged, {failed} failed")
    return EXIT_FAILED if failed else EXIT_OK


def add_reextract(commands: Commands) -> None:
    """`crawler reextract`."""
    reextract = commands.add_parser(
        "reextract",
        help="rebuild archived files from their raw records (raw: warc) with today's settings, offline",
        description="Rebuild archived articles from the responses kept in their WARC records (feeds with "
        "`raw: warc`), with the feed's current settings (body:, remove:, render: ...) and this version's "
        "extractor, without any request to the network. Each file is rewritten in place: same id, same path, same "
        "date, replaced atomically, and only when it changed. An article made from the feed's own text is rebuilt "
        "from the item kept in the state; one with no raw record is left as it is (`crawler refetch` fetches it).",
    )
    add_config(reextract)
    reextract.add_argument("articles", nargs="*", metavar="ID|URL", help="articles by id (file name) or URL")
    reextract.add_argument("--feed", metavar="F", help="every article feed F listed")
    reextract.add_argument("--all", action="store_true", help="every archived article")
    reextract.add_argument("--since", metavar="DATE", help="with --feed or --all: only those dated since DATE")
    reextract.add_argument("--json", action="store_true", help="one JSON object: each article and the counts")
    reextract.set_defaults(handler=_reextract)


def _reextract(args: argparse.Namespace) -> int:
    from crawler.maintenance.reextract import reextract
    from crawler.maintenance.refetch import FAILED, REWRITTEN, RefetchError, Selection

    if sum((bool(args.articles), args.feed is not None, args.all)) != 1:
        raise UsageError("reextract: name articles (ID or URL), or --feed F, or --all; one of them")
    if args.since is not None and not (args.feed or args.all):
        raise UsageError("reextract: --since goes with --feed or --all")
    config = load_config(args.config)
    if args.feed is not None:
        select_feeds(config, [args.feed])
    selection = Selection(articles=tuple(args.articles), feed=args.feed, every=args.all, since=since_option(args.since))
    try:
        results = asyncio.run(reextract(config, selection))
    except RefetchError as exc:
        say(f"crawler: {exc}", sys.stderr)
        return EXIT_FAILED
    rewritten = sum(r.status == REWRITTEN for r in results)
    failed = sum(r.status == FAILED for r in results)
    counts = {"rewritten": rewritten, "unchanged": len(results) - rewritten - failed, "failed": failed}
    if args.json:
        rows = [
            {"id": r.article_id, "path": r.path, "feed": r.feed, "url": r.url, "status": r.status}
            | ({"changed": list(r.changed)} if r.changed else {})
            | ({"detail": r.detail} if r.detail else {})
            for r in results
        ]
        show(json.dumps({"articles": rows, **counts}, ensure_ascii=False, indent=2))
        return EXIT_FAILED if failed else EXIT_OK
    for result in results:
        where = f"feed '{result.feed}': {result.url}" if result.feed else result.article_id
        if result.status == FAILED:
            say(f"crawler: {where}: {result.detail} ({result.path})", sys.stderr)
        else:
            what = f" ({', '.join(result.changed)})" if result.changed else ""
            say(f"{result.status:<9}  {result.path}  {where}{what}")
    print(f"reextract: {rewritten} rewritten, {counts['unchanged']} unchanged, {failed} failed")
    return EXIT_FAILED if failed else EXIT_OK
