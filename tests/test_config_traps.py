"""feeds.yaml mistakes that used to pass `crawler check` or were silently bent: each is refused through the real CLI
with the file, the line and what was meant."""

from __future__ import annotations

import signal
from collections.abc import Callable

import pytest

from tests.conftest import Workdir
from tests.support.daemon import RunningDaemon, archived_texts, article, rss, start_daemon
from tests.support.server import TestServer

__all__ = ["start_daemon"]  # the fixture, imported so pytest finds it


def _feed(url: str, *more: str) -> str:
    return "".join(["  - name: news\n", f"    url: {url}\n", *(f"    {line}\n" for line in more)])


def _line(text: str, needle: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize("command", [("check",), ("fetch",)])
def test_interval_under_min_interval_is_refused_naming_both_values_and_the_line(
    server: TestServer, work: Workdir, command: tuple[str, ...]
) -> None:
    text = "archive: archive\nfeeds:\n" + _feed(server.url("/feed.xml"), "interval: 10s")
    work.write_config(text)

    result = work.run(*command)

    assert result.code == 2
    line = _line(text, "interval: 10s")
    assert (
        f"feeds.yaml:{line}: feed 'news': interval 10s is under min_interval 5m; lower min_interval or raise interval"
    ) in result.stderr
    assert server.requests() == []  # nothing was polled at a rate the file does not allow


def test_run_refuses_to_start_and_its_reload_keeps_the_last_good_config(
    server: TestServer, work: Workdir, start_daemon: Callable[..., RunningDaemon]
) -> None:
    for name in ("a", "b"):
        server.add(f"/{name}.xml", body=rss(server.base, [(name, f"/{name}/1")]), content_type="application/rss+xml")
        server.add(f"/{name}/1", body=article(name, f"marker-{name}"))
    good = "archive: archive\npoliteness:\n  delay: 0\nfeeds:\n" + _feed(server.url("/a.xml"), "interval: 1h")
    too_fast = good + "  - name: fast\n    url: " + server.url("/b.xml") + "\n    interval: 10s\n"
    work.write_config(too_fast)
    refused = work.run("run")
    assert refused.code == 2
    assert "feed 'fast': interval 10s is under min_interval 5m" in refused.stderr

    work.write_config(good)
    daemon = start_daemon()
    daemon.wait_for("feed a's article", lambda: any("marker-a" in text for text in archived_texts(work)))
    work.write_config(too_fast)
    line = _line(too_fast, "interval: 10s")
    daemon.signal(signal.SIGHUP)
    expected = f"feeds.yaml:{line}: feed 'fast': interval 10s is under min_interval 5m"
    daemon.wait_for("the rejected reload in the log", lambda: expected in daemon.log())

    assert "config rejected; keeping the last good one" in daemon.log()
    assert daemon.alive()
    assert server.requests("/b.xml") == []
    daemon.signal(signal.SIGTERM)
    assert daemon.wait() == 0


def test_interval_from_defaults_under_min_interval_names_the_defaults_line(work: Workdir) -> None:
    text = "min_interval: 1h\ndefaults:\n  interval: 10m\nfeeds:\n" + _feed("https://news.example/feed.xml")
    work.write_config(text)

    result = work.run("check")

    assert result.code == 2
    assert "feeds.yaml:3: feed 'news': interval 10m is under min_interval 1h" in result.stderr


def test_interval_within_the_bounds_and_the_unwritten_default_pass(work: Workdir) -> None:
    text = "min_interval: 1h\nfeeds:\n" + _feed("https://a.example/feed.xml")  # the built-in 30m: min_interval rules
    text += "  - name: other\n    url: https://b.example/feed.xml\n    interval: 2h\n"
    work.write_config(text)

    result = work.run("check")

    assert result.code == 0, result.stderr
    assert "valid (2 feeds, 2 enabled)" in result.stdout


def test_unquoted_hash_selector_is_refused_with_the_quoted_form(work: Workdir) -> None:
    text = "feeds:\n" + _feed("https://news.example/feed.xml", "body: #artibody", "interval: 1h")
    work.write_config(text)

    result = work.run("check")

    assert result.code == 2
    assert (
        "feeds.yaml:4: feed 'news': body has no value; YAML reads '#artibody' as a comment: "
        'quote the value, body: "#artibody"'
    ) in result.stderr


def test_a_key_left_empty_is_refused_with_its_line(work: Workdir) -> None:
    text = "defaults:\n  remove:\nfeeds:\n" + _feed("https://news.example/feed.xml")
    work.write_config(text)

    result = work.run("check")

    assert result.code == 2
    assert "feeds.yaml:2: defaults.remove has no value; give it a value or delete the line" in result.stderr


def test_a_written_null_clears_what_defaults_set(work: Workdir) -> None:
    text = "defaults:\n  body: '#content'\nfeeds:\n" + _feed("https://news.example/feed.xml", "body: null")
    text += "  - name: other\n    url: https://b.example/feed.xml\n    body: ~  # automatic extraction here\n"
    work.write_config(text)

    result = work.run("check")

    assert result.code == 0, result.stderr


def test_comma_separated_categories_are_refused_suggesting_a_list(work: Workdir) -> None:
    text = "feeds:\n" + _feed("https://news.example/feed.xml", "categories: news, world")
    work.write_config(text)

    result = work.run("check")

    assert result.code == 2
    assert (
        "feeds.yaml:4: feed 'news': categories 'news, world' is one category with a comma in it; "
        "for several write a list: [news, world]"
    ) in result.stderr


def test_one_category_and_a_quoted_comma_in_a_list_stay_valid(work: Workdir) -> None:
    text = "feeds:\n" + _feed("https://news.example/feed.xml", "categories: news")
    text += "  - name: other\n    url: https://b.example/feed.xml\n    categories: ['Science, Technology']\n"
    work.write_config(text)

    assert work.run("check").code == 0


@pytest.mark.parametrize(
    "text", ["", "# nothing yet\n", "archive: archive\nfeeds: []\n"], ids=["empty", "comment", "none"]
)
def test_a_file_without_feeds_is_not_reported_valid(work: Workdir, text: str) -> None:
    work.write_config(text)

    result = work.run("check")

    assert result.code == 1
    assert "valid" not in result.stdout
    assert "feeds.yaml: no feeds: nothing to fetch (add one with `crawler feeds add NAME URL`)" in result.stderr


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "archive: archive\n\npolitness:\n  delay: 1s\nfeeds: []\n",
            "feeds.yaml:3: unknown key 'politness': did you mean 'politeness'?",
        ),
        (
            "http:\n  timeout: 30s\n  contakt: ops@example.org\nfeeds: []\n",
            "feeds.yaml:3: unknown key 'http.contakt': did you mean 'http.contact'?",
        ),
        (
            "politeness:\n  delya: 1s\nfeeds: []\n",
            "feeds.yaml:2: unknown key 'politeness.delya': did you mean 'politeness.delay'?",
        ),
        (
            "politeness:\n  hosts:\n    a.example:\n      per_hots: 1\nfeeds: []\n",
            "feeds.yaml:4: unknown key 'politeness.hosts.a.example.per_hots': "
            "did you mean 'politeness.hosts.a.example.per_host'?",
        ),
        (
            "defaults:\n  intervall: 1h\nfeeds: []\n",
            "feeds.yaml:2: defaults: unknown key 'intervall': did you mean 'interval'?",
        ),
        (
            "feeds:\n  - name: news\n    url: https://news.example/feed.xml\n    categoires: [a]\n",
            "feeds.yaml:4: feed 'news': unknown key 'categoires': did you mean 'categories'?",
        ),
        (
            "http:\n  zzzz: 1\nfeeds: []\n",
            "feeds.yaml:2: unknown key 'http.zzzz' (known keys here: backoff, connect_timeout, contact, http2, "
            "max_bytes, max_redirects, max_retry_after, proxy, read_timeout, retries, timeout, user_agent)",
        ),
    ],
    ids=["top", "http", "politeness", "host", "defaults", "feed", "no-match"],
)
def test_unknown_key_says_what_was_meant_at_its_own_level(work: Workdir, text: str, expected: str) -> None:
    work.write_config(text)

    result = work.run("check")

    assert result.code == 2
    assert result.stderr.strip() == f"crawler: {expected}"


def test_invalid_keep_regex_is_refused_with_its_line(work: Workdir) -> None:
    text = "feeds:\n" + _feed("https://news.example/feed.xml", "interval: 1h", "keep: '(?i)py(thon'")
    work.write_config(text)

    result = work.run("check")

    assert result.code == 2
    assert (
        "feeds.yaml:5: feed 'news': keep '(?i)py(thon' is not a regular expression: "
        "missing ), unterminated subpattern at position 6"
    ) in result.stderr


def test_invalid_block_regex_in_a_list_under_defaults_names_the_defaults_line(work: Workdir) -> None:
    text = "defaults:\n  block: [sponsored, '[ad']\nfeeds:\n" + _feed("https://news.example/feed.xml")
    work.write_config(text)

    result = work.run("check")

    assert result.code == 2
    assert "feeds.yaml:2: feed 'news': block" in result.stderr
    assert "holds '[ad', which is not a regular expression" in result.stderr
