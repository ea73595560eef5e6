"""`images: keep`: the body's images and the lead image fetched through the crawler's fetcher, kept once by content
under the archive, the file pointing at them by the configured prefix and keeping the original on the element; an
image that cannot be had keeps its URL, is counted, and is tried again by a later poll. Real CLI, local server."""

from __future__ import annotations

import hashlib
import re

from tests.conftest import Workdir
from tests.support.feeds import RSS, Item, config, rss
from tests.support.server import Answer, TestServer

WORDS = "The council met on Tuesday to discuss the harbour plan and the new ferry timetable for the spring. " * 4
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
GIF = b"GIF89a" + bytes(200)


def _page(server: TestServer, images_host: str) -> bytes:
    base = server.base_on(images_host)
    return (
        '<!doctype html><html><head><meta charset="utf-8"><title>Page</title>'
        f'<meta property="og:image" content="{base}/lead.png"></head><body><div id="content">'
        f'<p>{WORDS}</p><img src="{base}/a.png" alt="a"><p>{WORDS}</p>'
        f'<img src="{base}/gone.png" alt="gone">'
        f'<img src="/b.gif" srcset="{server.base}/b.gif 1x, {base}/a.png 2x" alt="b">'
        "</div></body></html>"
    ).encode()


def _name(content: bytes, ext: str) -> str:
    digest = hashlib.sha256(content).hexdigest()
    return f"assets/{digest[:2]}/{digest[2:]}{ext}"


def test_images_are_kept_once_by_content_and_the_file_points_at_them(server: TestServer, work: Workdir) -> None:
    host = "127.0.0.2"
    server.also_on(host)
    server.add("/lead.png", body=PNG, content_type="image/png")
    server.add("/a.png", body=PNG, content_type="image/png")  # the same bytes as the lead image: one file
    server.add("/b.gif", body=GIF, content_type="image/gif")
    server.add("/gone.png", Answer(status=404))
    server.add("/p", body=_page(server, host))
    server.add("/feed.xml", body=rss(Item(server.url("/p"))), content_type=RSS)
    work.write_config(
        config({"name": "news", "url": server.url("/feed.xml"), "images": "keep"}, assets={"url": "/media/"})
    )

    result = work.run("fetch", "--json")

    assert result.code == 0, result.stderr
    assert result.json()["feeds"][0]["images_missing"] == 1
    [article] = work.archive.rglob("*.md")
    text = article.read_text(encoding="utf-8")
    png, gif = _name(PNG, ".png"), _name(GIF, ".gif")
    assert (work.archive / png).read_bytes() == PNG and (work.archive / gif).read_bytes() == GIF
    assert sorted(p.relative_to(work.archive).as_posix() for p in (work.archive / "assets").rglob("*.*")) == sorted(
        [png, gif]
    )
    local_png = "/media/" + png.removeprefix("assets/")
    assert f"headimg: '{local_png}'" in text and f"thumbnail: '{local_png}'" in text
    a_tag = re.search(r'<img[^>]*alt="a"[^>]*>', text)
    assert a_tag and f'src="{local_png}"' in a_tag.group(0)
    assert f'data-original-src="{server.base_on(host)}/a.png"' in a_tag.group(0)
    b_tag = re.search(r'<img[^>]*alt="b"[^>]*>', text)
    assert b_tag and f'srcset="/media/{gif.removeprefix("assets/")} 1x, {local_png} 2x"' in b_tag.group(0)
    gone = re.search(r'<img[^>]*alt="gone"[^>]*>', text)
    assert gone and f'src="{server.base_on(host)}/gone.png"' in gone.group(0)  # could not be had: its URL kept
    # Fetched once each, through the same fetcher (the image seen three times was asked for once).
    assert len(server.requests("/a.png", host=host)) == 1


def test_a_missing_image_is_tried_again_on_a_later_poll(server: TestServer, work: Workdir) -> None:
    host = "127.0.0.2"
    server.also_on(host)
    server.add("/lead.png", body=PNG, content_type="image/png")
    server.add("/a.png", body=PNG, content_type="image/png")
    server.add("/b.gif", body=GIF, content_type="image/gif")
    server.add("/gone.png", Answer(status=503), Answer(status=503), Answer(status=503), Answer(status=503))
    server.add("/p", body=_page(server, host))
    server.add("/feed.xml", body=rss(Item(server.url("/p"))), content_type=RSS)
    work.write_config(config({"name": "news", "url": server.url("/feed.xml"), "images": "keep"}, http={"retries": 0}))
    assert work.run("fetch").code == 0
    [article] = work.archive.rglob("*.md")
    assert f'{server.base_on(host)}/gone.png"' in article.read_text(encoding="utf-8")
    server.add("/gone.png", body=GIF + b"x", content_type="image/gif")

    again = work.run("fetch", "--json")

    assert again.code == 0, again.stderr
    text = article.read_text(encoding="utf-8")
    local = "/assets/" + _name(GIF + b"x", ".gif").removeprefix("assets/")
    assert f'src="{local}"' in text and f'data-original-src="{server.base_on(host)}/gone.png"' in text
    assert (work.archive / _name(GIF + b"x", ".gif")).exists()


