"""The operator's setup commands: `init`, `feeds add` (with its probe), `feeds set`/`unset` and `completion`.

Each `add_*` function declares one command on the parser `cli.main._parser` builds; each handler only turns arguments
into a call of the module that does the work (init, probe, feedsfile) and its result into lines.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from crawler.cli.output import EXIT_FAILED, EXIT_OK, say

if TYPE_CHECKING:
    Commands = argparse._SubParsersAction[argparse.ArgumentParser]

AddConfig = Callable[[argparse.ArgumentParser], None]
SHELLS = ("bash", "zsh")


def add_init(commands: Commands) -> None:
    """`crawler init [DIR]`."""
    init = commands.add_parser(
        "init",
        help="write a commented feeds.yaml and an archive folder to start from",
        description="Write DIR/feeds.yaml (every top-level key with its default, commented, and an example feed) "
        "and make its archive folder. An existing feeds.yaml is never overwritten (exit 2).",
    )
    init.add_argument("folder", nargs="?", type=Path, default=Path("."), metavar="DIR", help="(default: .)")
    init.set_defaults(handler=_init)


def _init(args: argparse.Namespace) -> int:
    from crawler.config.starter import init

    created = init(args.folder)
    print(f"{created.config}: written; add a feed with `crawler feeds add NAME URL`, then `crawler check`")
    if created.archive is not None:
        print(f"{created.archive}: archive folder made")
    return EXIT_OK


def add_feeds_add(actions: Commands, add_config: AddConfig) -> None:
    """`crawler feeds add NAME URL ...`."""
    add = actions.add_parser(
        "add",
        help="add a feed at the end of feeds.yaml, after checking that its URL is a feed",
        description="Fetch URL first: a feed gives its title and site; an HTML page is searched for its feed "
        '(<link rel="alternate">, then /feed, /rss, /atom.xml, /feed.xml, /rss.xml, /index.xml) and the feed found '
        "is added. A URL already in feeds.yaml (once normalised) is refused with the feed that has it.",
    )
    add_config(add)
    add.add_argument("name", metavar="NAME", help="unique name: lowercase letters, digits, '.', '_' and '-'")
    add.add_argument("url", metavar="URL", help="the feed's http(s) URL, or a page that names its feed")
    add.add_argument("--title", help="a title for people and OPML export (default: the feed's own)")
    add.add_argument("--category", action="append", default=[], metavar="C", help="a category (repeatable)")
    add.add_argument("--author", metavar="A", help="the author of every article")
    add.add_argument("--body", metavar="SEL", help="CSS selector of the article body")
    add.add_argument("--content", choices=("page", "feed", "auto"), help="where the article body comes from")
    add.add_argument(
        "--render", choices=("hexo", "verbatim"), help="lay the body out for Markdown (hexo, the default) or not"
    )
    add.add_argument("--interval", metavar="I", help="time between polls, such as 30m")
    add.add_argument("--no-probe", action="store_true", help="add URL as given, without fetching it")
    add.set_defaults(handler=_feeds_add)


def _feeds_add(args: argparse.Namespace) -> int:
    from crawler.config.editor import NewFeed, add_feeds, require_file

    require_file(args.config)
    feed = NewFeed(
        name=args.name,
        url=args.url,
        title=args.title,
        categories=tuple(args.category),
        author=args.author,
        body=args.body,
        content=args.content,
        render=args.render,
        interval=args.interval,
    )
    # Refused before any request when the name or the URL is taken or a value is invalid; checked again on adding.
    config = add_feeds(args.config, [feed], check_only=True)
    if not args.no_probe:
        from crawler.feeds.discover import ProbeError, probe  # the HTTP client and feed parser, only when probing

        try:
            found = asyncio.run(probe(config, args.url))
        except ProbeError as exc:
            say(f"crawler: {exc}", sys.stderr)
            return EXIT_FAILED
        if found.page is not None:
            say(f"{args.url}: a page; found the feed at {found.url}; added that")
        if found.moved_from is not None:
            say(f"{args.url}: moved permanently to {found.url}; added that")
        feed = replace(feed, url=found.url, title=args.title or found.title, site=found.site)
    add_feeds(args.config, [feed])
    say(f"{args.config}: added feed '{args.name}'" + (f" ({feed.title})" if feed.title else ""))
    return EXIT_OK


def add_feeds_set(actions: Commands, add_config: AddConfig) -> None:
    """`crawler feeds set NAME KEY VALUE` and `crawler feeds unset NAME KEY`."""
    edit = actions.add_parser(
        "set",
        help="set one key of a feed (url, body, interval, timezone, categories ...)",
        description="Set KEY of feed NAME to VALUE, read as YAML: `[a, b]` is a list, `true` a boolean, `30m` a "
        "string. The rest of the file is kept byte for byte; an edit that makes it invalid is refused.",
    )
    add_config(edit)
    edit.add_argument("name", metavar="NAME")
    edit.add_argument("key", metavar="KEY", help="any per-feed key but name")
    edit.add_argument("value", metavar="VALUE")
    edit.set_defaults(handler=_feeds_set)
    unset = actions.add_parser("unset", help="remove one key of a feed, so its default applies again")
    add_config(unset)
    unset.add_argument("name", metavar="NAME")
    unset.add_argument("key", metavar="KEY")
    unset.set_defaults(handler=_feeds_unset)


def _feeds_set(args: argparse.Namespace) -> int:
    from crawler.config.editor import parse_value, set_key

    set_key(args.config, args.name, args.key, parse_value(args.value))
    say(f"{args.config}: feed '{args.name}': {args.key} set to {args.value}")
    return EXIT_OK


def _feeds_unset(args: argparse.Namespace) -> int:
    from crawler.config.editor import unset_key

    changed = unset_key(args.config, args.name, args.key)
    tail = f"{args.key} removed" if changed else f"no {args.key} to remove; file unchanged"
    say(f"{args.config}: feed '{args.name}': {tail}")
    return EXIT_OK


def add_completion(commands: Commands) -> None:
    """`crawler completion bash|zsh`."""
    completion = commands.add_parser(
        "completion",
        help="print the shell completion script for bash or zsh",
        description="Print a completion script for every command and option, generated from this parser. bash: "
        "`crawler completion bash > ~/.local/share/bash-completion/completions/crawler`; zsh: "
        "`crawler completion zsh > ~/.zfunc/_crawler` with ~/.zfunc in $fpath before compinit.",
    )
    completion.add_argument("shell", choices=SHELLS, metavar="SHELL", help="bash or zsh")
    completion.set_defaults(handler=_completion)


def _completion(args: argparse.Namespace) -> int:
    import shtab

    from crawler.cli.main import _parser

    parser = _parser()
    _complete_paths(parser, shtab.FILE)
    sys.stdout.write(shtab.complete(parser, shell=args.shell))
    return EXIT_OK


def _complete_paths(parser: argparse.ArgumentParser, kind: object) -> None:
    """Mark every argument that takes a path (`--config`, `DIR`, `FILE.opml`) to complete file names."""
    for action in parser._actions:
        if action.type is Path:
            action.complete = kind  # type: ignore[attr-defined]  # shtab reads this attribute
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _complete_paths(sub, kind)
