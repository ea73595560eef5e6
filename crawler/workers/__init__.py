"""Where the CPU stage runs: a burst policy (policy.py, pure, judged by an injected clock) that says when worker
processes are worth starting, and the executor (pool.py) that runs each job on a thread or in those processes, runs
the jobs of a dead worker again (crash.py) and keeps its processes from outliving the crawler (child.py)."""

from crawler.workers.crash import LostJob, WorkerCrashed
from crawler.workers.policy import WARM_AFTER, process_count
from crawler.workers.pool import Workers

__all__ = ["WARM_AFTER", "LostJob", "WorkerCrashed", "Workers", "process_count"]