def test_reextract_points_at_the_images_already_kept_without_a_request(server: TestServer, work: Workdir) -> None:
    host = "127.0.0.2"
    server.also_on(host)
    server.add("/lead.png", body=PNG, content_type="image/png")
    server.add("/a.png", body=PNG, content_type="image/png")
    server.add("/b.gif", body=GIF, content_type="image/gif")
    server.add("/gone.png", Answer(status=404))
    server.add("/p", body=_page(server, host))
    server.add("/feed.xml", body=rss(Item(server.url("/p"))), content_type=RSS)
    feed = {"name": "news", "url": server.url("/feed.xml"), "images": "keep", "raw": "warc"}
    work.write_config(config(feed))
    assert work.run("fetch").code == 0
    [article] = work.archive.rglob("*.md")
    before = article.read_text(encoding="utf-8")
    asked = len(server.requests()) + len(server.requests(host=host))

    work.write_config(config({**feed, "remove": ["img[alt=gone]"]}))
    result = work.run("reextract", "--all")

    assert result.code == 0, result.stderr
    assert len(server.requests()) + len(server.requests(host=host)) == asked
    after = article.read_text(encoding="utf-8")
    assert "gone.png" in before and "gone.png" not in after
    local_png = "/assets/" + _name(PNG, ".png").removeprefix("assets/")
    assert after.count(local_png) == before.count(local_png) > 0


def test_a_relative_srcset_is_resolved_against_the_page_kept_and_its_missing_image_tried_again(
    server: TestServer, work: Workdir
) -> None:
    server.add("/news/pics/a.png", body=PNG, content_type="image/png")
    server.add("/b.gif", body=GIF, content_type="image/gif")
    server.add("/late.png", Answer(status=404))
    page = (
        '<!doctype html><html><head><meta charset="utf-8"><title>Page</title></head><body><div id="content">'
        f'<p>{WORDS}</p><img src="pics/a.png" srcset="pics/a.png 1x,../b.gif 2x, /late.png 3x" alt="r">'
        f"<p>{WORDS}</p></div></body></html>"
    )
    server.add("/news/p", body=page.encode())
    server.add("/feed.xml", body=rss(Item(server.url("/news/p"))), content_type=RSS)
    work.write_config(config({"name": "news", "url": server.url("/feed.xml"), "images": "keep"}, http={"retries": 0}))

    first = work.run("fetch", "--json")

    assert first.code == 0, first.stderr
    assert first.json()["feeds"][0]["images_missing"] == 1
    [article] = work.archive.rglob("*.md")
    png, gif = "/assets/" + _name(PNG, ".png")[7:], "/assets/" + _name(GIF, ".gif")[7:]
    late = server.url("/late.png")
    original = f"{server.url('/news/pics/a.png')} 1x, {server.url('/b.gif')} 2x, {late} 3x"
    tag = re.search(r'<img[^>]*alt="r"[^>]*>', article.read_text(encoding="utf-8"))
    assert tag and f'srcset="{png} 1x, {gif} 2x, {late} 3x"' in tag.group(0)  # the missing one: its absolute URL
    assert f'data-original-srcset="{original}"' in tag.group(0)
    assert len(server.requests("/news/pics/a.png")) == 1 and len(server.requests("/b.gif")) == 1
    server.add("/late.png", body=PNG + b"late", content_type="image/png")

    again = work.run("fetch", "--json")

    assert again.code == 0, again.stderr
    local_late = "/assets/" + _name(PNG + b"late", ".png")[7:]
    tag = re.search(r'<img[^>]*alt="r"[^>]*>', article.read_text(encoding="utf-8"))
    assert tag and f'srcset="{png} 1x, {gif} 2x, {local_late} 3x"' in tag.group(0)
    assert f'data-original-srcset="{original}"' in tag.group(0)
