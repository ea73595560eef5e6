#!/usr/bin/env python3
"""Extraction benchmark: body-text F1 and speed of crawler.extract.auto next to trafilatura and
readability-lxml, the speed of the full path the crawler runs (``extract_page``: one parse, metadata, extraction
and body clean-up), plus metadata accuracy of crawler.extract.metadata.

    python bench/extraction.py [--eval ../shared/eval] [--only ours] [--repeat 3]

"ours, feed-guided" is ours given the feed item each page would have (see :func:`page_hint`): the title and the
teaser, taken from the page itself, never from the reference text.

All three extractors return HTML; the text scored is derived from that HTML by one function
(:func:`html_to_text`: block elements and <br> become line breaks, whitespace folded), so no extractor is
favoured by its own text serialisation. Speed is pages per CPU second end to end (HTML string in, HTML
out, parsing included), single-threaded, best of ``--repeat`` interleaved runs: CPU time rather than wall
time, so that other processes on a shared machine do not decide the result. Ours is also given without
parsing, which is what ``extract_main`` itself costs, and as the full path (``extract_page``), which is what the
crawler pays per page. Nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from selectolax.lexbor import LexborHTMLParser  # noqa: E402

from crawler.extract.auto import FeedHint, extract_main  # noqa: E402
from crawler.extract.metadata import PageMeta, page_metadata, parse_date  # noqa: E402
from crawler.extract.page import ExtractError, extract_page  # noqa: E402

_BLOCK_TAG_RE = re.compile(
    r"<(?:/?(?:p|div|h[1-6]|li|ul|ol|dl|dd|dt|table|tr|td|th|thead|tbody|caption|blockquote|pre|section|"
    r"article|figure|figcaption|header|footer|main|aside|address|details|summary)|br|hr)\b[^>]*>",
    re.I,
)
_WS_RE = re.compile(r"[^\S\n]+")

Page = dict[str, Any]


def html_to_text(html: str | None) -> str:
    """Plain text of extracted HTML: one line per block element, whitespace folded."""
    if not html:
        return ""
    marked = _BLOCK_TAG_RE.sub(lambda m: m.group(0) + "\n", html)
    text = LexborHTMLParser(f"<html><body>{marked}</body></html>").body
    raw = text.text() if text is not None else ""
    lines = (_WS_RE.sub(" ", line).strip() for line in raw.split("\n"))
    return "\n".join(line for line in lines if line)


def load_sets(eval_dir: Path) -> dict[str, list[Page]]:
    sets: dict[str, list[Page]] = {}
    rd = eval_dir / "readability"
    truth = json.loads((rd / "truth.json").read_text("utf8"))
    meta = json.loads((rd / "meta-truth.json").read_text("utf8"))
    sets["readability"] = [
        {
            "id": k,
            "path": rd / "pages" / k / "source.html",
            "url": "http://fakehost/test/page.html",
            "truth": v,
            "meta": meta.get(k),
        }
        for k, v in truth.items()
    ]
    nd = eval_dir / "newspaper4k"
    truth = json.loads((nd / "truth.json").read_text("utf8"))
    meta = json.loads((nd / "meta-truth.json").read_text("utf8"))
    ids = sorted(set(truth) | set(meta))
    sets["newspaper4k"] = [
        {
            "id": k,
            "path": nd / "html" / f"{k}.html",
            "url": (meta.get(k) or {}).get("url") or "http://fakehost/",
            "truth": truth.get(k),
            "meta": meta.get(k),
        }
        for k in ids
    ]
    zd = eval_dir / "zh_gne"
    truth = json.loads((zd / "silver-truth.json").read_text("utf8"))
    meta = json.loads((zd / "silver-meta.json").read_text("utf8"))
    ids = sorted(set(truth) | set(meta))
    sets["zh_gne"] = [
        {
            "id": k,
            "path": zd / "tests" / f"{k}.html",
            "url": f"https://{k.split('/')[0]}.example.com/{k}.html",
            "truth": truth.get(k),
            "meta": meta.get(k),
        }
        for k in ids
    ]
    for pages in sets.values():
        for page in pages:
            if isinstance(page["truth"], dict):
                page["truth"] = page["truth"].get("articleBody") or ""
            page["html"] = page["path"].read_text("utf8", errors="replace")
    return sets


def ours(html: str, url: str) -> str | None:
    return extract_main(LexborHTMLParser(html), url)


# --- the feed item as a signal ----------------------------------------------------------------------------

_MIN_TEASER = 40


def page_hint(html: str) -> FeedHint:
    """The feed item a page would have, built from the page alone (never from the reference text): its title
    (og:title, else the first <h1>, else <title>) and its teaser: the first sentences the page gives of itself in
    its description (og:description, description or twitter:description), which is what feeds carry. Pages
    without a description get a title-only item: a paragraph guessed as "the first" would be a guess at the
    very thing being measured."""
    tree = LexborHTMLParser(html)
    return FeedHint(title=_page_title(tree), teaser=_page_teaser(tree))


def _meta(tree: LexborHTMLParser, selector: str) -> str | None:
    node = tree.css_first(selector)
    value = (node.attributes.get("content") or "").strip() if node is not None else ""
    return value or None


def _page_title(tree: LexborHTMLParser) -> str | None:
    h1 = tree.css_first("h1")
    title = tree.css_first("title")
    for candidate in (
        _meta(tree, "meta[property='og:title']"),
        h1.text(strip=True) if h1 is not None else None,
        title.text(strip=True) if title is not None else None,
    ):
        if candidate:
            return candidate
    return None


def _page_teaser(tree: LexborHTMLParser) -> str | None:
    for selector in ("meta[property='og:description']", "meta[name='description']", "meta[name='twitter:description']"):
        value = _meta(tree, selector)
        if value and len(value) >= _MIN_TEASER:
            return value
    return None


def make_guided(pages: list[Page]) -> Callable[[str, str], str | None]:
    """Ours with each page's feed item (see `page_hint`); hints are built before any timing starts."""
    hints = {page["html"]: page_hint(page["html"]) for page in pages}

    def run(html: str, url: str) -> str | None:
        return extract_main(LexborHTMLParser(html), url, hints.get(html))

    return run


