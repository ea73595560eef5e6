"""What runs inside a worker process: its start (ignore Ctrl-C, die with the crawler) and a group of jobs."""

from __future__ import annotations

import os
import select
import signal
import threading
import traceback
from collections.abc import Callable
from typing import Any

Outcome = tuple[Any, BaseException | None, str]  # what a job returned, or what it raised and where


def worker_init(crawler: int) -> None:
    """A worker process's start: leave Ctrl-C to the crawler, and die with the crawler (pid `crawler`)."""
    # Ctrl-C reaches the whole process group; the crawler's own process decides how to stop (its grace period),
    # so a worker must not die under the jobs it is finishing.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with(crawler)


def _die_with(crawler: int) -> None:
    # A crawler killed outright (kill -9, the OOM killer) must take its workers along at once: one finishing a temp
    # file after its crawler is gone would leave that file to a next run that finds its writer still alive, and it
    # would hold memory for nothing. A worker's parent is the fork server, which outlives the crawler for as long
    # as any worker lives, so the worker watches the crawler itself: a pidfd turns readable when that process ends.
    # Where there are no pidfds (not Linux), a worker ends when it next finds its job queue closed.
    try:
        pidfd = os.pidfd_open(crawler)
    except ProcessLookupError:  # the crawler died before the worker started
        os._exit(1)
    except (OSError, AttributeError):
        return
    threading.Thread(target=_exit_when_readable, args=(pidfd,), name="crawler-watch", daemon=True).start()


def _exit_when_readable(fd: int) -> None:
    select.select([fd], [], [])
    os._exit(1)


def run_group(jobs: list[tuple[Callable[..., Any], tuple[object, ...]]]) -> list[Outcome]:
    """Run each job in this worker process; one job's error is its own, not the group's."""
    outcomes: list[Outcome] = []
    for fn, args in jobs:
        try:
            outcomes.append((fn(*args), None, ""))
        except Exception as exc:
            outcomes.append((None, exc, traceback.format_exc()))
    return outcomes


def ready() -> None:
    """A job that does nothing: submitted first, so that its end tells when the processes can take jobs."""


class RemoteTraceback(Exception):
    """The traceback, in a worker process, of an error a job raised there (the error's cause, for the log)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""
