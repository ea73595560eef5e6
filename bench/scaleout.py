"""Scale-out benchmark: 1, 2, 3 and 4 `crawler run` nodes sharing one PostgreSQL against the loopback site, then
the many-feed unchanged poll and the daemon's memory on SQLite and on PostgreSQL, in one run.

    python bench/scaleout.py               # the full run
    python bench/scaleout.py --quick       # a small run, for a smoke test
    python bench/scaleout.py --many 100000 # the unchanged poll with 100,000 feeds
    python bench/scaleout.py --many 100000 --only many   # that part alone
    python bench/scaleout.py --many 100000 --only many --states postgresql

The site is bench/throughput.py's (feeds over host names 127.0.0.2-..., ~100 KB article pages), served by nginx
when found. PostgreSQL is a throw-away cluster (tests/support/postgres.py: Debian's binaries, run as an ordinary
user). For each node count: a fresh database and archive; the nodes start together; articles/s is counted from the
first article file to the last (process start and the first poll's spread left out), CPU per article is every
node's CPU (its worker processes included) from the first article file to the last, over the articles. It prints
the table with the machine's core count and writes bench/results/scaleout.json.

The many feeds (every item already archived), on SQLite and on PostgreSQL: the state is primed, then measured twice.
- Priming: the many feeds list the site's articles in turn, so feed m lists the same items as feed m + P (P, the
  period, is the site's article count over its gcd with the items per feed: 1,600 for the full shape). The first P
  feeds are crawled for real (`crawler fetch`: every article fetched, archived once, the others recorded as
  duplicates); each later feed gets its template's rows (feed m % P) under its own name: its state with its own URL,
  its own validators (what the server sends for its file: nginx's ETag is mtime-size, Last-Modified the mtime; the
  asyncio server's ETag is mtime_ns-size) and body hash, its entries (as duplicates of the template's articles, as a
  crawl finds them), its poll log and day counts. That is the state a crawl of all of them leaves, row for row,
  without fetching 100,000 feeds first (an hour of the machine at 100,000); the first measured poll checks it: every
  feed must answer 304, or the bench stops.
- The unchanged poll: `crawler fetch` of every feed, its CPU (the process and its workers, start-up included) over
  the feeds.
- The daemon: every feed made due, `crawler run` until the store shows every feed polled (leases taken and given
  back on PostgreSQL, as a node does); its CPU over the feeds (start-up, which reads every feed's state, included)
  and its RSS, sampled while it polls (the daemon alone, and with its worker processes).
"""

from __future__ import annotations

import argparse
import contextlib
import email.utils
import hashlib
import json
import math
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
    Site,
    archived_count,
    build_site,
    crawl,
    crawler_env,
    free_port,
    serve,
    stop_daemon,
    summary,
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


def many_feeds(work: Path, site: Site, shape: Shape, state: str, label: str, server: str) -> dict[str, Any]:
    """The unchanged poll of every many-feed (already archived items), and the daemon polling them (see the module's
    docstring)."""
    work.mkdir(parents=True)
    feeds = len(site.many_urls)
    prime(work, site, shape, state, label, server)
    config = work / "many.yaml"
    _config(config, site.many_urls, shape, len(site.hosts), state)
    run = crawl(work, config, f"unchanged poll ({label})")
    new, _known, not_modified = summary(run)
    if new or not_modified != feeds:
        raise RuntimeError(f"unchanged poll ({label}): {not_modified} of {feeds} feeds unchanged, {new} new articles")
    daemon = daemon_poll(work, config, state, feeds)
    return {
        "state": label,
        "feeds": feeds,
        "cpu_ms_per_feed": round(1000 * run.cpu / feeds, 3),
        "wall_s": round(run.wall, 2),
        "rss_mb": round(run.max_rss_mb, 1),
        **daemon,
    }


def period(shape: Shape) -> int:
    """How many many-feeds go by before one lists the same items as an earlier one (see build_site)."""
    articles = shape.feeds * shape.articles
    return articles // math.gcd(articles, shape.many_items)


def prime(work: Path, site: Site, shape: Shape, state: str, label: str, server: str) -> None:
    """The state a crawl of every many-feed leaves: the first period crawled, the others copied from them."""
    crawled = min(len(site.many_urls), period(shape))
    config = work / "prime.yaml"
    _config(config, site.many_urls[:crawled], shape, len(site.hosts), state)
    crawl(work, config, f"priming the many feeds ({label})")
    copies = [
        (_name(m), url, *_validators(site.root / "many" / f"{m:05d}.xml", server), _name(m % crawled))
        for m, url in enumerate(site.many_urls)
        if m >= crawled
    ]
    if copies:
        _copy_feeds(work, state, copies)


