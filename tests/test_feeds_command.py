"""`crawler feeds ...`: edits feeds.yaml in place, keeping every comment and byte it does not concern."""

from __future__ import annotations

import difflib
import xml.etree.ElementTree as ET

from crawler.config.load import load_config
from tests.conftest import FIXTURES, Workdir

COMMENTED = (FIXTURES / "feeds.commented.yaml").read_bytes()
FEEDLY = FIXTURES / "opml" / "feedly-export.opml"


def _opml_triples(text: bytes | str) -> set[tuple[str, str, str]]:
    """(folder, title, feed URL) of every feed in an OPML document, folder '' when at the top."""
    root = ET.fromstring(text)
    found: set[tuple[str, str, str]] = set()
    for top in root.find("body") or []:
        if top.get("xmlUrl"):
            found.add(("", top.get("title") or "", top.get("xmlUrl") or ""))
        for feed in top.iter("outline"):
            if feed.get("xmlUrl"):
                found.add((top.get("title") or "", feed.get("title") or "", feed.get("xmlUrl") or ""))
    return found


def test_add_then_remove_leaves_feeds_yaml_byte_identical(work: Workdir) -> None:
    work.config.write_bytes(COMMENTED)

    added = work.run(
        "feeds", "add", "my-blog", "https://example.com/feed.xml", "--category", "技术", "--category", "a: b",
        "--no-probe", "--author", "Me", "--body", "#main", "--content", "auto", "--interval", "10m",
    )  # fmt: skip

    assert added.code == 0, added.stderr
    assert work.config.read_bytes().startswith(COMMENTED.rstrip(b"\n"))
    listed = work.run("feeds", "list", "--json").json()
    mine = next(feed for feed in listed if feed["name"] == "my-blog")  # type: ignore[attr-defined]
    assert mine["categories"] == ["技术", "a: b"]
    assert mine["interval"] == 600
    assert work.run("check").code == 0

    removed = work.run("feeds", "remove", "my-blog")

    assert removed.code == 0, removed.stderr
    assert work.config.read_bytes() == COMMENTED


def test_invalid_add_is_refused_and_the_file_is_untouched(work: Workdir) -> None:
    work.config.write_bytes(COMMENTED)

    bad_interval = work.run("feeds", "add", "x", "https://example.com/x", "--interval", "ten minutes")
    bad_name = work.run("feeds", "add", "Not A Name", "https://example.com/x")
    bad_url = work.run("feeds", "add", "x", "ftp://example.com/x")
    duplicate = work.run("feeds", "add", "bbc-world", "https://example.com/x")

    for result in (bad_interval, bad_name, bad_url, duplicate):
        assert result.code == 2
        assert result.stderr.startswith("crawler: ")
        assert len(result.stderr.strip().splitlines()) == 1
    assert "interval 'ten minutes' is not a duration" in bad_interval.stderr
    assert "feeds.yaml:" in bad_interval.stderr
    assert "a feed named 'bbc-world' already exists" in duplicate.stderr
    assert work.config.read_bytes() == COMMENTED


def test_remove_takes_the_feed_and_its_comment_and_keeps_the_neighbours(work: Workdir) -> None:
    work.config.write_bytes(COMMENTED)

    result = work.run("feeds", "remove", "sina-finance-roll")

    assert result.code == 0, result.stderr
    text = work.config.read_text(encoding="utf-8")
    assert "sina-finance-roll" not in text
    assert "Sina's own rolling finance feed" not in text
    assert "# The Paper (澎湃新闻) front page" in text
    assert "# Sina Finance through RSSHub" in text
    assert "\n\n\n" not in text
    assert [line for line in COMMENTED.decode().splitlines() if "sina-finance-roll" not in line][:24] == (
        text.splitlines()[:24]
    )


def test_remove_of_an_unknown_feed_is_refused(work: Workdir) -> None:
    work.config.write_bytes(COMMENTED)

    result = work.run("feeds", "remove", "nope")

    assert result.code == 2
    assert "no feed named 'nope'" in result.stderr
    assert work.config.read_bytes() == COMMENTED


def test_disable_and_enable_change_only_the_enabled_line(work: Workdir) -> None:
    work.config.write_bytes(COMMENTED)

    assert work.run("feeds", "disable", "bbc-world").code == 0
    assert work.run("feeds", "enable", "hacker-news").code == 0
    again = work.run("feeds", "enable", "hacker-news")

    assert "already" in again.stdout
    feeds = {f["name"]: f["enabled"] for f in work.run("feeds", "list", "--json").json()}  # type: ignore[attr-defined]
    assert feeds["bbc-world"] is False
    assert feeds["hacker-news"] is True
    before = COMMENTED.decode().splitlines()
    after = work.config.read_text(encoding="utf-8").splitlines()
    changed = [line for line in difflib.ndiff(before, after) if line.startswith(("+ ", "- "))]
    assert changed == ["+     enabled: false", "-     enabled: false", "+     enabled: true"]


