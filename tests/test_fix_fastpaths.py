"""The shortcuts of the body fixes and the sanitiser give the answers of the full work they skip."""

from __future__ import annotations

from urllib.parse import urljoin

from hypothesis import example, given, settings
from hypothesis import strategies as st
from selectolax.lexbor import LexborHTMLParser, LexborNode

from crawler import sanitize
from crawler.render import fixes, srcset

_BASES = [
    "http://fakehost/test/page.html",
    "https://example.com",
    "https://Example.COM:8080/a/b/?q=1#top",
    "HTTPS://example.com/a",
    "https://例え.jp/a/b",
    "ftp://example.com/x/",
    "http:///no-host",
    "fakehost/page",
    "//example.com/a",
    "",
]
# URL-shaped text: schemes in both cases, hosts, ports, every separator urljoin reads, dot segments, white space,
# characters outside printable ASCII.
_URL_PIECES = st.sampled_from(
    [
        "http://", "https://", "HTTP://", "ftp://", "mailto:", "a", "B", "x.y", "-", ":80", ":", "@", "/", "//", ".",
        "..", "./", "../", ";", ";p", "?", "?q=1", "&", "#", "#f", "%20", " ", "\t", "\n", "é", "[", "]", "~", "!",
    ]
)  # fmt: skip


# The pieces a URL the shortcut takes is made of, so that most examples reach its every branch.
_PLAIN_PIECES = st.sampled_from(["http://", "https://", "a", "x.y", ":80", "/", "//", ".", "..", "?q", "?", "#", ";"])


@given(st.lists(st.one_of(_PLAIN_PIECES, _URL_PIECES), max_size=10).map("".join), st.sampled_from(_BASES))
@settings(max_examples=2000, deadline=None)
@example("/./a", _BASES[0])
@example("/a/..", _BASES[0])
def test_plain_join_is_urljoins_answer(url: str, base: str) -> None:
    plain = fixes.plain_join(url, fixes.origin_of(base))
    if plain is not None:
        assert plain == urljoin(base, url)


def test_plain_join_takes_the_common_shapes() -> None:
    origin = fixes.origin_of("http://fakehost/test/page.html")
    assert fixes.plain_join("/wiki/Page_(a)?x=1#s", origin) == "http://fakehost/wiki/Page_(a)?x=1#s"
    assert fixes.plain_join("https://cdn.example.com/i.jpg?w=800", origin) == "https://cdn.example.com/i.jpg?w=800"
    for other in ("foo/bar", "./a", "/a/../b", "//cdn.example.com/x", "/a;b", "http://a/b?", "HTTP://a/b"):
        assert fixes.plain_join(other, origin) is None


_VALUE_PIECES = st.sampled_from(
    [
        "http:", "https:", "HTTP:", "javascript:", "java", "\tscript:", "&#x3a;", "&colon;", "&", ":", "/", "a",
        # Before the first `&` or colon: scheme characters in both cases, others, and characters whose lower case
        # is not themselves (the Kelvin sign's is a `k`).
        "J", "+", "-.", "9", "?", "%", "_", "\u212a", "\u03a3", "\u0130", "é", "&#106;", "&amp;",
    ]
)  # fmt: skip


@given(st.lists(st.one_of(_VALUE_PIECES, st.sampled_from([" ", "\x00"])), max_size=8).map("".join))
@settings(max_examples=800, deadline=None)
def test_scheme_shortcut_is_the_full_reading(value: str) -> None:
    assert sanitize._scheme(value) == sanitize.full_scheme(value)


@given(
    st.sampled_from(["data-src", "data-srcset", "data-x", "data-Y", "aria-label", "aria-hidden"]),
    st.one_of(st.none(), st.text(alphabet=st.characters(blacklist_characters=":&"), max_size=30)),
)
@settings(max_examples=300, deadline=None)
def test_data_and_aria_attributes_without_a_scheme_are_kept(name: str, value: str | None) -> None:
    # The sanitiser keeps these without asking attribute_is_allowed; it must agree.
    assert sanitize.attribute_is_allowed(name, value)


@given(
    st.dictionaries(
        st.sampled_from(["class", "id", "title", "href", "src", "style", "onclick", "data-x", "ALT", "width"]),
        st.one_of(
            st.none(),
            st.lists(
                st.sampled_from(["a", " ", "x:y", "&amp;", "&#58;", "javascript:", "http:", "https://a/", "url(x)"]),
                max_size=3,
            ).map("".join),
        ),
    )
)
@settings(max_examples=500, deadline=None)
def test_plainly_allowed_attributes_are_all_allowed(attributes: dict[str, str | None]) -> None:
    # Elements whose attributes pass this quick test skip the check of each attribute; none of those may go.
    if sanitize._plainly_allowed(attributes):
        for name, value in attributes.items():
            assert sanitize.attribute_is_allowed(name, value)
            assert sanitize.attribute_is_allowed(name, value, is_image_source=name == "src")


