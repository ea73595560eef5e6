"""The daemon's side of several nodes on one PostgreSQL database: this node beats while it runs, and a feed's timer
polls only with the feed's lease in hand (SQLite: one node, no leases, every timer polls).

Every node keeps a timer per feed, as one node does; when one fires, the node asks for the feed's lease:
- granted, and no other node polled the feed since this node last read its state: poll, renewing the lease by the
  beat meanwhile, and give it back after;
- granted, but another node polled it meanwhile: give it back and set the timer from the stored state;
- held by another node: try again when that lease ends (a dead node's feeds are thus taken within one lease).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import random
from dataclasses import dataclass

from crawler.daemon.metrics import Metrics
from crawler.store.base import FeedLease, FeedState, Nodes, Store, StoreError

log = logging.getLogger("crawler")


class Turn(enum.Enum):
    """What asking for a feed's lease decided."""

    POLL = "poll"  # the lease is this node's, and the feed is due: poll it, then `done`
    ELSEWHERE = "elsewhere"  # another node polled it since: set the timer from `state`
    HELD = "held"  # another node holds it: ask again in `retry` seconds


@dataclass(frozen=True)
class Answer:
    """A feed's turn, with what the daemon needs to set its timer."""

    turn: Turn
    state: FeedState | None = None
    retry: float = 0.0


class NodeLeases:
    """Leases and the beat for one daemon on a shared database."""

    def __init__(self, nodes: Nodes, store: Store, metrics: Metrics, rng: random.Random) -> None:
        self._nodes = nodes
        self._store = store
        self._metrics = metrics
        self._rng = rng
        self._seen: dict[str, float | None] = {}  # each feed's last poll as this node last read it
        self._beat: asyncio.Task[None] | None = None

    @property
    def node(self) -> str:
        """This node's id."""
        return self._nodes.node

    @property
    def held(self) -> int:
        """How many feeds this node holds now."""
        return self._nodes.held()

    async def start(self) -> None:
        """Join (say this node is alive) and beat every third of a lease from now on."""
        await self._nodes.join()
        self._beat = asyncio.create_task(self._beating(), name="node-beat")
        log.info("joined as a node", extra={"node": self._nodes.node, "lease": self._nodes.lease})

    async def stop(self) -> None:
        """Stop beating and give every lease back (the others take its feeds at once, not a lease later)."""
        if self._beat is not None:
            self._beat.cancel()
            await asyncio.gather(self._beat, return_exceptions=True)
        try:
            await self._nodes.leave()
        except StoreError as exc:
            log.warning("could not leave cleanly; its leases end by themselves", extra={"error": str(exc)})

    def saw(self, name: str, last_poll: float | None) -> None:
        """The feed's state as this node's timer for it was set from (its last poll)."""
        self._seen[name] = last_poll

    async def take(self, name: str) -> Answer:
        """Ask for the feed's lease; see Turn."""
        granted = await self._nodes.lease_feed(name)
        if not isinstance(granted, FeedLease):
            # Asked again just after it ends; a little later for each node, so they do not all ask at once.
            return Answer(Turn.HELD, retry=max(granted.remaining, 0.0) + self._rng.uniform(0.05, 0.5))
        state = await self._store.feed_state(name)
        if name in self._seen and state.last_poll != self._seen[name]:
            await self._nodes.release_feed(name)
            self._seen[name] = state.last_poll
            return Answer(Turn.ELSEWHERE, state=state)
        return Answer(Turn.POLL, state=state)

    async def done(self, name: str) -> None:
        """The poll is over: give the lease back."""
        try:
            await self._nodes.release_feed(name)
        except StoreError as exc:  # it ends by itself within a lease
            log.warning("could not give a lease back", extra={"feed": name, "error": str(exc)})

    async def _beating(self) -> None:
        while True:
            await asyncio.sleep(self._nodes.lease / 3)
            try:
                lost = await self._nodes.beat()
            except StoreError as exc:
                log.error("node beat failed", extra={"node": self._nodes.node, "error": str(exc)})
                continue
            for feed in lost:
                log.warning(
                    "lease lost: another node took this feed over; this node writes nothing more for it",
                    extra={"feed": feed, "node": self._nodes.node},
                )
            self._metrics.leases.set(self._nodes.held())
