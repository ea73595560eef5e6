"""Front matter values show what they hold: no bidirectional controls, no entities left by a loose feed parser."""

from __future__ import annotations

import yaml

from crawler.render.frontmatter import clean_value
from tests.conftest import Workdir
from tests.support.feeds import RSS, config
from tests.support.server import TestServer

# Not well-formed XML (`&nbsp;` is undeclared, a tag is left open), so feedparser falls back to its loose parser,
# which hands authors and categories back escaped once more.
LOOSE_FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>
<title>Loose&nbsp;feed</title><link>http://example.org/</link><description>d</description>
<item><title>Invoice \u202egnp.exe</title><link>{base}/a/1</link><guid>{base}/a/1</guid>
<pubDate>Tue, 24 Aug 2021 07:07:13 GMT</pubDate><dc:creator>AT&amp;T \u2066Labs\u2069</dc:creator>
<category>R&amp;D</category><category>Q&amp;A \u200f</category><category>&#169; &lt;press&gt;</category>
<description>&lt;p&gt;The whole article.&lt;/p&gt;</description></item>
<broken></channel></rss>
"""


def _front_matter(text: str) -> dict[str, object]:
    head = text.split("\n---\n", 1)[0].removeprefix("---\n")
    loaded = yaml.safe_load(head)
    assert isinstance(loaded, dict)
    return loaded


def test_a_loose_feeds_entities_are_decoded_and_bidi_controls_dropped_in_the_front_matter(
    server: TestServer, work: Workdir
) -> None:
    server.add("/feed.xml", body=LOOSE_FEED.replace("{base}", server.base).encode(), content_type=RSS)
    work.write_config(config({"name": "loose", "url": server.url("/feed.xml"), "content": "feed"}))

    result = work.run("fetch")

    assert result.code == 0, result.stderr
    [path] = work.files()
    text = path.read_text(encoding="utf-8")
    meta = _front_matter(text)
    assert meta["title"] == "Invoice gnp.exe"
    assert meta["author"] == "AT&T Labs"
    assert meta["categories"] == ["R&D", "Q&A", "© <press>"]
    front = text.split("\n---\n", 1)[0]
    assert not any(ch in front for ch in "\u202e\u2066\u2069\u200f")
    assert "&amp;" not in front


def test_clean_value_drops_every_bidirectional_control() -> None:
    controls = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    assert clean_value(f"a{controls}b") == "ab"
    # Letters of right-to-left scripts are text, not controls: they stay.
    assert clean_value("שלום مرحبا") == "שלום مرحبا"