def _name(m: int) -> str:
    return f"f{m:05d}"  # as _config names them


def _validators(path: Path, server: str) -> tuple[str, str | None, str]:
    """(ETag, Last-Modified, sha256 of the body) the server sends for the static file `path`."""
    stat = path.stat()
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if server == "nginx":
        return f'"{int(stat.st_mtime):x}-{stat.st_size:x}"', email.utils.formatdate(stat.st_mtime, usegmt=True), digest
    return f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"', None, digest


# Each copy's rows from its template's (copies: name, url, etag, last_modified, body_hash, template). Entries become
# duplicates of the template's articles, as a crawl records a feed that lists articles another feed archived.
_COPY_ROWS = (
    "INSERT INTO feeds (name, url, etag, last_modified, body_hash, last_poll, last_success, next_poll, "
    "last_unconditional, failures, last_error, gone, moved_to, ttl) "
    "SELECT c.name, c.url, c.etag, c.last_modified, c.body_hash, f.last_poll, f.last_success, f.next_poll, "
    "f.last_unconditional, f.failures, f.last_error, f.gone, f.moved_to, f.ttl FROM copies c JOIN feeds f "
    "ON f.name = c.template",
    "INSERT INTO entries (feed, entry_key, link, state, payload, article_id, first_seen, attempts, last_error) "
    "SELECT c.name, e.entry_key, e.link, CASE WHEN e.state = 'archived' THEN 'duplicate' ELSE e.state END, e.payload, "
    "e.article_id, e.first_seen, e.attempts, e.last_error FROM copies c JOIN entries e ON e.feed = c.template "
    "ORDER BY c.name, e.first_seen",
    "INSERT INTO poll_log (feed, at, outcome, seconds, new, failed, error) SELECT c.name, p.at, p.outcome, p.seconds, "
    "p.new, p.failed, p.error FROM copies c JOIN poll_log p ON p.feed = c.template",
    "INSERT INTO feed_days (feed, day, ok, not_modified, failed, archived) SELECT c.name, d.day, d.ok, "
    "d.not_modified, d.failed, d.archived FROM copies c JOIN feed_days d ON d.feed = c.template",
)
_COPIES_TABLE = (
    "CREATE TEMP TABLE copies (name TEXT, url TEXT, etag TEXT, last_modified TEXT, body_hash TEXT, template TEXT)"
)


def _copy_feeds(work: Path, state: str, copies: Sequence[tuple[str, str, str, str | None, str, str]]) -> None:
    if state.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(state) as pg, pg.cursor() as cursor:
            cursor.execute(_COPIES_TABLE)
            with cursor.copy("COPY copies FROM STDIN") as copy:
                for row in copies:
                    copy.write_row(row)
            for sql in _COPY_ROWS:
                cursor.execute(sql.encode())
            cursor.execute("ANALYZE")
        return
    import sqlite3

    db = sqlite3.connect(work / state)
    try:
        with db:
            db.execute(_COPIES_TABLE)
            db.executemany("INSERT INTO copies VALUES (?, ?, ?, ?, ?, ?)", copies)
            for sql in _COPY_ROWS:
                db.execute(sql)
        db.execute("ANALYZE")
    finally:
        db.close()


def _query(work: Path, state: str, sql: str, args: Sequence[object] = ()) -> Any:
    """The first value of `sql`'s first row on the bench's state database (its own connection)."""
    if state.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(state, autocommit=True) as pg:
            row = pg.execute(sql.replace("?", "%s").encode(), args).fetchone()
    else:
        import sqlite3

        db = sqlite3.connect(work / state)
        try:
            with db:
                row = db.execute(sql, args).fetchone()
        finally:
            db.close()
    return row[0] if row else None