_CSS_PIECES = st.sampled_from(
    [
        "color: red", ";", " ", "\t", "\x00", "/*", "*/", "\\", "\\65 ", "\\78", "e", "x", "expression(", "EXPRESSION",
        "behavior:", "behaviour", ":", "-moz-binding", "@import", "@", "java", "script:", "javascript:", "vbscript:",
        "mocha:", "livescript:", "url(", ")", "'", "/a.png", "data:image/png,x", "(",
    ]
)  # fmt: skip


@given(st.lists(_CSS_PIECES, max_size=10).map("".join))
@settings(max_examples=800, deadline=None)
def test_css_danger_search_is_every_word_looked_for(css: str) -> None:
    # The plain reading `css_is_dangerous` shortens: comments out, escapes undone, junk out, lower case, then each
    # word looked for by itself.
    text = sanitize._CSS_COMMENT.sub("", css)
    text = sanitize._CSS_ESCAPE.sub(sanitize._css_unescape, text)
    compact = sanitize._SCHEME_JUNK.sub("", text).lower()
    words = (*sanitize._CSS_DANGERS, *(f"{scheme}:" for scheme in sanitize._CODE_SCHEMES))
    if any(word in compact for word in words):
        assert sanitize.css_is_dangerous(css)
    elif "url(" not in compact:
        assert not sanitize.css_is_dangerous(css)
    else:
        urls = sanitize._CSS_URL.finditer(text)
        assert sanitize.css_is_dangerous(css) == (
            not all(sanitize.url_is_allowed(m.group(2), data_image=True) for m in urls)
        )


_SRCSET_PIECES = st.sampled_from(
    ["a.jpg", "b.png?w=1,2", "c", " ", "  ", "\t", "\n", "\xa0", "\u3000", ",", ",,", "1x", "2x", "640w", "(", ")", "x"]
)


@given(st.lists(_SRCSET_PIECES, max_size=12).map("".join))
@settings(max_examples=1500, deadline=None)
@example("a.jpg 1x,b.jpg 2x")
@example("a.jpg,, b.jpg 1x\xa0,c")
def test_srcset_shortcut_is_the_full_reading(value: str) -> None:
    assert srcset.candidates(value) == srcset.full_candidates(value)


# Markup whose elements repeat a few attribute sets, each allowed, forbidden or allowed only in part.
_ATTRIBUTE_SETS = st.lists(
    st.tuples(
        st.sampled_from(["href", "src", "style", "class", "title", "onclick", "data-src", "srcset", "xlink:href"]),
        st.sampled_from(
            ["/a", "http://x/a", "javascript:alert(1)", "&#106;avascript:x", "color: red", "expression(x)", "a: b", ""]
        ),
    ),
    max_size=3,
)
_ELEMENTS = st.sampled_from(["a", "img", "span", "p", "custom-x", "svg", "style", "section"])


def _markup(draw: st.DrawFn) -> str:
    sets = draw(st.lists(_ATTRIBUTE_SETS, min_size=1, max_size=3))
    parts = []
    for _ in range(draw(st.integers(1, 8))):
        tag = draw(_ELEMENTS)
        attributes = "".join(f' {name}="{value}"' for name, value in draw(st.sampled_from(sets)))
        parts.append(f"<{tag}{attributes}>w</{tag}>")
    return "".join(parts)


def _sanitized_one_by_one(root: LexborNode) -> None:
    """`sanitize_tree`'s answer from each attribute's own verdict (`attribute_is_allowed`), element by element."""
    sanitize.remove_forbidden(root)
    for node in root.css("*"):
        tag = node.tag or ""
        if tag.lower() not in sanitize._ALLOWED_ELEMENTS and tag not in sanitize._ALLOWED_ELEMENTS:
            if node.child is None:
                node.decompose()
            else:
                node.unwrap()
            continue
        for name, value in list(node.attributes.items()):
            if not sanitize.attribute_is_allowed(name, value, is_image_source=tag == "img" and name == "src"):
                del node.attrs[name]
        if tag == "style" and sanitize.css_is_dangerous(node.text(deep=True) or ""):
            node.decompose()


@given(st.composite(_markup)())
@settings(max_examples=400, deadline=None)
def test_sanitizer_shortcuts_give_each_attributes_own_verdict(markup: str) -> None:
    # The walk judges an element's attributes by quick tests, and a set it has judged once by that verdict.
    fast, slow = (LexborHTMLParser(f"<div id=root>{markup}</div>").css_first("#root") for _ in range(2))
    assert fast is not None and slow is not None
    sanitize.sanitize_tree(fast)
    _sanitized_one_by_one(slow)
    assert fast.html == slow.html
