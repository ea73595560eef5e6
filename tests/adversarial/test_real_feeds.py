"""Real feeds from other projects' test suites (tests/fixtures/feeds, see SOURCES.txt), served on 127.0.0.1 and
polled through the real `crawler fetch`: each one with entries is archived whole, each broken one is reported in
one line naming the feed and its URL, and none stops the run."""

from __future__ import annotations

import re

from tests.adversarial.support import FEED_FIXTURES, read_archive_file
from tests.conftest import Workdir
from tests.support.server import TestServer

# Per file: the distinct entries (by GUID, else link) the crawler must archive or recognise as already archived,
# or None for a file that is no feed (an entry fragment, an HTML page). Counted from the files: their <item>,
# <entry> or JSON items.
EXPECTED: dict[str, int | None] = {
    "feedjira/AmazonWebServicesBlog.xml": 10,
    "feedjira/AmazonWebServicesBlogFirstEntryContent.xml": None,
    "feedjira/AtomEscapedHTMLInPreTag.xml": 1,
    "feedjira/AtomFeedWithSpacesAroundEquals.xml": 1,
    "feedjira/AtomWithITunesInCDATA.xml": 1,
    "feedjira/CRE.xml": 30,
    "feedjira/DuplicateContentAtomFeed.xml": 10,
    "feedjira/FeedBurnerUrlNoAlternate.xml": 1,
    "feedjira/FeedBurnerXHTML.xml": 10,
    "feedjira/FeedjiraBlog.xml": 1,
    "feedjira/GiantRobotsSmashingIntoOtherGiantRobots.xml": 3,
    "feedjira/GoogleDocsList.xml": 2,
    "feedjira/HREFConsideredHarmful.xml": 10,
    "feedjira/HREFConsideredHarmfulFirstEntry.xml": None,
    "feedjira/HuffPostCanada.xml": 2,
    "feedjira/ITunesWithSingleQuotedAttributes.xml": 3,
    "feedjira/ITunesWithSpacesInAttributes.xml": 3,
    "feedjira/InvalidDateFormat.xml": 2,
    "feedjira/PaulDixExplainsNothing.xml": 5,
    "feedjira/PaulDixExplainsNothingAlternate.xml": 5,
    "feedjira/PaulDixExplainsNothingFirstEntryContent.xml": None,
    "feedjira/PaulDixExplainsNothingWFW.xml": 5,
    "feedjira/Permalinks.xml": 4,
    "feedjira/RSSWithComments.xml": 30,
    "feedjira/SamRuby.xml": 20,
    "feedjira/TechCrunch.xml": 20,
    "feedjira/TechCrunchFirstEntry.xml": None,
    "feedjira/TechCrunchFirstEntryDescription.xml": None,
    "feedjira/TenderLovemaking.xml": 10,
    "feedjira/TenderLovemakingFirstEntry.xml": None,
    "feedjira/TrotterCashionHome.xml": 14,
    "feedjira/TypePadNews.xml": 10,
    "feedjira/a10.xml": 5,
    "feedjira/atom_simple_single_entry.xml": 1,
    "feedjira/atom_simple_single_entry_link_self.xml": 1,
    "feedjira/atom_with_link_tag_for_url_unmarked.xml": 1,
    "feedjira/google_alerts_atom.xml": 20,
    "feedjira/itunes.xml": 3,
    "feedjira/itunes_feedburner.xml": 3,
    "feedjira/json_feed.json": 20,
    "feedjira/json_feed_with_escaped_uris.json": 30,
    "feedjira/pet_atom.xml": 10,
    "feedjira/youtube_atom.xml": 15,
    "rss-parser/input/atom-customfields.atom": 15,
    "rss-parser/input/content-encoded.rss": 7,
    "rss-parser/input/craigslist.rss": 25,
    "rss-parser/input/customfields.rss": 15,
    "rss-parser/input/encoding.rss": 40,
    "rss-parser/input/feedburner.atom": 25,
    "rss-parser/input/giantbomb-podcast.rss": 730,
    "rss-parser/input/guardian.rss": 55,
    "rss-parser/input/gulp-atom.atom": 10,
    "rss-parser/input/heise.atom": 15,
    "rss-parser/input/heraldsun.rss": 2,
    "rss-parser/input/incomplete-fields.atom": 1,
    "rss-parser/input/instant-article.rss": 1,
    "rss-parser/input/item-itunes-episodeType.rss": 1,
    "rss-parser/input/itunes-category.rss": 1,
    "rss-parser/input/itunes-href.rss": 10,
    "rss-parser/input/itunes-keywords-array.rss": 1,
    "rss-parser/input/itunes-keywords-astext.rss": 32,
    "rss-parser/input/itunes-keywords.rss": 1,
    "rss-parser/input/itunes-missing-image.rss": 130,  # 131 items, one listed twice
    "rss-parser/input/many-links.rss": 25,
    "rss-parser/input/missing-fields.atom": 1,
    "rss-parser/input/narro.rss": 1,
    "rss-parser/input/pagination-links.rss": 1,
    "rss-parser/input/reddit-atom.rss": 24,
    "rss-parser/input/reddit-home.rss": 24,
    "rss-parser/input/reddit.rss": 24,
    "rss-parser/input/rss-1.rss": 69,
    "rss-parser/input/unrecognized.rss": None,
    "rss-parser/input/uolNoticias.rss": 15,
    "rss-parser/input/xml2js-options.rss": 69,
    "zh/qq-tech-gb2312.xml": 1,
}


