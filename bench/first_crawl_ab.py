"""First crawls of several checkouts of the crawler, interleaved, on bench/throughput.py's site (A/B of one change).

    python bench/first_crawl_ab.py --runs 5 with=/path/to/checkout-a without=/path/to/checkout-b
    python bench/first_crawl_ab.py --runs 5 plain=. warc=. --defaults "warc=raw: warc"   # one checkout, two settings

Each LABEL=PATH is a folder holding a `crawler` package; each run crawls the full shape's 1,600 articles into an empty
archive with that code (PYTHONPATH=PATH), the checkouts taking turns so that the machine's load falls on each alike.
It prints wall and CPU seconds per run and the medians; read the ratios, as the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.throughput import (
    FULL,
    _become_subreaper,
    archived_count,
    build_site,
    free_port,
    measure,
    serve,
    write_config,
)


def first_crawls(
    checkouts: dict[str, Path], runs: int, defaults: dict[str, list[str]] | None = None
) -> dict[str, list[tuple[float, float]]]:
    """(wall s, CPU s) of `runs` first crawls for each checkout, taking turns."""
    temp = Path(tempfile.mkdtemp(prefix="crawler-ab-"))
    try:
        site = build_site(temp / "site", FULL, free_port())
        (temp / "server").mkdir()
        results: dict[str, list[tuple[float, float]]] = {label: [] for label in checkouts}
        with serve(site, temp / "server"):
            for number in range(runs):
                for label, code in checkouts.items():
                    work = temp / f"{label}-{number}"
                    work.mkdir()
                    config = work / "feeds.yaml"
                    names = [(f"f{i:03d}", url) for i, url in enumerate(site.feed_urls)]
                    write_config(config, names, FULL, FULL.hosts, (defaults or {}).get(label, []))
                    cmd = [sys.executable, "-m", "crawler", "fetch", "--config", str(config), "--json", "--no-progress"]
                    run = measure(cmd, work, {"PYTHONPATH": str(code), "NO_COLOR": "1"})
                    if run.code != 0 or archived_count(work / "archive") != len(site.page_urls):
                        raise RuntimeError(f"{label}: the crawl failed: {run.stderr.strip()[-2000:]}")
                    results[label].append((run.wall, run.cpu))
                    print(f"{label:>12} run {number + 1}: {run.wall:.2f} s wall, {run.cpu:.2f} s CPU", flush=True)
                    shutil.rmtree(work)
        return results
    finally:
        shutil.rmtree(temp, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: LABEL=PATH checkouts and how many runs of each."""
    _become_subreaper()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, help="write the runs as JSON here")
    parser.add_argument(
        "--defaults", action="append", default=[], metavar="LABEL=LINE", help="a `defaults:` line for LABEL's feeds"
    )
    parser.add_argument("checkouts", nargs="+", help="LABEL=PATH: a folder holding a crawler package")
    args = parser.parse_args(argv)
    checkouts = {label: Path(path).resolve() for label, _, path in (c.partition("=") for c in args.checkouts)}
    defaults: dict[str, list[str]] = {}
    for label, _, line in (d.partition("=") for d in args.defaults):
        defaults.setdefault(label, []).append(line)
    results = first_crawls(checkouts, args.runs, defaults)
    summary = {
        label: {
            "median_wall_s": round(statistics.median(w for w, _ in runs), 2),
            "median_cpu_s": round(statistics.median(c for _, c in runs), 2),
            "walls": [round(w, 2) for w, _ in runs],
        }
        for label, runs in results.items()
    }
    print(json.dumps(summary, indent=2))
    if args.out:
        args.out.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