def make_trafilatura() -> Callable[[str, str], str | None] | None:
    if importlib.util.find_spec("trafilatura") is None:
        return None
    import trafilatura

    def run(html: str, url: str) -> str | None:
        return trafilatura.extract(
            html,
            url=url,
            output_format="html",
            include_comments=False,
            include_tables=True,
            include_images=False,
        )

    return run


def make_readability() -> Callable[[str, str], str | None] | None:
    if importlib.util.find_spec("readability") is None:
        return None
    from readability import Document

    def run(html: str, url: str) -> str | None:
        return str(Document(html, url=url).summary(html_partial=True))

    return run


def run_once(fn: Callable[[str, str], str | None], pages: list[Page]) -> tuple[list[str | None], float]:
    """One pass over the pages: the HTML results and the CPU seconds spent."""
    results: list[str | None] = []
    start = time.process_time()
    for page in pages:
        try:
            results.append(fn(page["html"], page["url"]))
        except Exception as exc:  # a baseline crashing on one page must not stop the benchmark
            print(f"  {page['id']}: {type(exc).__name__}: {exc}", file=sys.stderr)
            results.append(None)
    return results, time.process_time() - start


def ours_without_parse_once(pages: list[Page]) -> float:
    trees = [LexborHTMLParser(page["html"]) for page in pages]
    start = time.process_time()
    for page, tree in zip(pages, trees, strict=True):
        extract_main(tree, page["url"])
    return time.process_time() - start


def full_path_once(pages: list[Page]) -> float:
    """CPU seconds of `extract_page` over the pages: what the crawler runs, metadata and body clean-up included."""
    start = time.process_time()
    for page in pages:
        try:
            extract_page(page["html"], page["url"])
        except ExtractError:
            continue  # a page without a body costs its time all the same
    return time.process_time() - start


def run_set(
    extractors: dict[str, Callable[[str, str], str | None]], pages: list[Page], repeat: int
) -> tuple[dict[str, dict[str, str]], dict[str, float]]:
    """Texts per extractor and best CPU time per extractor. Runs are interleaved (A, B, C, A, B, C...)
    so that load from other processes on the machine hits every extractor alike."""
    texts: dict[str, dict[str, str]] = {}
    best: dict[str, float] = {}
    for _ in range(repeat):
        for name, fn in extractors.items():
            results, spent = run_once(fn, pages)
            best[name] = min(best.get(name, float("inf")), spent)
            texts[name] = {page["id"]: html_to_text(html) for page, html in zip(pages, results, strict=True)}
        spent = ours_without_parse_once(pages)
        best["ours, no parse"] = min(best.get("ours, no parse", float("inf")), spent)
        spent = full_path_once(pages)
        best["full path"] = min(best.get("full path", float("inf")), spent)
    return texts, best


