"""Where the pipeline's CPU-heavy jobs run (extraction, rendering, feed parsing)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

T = TypeVar("T")


class Executor(Protocol):
    """Where the pipeline's CPU-heavy jobs run: a `Workers`, or the runner's `WorkerPool` that outlives reloads."""

    @property
    def processes(self) -> int:
        """Worker processes it may start (0: jobs run in a thread)."""
        ...

    def prepare(self) -> None:
        """A burst of jobs is likely: start the processes now."""
        ...

    def expect(self, jobs: int) -> None:
        """`jobs` more jobs are about to come."""
        ...

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """`fn(*args)`, run there."""
        ...
