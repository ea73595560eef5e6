"""XML attacks on the feed parser: entity expansion (billion laughs, quadratic blowup), external entities (XXE)
and external DTDs are refused or neutralised, memory stays bounded, and the rest of the run goes on."""

from __future__ import annotations

import resource
from pathlib import Path

import pytest

from crawler.feeds.parse import FeedError, parse_feed
from tests.adversarial.support import memory_limit, read_archive_file, run_limited
from tests.conftest import Workdir
from tests.support.server import TestServer

SECRET = "TOP-SECRET-7f3a9c"
MEMORY = 1536 * 1024 * 1024  # far below what any of these attacks needs once expanded


def rss(body: str, prolog: str = "") -> str:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n{prolog}\n<rss version="2.0"><channel><title>Attack</title>'
        "<link>http://example.org/</link><item><title>Hostile item</title><link>http://example.org/hostile</link>"
        f"<description>{body}</description></item></channel></rss>"
    )


def billion_laughs() -> str:
    levels = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    return rss("&lol9;", f"<!DOCTYPE rss [{''.join(levels)}]>")


def quadratic_blowup() -> str:
    return rss("&a;" * 100_000, f'<!DOCTYPE rss [<!ENTITY a "{"x" * 100_000}">]>')


def external_entity(secret: Path) -> str:
    return rss("&xxe;", f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{secret}">]>')


def parameter_entity(secret: Path) -> str:
    return rss("safe", f'<!DOCTYPE rss [<!ENTITY % p SYSTEM "file://{secret}"> %p;]>')


def external_dtd(dtd: Path) -> str:
    return rss("before &xxe; after", f'<!DOCTYPE rss SYSTEM "file://{dtd}">')


GOOD = rss("A perfectly ordinary item.").replace("hostile", "good").replace("Hostile", "Good")


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(SECRET, encoding="utf-8")
    return path


def _config(server: TestServer) -> str:
    return (
        "archive: archive\npoliteness:\n  delay: 0\nfeeds:\n"
        f"  - name: good\n    url: {server.url('/good.xml')}\n    content: feed\n"
        f"  - name: hostile\n    url: {server.url('/hostile.xml')}\n    content: feed\n"
    )


@pytest.mark.parametrize(
    ("attack", "message"),
    [
        ("billion-laughs", "refused: the feed declares an expanding XML entity 'lol1'"),
        ("quadratic-blowup", "refused: the feed declares an expanding XML entity 'a'"),
        ("external-entity", "refused: the feed declares an external XML entity 'xxe' (an XXE attack)"),
        ("parameter-entity", "refused: the feed declares an external XML entity 'p' (an XXE attack)"),
    ],
)
def test_entity_attacks_are_refused_in_bounded_memory_and_the_run_goes_on(
    server: TestServer, work: Workdir, secret: Path, attack: str, message: str
) -> None:
    hostile = {
        "billion-laughs": billion_laughs(),
        "quadratic-blowup": quadratic_blowup(),
        "external-entity": external_entity(secret),
        "parameter-entity": parameter_entity(secret),
    }[attack]
    server.add("/good.xml", body=GOOD, content_type="application/rss+xml")
    server.add("/hostile.xml", body=hostile, content_type="application/rss+xml")
    work.write_config(_config(server))

    result = run_limited(work, "fetch", "--json", limits=memory_limit(MEMORY))

    assert result.code == 1, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"feed 'hostile': {server.url('/hostile.xml')}: {message}")
    assert "Traceback" not in result.stderr and "MemoryError" not in result.stderr
    feeds = {feed["feed"]: feed for feed in result.json()["feeds"]}
    assert feeds["good"]["new"] == 1 and feeds["good"]["errors"] == []
    (path,) = work.files()
    assert SECRET not in path.read_text(encoding="utf-8")


def test_an_external_dtd_is_never_read_and_the_feed_is_still_archived(
    server: TestServer, work: Workdir, secret: Path, tmp_path: Path
) -> None:
    dtd = tmp_path / "evil.dtd"
    dtd.write_text(f'<!ENTITY xxe SYSTEM "file://{secret}">', encoding="utf-8")
    server.add("/good.xml", body=GOOD, content_type="application/rss+xml")
    server.add("/hostile.xml", body=external_dtd(dtd), content_type="application/rss+xml")
    work.write_config(_config(server))

    result = work.run("fetch", "--json")

    assert result.code == 0, result.stderr
    assert [feed["new"] for feed in result.json()["feeds"]] == [1, 1]
    texts = [path.read_text(encoding="utf-8") for path in work.files()]
    assert all(SECRET not in text for text in texts)
    hostile = next(read_archive_file(text) for text in texts if "Hostile item" in text)
    assert "before" in hostile.body and "after" in hostile.body


def test_entities_hidden_in_a_prolog_comment_are_not_expanded() -> None:
    # feedparser itself turns `<!ENTITY` text found before the first tag, even inside a comment, into a real
    # declaration; the prolog it is shown must not contain it.
    prolog = f'<!DOCTYPE rss>\n<!--\n<!ENTITY a "{"x" * 10_000}">\n-->'
    parsed = parse_feed(rss("&a;" * 10_000, prolog).encode(), "http://example.org/feed")
    assert len(parsed.entries[0].content or "") < 100_000


def test_entities_after_a_broken_prolog_are_not_expanded() -> None:
    prolog = f'<!DOCTYPE rss [<<<< <!ENTITY a "{"x" * 10_000}"> ]>'
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    parsed = parse_feed(rss("&a;" * 10_000, prolog).encode(), "http://example.org/feed")
    assert all(len(entry.content or "") < 100_000 for entry in parsed.entries)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50_000  # KiB: no 100 MB expansion


def test_an_attack_behind_64_kb_of_padding_is_still_refused(secret: Path) -> None:
    padded = "<!--" + " " * 70_000 + "-->" + f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{secret}">]>'
    with pytest.raises(FeedError, match="external XML entity 'xxe'"):
        parse_feed(rss("&xxe;", padded).encode(), "http://example.org/feed")


def test_short_character_entities_such_as_nbsp_still_work() -> None:
    prolog = '<!DOCTYPE rss [<!ENTITY nbsp "&#160;"><!ENTITY mdash "&#8212;">]>'
    parsed = parse_feed(rss("a&nbsp;b&mdash;c", prolog).encode(), "http://example.org/feed")
    assert parsed.entries[0].content == "a\xa0b\u2014c"
