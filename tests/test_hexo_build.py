"""A real Hexo build of a real archive: what the readers of the published blog see.

Real pages (the golden case and pages of the evaluation set in several languages, with code, tables, figures and
a `<style>`) are archived through the real CLI from the local server, each twice: by a feed with the default
`render: hexo` and by one with `render: verbatim`. The archive is copied into a stock Hexo site (hexo,
hexo-renderer-marked, the landscape theme, as README tells a user) and `hexo generate` runs once. Every post must
render, with its HTML as HTML: no code block of escaped markup that the body did not have, every image an `<img>`,
every `<pre>` text exactly as archived. The verbatim posts show the check has teeth: some of them break.

CI installs the Node packages into .node/ (see .ci/run); the test is skipped only where Node.js or npm is missing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from html import escape
from pathlib import Path

import pytest
import yaml
from selectolax.lexbor import LexborHTMLParser, LexborNode

from tests.conftest import FIXTURES, REPO, Workdir
from tests.support.server import TestServer

NODE_MODULES = REPO / ".node" / "node_modules"
HEXO = NODE_MODULES / ".bin" / "hexo"
HEXO_PACKAGES = ("hexo", "hexo-renderer-marked", "hexo-renderer-ejs", "hexo-theme-landscape")
NPM_INSTALL = (
    "npm install --prefix .node hexo-front-matter@4 hexo@8 hexo-renderer-marked@7 hexo-renderer-ejs@2 "
    "hexo-theme-landscape@1"
)
GOLDEN_PATH = "/china/dfjj/2021-08-24/doc-ikqciyzm3166862.shtml"
SHARED_WITH_EXTRACTION = ("rd-001.html", "rd-hukumusume.html", "rd-medium-1.html", "gne-qq-qq.html")
PAGES = sorted((FIXTURES / "hexo").glob("*.html")) + [FIXTURES / "extraction" / name for name in SHARED_WITH_EXTRACTION]
GOLDEN_TITLE = "习近平主席贺信引发热烈反响：让数字经济持续不断为重庆发展添动力增动能"
MODES = ("hexo", "verbatim")
# Markup as a reader would see it when Markdown made a code block of the page's own HTML.
ESCAPED_MARKUP = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(?:\s[^<>]*)?>")


def _missing_node() -> str | None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        return "Node.js and npm are not installed"
    return None


pytestmark = [
    pytest.mark.skipif(_missing_node() is not None, reason=f"{_missing_node()}: no Hexo build to run"),
    pytest.mark.xdist_group("hexo-build"),  # one build for the module, on one worker
]


@dataclass(frozen=True)
class Post:
    """One archived file and the page Hexo generated for it."""

    mode: str  # the feed's render: setting
    source: str  # the page it was archived from
    body: str  # the archive file's body, from <div> to </div>
    entry: LexborNode | None  # the generated post's article body (landscape's .article-entry), None if missing


@pytest.fixture(scope="module")
def posts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Post]]:
    if not all((NODE_MODULES / package).exists() for package in HEXO_PACKAGES):
        pytest.fail(f"Hexo is not installed in .node/: run `{NPM_INSTALL}` (as .ci/run does)")
    server = TestServer()
    try:
        # One crawl per mode: the same text twice in one archive would be archived once (docs/FORMAT.md, Deduplication).
        archives = {mode: _crawl(server, mode, Workdir(tmp_path_factory.mktemp(f"crawl-{mode}"))) for mode in MODES}
    finally:
        server.close()
    public = _hexo_generate(tmp_path_factory.mktemp("site"), archives)
    yield [_post(path, mode, archive, public) for mode, archive in archives.items() for path in _files(archive)]


def _crawl(server: TestServer, mode: str, work: Workdir) -> Path:
    """Archive the golden case and every page through the real CLI with `render: mode`; return the archive."""
    golden = FIXTURES / "golden"
    feed = (golden / "feed.xml").read_bytes().replace(b"{base}", f"{server.base}/{mode}".encode())
    server.add(f"/{mode}/golden.xml", body=feed, content_type="application/rss+xml")
    server.add(f"/{mode}{GOLDEN_PATH}", body=(golden / "article.html").read_bytes(), content_type="text/html")
    items = []
    for page in PAGES:
        path = f"/{mode}/pages/{page.stem}.html"
        server.add(path, body=page.read_bytes(), content_type="text/html")
        items.append(
            f"<item><title>{escape(page.stem)}</title><link>{server.url(path)}</link><guid>{server.url(path)}</guid>"
            "<pubDate>Tue, 24 Aug 2021 07:07:13 GMT</pubDate></item>"
        )
    channel = f"<title>Pages</title><link>{server.base}/</link><description>d</description>{''.join(items)}"
    server.add(
        f"/{mode}/pages.xml",
        body=f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>{channel}</channel></rss>'.encode(),
        content_type="application/rss+xml",
    )
    feeds = [
        {"name": "golden", "url": server.url(f"/{mode}/golden.xml"), "author": "新浪财经", "body": "#artibody"},
        {"name": "pages", "url": server.url(f"/{mode}/pages.xml")},
    ]
    config = {
        "archive": "archive",
        "politeness": {"delay": 0},
        "http": {"backoff": "50ms"},
        "defaults": {"render": mode},
        "feeds": feeds,
    }
    work.write_config(yaml.safe_dump(config, allow_unicode=True, sort_keys=False))
    result = work.run("fetch", timeout=600)
    assert result.code == 0, result.stderr
    assert len(work.files()) == len(PAGES) + 1, result.stdout + result.stderr
    return work.archive


def _files(archive: Path) -> list[Path]:
    return sorted(path for path in archive.rglob("*.md"))


def _hexo_generate(site: Path, archives: dict[str, Path]) -> Path:
    """A stock Hexo site with the archives as its posts (README: copy `archive/` into `source/_posts`); `hexo
    generate` run once. Returns its public folder."""
    (site / "package.json").write_text(
        json.dumps(
            {
                "name": "archive-site",
                "version": "0.0.0",
                "private": True,
                "hexo": {"version": _installed_version("hexo")},
                "dependencies": {name: "*" for name in HEXO_PACKAGES},
            }
        ),
        encoding="utf-8",
    )
    (site / "_config.yml").write_text(
        "title: Archive\nurl: http://example.com\npermalink: :year/:month/:day/:name/\ntheme: landscape\n",
        encoding="utf-8",
    )
    (site / "node_modules").symlink_to(NODE_MODULES, target_is_directory=True)
    for mode, archive in archives.items():
        shutil.copytree(archive, site / "source" / "_posts" / mode)
    proc = subprocess.run(
        [str(HEXO), "generate", "--cwd", str(site)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return site / "public"


def _installed_version(package: str) -> str:
    version = json.loads((NODE_MODULES / package / "package.json").read_text(encoding="utf-8"))["version"]
    return str(version)


def _post(path: Path, mode: str, archive: Path, public: Path) -> Post:
    text = path.read_text(encoding="utf-8")
    head, body = text.split("\n---\n\n", 1)
    source = str(yaml.safe_load(head.removeprefix("---\n"))["title"])
    # permalink :year/:month/:day/:name/ of archive/YYYY/MM/DD/<id>.md
    relative = path.relative_to(archive).with_suffix("")
    generated = public / relative / "index.html"
    entry = None
    if generated.exists():
        entry = LexborHTMLParser(generated.read_text(encoding="utf-8")).css_first(".article-entry")
    return Post(mode=mode, source=source, body=body, entry=entry)


def _code_texts(root: LexborNode) -> list[str]:
    return [node.text(deep=True) or "" for node in root.css("pre, code")]


def _body_root(post: Post) -> LexborNode:
    root = LexborHTMLParser(post.body).body
    assert root is not None
    return root


def _escaped_markup(post: Post) -> list[str]:
    """Code blocks on the published page that show markup the archived body did not hold as code."""
    assert post.entry is not None
    own = set(_code_texts(_body_root(post)))
    return [text for text in _code_texts(post.entry) if text not in own and ESCAPED_MARKUP.search(text)]


def _of(posts: list[Post], mode: str) -> list[Post]:
    chosen = [post for post in posts if post.mode == mode]
    assert len(chosen) == len(PAGES) + 1
    return chosen


@pytest.mark.parametrize("mode", MODES)
def test_every_archived_file_is_published_as_a_post(posts: list[Post], mode: str) -> None:
    assert [post.source for post in _of(posts, mode) if post.entry is None] == []


def test_no_post_shows_escaped_html_with_the_default_render(posts: list[Post]) -> None:
    broken = {post.source: _escaped_markup(post)[:1] for post in _of(posts, "hexo") if _escaped_markup(post)}
    assert broken == {}


def test_the_check_has_teeth_render_verbatim_shows_escaped_html_in_real_posts(posts: list[Post]) -> None:
    # The page's own layout kept: a blank line ends Markdown's HTML block, the next indented line is a code block.
    broken = [post.source for post in _of(posts, "verbatim") if _escaped_markup(post)]
    assert len(broken) >= 5, broken
    assert GOLDEN_TITLE in broken  # the golden file's QR-code block


def test_images_stay_images(posts: list[Post]) -> None:
    for post in _of(posts, "hexo"):
        assert post.entry is not None
        assert len(post.entry.css("img")) == len(_body_root(post).css("img")), post.source
        # No image shown as its source (a page may of course write `&lt;img&gt;` in its own text).
        assert (post.entry.html or "").count("&lt;img") == post.body.count("&lt;img"), post.source


def test_pre_blocks_keep_their_text_exactly(posts: list[Post]) -> None:
    with_pre = 0
    for post in _of(posts, "hexo"):
        assert post.entry is not None
        archived = [node.text(deep=True) for node in _body_root(post).css("pre")]
        published = [node.text(deep=True) for node in post.entry.css("pre")]
        assert published == archived, post.source
        with_pre += bool(archived)
    assert with_pre >= 8


def test_the_default_render_keeps_the_pages_pre_text(posts: list[Post]) -> None:
    # The same page archived both ways: <pre> text is the same (but for a leading line break that the verbatim
    # file loses, since an HTML parser drops the first one after <pre> and the serialiser writes none back).
    verbatim = {post.source: post for post in _of(posts, "verbatim")}
    for post in _of(posts, "hexo"):
        laid_out = [(node.text(deep=True) or "").lstrip("\n") for node in _body_root(post).css("pre")]
        kept = [(node.text(deep=True) or "").lstrip("\n") for node in _body_root(verbatim[post.source]).css("pre")]
        assert laid_out == kept, post.source
