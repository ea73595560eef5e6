"""Throughput benchmark: our crawler against a plain httpx loop (the floor) and trafilatura (the peer), in one run.

    python bench/throughput.py            # the full run (under 5 minutes on 2 cores)
    python bench/throughput.py --quick    # a small run (under a minute), for the smoke test

It generates a realistic site (feeds spread over host names 127.0.0.2-127.0.0.50, ~100 KB article pages with
navigation, scripts and CJK text), serves it with nginx (or, without nginx, a small asyncio static server in a
process of its own), then measures, each as a separate process whose CPU time (with its descendants') and peak RSS
come from wait4():

  1. `crawler fetch` into an empty archive: articles/s, CPU s per article, peak RSS;
  2. `crawler fetch` again with nothing changed: feeds answering 304, and feeds answering 200 with the same body
     and no validators: wall s and CPU ms per feed;
  3. the same unchanged poll with many feeds (10,000 by default), and the daemon's RSS holding them
     (`crawler run`, when this checkout has it), then while it polls them all (every feed made due);
  4. the baselines on the same pages at the same per-host concurrency: httpx + selectolax + file write, and
     trafilatura fetch + extract + write.

It prints one table with the ratios and writes it as JSON (bench/results/throughput.json by default). Ratios are
what to read: these machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from email.utils import formatdate
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "bench" / "results" / "throughput.json"
FIRST_HOST = 2  # 127.0.0.2
LAST_HOST = 50  # 127.0.0.50
_LINK_RE = re.compile(r"<link>([^<]+)</link>")
_BODY_SELECTOR = "#artibody"


@dataclass(frozen=True)
class Shape:
    """How big a run is."""

    feeds: int  # feeds of the first crawl
    articles: int  # articles per feed
    hosts: int  # host names the feeds are spread over
    per_host: int  # concurrent requests per host, ours and the baselines'
    many_feeds: int  # feeds of the large unchanged poll
    many_items: int  # items in each of those feeds (all already archived)
    daemon_seconds: float  # how long to watch `crawler run` holding the many feeds


FULL = Shape(feeds=40, articles=40, hosts=8, per_host=6, many_feeds=10_000, many_items=3, daemon_seconds=40.0)
QUICK = Shape(feeds=8, articles=12, hosts=4, per_host=6, many_feeds=600, many_items=3, daemon_seconds=8.0)


@dataclass(frozen=True)
class Run:
    """One measured process."""

    wall: float
    cpu: float  # user + system seconds of the process and its waited-for children
    max_rss_mb: float  # the largest single process (wait4's ru_maxrss)
    tree_rss_mb: float  # the largest sum over the process and its children (worker processes), sampled
    code: int
    stdout: str
    stderr: str


# ---------------------------------------------------------------------------------------------------------- site


_CJK = (
    "经济发展数字中国新闻记者报道市场金融投资银行政策改革开放创新科技企业产业城市重庆上海北京深圳广州"
    "国际合作贸易增长消费服务人民政府部门会议表示目前已经进一步推动建设加快提升质量工作全面实现社会"
)


def _paragraphs(rng: random.Random, count: int) -> list[str]:
    pool = []
    for _ in range(count):
        text = "".join(rng.choice(_CJK) for _ in range(rng.randint(120, 260)))
        pool.append(text[:40] + "，" + text[40:90] + "。" + text[90:] + "。")
    return pool


def _script(rng: random.Random, size: int) -> str:
    words = ["function", "var", "return", "window", "document", "push", "length", "ads", "track", "init"]
    return ";".join(f"{rng.choice(words)}_{i}=function(a){{return a+{i}}}" for i in range(size // 36))


def _nav(count: int) -> str:
    links = "".join(
        f'<li class="nav-item"><a href="/channel/{i}.html" class="nav-link"><span class="icon"></span>'
        f"<span>频道{i}</span></a></li>"
        for i in range(count)
    )
    return f'<nav class="main-nav"><div class="container"><ul class="nav-list">{links}</ul></div></nav>'


def _sidebar(pool: Sequence[str], widgets: int, items: int) -> str:
    """Widgets of related links with thumbnails: the nested boilerplate real news pages carry."""
    parts = []
    for w in range(widgets):
        lis = "".join(
            f'<li class="item"><div class="thumb"><a href="/related/{w}/{i}.html"><img src="/t/{w}/{i}.jpg" '
            f'alt=""></a></div><div class="info"><a href="/related/{w}/{i}.html">{pool[(w * items + i) % 400][:22]}'
            f'</a><span class="time">08-24 15:{i:02d}</span></div></li>'
            for i in range(items)
        )
        parts.append(f'<div class="widget"><div class="hd"><h3>热门推荐 {w}</h3></div><ul class="bd">{lis}</ul></div>')
    return f'<aside class="side">{"".join(parts)}</aside>'


def _comments(pool: Sequence[str], count: int) -> str:
    rows = "".join(
        f'<div class="comment"><div class="avatar"><img src="/u/{i}.png"></div><div class="c-body">'
        f'<div class="c-head"><span class="name">网友{i}</span><span class="time">1小时前</span></div>'
        f'<p>{pool[(i * 17) % 400][:60]}</p><div class="c-foot"><a href="#">回复</a><a href="#">赞</a></div>'
        f"</div></div>"
        for i in range(count)
    )
    return f'<section class="comments"><h3>网友评论</h3>{rows}</section>'


@dataclass(frozen=True)
class Site:
    """The generated files and the URLs they are served at."""

    root: Path
    port: int
    hosts: tuple[str, ...]
    feed_urls: tuple[str, ...]  # conditional GET works (ETag, Last-Modified)
    same_urls: tuple[str, ...]  # the same feeds: 200, same body, no validators
    many_urls: tuple[str, ...]  # the large set of feeds, every item already archived
    page_urls: tuple[str, ...]


def build_site(root: Path, shape: Shape, port: int) -> Site:
    """Write the feeds and pages of a run under `root`."""
    rng = random.Random(6)
    hosts = tuple(f"127.0.0.{FIRST_HOST + i}" for i in range(LAST_HOST - FIRST_HOST + 1))
    feed_hosts = hosts[: shape.hosts]
    pool = _paragraphs(rng, 400)
    scripts = [_script(rng, 6000) for _ in range(3)]
    nav = _nav(80)
    related = _sidebar(pool, 12, 10)
    comments = _comments(pool, 40)
    footer = "<footer>" + "".join(f"<p>{pool[i][:80]}</p>" for i in range(10)) + "</footer>"
    published = "Tue, 24 Aug 2021 07:07:13 GMT"
    feed_urls, page_urls, items_of = [], [], []
    for f in range(shape.feeds):
        host = feed_hosts[f % len(feed_hosts)]
        base = f"http://{host}:{port}"
        items = []
        for a in range(shape.articles):
            path = f"a/{f:03d}/{a:04d}.html"
            url = f"{base}/{path}"
            title = f"第{f}频道第{a}篇：{pool[(f * 31 + a) % len(pool)][:18]}"
            body_paras = [f"<p>本文编号 {f}-{a}。{pool[(f * 7 + a * 13) % len(pool)]}</p>"]
            for k in range(24):
                body_paras.append(f"<p>{pool[(f * 97 + a * 29 + k * 11) % len(pool)]}</p>")
                if k % 8 == 3:
                    body_paras.append(
                        f'<p><img data-src="/img/{f}/{a}/{k}.jpg" src="/img/blank.gif" onclick="zoom(this)"></p>'
                    )
            page = (
                f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{title}_新闻网</title>'
                f'<meta property="og:title" content="{title}">'
                f'<meta property="og:image" content="{base}/img/{f}/{a}/og.jpg">'
                f'<meta property="article:published_time" content="2021-08-24T15:07:13+08:00">'
                f'<meta name="author" content="记者{f}"><link rel="canonical" href="{url}">'
                f"<script>{scripts[0]}</script><style>.nav{{color:red}} .a{{margin:0}}</style></head><body>"
                f"<header><div class='logo'>新闻网</div>{nav}</header>"
                f'<div class="wrap"><div class="main"><h1>{title}</h1>'
                f'<div class="article" id="artibody">{"".join(body_paras)}</div>'
                f"<script>{scripts[1]}</script>"
                f'<div class="share">分享到：微博 微信</div>{comments}</div>'
                f"{related}</div>"
                f"{footer}<script>{scripts[2]}</script></body></html>"
            )
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(page, encoding="utf-8")
            # The article's images (a lead image and three in the body), for the run with `images: keep`.
            pictures = root / "img" / str(f) / str(a)
            pictures.mkdir(parents=True, exist_ok=True)
            for name in ("og", *(str(k) for k in range(24) if k % 8 == 3)):
                (pictures / f"{name}.jpg").write_bytes(_jpeg(rng, IMAGE_BYTES))
            page_urls.append(url)
            items.append((title, url, pool[(f + a) % len(pool)][:100]))
        items_of.append(items)
        feed_urls.append(f"{base}/feeds/{f:03d}.xml")
        _write_feed(root / "feeds" / f"{f:03d}.xml", f"频道 {f}", base, items, published)
        _write_feed(root / "same" / f"{f:03d}.xml", f"频道 {f}", base, items, published)
    many_urls = []
    all_items = [item for items in items_of for item in items]
    for m in range(shape.many_feeds):
        host = hosts[m % len(hosts)]
        base = f"http://{host}:{port}"
        picked = [all_items[(m * shape.many_items + k) % len(all_items)] for k in range(shape.many_items)]
        _write_feed(root / "many" / f"{m:05d}.xml", f"聚合 {m}", base, picked, published)
        many_urls.append(f"{base}/many/{m:05d}.xml")
    return Site(
        root=root,
        port=port,
        hosts=hosts,
        feed_urls=tuple(feed_urls),
        same_urls=tuple(u.replace("/feeds/", "/same/") for u in feed_urls),
        many_urls=tuple(many_urls),
        page_urls=tuple(page_urls),
    )


IMAGE_BYTES = 8000  # each article image: a small news thumbnail


def _jpeg(rng: random.Random, size: int) -> bytes:
    """Bytes that start and end like a JPEG (what is kept is judged by Content-Type; the bytes are never decoded)."""
    return b"\xff\xd8\xff\xe0" + rng.randbytes(size - 6) + b"\xff\xd9"


def _write_feed(path: Path, title: str, base: str, items: Sequence[tuple[str, str, str]], date: str) -> None:
    body = "".join(
        f'<item><title>{t}</title><link>{u}</link><guid isPermaLink="true">{u}</guid>'
        f"<pubDate>{date}</pubDate><category>新闻</category><description>{d}</description></item>"
        for t, u, d in items
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>{base}/</link><description>{title}</description>{body}</channel></rss>",
        encoding="utf-8",
    )


# -------------------------------------------------------------------------------------------------------- server


def find_nginx() -> str | None:
    """The nginx binary on PATH or in /usr/sbin, if any."""
    found = shutil.which("nginx")
    if found:
        return found
    return "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (loopback addresses share the port space in practice)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _nginx_conf(site: Site, work: Path) -> str:
    listens = "\n".join(f"        listen {host}:{site.port};" for host in site.hosts)
    user = "user root root;\n" if os.geteuid() == 0 else ""  # workers must read our (private) temp folder
    return f"""{user}worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {work}/error.log warn;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    client_body_temp_path {work}/body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    sendfile on;
    types {{ text/html html; application/rss+xml xml; image/jpeg jpg; image/gif gif; }}
    default_type application/octet-stream;
    charset utf-8;
    charset_types application/rss+xml;
    server {{
{listens}
        root {site.root};
        location /same/ {{
            etag off;
            if_modified_since off;
            add_header Last-Modified "";
        }}
    }}
}}
"""


@contextlib.contextmanager
def serve(site: Site, work: Path, server: str = "auto") -> Iterator[str]:
    """Serve `site` on every host name until the block ends (nginx when found, unless `server` says
    "asyncio"); yields the server's name."""
    nginx = find_nginx() if server != "asyncio" else None
    if server == "nginx" and nginx is None:
        raise RuntimeError("--server nginx: nginx is not installed (apt-get install nginx)")
    if nginx:
        conf = work / "nginx.conf"
        conf.write_text(_nginx_conf(site, work), encoding="utf-8")
        cmd = [nginx, "-p", str(work), "-c", str(conf), "-e", str(work / "error.log")]
        name = "nginx"
    else:
        cmd = [sys.executable, __file__, "--serve", str(site.root), "--port", str(site.port), *site.hosts]
        name = "asyncio static server"
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(work / "server.err", "wb"))  # noqa: SIM115
    try:
        _wait_listening(site, proc, work)
        yield name
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_listening(site: Site, proc: subprocess.Popen[bytes], work: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited at once: {(work / 'server.err').read_text(errors='replace')[-500:]}")
        try:
            with socket.create_connection((site.hosts[-1], site.port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the server did not start listening within 15 s")


async def _static_server(root: Path, port: int, hosts: Sequence[str]) -> None:
    """A small HTTP/1.1 keep-alive static server: ETag/304 everywhere but /same/ (no validators there)."""
    cache: dict[str, tuple[bytes, str, str]] = {}

    def lookup(path: str) -> tuple[bytes, str, str] | None:
        if path not in cache:
            file = (root / path.lstrip("/")).resolve()
            if root not in file.parents or not file.is_file():
                return None
            data = file.read_bytes()
            stat = file.stat()
            kinds = {".xml": "application/rss+xml; charset=utf-8", ".jpg": "image/jpeg", ".gif": "image/gif"}
            kind = kinds.get(file.suffix, "text/html; charset=utf-8")
            cache[path] = (data, kind, f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"')
        return cache[path]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1].split("?", 1)[0]
                headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
                found = lookup(path)
                if found is None:
                    writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                else:
                    data, kind, etag = found
                    validators = not path.startswith("/same/")
                    if validators and headers.get("if-none-match") == etag:
                        writer.write(f"HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\n\r\n".encode())
                    else:
                        extra = f"ETag: {etag}\r\n" if validators else ""
                        head_out = f"HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {len(data)}\r\n"
                        writer.write(f"{head_out}{extra}\r\n".encode() + data)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, IndexError):
            pass
        finally:
            writer.close()

    servers = [await asyncio.start_server(handle, host, port, backlog=1024) for host in hosts]
    await asyncio.gather(*(server.serve_forever() for server in servers))


# ------------------------------------------------------------------------------------------------------ measuring

_PR_SET_CHILD_SUBREAPER = 36  # from <sys/prctl.h>


def measure(cmd: Sequence[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 600) -> Run:
    """Run `cmd` to completion; its wall time, CPU seconds (every descendant's included) and peak RSS come from
    wait4() on that process; the peak RSS of the whole tree (the crawler and its workers together) is sampled."""
    import psutil

    out_path, err_path = cwd / ".bench.out", cwd / ".bench.err"
    tree_peak = 0
    descendants: set[int] = set()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err, env={**os.environ, **(env or {})})
        watched = psutil.Process(proc.pid)
        deadline = started + timeout
        polls = 0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
            polls += 1
            if polls % 5 == 0:  # every 50 ms: cheap next to the run, often enough to see the workers' peak
                with contextlib.suppress(psutil.Error):
                    children = watched.children(recursive=True)
                    descendants.update(child.pid for child in children)
                    tree_peak = max(tree_peak, sum(_rss(p) for p in (watched, *children)))
            time.sleep(0.01)
        wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Run(
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime + _orphans_cpu(descendants),
        max_rss_mb=usage.ru_maxrss / 1024,
        tree_rss_mb=max(tree_peak / 2**20, usage.ru_maxrss / 1024),
        code=proc.returncode,
        stdout=out_path.read_text(encoding="utf-8", errors="replace"),
        stderr=err_path.read_text(encoding="utf-8", errors="replace"),
    )


def _become_subreaper() -> None:
    # A process the crawler started but never waited for (the fork server that starts its workers ends just after
    # the crawler does) is reparented to us instead of to init, so that its CPU time, and that of the workers it
    # waited for, can be counted.
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1)


def _orphans_cpu(pids: set[int], patience: float = 10.0) -> float:
    """CPU seconds of the descendants left to us (see _become_subreaper), each waited for as it ends."""
    cpu = 0.0
    deadline = time.perf_counter() + patience
    for pid in pids:
        while True:
            try:
                done, _status, usage = os.wait4(pid, os.WNOHANG)
            except ChildProcessError:  # waited for by its own parent, whose time includes it
                break
            if done:
                cpu += usage.ru_utime + usage.ru_stime
                break
            if time.perf_counter() > deadline:
                raise RuntimeError(f"process {pid}, left by the crawler, did not end within {patience:g}s")
            time.sleep(0.01)
    return cpu


def _rss(process: Any) -> int:  # a psutil.Process (psutil has no type hints)
    try:
        return int(process.memory_info().rss)
    except Exception:  # it exited between listing and reading: it holds nothing now
        return 0


def crawler_env() -> dict[str, str]:
    """The environment for running this checkout's crawler as a subprocess."""
    return {"PYTHONPATH": str(REPO), "NO_COLOR": "1"}


def write_config(
    path: Path, names_urls: Sequence[tuple[str, str]], shape: Shape, hosts: int, defaults: Sequence[str] = ()
) -> None:
    """A feeds.yaml for the bench: politeness delay 0, no robots, `per_host` connections to each host; `defaults`
    adds `key: value` lines under `defaults:` (`raw: warc`)."""
    lines = [
        "archive: archive",
        "state: state/state.db",
        "politeness:",
        "  delay: 0",
        f"  per_host: {shape.per_host}",
        "  robots: false",
        f"  max_connections: {max(50, hosts * shape.per_host)}",
        "defaults:",
        f'  body: "{_BODY_SELECTOR}"',
        *(f"  {line}" for line in defaults),
        "feeds:",
    ]
    for name, url in names_urls:
        lines.append(f"  - name: {name}")
        lines.append(f"    url: {url}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def crawl(work: Path, config: Path, what: str) -> Run:
    """`crawler fetch` on `config`; raises when it fails."""
    cmd = [sys.executable, "-m", "crawler", "fetch", "--config", str(config), "--json", "--no-progress"]
    run = measure(cmd, work, crawler_env())
    if run.code != 0:
        raise RuntimeError(f"crawler fetch ({what}) exited {run.code}: {run.stderr.strip()[-2000:]}")
    return run


def first_crawl_with(temp: Path, site: Site, shape: Shape, label: str, defaults: Sequence[str]) -> Run:
    """A first crawl of the same site into an empty archive of its own, with `defaults` added."""
    work = temp / f"work-{label}"
    work.mkdir()
    config = work / "feeds.yaml"
    write_config(config, [(f"f{i:03d}", u) for i, u in enumerate(site.feed_urls)], shape, shape.hosts, defaults)
    run = crawl(work, config, f"first crawl, {label}")
    if archived_count(work / "archive") != len(site.page_urls):
        raise RuntimeError(f"first crawl, {label}: archived {archived_count(work / 'archive')} files")
    return run


def folder_bytes(folder: Path, pattern: str = "*") -> int:
    """Bytes of the files under `folder` whose names match `pattern`."""
    return sum(p.stat().st_size for p in folder.rglob(pattern) if p.is_file()) if folder.exists() else 0


def summary(run: Run) -> tuple[int, int, int]:
    """(new, known, not-modified feeds) from `crawler fetch --json`."""
    feeds = json.loads(run.stdout)["feeds"]
    return (
        sum(f["new"] for f in feeds),
        sum(f["known"] for f in feeds),
        sum(bool(f["not_modified"]) for f in feeds),
    )


def archived_count(archive: Path) -> int:
    """How many article files an archive holds."""
    return sum(1 for _ in archive.rglob("*.md")) if archive.exists() else 0


def has_daemon() -> bool:
    """Whether this checkout has `crawler run`."""
    cmd = [sys.executable, "-m", "crawler", "run", "--help"]
    proc = subprocess.run(cmd, capture_output=True, env={**os.environ, **crawler_env()}, cwd=REPO, check=False)
    return proc.returncode == 0


def daemon_rss(work: Path, config: Path, seconds: float) -> dict[str, float]:
    """Run `crawler run` for `seconds` and report its peak and final RSS (MB), sampled with psutil."""
    import psutil

    cmd = [sys.executable, "-m", "crawler", "run", "--config", str(config)]
    with open(work / "daemon.err", "wb") as err:
        proc = subprocess.Popen(
            cmd, cwd=work, stdout=subprocess.DEVNULL, stderr=err, env={**os.environ, **crawler_env()}
        )
    watched = psutil.Process(proc.pid)
    peak = last = tree_peak = 0.0
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            with contextlib.suppress(psutil.Error):
                last = watched.memory_info().rss / 2**20
                peak = max(peak, last)
                tree = sum(_rss(p) for p in [watched, *watched.children(recursive=True)]) / 2**20
                tree_peak = max(tree_peak, tree)
            time.sleep(0.2)
    finally:
        stop_daemon(proc, 30)
    return {
        "peak_rss_mb": round(peak, 1),
        "peak_rss_mb_all_processes": round(tree_peak, 1),
        "settled_rss_mb": round(last, 1),
        "watched_s": seconds,
    }


def stop_daemon(proc: subprocess.Popen[bytes], grace: float) -> None:
    """Stop a `crawler run` as an operator would (SIGTERM), killing it if it has not drained within `grace` s."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def daemon_polling(work: Path, config: Path, feeds: int, timeout: float = 1800) -> dict[str, object]:
    """Make every feed due at once (next_poll cleared in the state database: what a daemon restarted after a long
    stop finds), run `crawler run` until it has polled every feed (its last_poll past the start) or `timeout`
    passes, and report its peak RSS (sampled) and its CPU per poll: the whole daemon's, start-up (reading the
    states, setting the timers) included."""
    import sqlite3

    import psutil

    state = work / "state" / "state.db"
    with contextlib.closing(sqlite3.connect(state, timeout=30)) as db, db:
        db.execute("UPDATE feeds SET next_poll = 0")
    cmd = [sys.executable, "-m", "crawler", "run", "--config", str(config)]
    started = time.time()
    with open(work / "daemon-polling.err", "wb") as err:
        proc = subprocess.Popen(
            cmd, cwd=work, stdout=subprocess.DEVNULL, stderr=err, env={**os.environ, **crawler_env()}
        )
    watched = psutil.Process(proc.pid)
    peak = tree_peak = cpu = 0.0
    polled = 0
    reader = sqlite3.connect(f"{state.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        deadline = time.monotonic() + timeout
        checked = 0.0
        while time.monotonic() < deadline and proc.poll() is None and polled < feeds:
            with contextlib.suppress(psutil.Error):
                peak = max(peak, watched.memory_info().rss / 2**20)
                children = watched.children(recursive=True)
                tree_peak = max(tree_peak, sum(_rss(p) for p in [watched, *children]) / 2**20)
                times = watched.cpu_times()
                cpu = times.user + times.system + times.children_user + times.children_system
                cpu += sum(_cpu(child) for child in children)
            if time.monotonic() - checked > 1.0:  # a count of 100,000 rows: not at every sample
                checked = time.monotonic()
                with contextlib.suppress(sqlite3.OperationalError):  # busy: the next check
                    polled = reader.execute("SELECT count(*) FROM feeds WHERE last_poll >= ?", (started,)).fetchone()[0]
            time.sleep(0.2)
        wall = time.time() - started
    finally:
        reader.close()
        stop_daemon(proc, 60)
    return {
        "feeds": feeds,
        "polled": polled,
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 2),
        "cpu_ms_per_poll": round(cpu * 1000 / polled, 2) if polled else None,
        "peak_rss_mb": round(peak, 1),
        "peak_rss_mb_all_processes": round(tree_peak, 1),
    }


def _cpu(process: Any) -> float:  # a psutil.Process
    try:
        times = process.cpu_times()
        return float(times.user + times.system)
    except Exception:  # it exited between listing and reading
        return 0.0


# ------------------------------------------------------------------------------------------------------ baselines


def _feed_links(text: str) -> list[str]:
    return [link for link in _LINK_RE.findall(text) if "/a/" in link]


async def _plain_loop(feed_urls: Sequence[str], out: Path, per_host: int) -> int:
    """The floor: per host one httpx.AsyncClient of at most `per_host` connections; fetch each feed, pull its
    links with a regex, fetch every page, select the body with selectolax, write a file."""
    from urllib.parse import urlsplit

    import httpx
    from selectolax.lexbor import LexborHTMLParser

    clients: dict[str, httpx.AsyncClient] = {}
    limits: dict[str, asyncio.Semaphore] = {}

    def client_for(url: str) -> tuple[httpx.AsyncClient, asyncio.Semaphore]:
        host = urlsplit(url).netloc
        if host not in clients:
            clients[host] = httpx.AsyncClient(limits=httpx.Limits(max_connections=per_host), timeout=60)
            limits[host] = asyncio.Semaphore(per_host)
        return clients[host], limits[host]

    async def get(url: str) -> bytes:
        client, limit = client_for(url)
        async with limit:
            response = await client.get(url)
            response.raise_for_status()
            return response.content

    async def page(url: str, index: int) -> None:
        html = (await get(url)).decode("utf-8")
        node = LexborHTMLParser(html).css_first(_BODY_SELECTOR)
        if node is None or not node.html:
            raise RuntimeError(f"no {_BODY_SELECTOR} in {url}")
        await asyncio.to_thread((out / f"{index}.html").write_text, node.html, "utf-8")

    async def feed(url: str, index: int) -> int:
        links = _feed_links((await get(url)).decode("utf-8"))
        await asyncio.gather(*(page(link, index * 100_000 + k) for k, link in enumerate(links)))
        return len(links)

    try:
        return sum(await asyncio.gather(*(feed(url, i) for i, url in enumerate(feed_urls))))
    finally:
        await asyncio.gather(*(client.aclose() for client in clients.values()))


def _trafilatura_loop(feed_urls: Sequence[str], out: Path, workers: int) -> int:
    """The peer: trafilatura's own fetch (fetch_url) and extract, and a file write, in `workers` threads."""
    import trafilatura
    from trafilatura.settings import use_config

    config = use_config()
    # trafilatura refuses loopback addresses by default; the bench's site lives there.
    config.set("DEFAULT", "SSRF_PROTECTION", "false")

    def fetch(url: str) -> str:
        downloaded = trafilatura.fetch_url(url, config=config)
        if not downloaded:
            raise RuntimeError(f"trafilatura could not fetch {url}")
        return str(downloaded)

    def feed(url: str) -> list[str]:
        return _feed_links(fetch(url))

    def page(item: tuple[int, str]) -> None:
        index, url = item
        text = trafilatura.extract(fetch(url), url=url, output_format="markdown", config=config)
        if not text:
            raise RuntimeError(f"trafilatura extracted nothing from {url}")
        (out / f"{index}.md").write_text(text, encoding="utf-8")

    with ThreadPoolExecutor(workers) as pool:
        links = [link for found in pool.map(feed, feed_urls) for link in found]
        list(pool.map(page, enumerate(links)))
    return len(links)


def baseline(kind: str, work: Path, feed_urls: Sequence[str], shape: Shape, hosts: int) -> Run:
    """Run one baseline in a process of its own."""
    listing = work / f"{kind}.feeds.txt"
    listing.write_text("\n".join(feed_urls), encoding="utf-8")
    out = work / f"{kind}.out"
    out.mkdir()
    cmd = [
        sys.executable,
        __file__,
        "--baseline",
        kind,
        str(listing),
        str(out),
        "--per-host",
        str(shape.per_host),
        "--workers",
        str(hosts * shape.per_host),
    ]
    run = measure(cmd, work)
    if run.code != 0:
        raise RuntimeError(f"baseline {kind} exited {run.code}: {run.stderr.strip()[-2000:]}")
    written = sum(1 for file in out.iterdir() if file.stat().st_size > 0)
    if run.stdout.strip() != str(written) or written != len(feed_urls) * shape.articles:
        raise RuntimeError(f"baseline {kind} wrote {written} non-empty files of {len(feed_urls) * shape.articles}")
    return run


# ------------------------------------------------------------------------------------------------------- the run


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 2) if b else None


