"""`crawler run` as a real subprocess for the tests: start it, read its log, signal it, and always kill it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO, Workdir

# Runs `prelude` (argv[1]), then the real CLI module as `python -m crawler` would.
_WITH_PRELUDE = """
import runpy, sys
exec(sys.argv.pop(1))
sys.argv[0] = 'crawler'
runpy.run_module('crawler', run_name='__main__', alter_sys=True)
"""


class RunningDaemon:
    """One `crawler run` process in a work folder; its stdout and stderr go to files there. A `prelude` is Python run
    in the process first: how a test gives a stage a bug on demand."""

    def __init__(self, work: Workdir, *args: str, prelude: str | None = None, log_name: str = "daemon.log") -> None:
        self.work = work
        self.log_path = work.path / log_name
        env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
        command = ["-m", "crawler"] if prelude is None else ["-c", _WITH_PRELUDE, prelude]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, *command, "run", *args],
                cwd=work.path,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )

    def log(self) -> str:
        """Everything the daemon has logged so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def alive(self) -> bool:
        """Whether the process is still running."""
        return self.proc.poll() is None

    def wait_for(self, what: str, check: Callable[[], bool], timeout: float = 20.0) -> None:
        """Wait until `check()` holds; fail with the daemon's log when it does not within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            if not self.alive():
                pytest.fail(f"the daemon exited ({self.proc.returncode}) before {what}:\n{self.log()}")
            time.sleep(0.1)
        pytest.fail(f"timed out waiting for {what}:\n{self.log()}")

    def signal(self, signum: int) -> None:
        """Send `signum` to the daemon."""
        self.proc.send_signal(signum)

    def wait(self, timeout: float = 30.0) -> int:
        """Wait for the process to exit; return its exit code."""
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        """SIGKILL, and reap."""
        if self.alive():
            self.proc.kill()
        self.proc.wait(timeout=10)


@pytest.fixture
def start_daemon(work: Workdir) -> Iterator[Callable[..., RunningDaemon]]:
    """A factory of running daemons; every one of them is killed when the test ends, whatever happened."""
    started: list[RunningDaemon] = []

    def start(*args: str, prelude: str | None = None, log_name: str = "daemon.log") -> RunningDaemon:
        daemon = RunningDaemon(work, *args, prelude=prelude, log_name=log_name)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        if daemon.alive():
            daemon.proc.send_signal(signal.SIGCONT)  # one a test stopped (SIGSTOP) must be able to die
            daemon.proc.send_signal(signal.SIGKILL)
        daemon.proc.wait(timeout=10)


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss(base: str, items: list[tuple[str, str]], title: str = "Test feed") -> str:
    """An RSS 2.0 feed of (title, path) items, each linking to `base + path`, dated in order."""
    entries = "".join(
        f"<item><title>{t}</title><link>{base}{p}</link><guid>{base}{p}</guid>"
        f"<pubDate>Tue, 24 Aug 2021 {index // 3600 % 24:02d}:{index // 60 % 60:02d}:{index % 60:02d} GMT</pubDate>"
        "</item>"
        for index, (t, p) in enumerate(items)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title><link>{base}/</link>'
        f"{entries}</channel></rss>"
    )


def article(title: str, marker: str) -> str:
    """An article page whose body (#body) holds a unique `marker` to find in the archived file."""
    return (
        f"<html><head><title>{title}</title></head><body><div id='body'><p>{marker}</p>"
        f"<p>{'Some text of the article. ' * 20}</p></div></body></html>"
    )


def archived_texts(work: Workdir) -> list[str]:
    """The text of every archived article file (temp files being written are not articles yet)."""
    texts: list[str] = []
    for path in work.files():
        if path.suffix != ".md" or path.name.startswith("."):
            continue
        try:
            texts.append(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            continue  # only a running daemon removes files: a crash leftover it cleaned up
    return texts


def is_complete(text: str) -> bool:
    """Whether an archive file is whole: front matter, then a body ending in `</div>` and a newline."""
    return text.startswith("---\n") and "\n---\n\n<div>" in text and text.endswith("</div>\n")


def temp_files(root: Path) -> list[Path]:
    """Leftover temp files anywhere under `root`."""
    return [path for path in root.rglob("*") if path.name.endswith(".tmp")] if root.exists() else []
