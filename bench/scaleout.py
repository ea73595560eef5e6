"""Scale-out benchmark: 1, 2, 3 and 4 `crawler run` nodes sharing one PostgreSQL against the loopback site, then
the many-feed unchanged poll and the daemon's memory on SQLite and on PostgreSQL, in one run.

    python bench/scaleout.py               # the full run
    python bench/scaleout.py --quick       # a small run, for a smoke test
    python bench/scaleout.py --many 100000 # the unchanged poll with 100,000 feeds (long: priming fetches them all)

The site is bench/throughput.py's (feeds over host names 127.0.0.2-..., ~100 KB article pages), served by nginx
when found. PostgreSQL is a throw-away cluster (tests/support/postgres.py: Debian's binaries, run as an ordinary
user). For each node count: a fresh database and archive; the nodes start together; articles/s is counted from the
first article file to the last (process start and the first poll's spread left out), CPU per article is every
node's CPU (its worker processes included) from the first article file to the last, over the articles. It prints
the table with the machine's core count and writes bench/results/scaleout.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.throughput import (
    FULL,
    QUICK,
    Shape,
    archived_count,
    build_site,
    crawl,
    crawler_env,
    daemon_rss,
    free_port,
    serve,
    write_config,
)
from tests.support.postgres import PostgresServer

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "bench" / "results" / "scaleout.json"
NODES = (1, 2, 3, 4)
LEASE = "10s"


def _config(path: Path, urls: Sequence[str], shape: Shape, hosts: int, state: str) -> None:
    write_config(path, [(f"f{i:05d}", url) for i, url in enumerate(urls)], shape, hosts)
    text = path.read_text(encoding="utf-8").replace("state: state/state.db", f"state: {state}\nlease: {LEASE}")
    path.write_text(text, encoding="utf-8")


def _tree_cpu(pid: int) -> float:
    import psutil

    total = 0.0
    with contextlib.suppress(psutil.Error):
        process = psutil.Process(pid)
        for one in (process, *process.children(recursive=True)):
            with contextlib.suppress(psutil.Error):
                times = one.cpu_times()
                total += times.user + times.system + times.children_user + times.children_system
    return total


def crawl_with_nodes(work: Path, urls: Sequence[str], shape: Shape, pg: PostgresServer, nodes: int) -> dict[str, Any]:
    """`nodes` daemons on a fresh database and archive until every article is archived."""
    expected = shape.feeds * shape.articles
    work.mkdir(parents=True)
    config = work / "feeds.yaml"
    url = pg.new_database()
    _config(config, urls, replace(shape, per_host=max(1, shape.per_host)), shape.hosts, url)
    cmd = [sys.executable, "-m", "crawler", "run", "--config", str(config)]
    procs = [
        subprocess.Popen(
            cmd,
            cwd=work,
            stdout=subprocess.DEVNULL,
            stderr=open(work / f"node{i}.log", "wb"),  # noqa: SIM115
            env={**os.environ, **crawler_env()},
        )
        for i in range(nodes)
    ]
    first = last = None
    cpu_at_first = 0.0
    deadline = time.monotonic() + 900
    try:
        while time.monotonic() < deadline:
            count = archived_count(work / "archive")
            now = time.monotonic()
            if count and first is None:
                first = now
                # Starting (interpreter, imports, config, joining) is each node's fixed cost, not the crawl's.
                cpu_at_first = sum(_tree_cpu(p.pid) for p in procs)
            if count >= expected:
                last = now
                break
            if any(p.poll() is not None for p in procs):
                raise RuntimeError(f"a node exited: see {work}/node*.log")
            time.sleep(0.05)
        cpu = sum(_tree_cpu(p.pid) for p in procs) - cpu_at_first
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    if first is None or last is None:
        raise RuntimeError(f"{nodes} nodes did not archive every article in time")
    files = archived_count(work / "archive")
    return {
        "nodes": nodes,
        "articles": files,
        "articles_per_s": round((expected - 1) / max(last - first, 1e-6), 1),
        "cpu_ms_per_article": round(1000 * cpu / expected, 2),
        "wall_s": round(last - first, 2),
        "exactly_once": files == expected,
    }


def many_feeds(
    work: Path, site_urls: Sequence[str], shape: Shape, hosts: int, state: str, label: str
) -> dict[str, Any]:
    """The unchanged poll of every many-feed (already archived items), and the daemon's memory holding them."""
    work.mkdir(parents=True)
    config = work / "many.yaml"
    _config(config, site_urls, shape, hosts, state)
    crawl(work, config, f"priming the many feeds ({label})")
    run = crawl(work, config, f"unchanged poll ({label})")
    memory = daemon_rss(work, config, shape.daemon_seconds)
    return {
        "state": label,
        "feeds": len(site_urls),
        "cpu_ms_per_feed": round(1000 * run.cpu / len(site_urls), 3),
        "wall_s": round(run.wall, 2),
        "daemon_rss_mb": memory["peak_rss_mb"],
        "daemon_rss_mb_all_processes": memory["peak_rss_mb_all_processes"],
    }


