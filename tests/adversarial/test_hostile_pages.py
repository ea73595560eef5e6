"""Hostile article pages and feed content: archived sanitised per docs/FORMAT.md, or refused with the feed's own content
archived instead; never a crash, a hang or a broken file."""

from __future__ import annotations

import pytest

from crawler import sanitize
from crawler.render import parse_limits
from tests.adversarial.support import assert_sanitised, read_archive_file
from tests.conftest import Workdir
from tests.support.server import TestServer

WORDS = "The harbour committee met on Tuesday to discuss the new plan, debated for three years by the council. "
ARTICLE = "".join(f"<p>{WORDS * 3}</p>" for _ in range(4))

# Every way we know of to make an archived page run code, navigate away, or load what it should not.
VECTORS = """
<a href="java&#x09;script:alert(1)">tab</a><a href="  JaVaScRiPt:alert(1)">case</a>
<a href="javascript&colon;alert(1)">colon</a><a href="jav&#x0A;ascript:alert(1)">newline</a>
<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">decimal</a>
<a href="&amp;#106;avascript:alert(1)">double</a><a href="vbscript:msgbox(1)">vb</a>
<a href="data:text/html,&lt;script&gt;alert(1)&lt;/script&gt;">data</a>
<img src="/pic.png" onerror="alert(1)" ONLOAD="alert(2)"><div onclick="alert(3)">click</div>
<img src="data:image/svg+xml,&lt;svg onload=alert(1)&gt;"><img src="data:image/png;base64,iVBORw0KGgo=">
<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe><div srcdoc="x">srcdoc</div>
<button formaction="javascript:alert(1)">button</button><input type="image" formaction="javascript:alert(1)">
<svg><a xlink:href="javascript:alert(1)"><text>svg link</text></a><script>alert(1)</script>
<animate attributeName="href" to="javascript:alert(1)"/><set attributeName="href" to="javascript:alert(1)"/>
<image href="javascript:alert(1)"/></svg>
<math><maction actiontype="statusline" xlink:href="javascript:alert(1)">math</maction></math>
<p style="width: expression(alert(1))">expression</p><p style="background:url(javascript:alert(1))">url</p>
<p style="w\\69dth: e\\78pression(alert(1))">escaped</p><p style="-moz-binding:url(x.xml#xss)">binding</p>
<p style="color: e/**/xpression(alert(1))">commented</p><p style="color: red">harmless style</p>
<style>p {background: url(javascript:alert(1))}</style>
<template><script>alert(1)</script><img src="x" onerror="alert(1)"></template>
<object data="x.swf"></object><embed src="x.swf"><form action="/steal"><input name="q"></form>
<img srcset="javascript:alert(1) 1x, /ok.png 2x">
<noscript><img src="x" onerror="alert(1)"></noscript>
"""

HOSTILE_PAGE = f"""<!DOCTYPE html><html><head><title>Hostile page</title>
<base href="http://evil.example/"><meta http-equiv="refresh" content="0;url=http://evil.example/">
<script>document.location = "http://evil.example/"</script></head>
<body><article id="story"><h1>Hostile page</h1>{ARTICLE}{VECTORS}<a href="/next">relative link</a></article>
</body></html>"""


def _feed(server: TestServer, title: str = "Hostile page", content: str = "Teaser only.") -> str:
    title_tag = f"<title>{title}</title>" if title else ""
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Hostile</title>'
        f"<link>{server.base}/</link><item>{title_tag}<link>{server.url('/story')}</link>"
        "<pubDate>Tue, 24 Aug 2021 07:07:13 GMT</pubDate>"
        f"<description><![CDATA[{content}]]></description></item></channel></rss>"
    )


def _config(server: TestServer, *, extra: str = "", feed_extra: str = "") -> str:
    return (
        f"archive: archive\npoliteness:\n  delay: 0\n{extra}feeds:\n"
        f"  - name: hostile\n    url: {server.url('/feed.xml')}\n{feed_extra}"
    )


def _archive_one(server: TestServer, work: Workdir, page: bytes | str | None, **config: str) -> str:
    server.add("/feed.xml", body=config.pop("feed", None) or _feed(server), content_type="application/rss+xml")
    if page is not None:
        server.add("/story", body=page)
    work.write_config(_config(server, **config))
    result = work.run("fetch", "--json")
    assert result.code == 0, result.stderr
    assert "Traceback" not in result.stderr
    (path,) = work.files()
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize("body", [None, "#story"])
def test_a_hostile_page_is_archived_sanitised(server: TestServer, work: Workdir, body: str | None) -> None:
    text = _archive_one(server, work, HOSTILE_PAGE, feed_extra=f'    body: "{body}"\n' if body else "")

    archived = read_archive_file(text)
    assert_sanitised(archived.body)
    assert "evil.example" not in archived.body
    assert WORDS.strip() in archived.body
    # <base href> elsewhere does not change what relative links mean: they stay on the page's own site.
    assert f'href="{server.url("/next")}"' in archived.body
    assert "harmless style" in archived.body and 'style="color: red"' in archived.body
    assert "iVBORw0KGgo=" in archived.body  # a plain data: image is no code


def test_a_hostile_feed_content_is_archived_sanitised(server: TestServer, work: Workdir) -> None:
    feed = _feed(server, content=ARTICLE + VECTORS)
    text = _archive_one(server, work, None, feed=feed, feed_extra="    content: feed\n")

    archived = read_archive_file(text)
    assert_sanitised(archived.body)
    assert server.requests("/story") == []


