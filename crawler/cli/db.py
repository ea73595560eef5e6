"""`crawler db`: the state database's schema, for operators who run migrations by hand (`crawler run` and every
other command apply the steps still due at start, under the database's lock, so this is never required)."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import TYPE_CHECKING

from crawler.cli.output import EXIT_FAILED, EXIT_OK, add_config
from crawler.config.load import load_config

if TYPE_CHECKING:
    Commands = argparse._SubParsersAction[argparse.ArgumentParser]


def add_db(commands: Commands) -> None:
    """`crawler db upgrade` and `crawler db status`."""
    db = commands.add_parser(
        "db",
        help="show or upgrade the state database's schema (SQLite file or PostgreSQL)",
        description="The state database's schema is versioned: every command applies the steps still due when it "
        "opens the database (one process at a time, under the database's lock). These commands do it by hand, "
        "e.g. before starting new versions of several nodes.",
    )
    actions = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    upgrade = actions.add_parser(
        "upgrade",
        help="apply the schema migrations still due (creating the tables where there are none)",
        description="Apply every schema migration still due, each in its own transaction, under the database's "
        "lock (pg_advisory_lock on PostgreSQL, BEGIN IMMEDIATE on SQLite). Safe to run while nodes run older "
        "steps; a database newer than this crawler is refused.",
    )
    status = actions.add_parser(
        "status",
        help="show the schema version, the latest this crawler knows and the steps still due; exit 1 if any",
        description="Show the schema's version, the latest this crawler knows, and each step still due. Changes "
        "nothing. Exit 0 when up to date, 1 when steps are due.",
    )
    for action, handler in ((upgrade, _upgrade), (status, _status)):
        add_config(action)
        action.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
        action.set_defaults(handler=handler)


def _upgrade(args: argparse.Namespace) -> int:
    from crawler.store import store_location

    location = store_location(load_config(args.config))
    applied = asyncio.run(location.upgrade())
    status = asyncio.run(location.schema_status())
    if args.json:
        print(json.dumps({**status.as_json(), "applied": applied}, indent=2))
    elif applied:
        for step in applied:
            print(f"{location.describe()}: applied migration {step}")
        print(f"{location.describe()}: schema at version {status.current}")
    else:
        print(f"{location.describe()}: schema up to date (version {status.current})")
    return EXIT_OK


def _status(args: argparse.Namespace) -> int:
    from crawler.store import store_location

    location = store_location(load_config(args.config))
    status = asyncio.run(location.schema_status())
    if args.json:
        print(json.dumps(status.as_json(), indent=2))
    else:
        print(f"{location.describe()} ({status.backend}): schema version {status.current} of {status.latest}")
        for step in status.pending:
            print(f"  due: {step}")
    return EXIT_OK if status.up_to_date else EXIT_FAILED
