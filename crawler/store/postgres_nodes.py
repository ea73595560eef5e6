"""Several nodes on one PostgreSQL database: who is alive (each node beats), which node polls which feed (leases
granted with FOR UPDATE SKIP LOCKED, renewed by the beat, each grant a new fencing token), and which node may send
to which host (host turns, so that a host's cap and delay hold across nodes).

Every lease time is the database's clock, the one every node reads: a node's own clock may be off, or stopped
(SIGSTOP, a VM paused); the database decides when a lease is over. A node that lost a lease finds out at its next
write for that feed, which the store refuses (PostgresStore._fence), or at its next beat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from crawler.store.base import FeedLease, LeaseHeld, NodeInfo, StoreError
from crawler.store.groups import Grouped
from crawler.store.owners import HOST
from crawler.store.postgres_rows import Conn, explain

log = logging.getLogger("crawler")

NOW = "extract(epoch from clock_timestamp())"  # the database's clock, in seconds since the epoch
FORGET_DEAD_AFTER = 7 * 86400.0  # seconds after which a dead node's row is dropped (its leases long taken over)
HOST_WAIT_POLL = 0.02  # seconds between asks for a host another node holds
# Seconds a host this node has no request for is kept before it is handed back: a host polled feed after feed goes
# idle between two feeds for a moment, and handing it back and taking it again each time cost two statements a
# request. Another node waits at most this much longer for a host this node has stopped using.
HOST_LINGER = 0.5
# Grant every feed asked for that no other node holds, in one statement: a feed without a row yet gets one granted to
# this node (`fresh`: a concurrent insert by another node makes this one do nothing); of the others, the rows another
# node is granting right now are skipped (SKIP LOCKED), the rest locked and, where free (no holder, this node, or the
# lease over), given a new token. The rows `fresh` inserts are not in the statement's snapshot, so `locked` never
# sees them (and a token the insert drew for a row that was there already is simply never used). One row per feed
# not skipped: (feed, holder, seconds left, the new token or NULL, until or NULL).
_GRANT = (
    "WITH fresh AS (INSERT INTO feed_leases (feed, node, token, until) "
    f"SELECT feed, %(node)s, nextval('lease_tokens'), {NOW} + %(lease)s FROM unnest(%(feeds)s::text[]) AS w(feed) "
    "ON CONFLICT DO NOTHING RETURNING feed, token, until), "
    f"locked AS (SELECT feed, node, until - {NOW} AS remaining FROM feed_leases WHERE feed = ANY(%(feeds)s) "
    "FOR UPDATE SKIP LOCKED), "
    "granted AS (UPDATE feed_leases f SET node = %(node)s, token = nextval('lease_tokens'), "
    f"until = {NOW} + %(lease)s FROM locked l "
    "WHERE f.feed = l.feed AND (l.node IS NULL OR l.node = %(node)s OR l.remaining <= 0) "
    "RETURNING f.feed, f.token, f.until) "
    "SELECT feed, NULL::text, NULL::double precision, token, until FROM fresh UNION ALL "
    "SELECT l.feed, l.node, l.remaining, g.token, g.until FROM locked l LEFT JOIN granted g ON g.feed = l.feed"
).encode()
RELEASED = 0  # the fence of a feed this node gave back: no grant has this token (the sequence starts at 1)


class PostgresNodes:
    """This node's side of the coordination (the `Nodes` protocol of store/base.py) on the store's pool; `fences`
    is the store's map of feed -> token, which its writes are checked against."""

    def __init__(
        self, pool: AsyncConnectionPool[Conn], where: str, fences: dict[str, int], lease: float, node: str
    ) -> None:
        self._pool = pool
        self._where = where
        self._fences = fences
        self.node = node
        self.lease = lease
        # Hosts this node holds: host -> (when the hold ends, when this turn began), both on the local monotonic
        # clock (the database's end, less the time since it was read).
        self._hosts: dict[str, tuple[float, float]] = {}
        # One database step at a time per host: a hand-back and the next turn of this node must not cross.
        self._host_locks: dict[str, asyncio.Lock] = {}
        # Hosts held with no request in flight, each with its hand-back timer, when it went idle and the wait its
        # last request asked for (see HOST_LINGER); a turn taken meanwhile keeps the host and drops the hand-back.
        self._idle: dict[str, tuple[asyncio.TimerHandle, float, float]] = {}
        self._handing_back: set[asyncio.Task[None]] = set()
        # Feeds asked for, and given back, while a group is under way go together in the next (store/groups.py).
        self._grants: Grouped[str, FeedLease | LeaseHeld] = Grouped(self._grant)
        self._releases: Grouped[tuple[str, int], None] = Grouped(self._release)

    @contextlib.asynccontextmanager
    async def _conn(self) -> AsyncIterator[Conn]:
        try:
            async with self._pool.connection() as conn:
                yield conn
        except psycopg.Error as exc:
            raise StoreError(explain(self._where, exc)) from None

    async def _one(self, sql: str, args: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
        # One statement: the pool's connections commit each on its own (autocommit), so it needs no BEGIN and
        # COMMIT of its own, two round trips fewer.
        async with self._conn() as conn:
            cursor = await conn.execute(sql.encode(), args)
            return await cursor.fetchone() if cursor.description else None

    # -- being alive ------------------------------------------------------------------------------------------------

    async def join(self) -> None:
        """Say this node is alive (at start); forget nodes dead for a week."""
        async with self._conn() as conn, conn.transaction():
            await conn.execute(
                f"INSERT INTO nodes (id, host, pid, lease, started_at, seen_at) VALUES (%s, %s, %s, %s, {NOW}, {NOW}) "
                "ON CONFLICT (id) DO UPDATE SET seen_at = EXCLUDED.seen_at, stopped_at = NULL".encode(),
                (self.node, HOST, os.getpid(), self.lease),
            )
            await conn.execute(f"DELETE FROM nodes WHERE seen_at < {NOW} - %s".encode(), (FORGET_DEAD_AFTER,))

    async def beat(self) -> list[str]:
        """Say this node is alive and renew the leases it holds (only those whose token is still its own); return
        the feeds whose lease another node took over."""
        held = {feed: token for feed, token in self._fences.items() if token > 0}
        async with self._conn() as conn, conn.transaction():
            await conn.execute(f"UPDATE nodes SET seen_at = {NOW} WHERE id = %s".encode(), (self.node,))
            cursor = await conn.execute(
                f"UPDATE feed_leases f SET until = {NOW} + %s FROM (SELECT l.feed FROM feed_leases l "
                "JOIN unnest(%s::text[], %s::bigint[]) AS h(feed, token) ON l.feed = h.feed AND l.token = h.token "
                "WHERE l.node = %s ORDER BY l.feed FOR UPDATE OF l) AS k "  # in the feeds' order: see postgres.py
                "WHERE f.feed = k.feed RETURNING f.feed".encode(),
                (self.lease, list(held), list(held.values()), self.node),
            )
            renewed = {str(row[0]) for row in await cursor.fetchall()}
            # Hosts too: a request in flight longer than a lease must not let another node start one meanwhile.
            await conn.execute(
                f"UPDATE host_leases SET until = {NOW} + %s WHERE node = %s AND host = ANY(%s)".encode(),
                (self.lease, self.node, list(self._hosts)),
            )
        return sorted(set(held) - renewed)

    async def leave(self) -> None:
        """Give every feed and host back and say this node stopped (a clean exit: others need not wait a lease)."""
        async with self._conn() as conn, conn.transaction():
            await conn.execute(
                "UPDATE feed_leases SET node = NULL, until = 0 WHERE feed IN "
                "(SELECT feed FROM feed_leases WHERE node = %s ORDER BY feed FOR UPDATE)",  # in order: see postgres.py
                (self.node,),
            )
            await conn.execute("UPDATE host_leases SET node = NULL, until = 0 WHERE node = %s", (self.node,))
            await conn.execute(f"UPDATE nodes SET stopped_at = {NOW} WHERE id = %s".encode(), (self.node,))
        for feed in self._fences:
            self._fences[feed] = RELEASED
        self._hosts.clear()
        self._drop_idle()

    async def nodes(self) -> list[NodeInfo]:
        """Every node the database knows, live ones first, with the feeds each holds now."""
        async with self._conn() as conn:
            cursor = await conn.execute(
                f"SELECT n.id, n.host, n.pid, n.started_at, n.seen_at, n.stopped_at IS NOT NULL, "
                f"n.stopped_at IS NULL AND n.seen_at > {NOW} - n.lease, "
                f"coalesce(array_agg(f.feed ORDER BY f.feed) FILTER (WHERE f.feed IS NOT NULL), '{{}}') "
                f"FROM nodes n LEFT JOIN feed_leases f ON f.node = n.id AND f.until > {NOW} "
                "GROUP BY n.id ORDER BY 7 DESC, n.started_at".encode()
            )
            rows = await cursor.fetchall()
        return [
            NodeInfo(str(r[0]), str(r[1]), int(r[2]), float(r[3]), float(r[4]), bool(r[6]), bool(r[5]), tuple(r[7]))
            for r in rows
        ]

    async def dead_nodes(self) -> set[str]:
        """The ids of nodes known dead: stopped, or silent for longer than their lease."""
        async with self._conn() as conn:
            cursor = await conn.execute(
                f"SELECT id FROM nodes WHERE stopped_at IS NOT NULL OR seen_at < {NOW} - lease".encode()
            )
            return {str(row[0]) for row in await cursor.fetchall()}

    # -- feeds -------------------------------------------------------------------------------------------------------

    async def lease_feed(self, feed: str) -> FeedLease | LeaseHeld:
        """Grant `feed` to this node unless another node holds it (its lease not over) or is granting it right now
        (its row locked: SKIP LOCKED answers at once instead of waiting); each grant takes a new token. The feeds
        asked for while one group is being granted go together in the next, in one transaction."""
        return await self._grants(feed)

    async def _grant(self, feeds: list[str]) -> list[FeedLease | LeaseHeld]:
        wanted = list(dict.fromkeys(feeds))
        async with self._conn() as conn:  # one statement, committed on its own (autocommit)
            cursor = await conn.execute(_GRANT, {"feeds": wanted, "node": self.node, "lease": self.lease})
            rows = {str(row[0]): row for row in await cursor.fetchall()}
        answers: list[FeedLease | LeaseHeld] = []
        for feed in feeds:
            row = rows.get(feed)
            if row is None:  # another node is granting it this very moment
                answers.append(LeaseHeld(feed, None, self.lease))
            elif row[3] is None:  # another node holds it
                answers.append(LeaseHeld(feed, str(row[1]), float(row[2])))
            else:
                self._fences[feed] = int(row[3])
                answers.append(FeedLease(feed, int(row[3]), float(row[4])))
        return answers

    def held(self) -> int:
        """How many feeds this node holds a lease on now."""
        return sum(token > 0 for token in self._fences.values())

    async def release_feed(self, feed: str) -> None:
        """Give the feed back (only if the lease is still this node's). The feed stays fenced with a token no grant
        has: a write for it from this node, until it is granted again, is refused (what a poll that ended on a lost
        lease left running must not write). Feeds given back while one group is being written go in the next."""
        token = self._fences.get(feed)
        if token is not None and token > 0:
            self._fences[feed] = RELEASED
            await self._releases((feed, token))

    async def _release(self, leases: list[tuple[str, int]]) -> list[None]:
        await self._one(
            "UPDATE feed_leases f SET node = NULL, until = 0 FROM (SELECT l.feed FROM feed_leases l "
            "JOIN unnest(%s::text[], %s::bigint[]) AS r(feed, token) ON l.feed = r.feed AND l.token = r.token "
            "ORDER BY l.feed FOR UPDATE OF l) AS k WHERE f.feed = k.feed",  # locked in order: see postgres.py
            ([feed for feed, _token in leases], [token for _feed, token in leases]),
        )
        return [None] * len(leases)

    # -- hosts -------------------------------------------------------------------------------------------------------

    async def host_turn(self, host: str, next_start: float, now: float) -> float:
        """Hold `host` for this node, waiting while another node holds it; return when this node's next request to
        it may start: `next_start` (in the caller's clock, whose present is `now`), or later when the node that held
        the host before asked for a longer wait (its delay kept across the hand-over)."""
        lock = self._host_locks.setdefault(host, asyncio.Lock())
        idle = self._idle.pop(host, None)
        if idle is not None:  # still held: its hand-back is off
            idle[0].cancel()
        while True:
            held = self._hosts.get(host)
            if held is not None and held[0] - time.monotonic() > self.lease / 2:
                return next_start
            async with lock:
                # One statement (autocommit): the host's row made, or taken unless another node holds it.
                row = await self._one(
                    f"INSERT INTO host_leases AS h (host, node, until) VALUES (%s, %s, {NOW} + %s) "
                    "ON CONFLICT (host) DO UPDATE SET node = EXCLUDED.node, until = EXCLUDED.until "
                    f"WHERE h.node = EXCLUDED.node OR h.node IS NULL OR h.until < {NOW} "
                    f"RETURNING h.until - {NOW}, h.next_start - {NOW}",
                    (host, self.node, self.lease),
                )
            if row is not None:
                mono = time.monotonic()
                self._hosts[host] = (mono + float(row[0]), held[1] if held is not None else mono)
                return max(next_start, now + max(0.0, float(row[1])))
            await asyncio.sleep(HOST_WAIT_POLL)

    async def host_idle(self, host: str, wait: float) -> None:
        """No request of this node's to `host` is in flight: hand the host back (HOST_LINGER from now, unless this
        node asks for it again meanwhile); its next request, whichever node sends it, may start `wait` seconds from
        now."""
        if host not in self._hosts or host in self._idle:
            return
        timer = asyncio.get_running_loop().call_later(HOST_LINGER, self._linger_over, host)
        self._idle[host] = (timer, time.monotonic(), wait)

    def _linger_over(self, host: str) -> None:
        idle = self._idle.pop(host, None)
        if idle is None or self._hosts.pop(host, None) is None:
            return
        # Not held from now on: a turn asked for meanwhile goes to the database (after this hand-back, by the lock).
        task = asyncio.get_running_loop().create_task(self._hand_back(host, idle[2] - (time.monotonic() - idle[1])))
        self._handing_back.add(task)
        task.add_done_callback(self._handing_back.discard)

    async def _hand_back(self, host: str, wait: float) -> None:
        try:
            async with self._host_locks.setdefault(host, asyncio.Lock()):
                if host in self._hosts:  # taken again in between (its turn got the lock first): still in use
                    return
                await self._one(
                    f"UPDATE host_leases SET node = NULL, until = 0, next_start = {NOW} + %s "
                    "WHERE host = %s AND node = %s",
                    (max(0.0, wait), host, self.node),
                )
        except StoreError as exc:  # the hold ends by itself within a lease
            log.warning("could not hand a host back", extra={"host": host, "error": str(exc)})

    async def hand_back_idle(self) -> None:
        """Hand back at once every host held with no request in flight (before the store closes), and wait for
        the hand-backs under way."""
        idle = {host: wait - (time.monotonic() - since) for host, (_timer, since, wait) in self._idle.items()}
        self._drop_idle()
        for host in idle:
            self._hosts.pop(host, None)
        await asyncio.gather(*(self._hand_back(host, wait) for host, wait in idle.items()), *self._handing_back)

    def _drop_idle(self) -> None:
        for timer, _since, _wait in self._idle.values():
            timer.cancel()
        self._idle.clear()