def test_a_page_nested_100000_deep_is_refused_and_the_feed_content_archived(server: TestServer, work: Workdir) -> None:
    page = f"<html><body><article>{ARTICLE}{'<div>' * 100_000}deep{'</div>' * 100_000}</article></body></html>"
    feed = _feed(server, content="<p>The feed's own summary of the harbour story.</p>")

    text = _archive_one(server, work, page, feed=feed)

    assert "The feed's own summary" in read_archive_file(text).body


def test_feed_content_nested_100000_deep_is_archived_as_its_text(server: TestServer, work: Workdir) -> None:
    content = f"{'<div>' * 100_000}Deep words <script>alert(1)</script>survive{'</div>' * 100_000}"
    text = _archive_one(server, work, None, feed=_feed(server, content=content), feed_extra="    content: feed\n")

    archived = read_archive_file(text)
    assert "Deep words survive" in archived.body
    assert_sanitised(archived.body)
    assert "alert" not in archived.body


def test_an_element_with_100000_attributes_is_refused(server: TestServer, work: Workdir) -> None:
    attributes = " ".join(f"a{i}=x" for i in range(100_000))
    page = f"<html><body><article>{ARTICLE}<p {attributes}>bomb</p></article></body></html>"
    feed = _feed(server, content="<p>Summary from the feed.</p>")

    text = _archive_one(server, work, page, feed=feed)

    assert "Summary from the feed." in read_archive_file(text).body


def _single_line_page(size: int) -> bytes:
    paragraph = f"<p>{WORDS * 4}</p>"
    count = size // len(paragraph) + 1
    return f"<html><head><title>Long</title></head><body><article>{paragraph * count}</article></body></html>".encode()


def test_a_20_mb_single_line_page_past_max_bytes_falls_back_to_the_feed(server: TestServer, work: Workdir) -> None:
    feed = _feed(server, content="<p>Short summary.</p>")
    text = _archive_one(server, work, _single_line_page(20_000_000), feed=feed)

    assert "Short summary." in read_archive_file(text).body


def test_a_20_mb_single_line_page_within_max_bytes_is_archived(server: TestServer, work: Workdir) -> None:
    text = _archive_one(
        server,
        work,
        _single_line_page(20_000_000),
        extra="http:\n  max_bytes: 30MB\n",
        feed_extra='    body: "article"\n',
    )

    archived = read_archive_file(text)
    assert len(archived.body) > 20_000_000
    assert "\n" not in archived.body


def test_invalid_utf8_and_nul_bytes_give_a_clean_utf8_file(server: TestServer, work: Workdir) -> None:
    page = (
        b"<html><head><meta charset=utf-8><title>Bad bytes</title></head><body><article>"
        + ARTICLE.encode()
        + b"<p>broken \xff\xfe\xc3( sequence and a NUL \x00 here \x01\x1b[31m</p></article></body></html>"
    )
    text = _archive_one(server, work, page, feed=_feed(server, title=""))

    archived = read_archive_file(text)
    assert archived.front["title"] == "Bad bytes"
    assert "broken \ufffd" in archived.body
    assert not any(ch in archived.body for ch in "\x00\x01\x1b")


def test_a_100_kb_title_is_written_on_one_line_and_reads_back(server: TestServer, work: Workdir) -> None:
    title = ("Very long ' title: with # hostile --- bits\n" * 2500)[:100_000]
    page = f"<html><head><title>{title}</title></head><body><article>{ARTICLE}</article></body></html>"

    text = _archive_one(server, work, page, feed=_feed(server, title=""))

    archived = read_archive_file(text)
    folded = " ".join(title.split())
    # Page metadata is capped at 2,000 characters (longer is noise, not a title): a clean prefix, on one line.
    assert archived.front["title"] == folded[:2000]
    assert text.split("\n")[1].startswith("title: '")


@pytest.mark.parametrize(
    "css",
    [
        "width: expression(alert(1))",
        "width: EXPRESSION (alert(1))",
        "w\\69dth: e\\78pression(alert(1))",
        "color: e/**/xpression(alert(1))",
        "background: url(javascript:alert(1))",
        "background: url('java\\73 cript:alert(1)')",
        "behavior: url(x.htc)",
        "-moz-binding: url(x.xml#x)",
    ],
)
def test_css_that_can_run_code_is_recognised(css: str) -> None:
    assert sanitize.css_is_dangerous(css)


@pytest.mark.parametrize("css", ["color: red", "background: url(/a.png)", "font: 12px/1.5 serif", "content: '\\201C'"])
def test_ordinary_css_is_kept(css: str) -> None:
    assert not sanitize.css_is_dangerous(css)


def test_markup_problem_measures_depth_not_length() -> None:
    assert parse_limits.markup_problem("<div>" * 6000) == "nests elements more than 5000 deep"
    assert parse_limits.markup_problem("<div></div>" * 100_000) is None
    assert parse_limits.markup_problem("<p>unclosed paragraph" * 100_000) is None
    assert parse_limits.markup_problem("<li>item" * 100_000) is None
    assert parse_limits.markup_problem("<script>" + "<div>" * 6000 + "</script>") is None
    assert parse_limits.markup_problem("<!--" + "<div>" * 6000 + "-->") is None
    assert parse_limits.markup_problem(f"<img src='data:image/png;base64,{'A' * 100_000}'>") is None
