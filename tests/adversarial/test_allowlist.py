"""The sanitiser is an allowlist (crawler/sanitize.py): what it does not list is gone from the archive, whatever it
is called or however it is spelled; what it lists stays byte for byte."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from selectolax.lexbor import LexborHTMLParser

from crawler import sanitize
from crawler.render.fixes import fix_body
from tests.adversarial.support import read_archive_file
from tests.conftest import Workdir
from tests.support.server import TestServer

BASE = "https://site.example/news/"


def _elements_and_attributes(fragment: str) -> list[tuple[str, dict[str, str | None]]]:
    root = LexborHTMLParser(f"<div id=r>{fragment}</div>").css_first("#r")
    assert root is not None
    return [(node.tag or "", node.attributes) for node in root.css("*") if node is not root]


def _assert_only_allowed(fragment: str) -> None:
    allowed = sanitize.ELEMENTS | sanitize.SVG_ELEMENTS | sanitize.MATHML_ELEMENTS
    for tag, attributes in _elements_and_attributes(fragment):
        assert tag.lower() in allowed, (tag, fragment)
        for name in attributes:
            lowered = name.lower()
            assert lowered in sanitize.ATTRIBUTES or lowered.startswith(("data-", "aria-")), (name, fragment)
            assert not lowered.startswith("on"), (name, fragment)


@pytest.mark.parametrize(
    ("markup", "kept_text"),
    [
        ("<my-widget>inside</my-widget>", "inside"),
        ("<g:plusone>plus</g:plusone>", "plus"),
        ("<blink>old</blink>", "old"),
        ("<marquee>moving</marquee>", "moving"),
        ("<custom-el data-x=1><b>bold</b></custom-el>", "<b>bold</b>"),
    ],
)
def test_unknown_elements_are_unwrapped_keeping_their_text(markup: str, kept_text: str) -> None:
    fixed = fix_body(markup, BASE).html

    assert kept_text in fixed
    _assert_only_allowed(fixed)
    assert fixed == kept_text


@pytest.mark.parametrize(
    "markup",
    [
        '<p onpointerenter="alert(1)">x</p>',
        '<p onbeforetoggle="alert(1)">x</p>',
        '<p formaction="/x" popovertarget="y" contenteditable="true" autofocus>x</p>',
        '<p is="x-evil" slot="s" nonce="n">x</p>',
    ],
)
def test_attributes_not_listed_are_dropped(markup: str) -> None:
    assert fix_body(markup, BASE).html == "<p>x</p>"


@pytest.mark.parametrize(
    "url",
    [
        "jar:http://x.example/a.jar!/b.html",
        "feed:javascript:alert(1)",
        "livescript:alert(1)",
        "mocha:alert(1)",
        "filesystem:http://x.example/a",
        "blob:http://x.example/uuid",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "java\tscript:alert(1)",
        "&#x6A;avascript:alert(1)",
    ],
)
def test_links_with_schemes_not_listed_are_dropped(url: str) -> None:
    assert fix_body(f'<a href="{url}">x</a>', BASE).html == "<a>x</a>"


@pytest.mark.parametrize("url", ["mailto:a@x.example", "tel:+15550100", "https://x.example/a", "/b", "c?d", "#e"])
def test_links_with_listed_schemes_or_none_stay(url: str) -> None:
    assert 'href="' in fix_body(f'<a href="{url}">x</a>', BASE).html


@pytest.mark.parametrize(
    ("src", "kept"),
    [
        ("data:image/png;base64,iVBORw0KGgo=", True),
        ("data:image/webp;base64,UklGRg==", True),
        ("data:image/svg+xml,&lt;svg onload=alert(1)&gt;", False),
        ("data:text/html,hi", False),
        ("data:application/javascript,alert(1)", False),
    ],
)
def test_data_urls_only_for_raster_images(src: str, kept: bool) -> None:
    assert ("src=" in fix_body(f'<img src="{src}">', BASE).html) is kept
    assert "data:" not in fix_body(f'<a href="{src}">x</a>', BASE).html


@pytest.mark.parametrize("markup", ["<mglyph></mglyph>", "<x-empty/>", '<x-void data-a="1">'])
def test_empty_unknown_elements_are_dropped(markup: str) -> None:
    assert fix_body(f"<p>a{markup}b</p>", BASE).html == "<p>ab</p>"


def test_a_lazy_image_source_with_a_scheme_not_listed_is_not_promoted() -> None:
    fixed = fix_body('<img src="/real.png" data-src="data:text/html,x">', BASE).html

    assert 'src="https://site.example/real.png"' in fixed


@pytest.mark.parametrize(
    "markup",
    [
        "<svg><style>&lt;img src=x onerror=alert(1)&gt;</style></svg>",
        "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table></mtext></math>",
        '<math><annotation-xml encoding="text/html"><img src=x onerror=alert(1)></annotation-xml></math>',
        "<svg><foreignObject><iframe srcdoc='&lt;script&gt;alert(1)&lt;/script&gt;'></iframe></foreignObject></svg>",
        "<svg><noscript><p title='</noscript><img src=x onerror=alert(1)>'></p></noscript></svg>",
        '<svg><animate attributeName="href" values="javascript:alert(1)"/><a><text>t</text></a></svg>',
        '<svg><use href="data:image/svg+xml,&lt;svg id=x&gt;&lt;script&gt;alert(1)&lt;/script&gt;"/></svg>',
        '<svg><a xlink:href="javascript:alert(1)"><text>t</text></a></svg>',
        "<svg><script>alert(1)</script></svg><math><script>alert(1)</script></math>",
    ],
)
def test_svg_and_math_tricks_leave_nothing_that_runs(markup: str) -> None:
    fixed = fix_body(markup, BASE).html
    reparsed = _elements_and_attributes(fixed)  # read back as a browser would read the archived file

    _assert_only_allowed(fixed)
    assert all(tag not in ("script", "iframe", "img", "style") for tag, _ in reparsed), fixed
    for _, attributes in reparsed:  # (an attribute's text may quote code: inert, as long as no URL runs it)
        urls = [value for name, value in attributes.items() if name.lower() in sanitize.URL_ATTRIBUTES]
        assert all(value is None or sanitize.url_is_allowed(value) for value in urls), fixed


@pytest.mark.parametrize(
    "css",
    [
        "background: url(data:text/html,x)",
        "background: URL( 'data:image/svg+xml,x' )",
        "background: url(jar:http://x.example/a!/b)",
        "background: u\\72l(javascript:alert(1))",
        "@import 'https://x.example/a.css'",
        "width: expression(alert(1))",
    ],
)
def test_style_with_url_not_listed_or_expression_is_dropped(css: str) -> None:
    assert fix_body(f'<p style="{css}">x</p>', BASE).html == "<p>x</p>"
    assert "<style" not in fix_body(f"<style>p {{ {css} }}</style><p>x</p>", BASE).html


@pytest.mark.parametrize("css", ["background: url(/a.png)", "background: url('https://x.example/a.png')"])
def test_style_with_listed_urls_stays(css: str) -> None:
    assert "style=" in fix_body(f'<p style="{css}">x</p>', BASE).html


_NAMES = st.text("abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=12).filter(lambda n: n[0] != "-")
# Code-only elements that cannot hold the words written after their start tag: void elements, and `frame`, which the
# parser drops outside a frameset; what follows them is their sibling and stays.
_EMPTY_CODE_ONLY = frozenset({"embed", "base", "meta", "link", "input", "frame"})


def _words_go(tag: str) -> bool:
    """Whether `<tag ...><p>words</p></tag>` loses its words: a code-only element goes with what it holds."""
    return tag in sanitize.REMOVED_WHOLE and tag not in _EMPTY_CODE_ONLY


_VALUES = st.sampled_from(
    ["javascript:alert(1)", " JaVa\nScRiPt:x", "data:text/html,x", "vbscript:x", "x", "/a.png", "https://a.example"]
)


@pytest.mark.parametrize("tag", sanitize.REMOVED_WHOLE)
def test_each_code_only_element_goes_with_what_it_holds(tag: str) -> None:
    fixed = fix_body(f'<{tag} a="x" onclick="alert(1)"><p>words</p></{tag}>', BASE).html

    _assert_only_allowed(fixed)
    assert ("words" in fixed) is not _words_go(tag)


@settings(max_examples=300, deadline=None)
@given(tag=_NAMES, attribute=_NAMES, value=_VALUES, handler=_NAMES)
def test_any_element_and_attribute_come_out_allowed(tag: str, attribute: str, value: str, handler: str) -> None:
    markup = f'<{tag} {attribute}="{value}" on{handler}="alert(1)"><p>words</p></{tag}>'

    fixed = fix_body(markup, BASE).html

    _assert_only_allowed(fixed)
    assert ("words" in fixed) is not _words_go(tag)  # code-only elements go with their content
    assert "javascript:" not in fixed.lower().replace("\n", "").replace(" ", "")
    assert "vbscript:" not in fixed


def test_a_page_with_unlisted_markup_is_archived_without_it(server: TestServer, work: Workdir) -> None:
    page = (
        "<html><body><article id=story><h1>Allowlist</h1>"
        + "<p>The harbour committee met on Tuesday to discuss the new plan for the quay.</p>" * 6
        + '<x-tracker data-id="1">tracked words</x-tracker><a href="jar:http://x.example/a!/b" ping="/p">jar</a>'
        + '<p onauxclick="alert(1)" style="background:url(data:text/html,x)">styled</p></article></body></html>'
    )
    feed = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>A</title>'
        f"<link>{server.base}/</link><item><title>Allowlist</title><link>{server.url('/story')}</link>"
        "<pubDate>Tue, 24 Aug 2021 07:07:13 GMT</pubDate></item></channel></rss>"
    )
    server.add("/feed.xml", body=feed, content_type="application/rss+xml")
    server.add("/story", body=page)
    work.write_config(
        f"archive: archive\npoliteness:\n  delay: 0\nfeeds:\n  - name: a\n    url: {server.url('/feed.xml')}\n"
        '    body: "#story"\n    render: verbatim\n'
    )

    result = work.run("fetch")

    assert result.code == 0, result.stderr
    (path,) = work.files()
    body = read_archive_file(path.read_text(encoding="utf-8")).body
    assert "tracked words" in body and "x-tracker" not in body
    assert "jar:" not in body and "ping=" not in body
    assert "onauxclick" not in body and "data:text/html" not in body and "<p>styled</p>" in body
    _assert_only_allowed(body)
