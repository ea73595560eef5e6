"""What the re-run of a dead worker's jobs earns: how many innocent jobs one crash takes down with it (each would
fail its article for this run without the re-run), and what re-running them alone costs.

    python bench/worker_crash.py --processes 2 --jobs 400 --crashes 5

A burst of CPU jobs (about 5 ms each, as a page's extraction) goes to the worker processes; one job in every
jobs/crashes kills its process (os._exit, as a segfault in a C extension would). The jobs handed to the dead pool
are counted as they are run again alone.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crawler.workers import WorkerCrashed, Workers
from crawler.workers import pool as workers_pool


def job(number: int, die: bool) -> int:
    """About 5 ms of CPU, or the death of this worker process."""
    if die:
        os._exit(9)
    deadline = time.process_time() + 0.005
    while time.process_time() < deadline:
        pass
    return number


async def burst(processes: int, jobs: int, crashes: int) -> dict[str, float]:
    """Run `jobs` jobs with `crashes` culprits evenly among them; count the re-runs and their time."""
    rerun = {"jobs": 0, "seconds": 0.0}
    real = workers_pool.Workers._run_alone

    async def counted(self: Workers, fn: Any, *args: object) -> Any:
        started = time.perf_counter()
        try:
            return await real(self, fn, *args)
        finally:
            rerun["jobs"] += 1
            rerun["seconds"] += time.perf_counter() - started

    workers_pool.Workers._run_alone = counted  # type: ignore[method-assign]
    workers = Workers(processes, warm_after=0)
    try:
        workers.expect(jobs)
        await workers.started()
        every = jobs // crashes
        started = time.perf_counter()
        outcomes = await asyncio.gather(
            *(workers.run(job, n, n % every == every // 2) for n in range(jobs)), return_exceptions=True
        )
        wall = time.perf_counter() - started
    finally:
        await workers.aclose()
        workers_pool.Workers._run_alone = real  # type: ignore[method-assign]
    failed = sum(isinstance(o, WorkerCrashed) for o in outcomes)
    return {
        "crashes": crashes,
        "failed_with_rerun": failed,
        "would_fail_without_rerun": rerun["jobs"],
        "innocent_saved_per_crash": round((rerun["jobs"] - failed) / crashes, 1),
        "wall_s": round(wall, 2),
        "rerun_s": round(rerun["seconds"], 2),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=400)
    parser.add_argument("--crashes", type=int, default=5)
    args = parser.parse_args(argv)
    print(asyncio.run(burst(args.processes, args.jobs, args.crashes)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
