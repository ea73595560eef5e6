"""The burst policy: when the CPU stage's jobs are worth worker processes, judged by a clock the test moves (no
processes, no sleeps: these decisions do not depend on how fast the machine is)."""

from __future__ import annotations

import pytest

from crawler.workers.policy import Arrival, Burst, BurstPolicy, Place, PoolState, process_count
from tests.support.clock import ManualClock

BURST = Burst(warm_after=3, window=10.0, idle_close=120.0)


def policy(clock: ManualClock) -> BurstPolicy:
    return BurstPolicy(BURST, clock.now)


def test_a_trickle_is_never_a_burst() -> None:
    clock = ManualClock()
    burst = policy(clock)
    for _ in range(10):  # one job at a time, each alone in its window: a daemon's occasional new article
        assert burst.arrive(PoolState.NONE) == Arrival(burst=False, start=False)
        clock.advance(10.5)


def test_the_job_that_makes_warm_after_within_the_window_starts_the_processes() -> None:
    clock = ManualClock()
    burst = policy(clock)
    assert burst.arrive(PoolState.NONE) == Arrival(burst=False, start=False)
    clock.advance(9.0)  # still within one window of the first
    assert burst.arrive(PoolState.NONE) == Arrival(burst=False, start=False)
    assert burst.arrive(PoolState.NONE) == Arrival(burst=True, start=True)
    # Started once: later jobs of the burst do not start them again.
    assert burst.arrive(PoolState.STARTING) == Arrival(burst=True, start=False)
    assert burst.arrive(PoolState.READY) == Arrival(burst=True, start=False)


def test_a_burst_ends_when_its_window_has_passed() -> None:
    clock = ManualClock()
    burst = policy(clock)
    for _ in range(3):
        burst.arrive(PoolState.NONE)
    assert burst.arrive(PoolState.READY).burst
    clock.advance(10.5)  # the burst's jobs are out of the window now
    assert not burst.arrive(PoolState.READY).burst


def test_announced_jobs_start_the_processes_before_the_first_arrives_and_are_counted_once() -> None:
    clock = ManualClock()
    burst = BurstPolicy(Burst(warm_after=5, window=10.0), clock.now)
    assert burst.announce(5, PoolState.NONE)  # a feed with five new articles
    for _ in range(5):  # each of them arriving is part of the burst, not counted a second time
        assert burst.arrive(PoolState.STARTING) == Arrival(burst=True, start=False)
    clock.advance(10.5)
    assert not burst.arrive(PoolState.NONE).burst  # five counted once, now out of the window: one job is no burst


def test_jobs_past_those_announced_are_counted_as_they_arrive() -> None:
    clock = ManualClock()
    burst = BurstPolicy(Burst(warm_after=5, window=10.0), clock.now)
    assert not burst.announce(2, PoolState.NONE)
    # Two arrive as announced (counted already), the next three count as they come: the fifth job makes the burst.
    assert [burst.arrive(PoolState.NONE).burst for _ in range(5)] == [False, False, False, False, True]


def test_an_announcement_older_than_the_window_is_forgotten() -> None:
    clock = ManualClock()
    burst = BurstPolicy(Burst(warm_after=5, window=10.0), clock.now)
    assert not burst.announce(4, PoolState.NONE)
    clock.advance(10.5)
    assert burst.arrive(PoolState.NONE) == Arrival(burst=False, start=False)
    # The four announced are no longer owed: the next four count anew, and make a burst only with the fifth.
    assert [burst.arrive(PoolState.NONE).burst for _ in range(4)] == [False, False, False, True]


@pytest.mark.parametrize("pool", [PoolState.STARTING, PoolState.READY, PoolState.UNAVAILABLE])
def test_only_a_burst_with_no_processes_yet_starts_them(pool: PoolState) -> None:
    clock = ManualClock()
    burst = policy(clock)
    assert not burst.announce(100, pool)
    assert burst.arrive(pool) == Arrival(burst=True, start=False)


def test_a_job_goes_to_the_processes_only_in_a_burst_and_once_they_can_take_it() -> None:
    burst, trickle = Arrival(burst=True, start=False), Arrival(burst=False, start=False)
    assert BurstPolicy.place(burst, PoolState.READY) is Place.PROCESSES
    # While they start, a burst's jobs run on the thread rather than wait for them.
    assert BurstPolicy.place(burst, PoolState.STARTING) is Place.THREAD
    assert BurstPolicy.place(burst, PoolState.NONE) is Place.THREAD
    assert BurstPolicy.place(burst, PoolState.UNAVAILABLE) is Place.THREAD
    assert BurstPolicy.place(trickle, PoolState.READY) is Place.THREAD


def test_idle_processes_stop_idle_close_seconds_after_the_last_job_came_back() -> None:
    clock = ManualClock()
    burst = policy(clock)
    burst.sent()
    burst.sent()
    assert burst.idle_left() is None  # jobs are out in the processes
    burst.back()
    clock.advance(500.0)
    assert burst.idle_left() is None  # one still is, however long it takes
    burst.back()
    assert burst.idle_left() == 120.0
    clock.advance(119.0)
    assert burst.idle_left() == 1.0
    burst.sent()  # a job in the meantime puts the stop off
    clock.advance(5.0)
    burst.back()
    assert burst.idle_left() == 120.0
    clock.advance(200.0)
    assert burst.idle_left() == 0.0


def test_auto_is_one_process_per_cpu_up_to_four_and_none_on_a_single_cpu() -> None:
    assert [process_count("auto", cpus) for cpus in (1, 2, 3, 4, 8, 64)] == [0, 2, 3, 4, 4, 4]
    assert process_count(3, cpus=1) == 3
    assert process_count(0, cpus=8) == 0