def bench(shape: Shape, out: Path, server: str) -> dict[str, Any]:
    """The whole run."""
    temp = Path(tempfile.mkdtemp(prefix="crawler-scaleout-"))
    pg = PostgresServer.start()
    try:
        site = build_site(temp / "site", shape, free_port())
        server_dir = temp / "server"
        server_dir.mkdir()
        results: dict[str, Any] = {"cores": os.cpu_count(), "shape": shape.__dict__, "lease": LEASE}
        with serve(site, server_dir, server) as server_name:
            results["server"] = server_name
            rows = [crawl_with_nodes(temp / f"nodes{n}", site.feed_urls, shape, pg, n) for n in NODES]
            one = rows[0]
            for row in rows:
                row["throughput_vs_one"] = round(row["articles_per_s"] / one["articles_per_s"], 2)
                row["cpu_vs_one"] = round(row["cpu_ms_per_article"] / one["cpu_ms_per_article"], 2)
            results["nodes"] = rows
            results["many"] = [
                many_feeds(temp / "many-sqlite", site.many_urls, shape, len(site.hosts), "state/state.db", "sqlite"),
                many_feeds(temp / "many-pg", site.many_urls, shape, len(site.hosts), pg.new_database(), "postgresql"),
            ]
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        return results
    finally:
        pg.stop()
        subprocess.run(["rm", "-rf", str(temp)], check=False)


def table(results: dict[str, Any]) -> str:
    """The results as README's two tables."""
    lines = [
        f"cores: {results['cores']}, server: {results['server']}",
        "",
        "| nodes | articles/s | CPU ms/article | throughput vs 1 node | CPU/article vs 1 node | exactly once |",
        "| ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in results["nodes"]:
        lines.append(
            f"| {row['nodes']} | {row['articles_per_s']} | {row['cpu_ms_per_article']} | {row['throughput_vs_one']} "
            f"| {row['cpu_vs_one']} | {'yes' if row['exactly_once'] else 'NO'} |"
        )
    lines += [
        "",
        "| state | feeds | unchanged poll CPU ms/feed | daemon RSS MB (all processes) |",
        "| --- | ---: | ---: | ---: |",
    ]
    for row in results["many"]:
        lines.append(
            f"| {row['state']} | {row['feeds']} | {row['cpu_ms_per_feed']} | {row['daemon_rss_mb']} "
            f"({row['daemon_rss_mb_all_processes']}) |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small run")
    parser.add_argument("--many", type=int, metavar="N", help="feeds of the unchanged poll (default: the shape's)")
    parser.add_argument("--server", choices=("auto", "nginx", "asyncio"), default="auto")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    shape = QUICK if args.quick else FULL
    if args.many:
        shape = replace(shape, many_feeds=args.many)
    results = bench(shape, args.out, args.server)
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
