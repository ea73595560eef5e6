"""Fixtures: a real HTTP server on 127.0.0.1, a work folder with a feeds.yaml, and the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.postgres import PostgresServer, Unavailable
from tests.support.server import TestServer

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def server() -> Iterator[TestServer]:
    srv = TestServer()
    yield srv
    srv.close()


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> dict:  # type: ignore[type-arg]
        return json.loads(self.stdout)  # type: ignore[no-any-return]


class Workdir:
    """A folder holding feeds.yaml, the archive and the state database, and a way to run `crawler` in it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.config = path / "feeds.yaml"
        self.archive = path / "archive"

    def write_config(self, text: str) -> Path:
        self.config.write_text(text, encoding="utf-8")
        return self.config

    def run(
        self,
        *args: str,
        timeout: float = 120,
        env: dict[str, str] | None = None,
        limits: Callable[[], None] | None = None,
    ) -> Result:
        """Run the real command line, as an operator would, in this folder (`limits` runs in the child before it
        starts: rlimits and such)."""
        full_env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1", **(env or {})}
        proc = subprocess.run(
            [sys.executable, "-m", "crawler", *args],
            cwd=self.path,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=full_env,
            preexec_fn=limits,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def files(self) -> list[Path]:
        """Every file under the archive, sorted."""
        if not self.archive.exists():
            return []
        return sorted(p for p in self.archive.rglob("*") if p.is_file())


@pytest.fixture
def work(tmp_path: Path) -> Workdir:
    return Workdir(tmp_path)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One real PostgreSQL server for this test session (each xdist worker has its own); skipped, with the reason,
    where none can be had."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed (pip install '.[postgres]')")
    try:
        pg = PostgresServer.start()
    except Unavailable as exc:
        pytest.skip(str(exc))
    yield pg
    pg.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty database on the session's PostgreSQL server, dropped after the test."""
    url = postgres_server.new_database()
    yield url
    postgres_server.drop_database(url)
