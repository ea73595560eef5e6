"""`crawler serve`: the web console over an archive and its state, without polling; and the console's options,
which `crawler run` shares (`--http`, `--token-file`)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from crawler.cli.output import EXIT_OK, EXIT_USAGE, UsageError, add_config, show
from crawler.config.load import load_config

if TYPE_CHECKING:
    from crawler.config.settings import Config

    Commands = argparse._SubParsersAction[argparse.ArgumentParser]

DEFAULT_ADDRESS = ("127.0.0.1", 8108)
TOKEN_HELP = (
    "a file whose first line is the token a request must carry (as `Authorization: Bearer TOKEN`, or once as "
    "?token=TOKEN, kept in a cookie); else the CRAWLER_CONSOLE_TOKEN environment variable. Required when the "
    "address is not a loopback one"
)


def host_port(text: str) -> tuple[str, int]:
    """HOST:PORT as argparse reads it."""
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"'{text}' is not HOST:PORT, such as 127.0.0.1:8108")
    return host.strip("[]"), int(port)


def add_token(parser: argparse.ArgumentParser) -> None:
    """The console's --token-file option."""
    parser.add_argument("--token-file", type=Path, default=None, metavar="FILE", help=TOKEN_HELP)


def console_token(path: Path | None) -> str | None:
    """The console's token: the first line of `path`, else $CRAWLER_CONSOLE_TOKEN, else None; UsageError when the
    file cannot be read or holds no token."""
    from crawler.console.server import TOKEN_ENV

    if path is None:
        return os.environ.get(TOKEN_ENV) or None
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--token-file {path}: cannot read it: {getattr(exc, 'strerror', None) or exc}") from None
    token = lines[0].strip() if lines else ""
    if not token:
        raise UsageError(f"--token-file {path}: the file's first line is empty: put the token there")
    return token


def add_serve(commands: Commands) -> None:
    """`crawler serve`."""
    serve = commands.add_parser(
        "serve",
        help="serve the web console over the archive and its state, without polling",
        description="Serve the web console (the dashboard, each feed's history, the archive with full-text search, "
        "each archived article) over the archive and state database of the config, without polling: for a reader, "
        "or a machine where the daemon does not run. It only reads. `crawler run --http` serves the same pages "
        "beside the daemon.",
    )
    add_config(serve)
    serve.add_argument(
        "--http",
        type=host_port,
        default=DEFAULT_ADDRESS,
        metavar="HOST:PORT",
        help="where to listen (default: 127.0.0.1:8108; port 0 picks a free one, printed on stderr)",
    )
    add_token(serve)
    serve.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    from crawler.console.server import ConsoleError
    from crawler.runner import console_server
    from crawler.store import store_location

    config = load_config(args.config)
    token = console_token(args.token_file)
    if not asyncio.run(store_location(config).exists()):
        show(
            f"crawler: {config.state}: no state database: run `crawler fetch` or `crawler run` first "
            "(or `crawler reindex` to build one from the archive)",
            sys.stderr,
        )
        return EXIT_USAGE
    asyncio.run(_bring_up_to_date(config))
    try:
        server = console_server(lambda: config, args.http, token)
    except ConsoleError as exc:
        show(f"crawler: {exc}", sys.stderr)
        return EXIT_USAGE
    host, port = server.address[0], server.address[1]
    show(f"crawler: serving the console on http://{host}:{port}/ (Ctrl-C stops)", sys.stderr)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return EXIT_OK


async def _bring_up_to_date(config: Config) -> None:
    """Open the state once for writing, so that a database made by an earlier version gains the console's tables;
    where it cannot be written (a read-only copy), the console still shows what is there."""
    from crawler.store import open_store
    from crawler.store.base import StoreError

    with contextlib.suppress(StoreError):
        store = await open_store(config)
        await store.close()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
