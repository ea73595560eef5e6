"""Versioned schema migrations, for every backend: numbered steps, each applied once, in order, under the backend's
lock (SQLite: BEGIN IMMEDIATE; PostgreSQL: pg_advisory_lock), each recorded with its number in the same transaction
as its changes, so that a crash in the middle leaves a database at some whole version.

The decisions are here and pure (which steps are due, is the database newer than this code); each backend lists
its steps (store/schema.py, store/postgres_schema.py) and runs them on its own connection.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from crawler.store.base import StoreError

A = TypeVar("A")  # what a backend runs a step with: SQL text, or a function of its connection


class MigrationError(StoreError):
    """The database's schema cannot be brought to this crawler's (it is newer, or a step failed)."""


@dataclass(frozen=True)
class Migration(Generic[A]):
    """One numbered step of a backend's schema: `apply` is what the backend runs for it."""

    version: int
    name: str
    apply: A


@dataclass(frozen=True)
class SchemaStatus:
    """Where a database's schema stands against this crawler's: its version, the latest, the steps still due."""

    location: str
    backend: str
    current: int
    latest: int
    pending: tuple[str, ...]  # "N name" of each step still to apply, in order

    @property
    def up_to_date(self) -> bool:
        """Whether no step is due."""
        return not self.pending

    def as_json(self) -> dict[str, object]:
        """The status as `crawler db ... --json` prints it."""
        return {
            "location": self.location,
            "backend": self.backend,
            "version": self.current,
            "latest": self.latest,
            "pending": list(self.pending),
        }


def latest(steps: Sequence[Migration[A]]) -> int:
    """The version a database has once every step is applied."""
    return steps[-1].version if steps else 0


def check_numbering(steps: Sequence[Migration[A]]) -> None:
    """Raise AssertionError unless the steps are numbered 1, 2, 3, ... (a gap or a repeat is a merge mistake)."""
    numbers = [step.version for step in steps]
    assert numbers == list(range(1, len(steps) + 1)), f"migrations must be numbered 1..n in order: {numbers}"


def due(steps: Sequence[Migration[A]], current: int, where: str) -> list[Migration[A]]:
    """The steps a database at version `current` still needs, in order; raise MigrationError when the database was
    made by a newer crawler (its schema is unknown to this code, so writing to it could break it)."""
    check_numbering(steps)
    if current > latest(steps):
        raise MigrationError(
            f"{where}: the state database's schema is version {current}, newer than this crawler knows "
            f"({latest(steps)}); upgrade the crawler on this machine (every node must run the same version)"
        )
    return [step for step in steps if step.version > current]


def status(steps: Sequence[Migration[A]], current: int, where: str, backend: str) -> SchemaStatus:
    """The schema status of a database at version `current`."""
    pending = due(steps, current, where)
    return SchemaStatus(where, backend, current, latest(steps), tuple(f"{s.version} {s.name}" for s in pending))
