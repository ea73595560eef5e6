"""`crawler feeds set NAME KEY VALUE` and `crawler feeds unset NAME KEY`: any per-feed key changed in place, every
other byte and comment kept, an edit that would make the file invalid refused with the file untouched."""

from __future__ import annotations

from tests.conftest import Workdir

BEFORE = """\
# my feeds
feeds:
  # Harbour Times, moved in 2024
  - name: harbour
    url: https://old.example/feed.xml   # the old address
    interval: 30m  # half an hour
    categories:
      - news
      - world
    # the site's article body
    body: "#story"
    enabled: true

  - name: other
    url: https://other.example/feed.xml
"""

AFTER = """\
# my feeds
feeds:
  # Harbour Times, moved in 2024
  - name: harbour
    url: https://new.example/rss        # the old address
    interval: 10m  # half an hour
    categories: [news, 本地]
    enabled: true
    timezone: Asia/Shanghai
    remove: ['#ads', .share]

  - name: other
    url: https://other.example/feed.xml
"""


def _one_line_error(result: object) -> str:
    code, stderr = result.code, result.stderr  # type: ignore[attr-defined]
    assert code == 2
    (line,) = stderr.strip().splitlines()
    assert line.startswith("crawler: ")
    return str(line)


def test_set_and_unset_edit_one_key_and_keep_every_comment(work: Workdir) -> None:
    work.write_config(BEFORE)

    for args in (
        ("set", "harbour", "url", "https://new.example/rss"),
        ("set", "harbour", "interval", "10m"),
        ("set", "harbour", "categories", "[news, 本地]"),
        ("unset", "harbour", "body"),
        ("set", "harbour", "timezone", "Asia/Shanghai"),
        ("set", "harbour", "remove", "['#ads', .share]"),
    ):
        result = work.run("feeds", *args)
        assert result.code == 0, (args, result.stderr)

    assert work.config.read_text(encoding="utf-8") == AFTER
    listed = work.run("feeds", "list", "--json").json()
    harbour = listed[0]  # type: ignore[index]
    assert harbour["url"] == "https://new.example/rss"
    assert harbour["interval"] == 600
    assert harbour["categories"] == ["news", "本地"]
    assert work.run("check").code == 0


def test_a_value_yaml_would_read_as_a_comment_is_kept_as_typed(work: Workdir) -> None:
    work.write_config(BEFORE)

    result = work.run("feeds", "set", "other", "body", "#main")

    assert result.code == 0, result.stderr
    assert work.config.read_text(encoding="utf-8") == BEFORE + "    body: '#main'\n"


def test_an_edit_that_makes_the_file_invalid_is_refused(work: Workdir) -> None:
    work.write_config(BEFORE)

    bad_interval = _one_line_error(work.run("feeds", "set", "harbour", "interval", "ten minutes"))
    bad_url = _one_line_error(work.run("feeds", "set", "harbour", "url", "ftp://x.example/"))
    no_url = _one_line_error(work.run("feeds", "unset", "harbour", "url"))
    no_feed = _one_line_error(work.run("feeds", "set", "nope", "interval", "1h"))
    taken = _one_line_error(work.run("feeds", "set", "harbour", "url", "HTTPS://other.example/feed.xml#x"))

    assert "feeds.yaml:6: feed 'harbour': interval 'ten minutes' is not a duration like 10m" in bad_interval
    assert "url 'ftp://x.example/' is not an http(s) URL" in bad_url
    assert "missing key 'url'" in no_url
    assert "no feed named 'nope'" in no_feed
    assert taken == "crawler: feeds.yaml:14: HTTPS://other.example/feed.xml#x is already the URL of feed 'other'"
    assert work.config.read_text(encoding="utf-8") == BEFORE


def test_an_unknown_key_is_refused_with_the_key_meant(work: Workdir) -> None:
    work.write_config(BEFORE)

    typo = _one_line_error(work.run("feeds", "set", "harbour", "intervall", "1h"))
    rename = _one_line_error(work.run("feeds", "set", "harbour", "name", "port"))

    assert typo.startswith("crawler: feeds.yaml: feed 'harbour': unknown key 'intervall' (did you mean 'interval'?")
    assert "its name cannot be changed" in rename
    assert work.config.read_text(encoding="utf-8") == BEFORE


def test_unset_of_a_missing_key_leaves_the_file_alone(work: Workdir) -> None:
    work.write_config(BEFORE)

    result = work.run("feeds", "unset", "other", "body")

    assert result.code == 0, result.stderr
    assert result.stdout.strip() == "feeds.yaml: feed 'other': no body to remove; file unchanged"
    assert work.config.read_text(encoding="utf-8") == BEFORE