def bench(shape: Shape, out_json: Path, keep: Path | None, server: str = "auto") -> dict[str, object]:
    """The whole run; returns the results written to `out_json`."""
    started = time.perf_counter()
    temp = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="crawler-bench-"))
    temp.mkdir(parents=True, exist_ok=True)
    try:
        port = free_port()
        site = build_site(temp / "site", shape, port)
        server_dir = temp / "server"
        server_dir.mkdir()
        work = temp / "work"
        work.mkdir()
        articles = len(site.page_urls)
        results: dict[str, object] = {}
        with serve(site, server_dir, server) as server_name:
            # 1. first crawl into an empty archive
            first_cfg = work / "feeds.yaml"
            write_config(first_cfg, [(f"f{i:03d}", u) for i, u in enumerate(site.feed_urls)], shape, shape.hosts)
            first = crawl(work, first_cfg, "first crawl")
            files = archived_count(work / "archive")
            if files != articles:
                raise RuntimeError(f"first crawl archived {files} files, expected {articles}")
            # 1b. the same first crawl with raw: warc, between two plain ones (fresh archives): the cost of WARC
            warc_first = first_crawl_with(temp, site, shape, "warc", ["raw: warc"])
            plain_again = first_crawl_with(temp, site, shape, "plain", [])
            images_first = first_crawl_with(temp, site, shape, "images", ["images: keep"])
            warc_bytes = folder_bytes(temp / "work-warc" / "archive" / "_warc", "*.warc.gz")
            image_bytes = folder_bytes(temp / "work-images" / "archive" / "assets")
            md_bytes = folder_bytes(temp / "work-warc" / "archive", "*.md")
            # 2a. unchanged poll, 304
            unchanged = crawl(work, first_cfg, "unchanged poll (304)")
            if summary(unchanged)[2] != shape.feeds:
                raise RuntimeError(f"unchanged poll: not every feed was unchanged: {summary(unchanged)}")
            # 2b. unchanged poll, 200 with the same body and no validators (primed once at the new URLs)
            same_cfg = work / "same.yaml"
            write_config(same_cfg, [(f"f{i:03d}", u) for i, u in enumerate(site.same_urls)], shape, shape.hosts)
            crawl(work, same_cfg, "priming the no-validator feeds")
            same = crawl(work, same_cfg, "unchanged poll (200, same body)")
            if summary(same)[2] != shape.feeds:
                raise RuntimeError(f"same-body poll: not every feed was seen as unchanged: {summary(same)}")
            # 3. many feeds, every item already archived: prime once, then the measured unchanged poll
            many_cfg = work / "many.yaml"
            write_config(many_cfg, [(f"m{i:05d}", u) for i, u in enumerate(site.many_urls)], shape, len(site.hosts))
            many_prime = crawl(work, many_cfg, "priming the many feeds")
            many = crawl(work, many_cfg, "unchanged poll (many feeds)")
            if summary(many)[2] != shape.many_feeds or archived_count(work / "archive") != articles:
                raise RuntimeError(f"many-feeds poll: unexpected outcome {summary(many)}")
            daemon: dict[str, object]
            polling: dict[str, object]
            if has_daemon():
                daemon = dict(daemon_rss(work, many_cfg, shape.daemon_seconds))
                polling = daemon_polling(work, many_cfg, shape.many_feeds)
            else:
                daemon = {"peak_rss_mb": None, "note": "needs crawler run"}
                polling = {"peak_rss_mb": None, "note": "needs crawler run"}
            # 4. baselines on the same pages at the same concurrency
            plain = baseline("plain", temp, site.feed_urls, shape, shape.hosts)
            peer = baseline("trafilatura", temp, site.feed_urls, shape, shape.hosts)
        ours_rate = articles / first.wall
        plain_rate = articles / plain.wall
        peer_rate = articles / peer.wall
        results = {
            "shape": asdict(shape),
            "server": server_name,
            "python": sys.version.split()[0],
            "cpus": os.cpu_count(),
            "date": formatdate(usegmt=True),
            "first_crawl": {
                "articles": articles,
                "wall_s": round(first.wall, 2),
                "articles_per_s": round(ours_rate, 1),
                "cpu_s_per_article": round(first.cpu / articles, 4),
                "peak_rss_mb": round(first.max_rss_mb, 1),
                "peak_rss_mb_all_processes": round(first.tree_rss_mb, 1),
            },
            "first_crawl_warc": {
                "articles": articles,
                "wall_s": round(warc_first.wall, 2),
                "articles_per_s": round(articles / warc_first.wall, 1),
                "cpu_s_per_article": round(warc_first.cpu / articles, 4),
                "plain_again_articles_per_s": round(articles / plain_again.wall, 1),
                # Against the mean of the plain crawls before and after it: the machine's drift shared out.
                "vs_plain": _ratio(articles / warc_first.wall, articles / ((first.wall + plain_again.wall) / 2)),
                "warc_mb_per_1000_articles": round(warc_bytes / articles * 1000 / 1e6, 1),
                "markdown_mb_per_1000_articles": round(md_bytes / articles * 1000 / 1e6, 1),
            },
            "first_crawl_images": {
                "articles": articles,
                "wall_s": round(images_first.wall, 2),
                "articles_per_s": round(articles / images_first.wall, 1),
                "cpu_s_per_article": round(images_first.cpu / articles, 4),
                "images_missing": sum(f.get("images_missing", 0) for f in json.loads(images_first.stdout)["feeds"]),
                "vs_plain": _ratio(articles / images_first.wall, articles / ((first.wall + plain_again.wall) / 2)),
                "image_mb_per_1000_articles": round(image_bytes / articles * 1000 / 1e6, 1),
            },
            "unchanged_304": _poll(unchanged, shape.feeds),
            "unchanged_200_same_body": _poll(same, shape.feeds),
            "many_feeds_prime": _poll(many_prime, shape.many_feeds),
            "many_feeds_unchanged": _poll(many, shape.many_feeds),
            "daemon_many_feeds": daemon,
            "daemon_many_feeds_polling": polling,
            "plain_loop": _baseline_row(plain, articles),
            "trafilatura": _baseline_row(peer, articles),
            "ratios": {
                "ours_vs_plain_loop": _ratio(ours_rate, plain_rate),
                "ours_vs_trafilatura": _ratio(ours_rate, peer_rate),
                "cpu_per_article_ours_vs_plain_loop": _ratio(first.cpu, plain.cpu),
                "cpu_per_article_ours_vs_trafilatura": _ratio(first.cpu, peer.cpu),
            },
            "targets": {
                "first_crawl_vs_trafilatura_at_least": 10.0,
                "first_crawl_vs_plain_loop_at_least": 0.8,
                "first_crawl_warc_vs_plain_at_least": 0.85,
                "unchanged_cpu_ms_per_feed_below": 2.0,
                "rss_mb_with_10000_feeds_below": 150.0,
            },
        }
        results["bench_wall_s"] = round(time.perf_counter() - started, 1)
    finally:
        if keep is None:
            shutil.rmtree(temp, ignore_errors=True)
    out_json.parent.mkdir(parents=True, exist_ok=True)
    out_json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return results


