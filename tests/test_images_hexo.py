"""`images: keep` seen through a stock Hexo build (as tests/test_hexo_build.py builds one): the published post shows
its images from the site's own copies, and nothing on the page asks the original hosts for anything."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from selectolax.lexbor import LexborHTMLParser

from tests.conftest import Workdir
from tests.support.feeds import RSS, Item, config, rss
from tests.support.server import TestServer
from tests.test_hexo_build import HEXO, HEXO_PACKAGES, NODE_MODULES, NPM_INSTALL, _installed_version, _missing_node

WORDS = "The council met on Tuesday to discuss the harbour plan and the new ferry timetable for the spring. " * 4
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(200)) + b"\xff\xd9"

pytestmark = [
    pytest.mark.skipif(_missing_node() is not None, reason=f"{_missing_node()}: no Hexo build to run"),
    pytest.mark.xdist_group("hexo-build"),
]


def test_a_hexo_site_shows_kept_images_from_its_own_copies(server: TestServer, work: Workdir, tmp_path: Path) -> None:
    if not all((NODE_MODULES / package).exists() for package in HEXO_PACKAGES):
        pytest.fail(f"Hexo is not installed in .node/: run `{NPM_INSTALL}` (as .ci/run does)")
    images = server.also_on("127.0.0.2")
    server.add("/lead.jpg", body=JPEG, content_type="image/jpeg")
    server.add("/photo.png", body=PNG, content_type="image/png")
    base = server.base_on("127.0.0.2")
    page = (
        '<!doctype html><html><head><meta charset="utf-8"><title>Harbour plan</title>'
        f'<meta property="og:image" content="{base}/lead.jpg"></head><body><div id="content"><p>{WORDS}</p>'
        f'<figure><img src="{base}/photo.png" srcset="{base}/photo.png 1x, {base}/lead.jpg 2x" alt="harbour">'
        f"<figcaption>The harbour</figcaption></figure><p>{WORDS}</p></div></body></html>"
    )
    server.add("/p", body=page.encode())
    server.add("/feed.xml", body=rss(Item(server.url("/p"), title="Harbour plan")), content_type=RSS)
    work.write_config(config({"name": "news", "url": server.url("/feed.xml"), "images": "keep"}))
    assert work.run("fetch").code == 0
    asked = len(server.requests(host=images))

    public = _hexo_generate(tmp_path / "site", work.archive)

    [article] = work.archive.rglob("*.md")
    post = public / article.relative_to(work.archive).with_suffix("") / "index.html"  # :year/:month/:day/:name/
    html = post.read_text(encoding="utf-8")
    entry = LexborHTMLParser(html).css_first(".article-entry")
    assert entry is not None
    shown = [img.attributes.get("src") or "" for img in entry.css("img")]
    assert shown and all(src.startswith("/assets/") for src in shown)
    for src in shown:  # each is a file the site itself serves, the bytes the image host sent
        assert (public / src.removeprefix("/")).read_bytes() in (PNG, JPEG)
    # Nothing a browser would load names the image host: no src, srcset, or CSS url() with it.
    loads = re.findall(r'(?<![\w-])(?:src|srcset)="([^"]*)"|url\(([^)]*)\)', html)
    assert not [value for pair in loads for value in pair if images in value]
    assert len(server.requests(host=images)) == asked  # and building the site asked it for nothing either


def _hexo_generate(site: Path, archive: Path) -> Path:
    """README's setup: the archive as the posts, its kept images as the site's /assets/."""
    site.mkdir()
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
    shutil.copytree(archive, site / "source" / "_posts")
    shutil.copytree(archive / "assets", site / "source" / "assets")
    proc = subprocess.run(
        [str(HEXO), "generate", "--cwd", str(site)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return site / "public"