def load_scorer(eval_dir: Path) -> Any:
    spec = importlib.util.spec_from_file_location("eval_score", eval_dir / "score.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- metadata -------------------------------------------------------------------------------------------

_QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "＂": '"'})


def _norm(text: str | None) -> str:
    # Typographic and straight quotes are the same title.
    return re.sub(r"\s+", " ", text or "").strip().translate(_QUOTES)


def title_ok(got: str | None, want: str) -> bool:
    """Equal once whitespace, case and quote styles are folded; nothing else is forgiven (a leftover
    " - Site" suffix is a miss)."""
    g = _norm(got)
    return bool(g) and g == _norm(want)


_SITE_SEP_RE = re.compile(r"^\s*(?:[-|–—_:·•»/\\]|--)")


def title_ok_but_site_name(got: str | None, want: str) -> bool:
    """Equal, or equal but for a trailing " - Site Name" one side keeps: the references disagree on it
    (Readability keeps og:title's suffix, newspaper4k strips it), so both counts are reported."""
    g, w = _norm(got), _norm(want)
    if not g:
        return False
    if g == w:
        return True
    longer, shorter = (g, w) if len(g) > len(w) else (w, g)
    tail = longer[len(shorter) :]
    return longer.startswith(shorter) and len(tail) <= 40 and bool(_SITE_SEP_RE.match(tail))


def date_ok(got: datetime | None, want: str) -> bool:
    """Right at the precision the truth gives: instant when both carry offsets, wall clock otherwise."""
    if got is None:
        return False
    m = re.fullmatch(r"(\d{1,2})月(\d{1,2})日", want.strip())
    if m:  # a dateline without a year
        return (got.month, got.day) == (int(m.group(1)), int(m.group(2)))
    ref = parse_date(want)
    if ref is None:
        return False
    if (ref.time() == datetime.min.time() and "T00:00:00" in want) or len(want.strip()) <= 10:
        return got.date() == ref.date()
    if ref.tzinfo is not None and got.tzinfo is not None:
        return abs((got - ref).total_seconds()) < 60
    return abs((got.replace(tzinfo=None) - ref.replace(tzinfo=None)).total_seconds()) < 60


def author_ok(got: str | None, want: str) -> bool:
    """Either name contains the other once a leading "By" and the whitespace are folded: references
    write "By\n Jane Doe\n March 2" or list fewer co-authors than the page."""
    g = re.sub(r"^by\s+", "", _norm(got))
    w = re.sub(r"^by\s+", "", _norm(want))
    return bool(g) and bool(w) and (g in w or w in g)


def image_ok(got: str | None, want: str) -> bool:
    """The same image file: renditions that differ only in query string or resize path
    (?c=16x9&q=w_800 vs ?c=original) are the same lead image."""
    if not got:
        return False
    g, w = urlsplit(got), urlsplit(want)
    return g.netloc == w.netloc and g.path.rsplit("/", 1)[-1] == w.path.rsplit("/", 1)[-1]