def _feed_files() -> list[str]:
    return sorted(
        path.relative_to(FEED_FIXTURES).as_posix()
        for path in FEED_FIXTURES.rglob("*")
        if path.is_file() and path.name not in ("LICENSE", "SOURCES.txt")
    )


def _feed_name(relative: str) -> str:
    return re.sub(r"[^a-z0-9._-]+", "-", relative.lower()).strip("-")


def _content_type(relative: str) -> str:
    return "application/feed+json" if relative.endswith(".json") else "application/xml"


def test_the_table_names_every_fixture_feed() -> None:
    assert _feed_files() == sorted(EXPECTED)


def test_every_real_feed_is_archived_or_reported_and_none_stops_the_run(server: TestServer, work: Workdir) -> None:
    lines = ["archive: archive", "politeness:", "  delay: 0", "  per_host: 8", "feeds:"]
    for relative in EXPECTED:
        path = "/" + relative
        server.add(path, body=(FEED_FIXTURES / relative).read_bytes(), content_type=_content_type(relative))
        lines += [f"  - name: {_feed_name(relative)}", f"    url: {server.url(path)}", "    content: feed"]
    work.write_config("\n".join(lines) + "\n")

    result = work.run("fetch", "--json", "--no-progress", timeout=300)

    assert result.code == 1, result.stderr  # the broken ones are failures, so the run says so
    assert "Traceback" not in result.stderr
    by_name = {feed["feed"]: feed for feed in result.json()["feeds"]}
    error_lines = [line for line in result.stderr.splitlines() if line.strip()]
    for relative, expected in EXPECTED.items():
        name = _feed_name(relative)
        summary = by_name[name]
        if expected is None:
            mine = [line for line in error_lines if line.startswith(f"feed '{name}': {server.url('/' + relative)}: ")]
            assert len(mine) == 1, (relative, result.stderr)
            assert "not a feed" in mine[0]
            assert summary["new"] == summary["known"] == 0
        else:
            assert summary["errors"] == [], (relative, summary["errors"])
            assert summary["failed"] == 0
            assert summary["new"] + summary["known"] == expected, (relative, summary)
    assert len(error_lines) == sum(expected is None for expected in EXPECTED.values())
    files = work.files()
    assert len(files) == sum(feed["new"] for feed in by_name.values())
    for path in files:
        read_archive_file(path.read_text(encoding="utf-8"))


def test_the_gb2312_feed_is_archived_in_readable_chinese(server: TestServer, work: Workdir) -> None:
    server.add("/qq.xml", body=(FEED_FIXTURES / "zh" / "qq-tech-gb2312.xml").read_bytes(), content_type="text/xml")
    work.write_config(
        f"archive: archive\npoliteness:\n  delay: 0\nfeeds:\n  - name: qq\n    url: {server.url('/qq.xml')}\n"
        "    content: feed\n"
    )

    result = work.run("fetch")

    assert result.code == 0, result.stderr
    (path,) = work.files()
    archived = read_archive_file(path.read_text(encoding="utf-8"))
    assert archived.front["title"] == "拟298亿元重组盛大游戏后 世纪华通发20亿回购预案"
    assert "世纪华通" in archived.body


def test_json_feed_items_become_articles_with_their_fields(server: TestServer, work: Workdir) -> None:
    server.add(
        "/feed.json",
        body=(FEED_FIXTURES / "feedjira" / "json_feed_with_escaped_uris.json").read_bytes(),
        content_type="application/feed+json",
    )
    work.write_config(
        f"archive: archive\npoliteness:\n  delay: 0\nfeeds:\n  - name: luke\n    url: {server.url('/feed.json')}\n"
        "    content: feed\n"
    )

    result = work.run("fetch", "--json")

    assert result.code == 0, result.stderr
    # Three of the 30 items (SynthaBlock, StickaBlock, PhonoBlock) carry the same body text, links aside, under
    # three titles: by docs/FORMAT.md's de-duplication those are three articles, not one under three names.
    summary = result.json()["feeds"][0]
    assert (summary["new"], summary["known"]) == (30, 0)
    fronts = [read_archive_file(p.read_text(encoding="utf-8")).front for p in work.files()]
    new_font = next(front for front in fronts if front["title"] == "New Font")
    assert new_font["categories"] == ["Design"]
    assert new_font["author"] == "Author: Luke, most likely."
    # date_published 2025-01-05T20:40:00-05:00
    assert new_font["date"] == "Mon, 06 Jan 2025 01:40:00 GMT"
    assert str(new_font["headimg"]).startswith("https://lukedorny.com/media/pages/updates/new-font/")
