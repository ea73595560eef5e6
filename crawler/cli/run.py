"""`crawler run`: the daemon's command line."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING

from crawler.cli.console import add_token, console_token, host_port
from crawler.cli.output import EXIT_USAGE, add_config, show
from crawler.config.load import load_config
from crawler.config.values import parse_duration

if TYPE_CHECKING:
    Commands = argparse._SubParsersAction[argparse.ArgumentParser]


def add_run(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = commands.add_parser(
        "run",
        help="poll every enabled feed at its interval, forever (the daemon)",
        description="Poll every enabled feed at its interval until stopped. feeds.yaml is re-read when it changes "
        "(or on SIGHUP); SIGTERM or SIGINT stops new polls and lets running ones finish, a second one exits at once.",
    )
    add_config(run)
    run.add_argument(
        "--grace",
        type=_duration,
        default=30.0,
        metavar="DURATION",
        help="how long running polls may take to finish after SIGTERM (default: 30s)",
    )
    run.add_argument(
        "--http",
        "--health",
        dest="http",
        type=host_port,
        default=None,
        metavar="HOST:PORT",
        help="serve the web console (dashboard, feeds' history, the archive with search), /healthz and /metrics "
        "(Prometheus) on this address (default: off; --health is the same option)",
    )
    add_token(run)
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


def _run(args: argparse.Namespace) -> int:
    from crawler.console.server import ConsoleError, access_problem
    from crawler.daemon.service import Daemon, DaemonError, DaemonOptions
    from crawler.logs import setup_logging

    setup_logging(args.log_format)
    config = load_config(args.config)
    try:
        options = DaemonOptions(
            config_path=args.config,
            grace=args.grace,
            health=args.http,
            token=console_token(args.token_file),
            stall_after=args.stall_after,
            late_after=args.late_after,
        )
        if options.health is not None:
            problem = access_problem(options.health[0], options.token)
            if problem is not None:
                raise DaemonError(problem)
        return asyncio.run(Daemon(config, options).run())
    except (DaemonError, ConsoleError) as exc:
        show(f"crawler: {exc}", sys.stderr)
        return EXIT_USAGE
