"""crawler.render.images: which remote images an archive file shows, and the file pointed at local copies."""

from __future__ import annotations

import html

from hypothesis import given
from hypothesis import strategies as st

from crawler.render.images import image_urls, point_at

FILE = (
    "---\ntitle: 'x'\nheadimg: 'https://a.com/i.jpg?a=1&b=2'\ndate: Tue, 24 Aug 2021 07:07:13 GMT\n"
    "thumbnail: 'https://a.com/i.jpg?a=1&b=2'\n---\n\n"
    '<p>hi<img src="https://a.com/i.jpg?a=1&amp;b=2" '
    'srcset="https://a.com/s.jpg 1x, https://a.com/i.jpg?a=1&amp;b=2 2x" alt="q"></p><img src="https://b.com/x.png">\n'
)
LOCAL = {"https://a.com/i.jpg?a=1&b=2": "/assets/ab/cd.jpg", "https://a.com/s.jpg": "/assets/ee/ff.jpg"}


def test_image_urls_are_the_remote_ones_once_each_in_order() -> None:
    assert image_urls(FILE, "/assets/") == ["https://a.com/i.jpg?a=1&b=2", "https://a.com/s.jpg", "https://b.com/x.png"]


def test_pointing_at_local_copies_keeps_the_originals_on_the_element() -> None:
    out = point_at(FILE, LOCAL)

    assert "headimg: '/assets/ab/cd.jpg'" in out and "thumbnail: '/assets/ab/cd.jpg'" in out
    assert '<img src="/assets/ab/cd.jpg" srcset="/assets/ee/ff.jpg 1x, /assets/ab/cd.jpg 2x" alt="q"' in out
    assert 'data-original-src="https://a.com/i.jpg?a=1&amp;b=2"' in out
    assert 'data-original-srcset="https://a.com/s.jpg 1x, https://a.com/i.jpg?a=1&amp;b=2 2x"' in out
    assert '<img src="https://b.com/x.png">' in out  # not kept: left as it was
    assert image_urls(out, "/assets/") == ["https://b.com/x.png"]


def test_pointing_again_changes_nothing() -> None:
    once = point_at(FILE, LOCAL)
    assert point_at(once, LOCAL) == once


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=40))
def test_any_url_round_trips_through_its_escaped_attribute(tail: str) -> None:
    url = "https://a.com/" + tail.strip().replace(" ", "_").replace(",", "_")
    text = f'---\ntitle: x\n---\n\n<p><img src="{html.escape(url)}"></p>\n'

    assert image_urls(text, "/assets/") == [url]
    out = point_at(text, {url: "/assets/aa/bb.png"})
    assert f'<img src="/assets/aa/bb.png" data-original-src="{html.escape(url)}">' in out


def test_srcset_is_read_as_browsers_read_it_and_a_picture_source_counts() -> None:
    text = (
        '---\ntitle: x\n---\n\n<picture><source srcset="https://a.com/w.webp 1x,https://a.com/w2.webp 2x">'
        '<img src="https://a.com/i.jpg?w=1,2" srcset="https://a.com/i.jpg?w=1,2 1x"></picture>'
        '<video><source src="https://a.com/v.mp4"></video>\n'
    )
    local = {"https://a.com/w.webp": "/assets/aa/w.webp", "https://a.com/i.jpg?w=1,2": "/assets/bb/i.jpg"}

    assert image_urls(text, "/assets/") == [
        "https://a.com/w.webp",
        "https://a.com/w2.webp",
        "https://a.com/i.jpg?w=1,2",
    ]
    out = point_at(text, local)
    assert (
        '<source srcset="/assets/aa/w.webp 1x, https://a.com/w2.webp 2x" '
        'data-original-srcset="https://a.com/w.webp 1x,https://a.com/w2.webp 2x">'
    ) in out
    assert '<img src="/assets/bb/i.jpg" srcset="/assets/bb/i.jpg 1x"' in out
    assert '<source src="https://a.com/v.mp4">' in out  # a video's: never an image to keep
    assert image_urls(out, "/assets/") == ["https://a.com/w2.webp"]
