"""docs/FORMAT.md's body fixes and URL identity."""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser

from crawler.identity.urls import article_id, normalize_url
from crawler.render import parse_limits
from crawler.render.fixes import fix_body
from crawler.render.frontmatter import title_text


def test_body_fixes_remove_code_and_make_urls_absolute() -> None:
    html = (
        '<p onclick="x()">Hi <a href="/a?b=1">link</a> <a href="javascript:alert(1)">bad</a></p>'
        "<script>evil()</script><iframe src=//x></iframe><form><input></form>"
        '<img data-src="lazy.jpg" src="data:image/gif;base64,R0lGOD"><img srcset="small.jpg 1x, big.jpg 2x">'
        "<style>.x{color:red}</style>"
    )
    fixed = fix_body(html, "https://news.example.com/2021/story.html")
    assert "onclick" not in fixed.html
    assert "<script" not in fixed.html and "<iframe" not in fixed.html and "<form" not in fixed.html
    assert "javascript:" not in fixed.html
    assert 'href="https://news.example.com/a?b=1"' in fixed.html
    assert 'src="https://news.example.com/2021/lazy.jpg"' in fixed.html
    assert 'src="https://news.example.com/2021/small.jpg"' in fixed.html
    assert fixed.html.count('referrerpolicy="no-referrer"') == 2
    assert ".x&#123;color:red&#125;" in fixed.html
    assert fixed.first_image == "https://news.example.com/2021/lazy.jpg"


def test_existing_referrerpolicy_is_kept() -> None:
    fixed = fix_body('<img src="https://i.example/a.png" referrerpolicy="origin">', "https://x.example/")
    assert 'referrerpolicy="origin"' in fixed.html
    assert "no-referrer" not in fixed.html


def test_title_text_strips_tags_decodes_entities_and_folds_space() -> None:
    assert title_text("  <b>Rock</b> &amp;\n Roll &#8217;s  ") == "Rock & Roll ’s"


def test_normalize_url_drops_tracking_fragment_and_default_port() -> None:
    assert normalize_url("HTTP://News.Example.COM:80/a/b?utm_source=rss&id=7&fbclid=x#top") == (
        "http://news.example.com/a/b?id=7"
    )
    assert normalize_url("https://example.com:443") == "https://example.com/"
    assert normalize_url("https://example.com:8443/x?spm=1&from=timeline") == "https://example.com:8443/x"


def test_article_id_is_16_hex_of_sha256() -> None:
    the_id = article_id("https://example.com/")
    assert len(the_id) == 16
    assert the_id == "0f115db062b7c0dd"


def test_markup_problem_fast_path_agrees_with_the_limits() -> None:
    # Many tags but shallow: more `<` than MAX_NESTING takes the full scan, which finds nothing.
    assert parse_limits.markup_problem("<p>x</p>" * (parse_limits.MAX_NESTING + 10)) is None
    assert parse_limits.markup_problem("<div>" * (parse_limits.MAX_NESTING + 1)) is not None
    many = " ".join(f"a{i}=1" for i in range(parse_limits.MAX_ATTRIBUTES + 1))
    # The attribute-heavy tag behind a long text and a script full of `<` comparisons is still found.
    assert parse_limits.markup_problem("<p>" + "字" * 2000 + f"</p><img {many}>") is not None
    assert parse_limits.markup_problem("<script>" + "a<b;" * 500 + "</script><p>ok</p>") is None
    assert parse_limits.markup_problem("<!--" + "<div>" * 6000 + "-->") is None


def test_raw_text_elements_inside_svg_or_math_are_dropped_so_their_text_is_never_read_back_as_markup() -> None:
    # Inside <svg> an <xmp> or <style> is an ordinary element whose text a serialiser nonetheless writes raw:
    # `&lt;img onerror&gt;` would come back as a real <img onerror> on the blog that publishes the file.
    for html in (
        "<svg><xmp>&lt;img src=x onerror=alert(1)&gt;</xmp></svg>",
        "<svg><style>&lt;img src=x onerror=alert(1)&gt;</style></svg>",
        "<math><noembed>&lt;img src=x onerror=alert(1)&gt;</noembed></math>",
    ):
        fixed = fix_body(html, "https://x.example/")
        reread = LexborHTMLParser(fixed.html)
        assert reread.css("img") == [], fixed.html
        assert "onerror" not in fixed.html


def test_svg_drawings_keep_their_shapes() -> None:
    html = '<svg viewBox="0 0 1 1"><path d="M0 0"></path><foreignObject><p>x</p></foreignObject></svg>'
    assert fix_body(html, "https://x.example/").html == html


def test_srcset_candidates_are_made_absolute_as_src_is() -> None:
    html = (
        '<img src="a.jpg" srcset="a.jpg 1x,/b.jpg 2x, https://cdn.example/c.jpg?w=1,2 3x">'
        '<picture><source srcset="../w.webp 640w" type="image/webp"><img src="p.jpg"></picture>'
    )
    fixed = fix_body(html, "https://news.example.com/2021/story.html")
    assert (
        'srcset="https://news.example.com/2021/a.jpg 1x, https://news.example.com/b.jpg 2x, '
        'https://cdn.example/c.jpg?w=1,2 3x"'
    ) in fixed.html
    assert 'srcset="https://news.example.com/w.webp 640w"' in fixed.html


def test_an_absolute_srcset_is_left_as_it_was() -> None:
    html = '<img src="https://i.example/a.png" srcset="https://i.example/a.png 1x,  https://i.example/b.png 2x">'
    assert (
        'srcset="https://i.example/a.png 1x,  https://i.example/b.png 2x"' in fix_body(html, "https://x.example/").html
    )
