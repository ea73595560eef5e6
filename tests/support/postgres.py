"""A real PostgreSQL server for the tests: Debian's binaries (/usr/lib/postgresql/*/bin), a cluster made by initdb
in a temporary folder and started by pg_ctl on 127.0.0.1 at a free port, run as an ordinary user (PostgreSQL
refuses to run as root: when the tests run as root, the server runs as the `postgres` user Debian's package makes,
through `runuser`). One server per test session (per xdist worker), a fresh database per test.

    server = PostgresServer.start()          # or raise Unavailable(reason) -> the tests skip with it
    url = server.new_database()              # postgresql://postgres@127.0.0.1:PORT/t123_1
    server.stop()
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

RUN_AS = "postgres"  # the unprivileged user Debian's postgresql package makes
START_TRIES = 5  # free ports picked in turn: another process may take the one we picked before the server binds it


class Unavailable(Exception):
    """No PostgreSQL server can be had here; the message says why (the tests skip with it)."""


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if not found:
        on_path = shutil.which("initdb")
        if on_path is None:
            raise Unavailable("PostgreSQL is not installed (Debian's `postgresql` package; .ci/run installs it)")
        return Path(on_path).parent
    return Path(found[-1]).parent


def _user() -> tuple[str, list[str]]:
    """The user the server runs as, and the command prefix that runs a program as that user."""
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid()).pw_name, []
    try:
        pwd.getpwnam(RUN_AS)
    except KeyError:
        raise Unavailable(
            f"running as root, and there is no unprivileged `{RUN_AS}` user to run PostgreSQL as"
        ) from None
    runuser = shutil.which("runuser")
    if runuser is None:
        raise Unavailable("running as root, and `runuser` is missing: PostgreSQL cannot be started as another user")
    return RUN_AS, [runuser, "-u", RUN_AS, "--"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    """A throw-away PostgreSQL cluster; `start` makes and starts it, `stop` stops it and removes its folder."""

    def __init__(self, folder: Path, bin_dir: Path, user: str, as_user: list[str], port: int) -> None:
        self.folder = folder
        self.bin_dir = bin_dir
        self.user = user
        self._as_user = as_user
        self.port = port
        self._numbers = itertools.count(1)

    @classmethod
    def start(cls) -> PostgresServer:
        """Make a cluster in a new temporary folder and start it; raise Unavailable when that cannot be done."""
        bin_dir = _bin_dir()
        user, as_user = _user()
        folder = Path(tempfile.mkdtemp(prefix="crawler-pg-"))
        if as_user:
            info = pwd.getpwnam(user)
            os.chown(folder, info.pw_uid, info.pw_gid)
        server = cls(folder, bin_dir, user, as_user, 0)
        try:
            server._initdb()
            server._start_on_a_free_port()
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return server

    def _run(self, *command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self._as_user, *command], capture_output=True, text=True, timeout=120, cwd=self.folder, check=False
        )

    def _initdb(self) -> None:
        done = self._run(
            str(self.bin_dir / "initdb"),
            "-D",
            str(self.folder / "data"),
            "-U",
            self.user,
            "-A",
            "trust",  # only 127.0.0.1 and a socket in this folder: no one else can reach it
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        if done.returncode != 0:
            raise Unavailable(f"initdb failed: {done.stderr.strip() or done.stdout.strip()}")

    def _start_on_a_free_port(self) -> None:
        last = ""
        for _ in range(START_TRIES):
            self.port = _free_port()
            options = (
                f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
                + (" -c log_statement=mod -c log_line_prefix='%m %a '" if os.environ.get("CRAWLER_PG_LOG") else "")
            )
            done = self._run(
                str(self.bin_dir / "pg_ctl"),
                "-D",
                str(self.folder / "data"),
                "-l",
                str(self.folder / "server.log"),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            )
            if done.returncode == 0:
                return
            last = done.stderr.strip() or done.stdout.strip()
            with contextlib.suppress(OSError):
                last += "\n" + (self.folder / "server.log").read_text(errors="replace")[-2000:]
        raise Unavailable(f"pg_ctl could not start the server: {last}")

    def url(self, database: str = "postgres") -> str:
        """The URL of `database` on this server, as `state:` takes it."""
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def admin(self, sql: str) -> None:
        """Run one statement as the server's superuser, outside any transaction (CREATE DATABASE and such)."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql.encode())

    def new_database(self) -> str:
        """A new, empty database on this server; return its URL."""
        name = f"t{os.getpid()}_{next(self._numbers)}"
        self.admin(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop the database at `url` (its connections are ended first); best effort."""
        name = url.rsplit("/", 1)[1]
        with contextlib.suppress(Exception):
            self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        """Stop the server at once and remove its folder."""
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop")
        if os.environ.get("CRAWLER_PG_LOG"):  # kept for reading: CRAWLER_PG_LOG=path
            shutil.copy(self.folder / "server.log", os.environ["CRAWLER_PG_LOG"])
        shutil.rmtree(self.folder, ignore_errors=True)
