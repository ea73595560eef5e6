"""Several nodes on one PostgreSQL database (crawler/store/postgres_nodes.py): feed leases with fencing tokens, a
node's beat, dead nodes, and host turns. Nodes here are stores of one process under names of their own; a lease
running out is made by moving its end in the database (never by waiting for the clock)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import psycopg
import pytest

from crawler.store.base import (
    ArticleClaim,
    ClaimStatus,
    FeedLease,
    FeedState,
    LeaseHeld,
    LeaseLost,
    NewEntry,
    SelectorCheck,
)
from crawler.store.postgres import PostgresStore
from crawler.store.postgres_location import PostgresLocation
from crawler.store.postgres_nodes import HOST_LINGER

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def nodes(postgres_url: str) -> AsyncIterator[tuple[PostgresStore, PostgresStore]]:
    a = await PostgresLocation(postgres_url, node="host-a 1 aa", lease=30).open()
    b = await PostgresLocation(postgres_url, node="host-b 2 bb", lease=30).open()
    await a.coordination().join()
    await b.coordination().join()
    try:
        yield a, b
    finally:
        await a.close()
        await b.close()


def sql(url: str, statement: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(statement.encode())


async def test_a_feed_leased_to_one_node_is_refused_to_another_until_released(nodes: tuple[PostgresStore, ...]) -> None:
    a, b = nodes
    lease = await a.coordination().lease_feed("f")
    assert isinstance(lease, FeedLease)
    held = await b.coordination().lease_feed("f")
    assert isinstance(held, LeaseHeld) and held.node == "host-a 1 aa" and 0 < held.remaining <= 30

    await a.coordination().release_feed("f")
    again = await b.coordination().lease_feed("f")

    assert isinstance(again, FeedLease) and again.token > lease.token


async def test_a_node_that_lost_its_lease_writes_nothing_for_the_feed(
    nodes: tuple[PostgresStore, ...], postgres_url: str
) -> None:
    a, b = nodes
    assert isinstance(await a.coordination().lease_feed("f"), FeedLease)
    await a.save_feed_state(FeedState(name="f", etag="a-1"))
    sql(postgres_url, "UPDATE feed_leases SET until = 0")  # a's lease ran out while it was paused
    assert isinstance(await b.coordination().lease_feed("f"), FeedLease)
    await b.save_feed_state(FeedState(name="f", etag="b-1"))

    for write in (
        a.save_feed_state(FeedState(name="f", etag="a-2")),
        a.add_pending("f", [NewEntry("k", None, "{}")], 1.0),
        a.claim(ArticleClaim("f", "k", "id", ("https://x/a",), None), 1.0),
        a.record_failure("f", "k", "late"),
    ):
        with pytest.raises(LeaseLost):
            await write

    assert (await b.feed_state("f")).etag == "b-1" and await b.pending("f") == []
    assert await a.coordination().beat() == ["f"]  # its beat says so too, and renews nothing of b's


async def test_the_beat_renews_the_leases_a_node_holds(nodes: tuple[PostgresStore, ...], postgres_url: str) -> None:
    a, b = nodes
    assert isinstance(await a.coordination().lease_feed("f"), FeedLease)
    sql(postgres_url, "UPDATE feed_leases SET until = until - 29")  # nearly over

    assert await a.coordination().beat() == []

    assert isinstance(await b.coordination().lease_feed("f"), LeaseHeld)  # renewed: still a's
    await a.save_feed_state(FeedState(name="f", etag="still-a"))


async def test_a_silent_node_is_dead_and_its_claims_are_taken_over(
    nodes: tuple[PostgresStore, ...], postgres_url: str
) -> None:
    a, b = nodes
    assert (await a.claim(ArticleClaim("f", "k", "id-a", ("https://x/a",), None), 1.0)).status is ClaimStatus.WON
    mine = ArticleClaim("g", "k", "id-b", ("https://x/a",), None)
    assert (await b.claim(mine, 1.0)).status is ClaimStatus.HELD  # a beats: its claim holds

    sql(postgres_url, "UPDATE nodes SET seen_at = seen_at - 31 WHERE id = 'host-a 1 aa'")

    assert await b.coordination().dead_nodes() == {"host-a 1 aa"}
    assert (await b.claim(mine, 1.0)).status is ClaimStatus.WON
    listed = await b.coordination().nodes()
    assert [(n.node, n.alive) for n in listed] == [("host-b 2 bb", True), ("host-a 1 aa", False)]


async def test_a_node_that_left_gives_its_feeds_back_at_once(nodes: tuple[PostgresStore, ...]) -> None:
    a, b = nodes
    assert isinstance(await a.coordination().lease_feed("f"), FeedLease)

    await a.coordination().leave()

    assert isinstance(await b.coordination().lease_feed("f"), FeedLease)
    assert "host-a 1 aa" in await b.coordination().dead_nodes()


async def test_a_host_held_by_one_node_waits_for_it_and_keeps_its_delay(nodes: tuple[PostgresStore, ...]) -> None:
    a, b = nodes
    loop = asyncio.get_running_loop()
    assert await a.coordination().host_turn("h", 0.0, loop.time()) <= loop.time()  # free: at once
    waiting = asyncio.create_task(b.coordination().host_turn("h", 0.0, loop.time()))
    for _ in range(5):
        await asyncio.sleep(0.05)
        assert not waiting.done()  # a holds the host

    await a.coordination().host_idle("h", 30.0)  # a's last request asks the next to wait 30 s
    start = await asyncio.wait_for(waiting, 30)

    assert start - loop.time() > 25  # the delay is kept across the hand-over


async def test_a_released_feed_is_written_by_no_straggler_of_the_poll(nodes: tuple[PostgresStore, ...]) -> None:
    # A poll that ended on a lost lease may leave article tasks running: the feed given back, they write nothing.
    a, _b = nodes
    assert isinstance(await a.coordination().lease_feed("f"), FeedLease)
    await a.coordination().release_feed("f")

    with pytest.raises(LeaseLost):
        await a.record_selectors([SelectorCheck("f", "https://x/a", "#body", False, 1.0)])
    assert isinstance(await a.coordination().lease_feed("f"), FeedLease)  # granted again: it writes again
    await a.record_selectors([SelectorCheck("f", "https://x/a", "#body", False, 1.0)])


async def test_states_saved_together_are_each_fenced_on_their_own(
    nodes: tuple[PostgresStore, ...], postgres_url: str
) -> None:
    # A poll's state writes go to the database in groups: the one feed whose lease was lost is refused, the others
    # of its group are written.
    a, b = nodes
    for feed in ("f", "g"):
        assert isinstance(await a.coordination().lease_feed(feed), FeedLease)
    sql(postgres_url, "UPDATE feed_leases SET until = 0 WHERE feed = 'f'")
    assert isinstance(await b.coordination().lease_feed("f"), FeedLease)
    await b.save_feed_state(FeedState(name="f", etag="b-1"))

    saved = await asyncio.gather(
        a.save_feed_state(FeedState(name="f", etag="a-late")),
        a.save_feed_state(FeedState(name="g", etag="a-1")),
        a.save_feed_state(FeedState(name="h", etag="not-leased")),  # `crawler fetch` takes no lease
        a.save_feed_state(FeedState(name="g", etag="a-2")),  # the later of two in one group stands
        return_exceptions=True,
    )

    assert isinstance(saved[0], LeaseLost) and saved[1:] == [None, None, None]
    assert [(await b.feed_state(name)).etag for name in ("f", "g", "h")] == ["b-1", "a-2", "not-leased"]


async def test_leases_asked_for_together_are_each_granted_or_refused(
    nodes: tuple[PostgresStore, ...], postgres_url: str
) -> None:
    a, b = nodes
    assert isinstance(await a.coordination().lease_feed("held"), FeedLease)
    assert isinstance(await a.coordination().lease_feed("locked"), FeedLease)
    await a.coordination().release_feed("locked")
    with psycopg.connect(postgres_url) as granting:  # another node granting it this very moment: its row locked
        granting.execute("SELECT * FROM feed_leases WHERE feed = 'locked' FOR UPDATE")

        answers = await asyncio.gather(*(b.coordination().lease_feed(feed) for feed in ("held", "locked", "new")))

    held, locked, new = answers
    assert isinstance(held, LeaseHeld) and held.node == "host-a 1 aa"
    assert isinstance(locked, LeaseHeld) and locked.node is None
    assert isinstance(new, FeedLease) and b.coordination().held() == 1


async def test_a_host_taken_again_before_its_hand_back_stays_with_the_node(nodes: tuple[PostgresStore, ...]) -> None:
    # A host goes idle between two feeds for a moment: it is kept a little (HOST_LINGER) before it is handed back,
    # and a turn asked for meanwhile keeps it (no other node sends to it in between).
    a, b = nodes
    loop = asyncio.get_running_loop()
    await a.coordination().host_turn("h", 0.0, loop.time())
    await a.coordination().host_idle("h", 0.0)
    await a.coordination().host_turn("h", 0.0, loop.time())  # at once: the hand-back is off

    waiting = asyncio.create_task(b.coordination().host_turn("h", 0.0, loop.time()))
    await asyncio.sleep(3 * HOST_LINGER)
    assert not waiting.done()  # still a's

    await a.coordination().host_idle("h", 0.0)
    await asyncio.wait_for(waiting, 30)  # handed back once idle for HOST_LINGER


async def test_a_store_closing_hands_its_idle_hosts_back_at_once(postgres_url: str) -> None:
    a = await PostgresLocation(postgres_url, node="host-a 1 aa", lease=30).open()
    b = await PostgresLocation(postgres_url, node="host-b 2 bb", lease=30).open()
    try:
        loop = asyncio.get_running_loop()
        await a.coordination().host_turn("h", 0.0, loop.time())
        await a.coordination().host_idle("h", 0.0)

        await a.close()  # before the linger is over

        assert await asyncio.wait_for(b.coordination().host_turn("h", 0.0, loop.time()), HOST_LINGER / 2) >= 0
    finally:
        await b.close()