def daemon_poll(work: Path, config: Path, state: str, feeds: int, timeout: float = 3600) -> dict[str, Any]:
    """Every feed made due, then `crawler run` until every feed was polled (its last poll after the start): the
    daemon's CPU per feed and its peak RSS meanwhile."""
    import psutil

    _query(work, state, "UPDATE feeds SET next_poll = 0 RETURNING 1")
    started = time.time()
    cmd = [sys.executable, "-m", "crawler", "run", "--config", str(config)]
    with open(work / "daemon.err", "wb") as err:
        proc = subprocess.Popen(
            cmd, cwd=work, stdout=subprocess.DEVNULL, stderr=err, env={**os.environ, **crawler_env()}
        )
    watched = psutil.Process(proc.pid)
    peak = tree_peak = 0.0
    polled, cpu = 0, 0.0
    next_count = time.monotonic()
    try:
        while proc.poll() is None and time.time() < started + timeout:
            with contextlib.suppress(psutil.Error):
                peak = max(peak, watched.memory_info().rss / 2**20)
                tree = [watched, *watched.children(recursive=True)]
                tree_peak = max(tree_peak, sum(one.memory_info().rss for one in tree) / 2**20)
            if time.monotonic() >= next_count:
                polled = int(_query(work, state, "SELECT count(*) FROM feeds WHERE last_poll >= ?", (started,)))
                if polled >= feeds:
                    cpu = _tree_cpu(proc.pid)
                    break
                next_count = time.monotonic() + 1.0
            time.sleep(0.2)
    finally:
        stop_daemon(proc, 60)
    if polled < feeds:
        raise RuntimeError(f"the daemon polled {polled} of {feeds} feeds (see {work}/daemon.err)")
    return {
        "daemon_cpu_ms_per_feed": round(1000 * cpu / feeds, 3),
        "daemon_poll_s": round(time.time() - started, 1),
        "daemon_rss_mb": round(peak, 1),
        "daemon_rss_mb_all_processes": round(tree_peak, 1),
    }


def bench(
    shape: Shape, out: Path, server: str, only: str | None = None, states: Sequence[str] = ("sqlite", "postgresql")
) -> dict[str, Any]:
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
            if only != "many":
                rows = [crawl_with_nodes(temp / f"nodes{n}", site.feed_urls, shape, pg, n) for n in NODES]
                one = rows[0]
                for row in rows:
                    row["throughput_vs_one"] = round(row["articles_per_s"] / one["articles_per_s"], 2)
                    row["cpu_vs_one"] = round(row["cpu_ms_per_article"] / one["cpu_ms_per_article"], 2)
                results["nodes"] = rows
            if only != "nodes":
                results["many"] = []
                if "sqlite" in states:
                    results["many"].append(
                        many_feeds(temp / "many-sqlite", site, shape, "state/state.db", "sqlite", server_name)
                    )
                if "postgresql" in states:
                    results["many"].append(
                        many_feeds(temp / "many-pg", site, shape, pg.new_database(), "postgresql", server_name)
                    )
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        return results
    finally:
        pg.stop()
        subprocess.run(["rm", "-rf", str(temp)], check=False)


def table(results: dict[str, Any]) -> str:
    """The results as README's two tables."""
    lines = [f"cores: {results['cores']}, server: {results['server']}"]
    if "nodes" in results:
        lines += [
            "",
            "| nodes | articles/s | CPU ms/article | throughput vs 1 node | CPU/article vs 1 node | exactly once |",
            "| ---: | ---: | ---: | ---: | ---: | --- |",
        ]
        for row in results["nodes"]:
            lines.append(
                f"| {row['nodes']} | {row['articles_per_s']} | {row['cpu_ms_per_article']} | "
                f"{row['throughput_vs_one']} | {row['cpu_vs_one']} | {'yes' if row['exactly_once'] else 'NO'} |"
            )
    if "many" in results:
        lines += [
            "",
            "| state | feeds | unchanged poll (`crawler fetch`) CPU ms/feed | daemon: CPU ms/feed | daemon: all polled "
            "in s | daemon RSS MB while polling (all processes) |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for row in results["many"]:
            lines.append(
                f"| {row['state']} | {row['feeds']} | {row['cpu_ms_per_feed']} | {row['daemon_cpu_ms_per_feed']} | "
                f"{row['daemon_poll_s']} | {row['daemon_rss_mb']} ({row['daemon_rss_mb_all_processes']}) |"
            )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small run")
    parser.add_argument("--many", type=int, metavar="N", help="feeds of the unchanged poll (default: the shape's)")
    parser.add_argument("--only", choices=("nodes", "many"), help="run one part alone")
    parser.add_argument(
        "--states", default="sqlite,postgresql", help="the many feeds on these state backends (comma-separated)"
    )
    parser.add_argument("--server", choices=("auto", "nginx", "asyncio"), default="auto")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    shape = QUICK if args.quick else FULL
    if args.many:
        shape = replace(shape, many_feeds=args.many)
    results = bench(shape, args.out, args.server, args.only, args.states.split(","))
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
