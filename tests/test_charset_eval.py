"""Detection on real pages: every Chinese page of the extraction development set (tests/fixtures/charset), served by
the real local server with every charset declaration stripped, as GB18030 bytes and as UTF-8 bytes, must give the
archive that the UTF-8 reading gives: no page turned into Cyrillic or Latin mojibake."""

from __future__ import annotations

import re
import tarfile
from dataclasses import dataclass
from functools import cache

import pytest

from crawler.extract.charset import declared_charset, decode, header_charset
from tests.conftest import FIXTURES, Workdir
from tests.support.feeds import RSS, Item, config, rss
from tests.support.server import TestServer

ARCHIVE = FIXTURES / "charset" / "zh-pages.tar.xz"
JAPANESE = frozenset({"readability/pages/hukumusume/source.html", "readability/pages/yahoo-4/source.html"})
JAPANESE_TITLE = "Japanese page"
_TITLE = re.compile(r"^title: \W?((?:Page|Japanese page) \d+)", re.M)
_DECLARATION = re.compile(r"<meta[^>]*charset[^>]*>|(<\?xml[^>]*?)\s+encoding\s*=\s*[\"'][^\"']*[\"']", re.I)


@dataclass(frozen=True)
class Page:
    """One eval page, its charset declarations stripped."""

    name: str
    text: str

    @property
    def chinese(self) -> bool:
        return self.name not in JAPANESE


@cache
def pages() -> tuple[Page, ...]:
    """Every page of the fixture archive (UTF-8 there), with no `<meta charset>`, http-equiv or XML encoding left."""
    found: list[Page] = []
    with tarfile.open(ARCHIVE) as archive:
        for member in archive.getmembers():
            if member.isfile():
                handle = archive.extractfile(member)
                assert handle is not None
                text = _DECLARATION.sub(lambda m: m.group(1) or "", handle.read().decode("utf-8"))
                found.append(Page(member.name, text))
    return tuple(sorted(found, key=lambda page: page.name))


def test_the_fixture_holds_every_chinese_page_of_the_eval_set_and_none_declares_a_charset() -> None:
    assert len(pages()) == 69
    assert sum(page.chinese for page in pages()) == 67
    for page in pages():
        assert declared_charset(page.text.encode("gb18030")) is None, page.name


@pytest.mark.parametrize(
    ("encoding", "content_type"),
    [("gb18030", "text/html"), ("utf-8", "text/html"), ("gb18030", "text/html; charset=utf-8")],
)
def test_undeclared_pages_decode_to_their_own_text(encoding: str, content_type: str) -> None:
    for page in pages():
        if encoding == "gb18030" and not page.chinese:
            continue
        assert decode(page.text.encode(encoding), content_type) == page.text, page.name


def test_an_undeclared_big5_page_is_not_read_as_gb18030() -> None:
    (pixnet,) = [page for page in pages() if "pixnet" in page.name]  # traditional Chinese, from Taiwan
    content = pixnet.text.encode("big5", errors="xmlcharrefreplace")

    assert decode(content, "text/html") == content.decode("big5hkscs")


# The variants the real CLI fetches: (page bytes' encoding, Content-Type) against the reference, UTF-8 said so.
REFERENCE = ("utf-8", "text/html; charset=utf-8")
VARIANTS = {
    "gbk-undeclared": ("gb18030", "text/html"),
    "utf8-undeclared": ("utf-8", "text/html"),
    "gbk-served-as-utf8": ("gb18030", "text/html; charset=utf-8"),
}


def _archive(server: TestServer, work: Workdir, encoding: str, content_type: str) -> dict[str, str]:
    """Serve every page in `encoding` under `content_type` through one feed, run `crawler fetch`; the archive's
    files by their item's title."""
    assert header_charset(content_type) in (None, "utf-8")
    items = []
    for index, page in enumerate(pages()):
        if page.chinese or encoding == "utf-8":
            path = f"/p/{index}"
            server.add(path, body=page.text.encode(encoding), content_type=content_type)
            items.append(Item(server.url(path), title=f"{'Page' if page.chinese else JAPANESE_TITLE} {index}"))
    server.add("/feed.xml", body=rss(*items), content_type=RSS)
    work.write_config(config({"name": "zh", "url": server.url("/feed.xml"), "body": None}))
    result = work.run("fetch", "--json", timeout=600)
    assert result.code == 0, result.stderr
    assert result.json()["feeds"][0]["fallback"] == 0, result.stderr
    # Keyed by the item's title and with the server's address (its port differs between runs) taken out.
    texts = [path.read_text("utf-8").replace(server.base, "BASE") for path in work.files()]
    return {_TITLE.search(text).group(1): text for text in texts}  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    server = TestServer()
    try:
        return _archive(server, Workdir(tmp_path_factory.mktemp("reference")), *REFERENCE)
    finally:
        server.close()


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_undeclared_pages_archive_as_their_utf8_reading_through_the_cli(
    server: TestServer, work: Workdir, reference: dict[str, str], variant: str
) -> None:
    encoding, content_type = VARIANTS[variant]

    archived = _archive(server, work, encoding, content_type)

    expected = reference
    if encoding != "utf-8":  # the Japanese pages are served as UTF-8 only
        expected = {title: text for title, text in reference.items() if JAPANESE_TITLE not in title}
    assert len(archived) >= 60
    assert archived.keys() == expected.keys()
    for title, text in expected.items():
        assert archived[title] == text, title
