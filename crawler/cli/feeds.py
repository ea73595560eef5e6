"""`crawler feeds list|remove|enable|disable|import|export` (`feeds add` and `feeds set` are in setup.py)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from crawler.cli.output import EXIT_OK, UsageError, add_config, say, show
from crawler.config.load import load_config

if TYPE_CHECKING:
    Commands = argparse._SubParsersAction[argparse.ArgumentParser]


def add_feeds(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    feeds = commands.add_parser(
        "feeds",
        help="list, add, remove, enable, disable, import or export feeds (edits feeds.yaml in place)",
        description="Change feeds.yaml in place, keeping its comments and layout; an edit that would make the file "
        "invalid is refused and the file is left untouched. A running `crawler run` picks the change up.",
    )
    actions = feeds.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="list the feeds")
    add_config(listing)
    listing.add_argument("--json", action="store_true", help="print the feeds as JSON")
    listing.set_defaults(handler=_feeds_list)
    from crawler.cli.setup import add_feeds_add, add_feeds_set

    add_feeds_add(actions, add_config)
    add_feeds_set(actions, add_config)
    for action, handler, text in (
        ("remove", _feeds_remove, "remove a feed (and the comment above it)"),
        ("enable", _feeds_enable, "set a feed's enabled: true"),
        ("disable", _feeds_disable, "set a feed's enabled: false (kept in the file, not polled)"),
    ):
        sub = actions.add_parser(action, help=text)
        add_config(sub)
        sub.add_argument("name", metavar="NAME")
        sub.set_defaults(handler=handler)
    imports = actions.add_parser("import", help="add the feeds of an OPML file (its folders become categories)")
    add_config(imports)
    imports.add_argument("opml", type=Path, metavar="FILE.opml")
    imports.set_defaults(handler=_feeds_import)
    export = actions.add_parser("export", help="print the feeds as OPML 2.0 (categories become folders)")
    add_config(export)
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
        show(json.dumps(rows, ensure_ascii=False, indent=2))
        return EXIT_OK
    for feed in config.feeds:
        state = "" if feed.enabled else "  (disabled)"
        categories = f"  [{', '.join(feed.categories)}]" if feed.categories else ""
        say(f"{feed.name}  {feed.url}{categories}{state}")
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
    from crawler.config.editor import require_file
    from crawler.config.lock import edit_lock

    require_file(args.config)
    with edit_lock(args.config):  # from reading the names and URLs taken to writing the new feeds
        return _import_opml(args)


def _import_opml(args: argparse.Namespace) -> int:
    from crawler.config.editor import NewFeed, add_feeds, derive_name
    from crawler.config.opml import OpmlError, read_opml
    from crawler.config.values import is_http_url
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
            say(f"{args.opml.name}: {item.url}: already in {args.config.name}; skipped", sys.stderr)
            continue
        name = derive_name(item.title, item.url, taken)
        taken.append(name)
        known_urls.add(normalize_url(item.url))
        site = item.site
        if site is not None and not is_http_url(site):  # informational: keep the feed, leave out the address
            say(f"{args.opml.name}: {item.url}: htmlUrl '{site}' is not an http(s) URL; not kept", sys.stderr)
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
