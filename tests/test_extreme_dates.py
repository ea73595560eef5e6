"""Dates beyond what `datetime` holds are no date: the next one in docs/FORMAT.md's order is taken, and the article is
archived (not an OverflowError on every poll)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from crawler.archive import files as archive
from crawler.feeds.parse import Entry, parse_date_text
from crawler.pipeline.compose import article_date
from crawler.render import frontmatter
from tests.conftest import Workdir
from tests.support.server import TestServer
from tests.test_fetch_command import article_page, config, feed_entry, front_matter, rss

SEEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp()
ZONES = st.sampled_from(["UTC", "Pacific/Kiritimati", "Pacific/Niue", "Asia/Shanghai", "America/New_York"])


def test_items_with_dates_out_of_range_are_archived_dated_by_the_next_source(server: TestServer, work: Workdir) -> None:
    items = [
        # The first two are out of range wherever they are read; the third (no offset) only in the feed's zone.
        ("rfc822", "<pubDate>Fri, 31 Dec 9999 23:59:59 -1400</pubDate>", "2021-08-24T07:07:13Z"),
        ("iso", "<pubDate>0001-01-01T00:00:00+14:00</pubDate>", "2021-08-25T07:07:13Z"),
        ("dotnet", "<pubDate>0001-01-01T00:00:00</pubDate>", "2021-08-26T07:07:13Z"),
    ]
    body = "".join(
        f"<item><title>{name}</title><link>{server.url('/' + name)}</link>{date}"
        f'<atom:updated xmlns:atom="http://www.w3.org/2005/Atom">{updated}</atom:updated></item>'
        for name, date, updated in items
    )
    server.add("/feed.xml", body=rss([]).replace("</channel>", body + "</channel>"), content_type="application/rss+xml")
    for name, _, _ in items:
        server.add(f"/{name}", body=article_page(name.title(), [f"The {name} story, told at length here. " * 6]))
    # The feed's zone is east of UTC, so year 1 at midnight there is before what datetime holds in UTC.
    work.write_config(config(feed_entry("far", server.url("/feed.xml"), "    timezone: Asia/Shanghai\n")))

    result = work.run("fetch", "--json")

    assert result.code == 0, result.stderr
    assert result.json()["feeds"][0]["new"] == 3
    dates = sorted(str(front_matter(path.read_text(encoding="utf-8"))["date"]) for path in work.files())
    assert dates == sorted(
        ["Tue, 24 Aug 2021 07:07:13 GMT", "Wed, 25 Aug 2021 07:07:13 GMT", "Thu, 26 Aug 2021 07:07:13 GMT"]
    )
    assert sorted(path.parent.relative_to(work.archive).as_posix() for path in work.files()) == [
        "2021/08/24",
        "2021/08/25",
        "2021/08/26",
    ]
    again = work.run("fetch", "--json")
    assert (again.code, again.json()["feeds"][0]["new"], len(work.files())) == (0, 0, 3)


def test_an_item_with_only_an_out_of_range_date_is_dated_when_first_seen() -> None:
    entry = _entry(parse_date_text("Fri, 31 Dec 9999 23:59:59 -1400"), None)

    assert article_date(entry, None, "UTC", SEEN) == datetime.fromtimestamp(SEEN, UTC)


def test_a_year_too_large_for_a_machine_integer_is_no_date() -> None:
    assert parse_date_text("Fri, 31 Dec 99999999999999999999999 23:59:59 -1400") is None
    assert parse_date_text("Fri, 31 Dec 2020 99999999999999999999:59:59 +0000") is None


@given(
    moment=st.datetimes(min_value=datetime.min, max_value=datetime.max),
    offset=st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1),
    aware=st.booleans(),
    feed_zone=ZONES,
    archive_zone=ZONES,
)
def test_any_date_in_any_zone_gives_a_date_the_archive_can_place_and_write(
    moment: datetime, offset: int, aware: bool, feed_zone: str, archive_zone: str
) -> None:
    dated = moment.replace(tzinfo=timezone(timedelta(minutes=offset))) if aware else moment
    entry = _entry(dated, None)

    chosen = article_date(entry, dated, feed_zone, SEEN)

    assert chosen.tzinfo is not None
    assert chosen <= datetime.fromtimestamp(SEEN, UTC)
    archive.relative_path("0123456789abcdef", chosen, archive_zone)
    assert frontmatter.http_date(chosen).endswith(" GMT")
    chosen.astimezone(ZoneInfo(archive_zone))


@given(moment=st.datetimes(min_value=datetime.min, max_value=datetime.max), offset=st.integers(-1439, 1439))
def test_http_date_writes_any_aware_datetime(moment: datetime, offset: int) -> None:
    assert frontmatter.http_date(moment.replace(tzinfo=timezone(timedelta(minutes=offset)))).endswith(" GMT")


def _entry(published: datetime | None, updated: datetime | None) -> Entry:
    return Entry(
        key="k",
        guid=None,
        link=None,
        title=None,
        author=None,
        categories=(),
        published=published,
        updated=updated,
        content=None,
        image=None,
    )