def test_add_to_a_file_without_feeds_starts_the_list(work: Workdir) -> None:
    work.write_config("# nothing yet\narchive: archive\nfeeds: []  # add some\n")

    result = work.run("feeds", "add", "first", "https://example.com/a.xml", "--no-probe")

    assert result.code == 0, result.stderr
    assert work.config.read_text(encoding="utf-8") == (
        "# nothing yet\narchive: archive\nfeeds:  # add some\n  - name: first\n    url: https://example.com/a.xml\n"
    )


def test_import_feedly_opml_then_export_keeps_every_url_title_and_folder(work: Workdir) -> None:
    work.config.write_bytes(COMMENTED)

    imported = work.run("feeds", "import", str(FEEDLY))
    exported = work.run("feeds", "export")

    assert imported.code == 0, imported.stderr
    assert "imported 17 feeds" in imported.stdout
    assert work.config.read_bytes().startswith(COMMENTED.rstrip(b"\n"))  # comments and feeds before kept
    assert work.run("check").code == 0
    assert exported.code == 0, exported.stderr
    assert exported.stdout.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">')
    original = _opml_triples(FEEDLY.read_bytes())
    assert len(original) == 17
    assert original <= _opml_triples(exported.stdout)
    names = [f["name"] for f in work.run("feeds", "list", "--json").json()]  # type: ignore[attr-defined]
    assert len(names) == len(set(names))


def _html_urls(text: bytes | str) -> dict[str, str | None]:
    """Each feed URL of an OPML document with its htmlUrl (None when the outline has none)."""
    return {o.get("xmlUrl") or "": o.get("htmlUrl") for o in ET.fromstring(text).iter("outline") if o.get("xmlUrl")}


def test_import_keeps_each_html_url_as_site_and_export_gives_it_back(work: Workdir) -> None:
    work.config.write_bytes(COMMENTED)
    original = _html_urls(FEEDLY.read_bytes())
    assert len(original) == 17 and all(original.values())

    imported = work.run("feeds", "import", str(FEEDLY))
    exported = work.run("feeds", "export")

    assert imported.code == 0, imported.stderr
    assert imported.stderr == ""
    text = work.config.read_text(encoding="utf-8")
    site_lines = [line.strip() for line in text.splitlines() if line.strip().startswith("site:")]
    assert sorted(site_lines) == sorted(f"site: {site}" for site in original.values())
    assert work.run("check").code == 0
    assert exported.code == 0, exported.stderr
    back = _html_urls(exported.stdout)
    assert {url: back[url] for url in original} == original
    assert all(back[url] is None for url in back if url not in original)  # the file's own feeds have no site


def test_import_leaves_out_a_missing_or_unusable_html_url(work: Workdir) -> None:
    work.write_config("archive: archive\nfeeds: []\n")
    (work.path / "x.opml").write_text(
        '<opml version="2.0"><body>'
        '<outline text="None" xmlUrl="https://none.example/feed"/>'
        '<outline text="Script" xmlUrl="https://script.example/feed" htmlUrl="javascript:alert(1)"/>'
        '<outline text="Good" xmlUrl="https://good.example/feed" htmlUrl="https://good.example/"/>'
        "</body></opml>",
        encoding="utf-8",
    )

    result = work.run("feeds", "import", "x.opml")

    assert result.code == 0, result.stderr
    assert "imported 3 feeds" in result.stdout
    assert result.stderr == (
        "x.opml: https://script.example/feed: htmlUrl 'javascript:alert(1)' is not an http(s) URL; not kept\n"
    )
    text = work.config.read_text(encoding="utf-8")
    assert [line.strip() for line in text.splitlines() if "site:" in line] == ["site: https://good.example/"]
    assert _html_urls(work.run("feeds", "export").stdout) == {
        "https://none.example/feed": None,
        "https://script.example/feed": None,
        "https://good.example/feed": "https://good.example/",
    }


def test_import_twice_adds_nothing_the_second_time(work: Workdir) -> None:
    work.write_config("archive: archive\nfeeds: []\n")
    assert work.run("feeds", "import", str(FEEDLY)).code == 0
    first = work.config.read_bytes()

    again = work.run("feeds", "import", str(FEEDLY))

    assert again.code == 0
    assert "imported 0 feeds" in again.stdout
    assert work.config.read_bytes() == first


def test_import_of_a_file_that_is_not_opml_is_refused(work: Workdir) -> None:
    work.config.write_bytes(COMMENTED)
    (work.path / "x.opml").write_text("<html><body>no</body></html>", encoding="utf-8")

    result = work.run("feeds", "import", "x.opml")

    assert result.code == 2
    assert "not an OPML file" in result.stderr
    assert work.config.read_bytes() == COMMENTED


def test_add_with_render_writes_the_key_and_the_config_takes_it(work: Workdir) -> None:
    work.config.write_bytes(COMMENTED)

    added = work.run("feeds", "add", "raw-pages", "https://example.com/feed.xml", "--render", "verbatim", "--no-probe")
    refused = work.run("feeds", "add", "other", "https://example.com/other.xml", "--render", "markdown", "--no-probe")

    assert added.code == 0, added.stderr
    assert work.config.read_text(encoding="utf-8").endswith("    render: verbatim\n")
    feed = load_config(work.config).feed("raw-pages")
    assert feed is not None and feed.render == "verbatim"
    assert refused.code == 2 and "invalid choice: 'markdown'" in refused.stderr
