"""Hexo's own front-matter parser (hexo-front-matter, on Node.js) reads our hostile values back unchanged.

CI installs it (`npm install --prefix .node hexo-front-matter@4`); where Node.js or the package is missing the test
is skipped, since PyYAML's check in test_frontmatter.py still runs.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawler.render.archive_file import Article, render
from crawler.render.frontmatter import clean_value
from tests.test_frontmatter import HOSTILE_PIECES

REPO = Path(__file__).resolve().parent.parent
NODE_MODULES = REPO / ".node" / "node_modules"


def _hostile(rng: random.Random) -> str:
    pieces = [rng.choice(HOSTILE_PIECES) if rng.random() < 0.7 else chr(rng.randrange(32, 0x2FFF)) for _ in range(8)]
    return "".join(pieces)


@pytest.mark.skipif(
    shutil.which("node") is None or not (NODE_MODULES / "hexo-front-matter").exists(),
    reason="Node.js with hexo-front-matter is not installed (CI installs it into .node/)",
)
def test_hexo_front_matter_reads_hostile_values_back_unchanged() -> None:
    rng = random.Random(20211124)
    articles = [
        Article(
            title=_hostile(rng),
            categories=(_hostile(rng), _hostile(rng)),
            author=_hostile(rng),
            comments=False,
            date=datetime(2021, 8, 24, 7, 7, 13, tzinfo=UTC),
            body="<p>x</p>",
            image=None,
        )
        for _ in range(400)
    ]
    texts = [render(article) for article in articles]

    proc = subprocess.run(
        ["node", str(REPO / "tests" / "support" / "hexo_parse.js")],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
        timeout=60,
    )
    parsed = json.loads(proc.stdout)

    for article, result in zip(articles, parsed, strict=True):
        assert result["ok"], result
        assert result["title"] == clean_value(article.title)
        author = clean_value(article.author or "")
        assert result["author"] == (author or None)
        categories = [clean_value(c) for c in article.categories if clean_value(c)]
        assert result["categories"] == (categories or None)
        assert result["content"].strip() == "<div><p>x</p></div>"