def _poll(run: Run, feeds: int) -> dict[str, object]:
    return {
        "feeds": feeds,
        "wall_s": round(run.wall, 2),
        "cpu_s": round(run.cpu, 2),
        "cpu_ms_per_feed": round(run.cpu * 1000 / feeds, 2),
        "peak_rss_mb": round(run.max_rss_mb, 1),
        "peak_rss_mb_all_processes": round(run.tree_rss_mb, 1),
    }


def _baseline_row(run: Run, articles: int) -> dict[str, object]:
    return {
        "articles": articles,
        "wall_s": round(run.wall, 2),
        "articles_per_s": round(articles / run.wall, 1),
        "cpu_s_per_article": round(run.cpu / articles, 4),
        "peak_rss_mb": round(run.max_rss_mb, 1),
        "peak_rss_mb_all_processes": round(run.tree_rss_mb, 1),
    }


def table(results: dict[str, object]) -> str:
    """The results as one Markdown table."""
    r = results
    first, plain, peer = r["first_crawl"], r["plain_loop"], r["trafilatura"]
    ratios, daemon = r["ratios"], r["daemon_many_feeds"]
    assert isinstance(first, dict) and isinstance(plain, dict) and isinstance(peer, dict)
    assert isinstance(ratios, dict) and isinstance(daemon, dict)
    rows = [
        ("| measure | ours | plain loop | trafilatura | ours / plain | ours / trafilatura |"),
        ("| --- | ---: | ---: | ---: | ---: | ---: |"),
        (
            f"| first crawl, {first['articles']} articles: articles/s | {first['articles_per_s']} | "
            f"{plain['articles_per_s']} | {peer['articles_per_s']} | {ratios['ours_vs_plain_loop']} | "
            f"{ratios['ours_vs_trafilatura']} |"
        ),
        (
            f"| first crawl: CPU ms/article | {first['cpu_s_per_article'] * 1000:.1f} | "
            f"{plain['cpu_s_per_article'] * 1000:.1f} | {peer['cpu_s_per_article'] * 1000:.1f} | "
            f"{ratios['cpu_per_article_ours_vs_plain_loop']} | {ratios['cpu_per_article_ours_vs_trafilatura']} |"
        ),
        (f"| first crawl: peak RSS MB | {first['peak_rss_mb']} | {plain['peak_rss_mb']} | {peer['peak_rss_mb']} | | |"),
        (
            f"| first crawl: peak RSS MB, all processes | {first['peak_rss_mb_all_processes']} | "
            f"{plain['peak_rss_mb_all_processes']} | {peer['peak_rss_mb_all_processes']} | | |"
        ),
    ]
    warc = r["first_crawl_warc"]
    assert isinstance(warc, dict)
    rows.append(
        f"| first crawl with raw: warc: articles/s (plain again: {warc['plain_again_articles_per_s']}) / "
        f"CPU ms/article / WARC MB per 1000 articles | {warc['articles_per_s']} / "
        f"{warc['cpu_s_per_article'] * 1000:.1f} / {warc['warc_mb_per_1000_articles']} | | | "
        f"{warc['vs_plain']} (vs plain crawls) | |"
    )
    images = r["first_crawl_images"]
    assert isinstance(images, dict)
    rows.append(
        f"| first crawl with images: keep (4 images an article): articles/s / CPU ms/article / image MB per 1000 "
        f"articles | {images['articles_per_s']} / {images['cpu_s_per_article'] * 1000:.1f} / "
        f"{images['image_mb_per_1000_articles']} | | | {images['vs_plain']} (vs plain crawls) | |"
    )
    for key, label in (
        ("unchanged_304", "unchanged poll, 304"),
        ("unchanged_200_same_body", "unchanged poll, 200 same body"),
        ("many_feeds_unchanged", "unchanged poll, 304"),
    ):
        poll = r[key]
        assert isinstance(poll, dict)
        rows.append(
            f"| {label}, {poll['feeds']} feeds: wall s / CPU ms per feed / peak RSS MB (all processes) | "
            f"{poll['wall_s']} / {poll['cpu_ms_per_feed']} / {poll['peak_rss_mb_all_processes']} | | | | |"
        )
    rss = daemon.get("peak_rss_mb")
    tree = daemon.get("peak_rss_mb_all_processes")
    rows.append(
        f"| daemon RSS MB holding {r['shape']['many_feeds']} feeds (`crawler run`), itself / all processes | "  # type: ignore[index]
        f"{f'{rss} / {tree}' if rss is not None else 'needs crawler run'} | | | | |"
    )
    polling = r.get("daemon_many_feeds_polling")
    if isinstance(polling, dict) and polling.get("peak_rss_mb") is not None:
        rows.append(
            f"| daemon polling {polling['polled']} of {polling['feeds']} feeds (all due, 304): RSS MB itself / all "
            f"processes, CPU ms per poll, wall s | {polling['peak_rss_mb']} / {polling['peak_rss_mb_all_processes']}"
            f", {polling['cpu_ms_per_poll']}, {polling['wall_s']} | | | | |"
        )
    return "\n".join(rows)