def metadata_scores(sets: dict[str, list[Page]]) -> tuple[dict[str, Any], float]:
    table: dict[str, Any] = {}
    spent = 0.0
    count = 0
    for name, pages in sets.items():
        counts = {"title": [0, 0], "title_site": [0, 0], "date": [0, 0], "image": [0, 0], "author": [0, 0]}
        misses: dict[str, list[str]] = {k: [] for k in counts}
        for page in pages:
            truth = page.get("meta")
            if not truth:
                continue
            start = time.perf_counter()
            meta: PageMeta = page_metadata(LexborHTMLParser(page["html"]), page["url"])
            spent += time.perf_counter() - start
            count += 1
            checks: list[tuple[str, bool]] = []
            if truth.get("title"):
                checks.append(("title", title_ok(meta.title, truth["title"])))
                checks.append(("title_site", title_ok_but_site_name(meta.title, truth["title"])))
            if truth.get("date"):
                checks.append(("date", date_ok(meta.published, truth["date"])))
            if truth.get("top_image"):
                checks.append(("image", image_ok(meta.image, truth["top_image"])))
            author = truth.get("author") or ", ".join(truth.get("authors") or [])
            if author and author not in ("未知", "搜索"):
                checks.append(("author", author_ok(meta.author, author)))
            for key, ok in checks:
                counts[key][1] += 1
                counts[key][0] += ok
                if not ok:
                    misses[key].append(page["id"])
        table[name] = {
            k: {"right": r, "of": n, "accuracy": round(r / n, 3) if n else None, "misses": misses[k]}
            for k, (r, n) in counts.items()
            if n
        }
    return table, (count / spent if spent else 0.0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--eval", type=Path, default=ROOT.parent / "shared" / "eval", help="evaluation data dir")
    ap.add_argument("--only", choices=["ours", "all"], default="all", help="skip the baselines")
    ap.add_argument("--repeat", type=int, default=3, help="timing runs per extractor (best is kept)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "extraction.json")
    ap.add_argument("--per-page", type=Path, help="write our per-page scores here")
    args = ap.parse_args(argv)

    scorer = load_scorer(args.eval)
    sets = load_sets(args.eval)
    extractors: dict[str, Callable[[str, str], str | None]] = {"ours": ours}
    if args.only == "all":
        for name, factory in (("trafilatura", make_trafilatura), ("readability-lxml", make_readability)):
            fn = factory()
            if fn is None:
                print(f"{name} not installed; skipped", file=sys.stderr)
            else:
                extractors[name] = fn

    results: dict[str, Any] = {"extraction": {}, "metadata": {}}
    per_page_all: dict[str, Any] = {}
    columns = f"{'set':<12} {'extractor':<17} {'pages':>5} {'F1':>6} {'P':>6} {'R':>6} {'pages/s':>8}"
    print(columns + "  (per CPU second)")
    for set_name, pages in sets.items():
        scored = [p for p in pages if p["truth"] is not None]
        truth = {p["id"]: p["truth"] for p in scored}
        with_guided = {"ours": ours, "ours, feed-guided": make_guided(scored)}
        with_guided.update((k, v) for k, v in extractors.items() if k != "ours")
        texts, best = run_set(with_guided, scored, args.repeat)
        rows = results["extraction"].setdefault(set_name, {})
        for ex_name in with_guided:
            metrics, per_page = scorer.score(truth, texts[ex_name])
            speed = len(scored) / best[ex_name]
            row = {
                "pages": len(scored),
                "f1": round(metrics["f1"], 4),
                "precision": round(metrics["precision"], 4),
                "recall": round(metrics["recall"], 4),
                "pages_per_cpu_s": round(speed, 1),
            }
            if ex_name == "ours":
                row["pages_per_cpu_s_without_parse"] = round(len(scored) / best["ours, no parse"], 1)
                row["full_path_pages_per_cpu_s"] = round(len(scored) / best["full path"], 1)
                per_page_all[set_name] = per_page
            rows[ex_name] = row
            print(
                f"{set_name:<12} {ex_name:<17} {len(scored):>5} {row['f1']:.3f} {row['precision']:.3f} "
                f"{row['recall']:.3f} {speed:>8.1f}"
            )
        print(
            f"{'':<12} {'ours, no parse':<17} {'':>5} {'':>6} {'':>6} {'':>6} "
            f"{len(scored) / best['ours, no parse']:>8.1f}"
        )
        print(
            f"{'':<12} {'full path':<17} {'':>5} {'':>6} {'':>6} {'':>6} "
            f"{len(scored) / best['full path']:>8.1f}  (extract_page: metadata and clean-up included)"
        )
        if "trafilatura" in rows:
            trafilatura = rows["trafilatura"]["pages_per_cpu_s"]
            ratio = rows["ours"]["pages_per_cpu_s"] / trafilatura
            rows["ours"]["speedup_vs_trafilatura"] = round(ratio, 1)
            full_ratio = rows["ours"]["full_path_pages_per_cpu_s"] / trafilatura
            rows["ours"]["full_path_speedup_vs_trafilatura"] = round(full_ratio, 1)
            print(f"{'':<12} {'ours / trafilatura':<17} {'':>5} {'':>6} {'':>6} {'':>6} {ratio:>7.1f}x")
            print(f"{'':<12} {'full / trafilatura':<17} {'':>5} {'':>6} {'':>6} {'':>6} {full_ratio:>7.1f}x")
    meta_table, meta_speed = metadata_scores(sets)
    results["metadata"] = meta_table
    results["metadata_pages_per_s"] = round(meta_speed, 1)
    print(f"\nmetadata ({meta_speed:.0f} pages/s)")
    for set_name, fields in meta_table.items():
        for key, row in fields.items():
            miss = f"  misses: {', '.join(row['misses'][:8])}" if row["misses"] else ""
            print(f"{set_name:<12} {key:<7} {row['right']:>3}/{row['of']:<3} {row['accuracy']:.3f}{miss}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", "utf8")
    if args.per_page:
        args.per_page.write_text(json.dumps(per_page_all, indent=1, ensure_ascii=False), "utf8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
