"""The web console's speed: the dashboard with many feeds, whether serving it stalls polling, and the search index
(CJK characters, against CJK bigrams and FTS5's trigram tokenizer).

    python bench/console.py --feeds 10000 --out bench/results/console.json

1. Dashboard: a state database with N feeds (90 days of per-day totals each, a poll log, pending entries, selector
   checks) and an archive index of 5 articles per feed; `GET /` through the real server (`crawler.runner.
   console_server`), timed end to end over HTTP, both ways the console builds its pages: in a child process
   (`crawler run --http`) and in this process (`crawler serve`). Baseline in the same sitting: the same with N/10
   feeds. CPU is this process's and its children's, every thread: what a page costs whatever else the machine runs.
2. Stall: an event loop doing what the daemon's does (a heartbeat every 10 ms and a poll's writes to its own store
   every 20 ms) for a few seconds: alone (the baseline, run first and last), while a client (a process of its own,
   as a browser is) loads the dashboard of N feeds without pause from a console building its pages in this process
   (`crawler serve`'s way; `crawler run --http`'s way before its pages had a process of their own), and the same
   from a console building them in a child process (`crawler run --http`'s way); reported: the loop's lag beyond
   its 10 ms (p50, p99, max) and the writes' latency, and the ratios to the loop alone.
3. Search: the same articles indexed as this crawler does on SQLite (unicode61, each CJK character a term), as
   bigrams (PostgreSQL's terms, and SQLite's before 2026-12-05) and with FTS5's trigram tokenizer: build time, index
   size, and the time of a two-character Chinese query (trigram cannot match one: a LIKE scan is its only way), a
   four-character one and an English word.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crawler.config.load import load_config
from crawler.runner import console_server
from crawler.store import open_store
from crawler.store.history import HISTORY_DAYS, PollRecord, character_terms, index_terms, match_query, query_terms

DAY = 86_400
WORDS = [
    "economy",
    "market",
    "harbour",
    "council",
    "plan",
    "growth",
    "report",
    "season",
    "weather",
    "energy",
    "policy",
    "trade",
]
HAN = "经济增长市场政策能源贸易天气报告港口计划议会季节公司股份回购世纪华通游戏"


def _text(rng: random.Random, n: int) -> str:
    english = " ".join(rng.choice(WORDS) for _ in range(n))
    chinese = "".join(rng.choice(HAN) for _ in range(n))
    return f"{english}。{chinese}"


def build(folder: Path, feeds: int, seed: int = 1) -> Path:
    """A feeds.yaml of `feeds` feeds and a state database filled as months of polling would leave it."""
    rng = random.Random(seed)
    lines = ["archive: archive", "state: state.db", "feeds:"]
    for n in range(feeds):
        lines += [f"  - name: feed-{n:05d}", f"    url: https://site{n}.example/feed.xml", '    body: "#content"']
    config_path = folder / "feeds.yaml"
    config_path.write_text("\n".join(lines) + "\n")
    config = load_config(config_path)

    async def create() -> None:
        store = await open_store(config)
        await store.close()

    asyncio.run(create())
    now = time.time()
    today = int(now // DAY)
    db = sqlite3.connect(folder / "state.db")
    with db:
        db.executemany(
            "INSERT INTO feeds (name, url, last_poll, last_success, next_poll, failures, last_error) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (f"feed-{n:05d}", f"https://site{n}.example/feed.xml", now - 60, now - (3600 if n % 50 else 86400),
                 now + 600, 0 if n % 50 else 3, None if n % 50 else "HTTP 503")
                for n in range(feeds)
            ],
        )  # fmt: skip
        days = [
            (f"feed-{n:05d}", day, rng.randint(10, 200), rng.randint(0, 100), rng.randint(0, 3), rng.randint(0, 6))
            for n in range(feeds)
            for day in range(today - HISTORY_DAYS + 1, today + 1)
        ]
        db.executemany(
            "INSERT INTO feed_days (feed, day, ok, not_modified, failed, archived) VALUES (?, ?, ?, ?, ?, ?)", days
        )
        db.execute(
            "INSERT INTO all_days SELECT day, SUM(ok), SUM(not_modified), SUM(failed), SUM(archived) FROM feed_days "
            "GROUP BY day"
        )
        db.executemany(
            "INSERT INTO poll_log (feed, at, outcome, seconds, new, failed, error) "
            "VALUES (?, ?, 'ok', 0.5, 1, 0, NULL)",
            [(f"feed-{n:05d}", now - k * 600) for n in range(feeds) for k in range(20)],
        )
        db.executemany(
            "INSERT INTO entries (feed, entry_key, link, state, payload, first_seen, attempts) "
            "VALUES (?, ?, ?, 'pending', '{}', ?, ?)",
            [(f"feed-{n:05d}", f"k{k}", None, now, k % 2) for n in range(0, feeds, 3) for k in range(3)],
        )
        db.executemany(
            "INSERT INTO selector_checks (feed, at, url, selector, missed) VALUES (?, ?, ?, '#content', ?)",
            [(f"feed-{n:05d}", now - k, f"https://site{n}.example/{k}", int(n % 40 == 0)) for n in range(feeds)
             for k in range(5)],
        )  # fmt: skip
        for n in range(feeds):
            for k in range(5):
                cursor = db.execute(
                    "INSERT INTO article_index (id, feed, title, path, published, archived_at, sort_at, summary) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (f"{n:08x}{k:08x}", f"feed-{n:05d}", f"Title {n} {k}", f"2024/01/01/{n:08x}{k:08x}.md",
                     now - k * DAY, now, now - k * DAY, "summary"),
                )  # fmt: skip
                db.execute(
                    "INSERT INTO article_text (rowid, title, body) VALUES (?, ?, ?)",
                    (cursor.lastrowid, f"Title {n} {k}", character_terms(_text(rng, 30))),
                )
    db.close()
    return config_path


def _cpu() -> float:
    """CPU seconds of this process and its children (the console's page process), every thread."""
    me = psutil.Process()
    times = [me.cpu_times(), *(child.cpu_times() for child in me.children(recursive=True))]
    return sum(t.user + t.system for t in times)


def time_dashboard(config_path: Path, repeats: int, own_process: bool) -> dict[str, Any]:
    """GET / through the real server, `repeats` times; seconds per request and the page's size."""
    config = load_config(config_path)
    server = console_server(lambda: config, ("127.0.0.1", 0), None, own_process=own_process)
    server.start()
    try:
        url = f"http://127.0.0.1:{server.address[1]}/"
        with httpx.Client(timeout=60) as client:
            client.get(url)  # warm: imports, the database's pages in the cache
            times = []
            cpu = []
            size = 0
            for _ in range(repeats):
                started, used = time.perf_counter(), _cpu()
                response = client.get(url)
                times.append(time.perf_counter() - started)
                # CPU of every thread of this process (server, console loop, store, client) and of the page
                # process: what the page costs whatever else the shared machine runs meanwhile.
                cpu.append(_cpu() - used)
                size = len(response.content)
                assert response.status_code == 200, response.text[:300]
    finally:
        server.close()
    return {
        "median_s": statistics.median(times),
        "max_s": max(times),
        "median_cpu_s": statistics.median(cpu),
        "bytes": size,
        "repeats": repeats,
    }


async def _daemon_like(config_path: Path, seconds: float) -> dict[str, float]:
    """A loop as busy as the daemon's: a heartbeat every 10 ms, a poll logged to its own store every 20 ms."""
    store = await open_store(load_config(config_path))
    lags: list[float] = []
    writes: list[float] = []
    stop = time.monotonic() + seconds

    async def beat() -> None:
        while time.monotonic() < stop:
            before = time.perf_counter()
            await asyncio.sleep(0.01)
            lags.append(time.perf_counter() - before - 0.01)

    async def poll() -> None:
        n = 0
        while time.monotonic() < stop:
            before = time.perf_counter()
            await store.record_poll(PollRecord(f"feed-{n % 100:05d}", time.time(), "ok", 0.1))
            writes.append(time.perf_counter() - before)
            n += 1
            await asyncio.sleep(0.02)

    try:
        await asyncio.gather(beat(), poll())
    finally:
        await store.close()
    lags.sort()
    writes.sort()
    return {
        "lag_p50_ms": lags[len(lags) // 2] * 1000,
        "lag_p99_ms": lags[int(len(lags) * 0.99)] * 1000,
        "lag_max_ms": lags[-1] * 1000,
        "write_p50_ms": writes[len(writes) // 2] * 1000,
        "write_p99_ms": writes[int(len(writes) * 0.99)] * 1000,
        "write_max_ms": writes[-1] * 1000,
    }


_HAMMER = """
import sys, httpx
with httpx.Client(timeout=120) as client:
    while True:
        client.get(sys.argv[1])
        print(flush=True)
"""


def _served(config_path: Path, seconds: float, own_process: bool) -> tuple[dict[str, float], int]:
    """The daemon-like loop while another process loads the dashboard without pause; the pages served."""
    config = load_config(config_path)
    server = console_server(lambda: config, ("127.0.0.1", 0), None, own_process=own_process)
    server.start()
    url = f"http://127.0.0.1:{server.address[1]}/"
    httpx.get(url, timeout=120)  # warm: the page process's imports, the database's pages in the cache
    client = subprocess.Popen([sys.executable, "-c", _HAMMER, url], stdout=subprocess.PIPE, text=True)
    try:
        busy = asyncio.run(_daemon_like(config_path, seconds))
    finally:
        client.terminate()
        out, _ = client.communicate()
        server.close()
    return busy, out.count("\n")


def stall(config_path: Path, seconds: float) -> dict[str, Any]:
    """The daemon-like loop alone, while serving pages built in this process, while serving pages built in a child
    process, and alone again."""
    alone = asyncio.run(_daemon_like(config_path, seconds))
    in_process, in_pages = _served(config_path, seconds, own_process=False)
    own_process, own_pages = _served(config_path, seconds, own_process=True)
    alone_after = asyncio.run(_daemon_like(config_path, seconds))

    def ratios(busy: dict[str, float]) -> dict[str, float | None]:
        return {key: busy[key] / alone[key] if alone[key] else None for key in alone}

    return {
        "alone": alone,
        "alone_after": alone_after,
        "serving_in_process": {**in_process, "dashboards_served": in_pages},
        "serving_own_process": {**own_process, "dashboards_served": own_pages},
        "ratio_in_process": ratios(in_process),
        "ratio_own_process": ratios(own_process),
    }


def search(folder: Path, articles: int, seed: int = 2) -> dict[str, Any]:
    """Characters (ours) against bigrams and trigrams: build time, index size and query times."""
    rng = random.Random(seed)
    texts = [_text(rng, 200) for _ in range(articles)]
    results: dict[str, Any] = {}
    for name, tokenize, prepare in (
        ("characters", "porter unicode61 remove_diacritics 2", character_terms),
        ("bigram", "porter unicode61 remove_diacritics 2", index_terms),
        ("trigram", "trigram", lambda text: text),
    ):
        path = folder / f"search-{name}.db"
        db = sqlite3.connect(path)
        db.execute(f"CREATE VIRTUAL TABLE t USING fts5(body, content='', tokenize='{tokenize}')")
        started = time.perf_counter()
        with db:
            db.executemany("INSERT INTO t (rowid, body) VALUES (?, ?)", [(i, prepare(t)) for i, t in enumerate(texts)])
        built = time.perf_counter() - started
        db.execute("VACUUM")
        one: dict[str, Any] = {"build_s": built, "bytes": path.stat().st_size}
        for label, query in (("zh2", "回购"), ("zh4", "经济增长"), ("en", "harbour")):
            if name == "characters":
                sql, args = "SELECT COUNT(*) FROM t WHERE t MATCH ?", (match_query(query),)
            elif name == "bigram":
                sql, args = "SELECT COUNT(*) FROM t WHERE t MATCH ?", (_bigram_query(query),)
            elif len(query) >= 3:
                sql, args = "SELECT COUNT(*) FROM t WHERE t MATCH ?", (f'"{query}"',)
            else:
                sql, args = None, None
            if sql is None:
                one[label] = {"found": None, "note": "trigram cannot match two characters"}
                continue
            started = time.perf_counter()
            for _ in range(20):
                found = db.execute(sql, args).fetchone()[0]
            one[label] = {"found": found, "ms": (time.perf_counter() - started) / 20 * 1000}
        db.close()
        results[name] = one
    # Without an index that can match two characters, a scan of the stored text is what is left.
    scan = sqlite3.connect(":memory:")
    scan.execute("CREATE TABLE texts (body TEXT)")
    scan.executemany("INSERT INTO texts VALUES (?)", [(t,) for t in texts])
    started = time.perf_counter()
    found = scan.execute("SELECT COUNT(*) FROM texts WHERE body LIKE '%回购%'").fetchone()[0]
    results["like_scan_zh2"] = {"found": found, "ms": (time.perf_counter() - started) * 1000}
    return results


def _bigram_query(text: str) -> str:
    """The MATCH expression of an index of bigrams alone."""
    return " AND ".join(f'"{t.text}"*' if t.prefix else f'"{t.text}"' for t in query_terms(text))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--feeds", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--stall-seconds", type=float, default=5.0)
    parser.add_argument("--articles", type=int, default=20_000, help="articles in the search comparison (0: skip it)")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here too")
    args = parser.parse_args()
    # The machine is shared: its load says how far the timings can be trusted.
    report: dict[str, Any] = {"feeds": args.feeds, "load_before": os.getloadavg()}
    with tempfile.TemporaryDirectory() as tmp:
        small, large = Path(tmp, "small"), Path(tmp, "large")
        small.mkdir()
        large.mkdir()
        small_path = build(small, max(1, args.feeds // 10))
        started = time.perf_counter()
        config_path = build(large, args.feeds)
        report["build_s"] = time.perf_counter() - started
        for label, own in (("own_process", True), ("in_process", False)):
            baseline = time_dashboard(small_path, args.repeats, own)
            dashboard = time_dashboard(config_path, args.repeats, own)
            report[f"dashboard_{label}"] = dashboard
            report[f"dashboard_{label}_baseline"] = {"feeds": max(1, args.feeds // 10), **baseline}
            report[f"dashboard_{label}_ratio_to_baseline"] = dashboard["median_s"] / baseline["median_s"]
        report["stall"] = stall(config_path, args.stall_seconds)
        if args.articles:
            report["search"] = search(Path(tmp), args.articles)
    report["load_after"] = os.getloadavg()
    text = json.dumps(report, indent=2)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