# ---------------------------------------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    """The bench's command line (and its internal roles: --serve, --baseline)."""
    _become_subreaper()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a small run, under a minute")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"the JSON results (default: {DEFAULT_OUT})")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (for profiling)")
    parser.add_argument("--many-feeds", type=int, help="feeds of the large unchanged poll")
    parser.add_argument(
        "--server", choices=("auto", "nginx", "asyncio"), default="auto", help="the site's server (default: auto)"
    )
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--baseline", nargs=3, metavar=("KIND", "FEEDS", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--per-host", type=int, default=6, help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=24, help=argparse.SUPPRESS)
    parser.add_argument("hosts", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        asyncio.run(_static_server(args.serve.resolve(), args.port, args.hosts))
        return 0
    if args.baseline:
        kind, listing, out = args.baseline
        urls = Path(listing).read_text(encoding="utf-8").split()
        if kind == "plain":
            count = asyncio.run(_plain_loop(urls, Path(out), args.per_host))
        else:
            count = _trafilatura_loop(urls, Path(out), args.workers)
        print(count)
        return 0
    shape = QUICK if args.quick else FULL
    if args.many_feeds:
        shape = Shape(**{**asdict(shape), "many_feeds": args.many_feeds})
    results = bench(shape, args.out, args.keep, args.server)
    print(table(results))
    print(f"\n{results['server']}, {results['cpus']} CPUs, bench took {results['bench_wall_s']} s; JSON: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
