"""feeds.yaml validation: every mistake is one line naming the file, the line and the feed."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.config.load import load_config, parse_config
from crawler.config.settings import ConfigError
from crawler.config.values import parse_duration, parse_size

GOLDEN_EXAMPLE = """archive: archive
feeds:
  - name: sina-finance-china
    url: http://127.0.0.1:8765/rss/finance_china.xml
    categories: [金融, 新浪财经, 新浪财经－国內]
    author: 新浪财经
    body: "#artibody"
"""


def _error(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, Path("/srv/feeds.yaml"))
    return str(caught.value)


def test_formats_golden_example_loads_as_written() -> None:
    config = parse_config(GOLDEN_EXAMPLE, Path("/srv/feeds.yaml"))
    feed = config.feeds[0]
    assert feed.name == "sina-finance-china"
    assert feed.categories == ("金融", "新浪财经", "新浪财经－国內")
    assert feed.author == "新浪财经"
    assert feed.body == "#artibody"
    assert (feed.content, feed.interval, feed.enabled, feed.comments, feed.timezone) == (
        "page",
        1800.0,
        True,
        False,
        "UTC",
    )
    assert config.archive == Path("/srv/archive")
    assert config.state == Path("/srv/.crawler/state.db")


def test_defaults_apply_to_every_feed_and_feeds_override_them() -> None:
    text = GOLDEN_EXAMPLE.replace("feeds:\n", "defaults:\n  interval: 10m\n  comments: true\nfeeds:\n")
    text += "  - name: other\n    url: https://example.org/feed\n    interval: 1h\n"
    config = parse_config(text, Path("/srv/feeds.yaml"))
    assert [f.interval for f in config.feeds] == [600.0, 3600.0]
    assert all(f.comments for f in config.feeds)


def test_bad_interval_names_file_line_and_feed() -> None:
    text = GOLDEN_EXAMPLE + "    interval: ten minutes\n"
    assert _error(text) == "feeds.yaml:8: feed 'sina-finance-china': interval 'ten minutes' is not a duration like 10m"


def test_unknown_key_names_the_key() -> None:
    message = _error(GOLDEN_EXAMPLE + "    colour: blue\n")
    assert message.startswith("feeds.yaml:8: feed 'sina-finance-china': unknown key 'colour'")


def test_duplicate_name_names_both_lines() -> None:
    text = GOLDEN_EXAMPLE + "  - name: sina-finance-china\n    url: https://example.org/feed\n"
    assert _error(text) == (
        "feeds.yaml:8: feed 'sina-finance-china': duplicate name 'sina-finance-china' (first used on line 3)"
    )


def test_bad_url_is_refused() -> None:
    text = GOLDEN_EXAMPLE.replace("http://127.0.0.1:8765/rss/finance_china.xml", "ftp://example.org/feed")
    assert _error(text) == "feeds.yaml:4: feed 'sina-finance-china': url 'ftp://example.org/feed' is not an http(s) URL"


def test_site_is_an_http_url_else_an_error_naming_file_line_and_feed() -> None:
    good = parse_config(GOLDEN_EXAMPLE + "    site: https://finance.sina.com.cn/\n", Path("/srv/feeds.yaml"))
    assert good.feeds[0].site == "https://finance.sina.com.cn/"
    assert parse_config(GOLDEN_EXAMPLE, Path("/srv/feeds.yaml")).feeds[0].site is None

    assert _error(GOLDEN_EXAMPLE + "    site: javascript:alert(1)\n") == (
        "feeds.yaml:8: feed 'sina-finance-china': site 'javascript:alert(1)' is not an http(s) URL"
    )
    assert _error(GOLDEN_EXAMPLE + "    site: finance.sina.com.cn\n") == (
        "feeds.yaml:8: feed 'sina-finance-china': site 'finance.sina.com.cn' is not an http(s) URL"
    )


def test_a_proxy_is_a_proxy_url_or_direct_else_an_error_naming_file_line_and_feed() -> None:
    for value in ("http://proxy:3128", "socks5://127.0.0.1:1080", "direct"):
        assert parse_config(GOLDEN_EXAMPLE + f"    proxy: {value}\n", Path("/srv/feeds.yaml")).feeds[0].proxy == value
    assert _error(GOLDEN_EXAMPLE + "    proxy: proxy.example:3128\n") == (
        "feeds.yaml:8: feed 'sina-finance-china': proxy 'proxy.example:3128' is not a proxy URL "
        "(http://, https:// or socks5://)"
    )
    assert "is not a proxy URL" in _error("http:\n  proxy: direct\n" + GOLDEN_EXAMPLE)  # `direct` is a feed's word


def test_bad_name_content_and_timezone_are_refused() -> None:
    assert "is not a name" in _error(GOLDEN_EXAMPLE.replace("sina-finance-china", "Sina Finance"))
    assert "content 'all' is not one of" in _error(GOLDEN_EXAMPLE + "    content: all\n")
    assert "is not an IANA time zone" in _error(GOLDEN_EXAMPLE + "    timezone: Mars/Base\n")


def test_bad_css_selectors_are_config_errors() -> None:
    assert _error(GOLDEN_EXAMPLE.replace('"#artibody"', '"#["')) == (
        "feeds.yaml:7: feed 'sina-finance-china': body '#[' is not a CSS selector"
    )
    assert "which is not a CSS selector" in _error(GOLDEN_EXAMPLE + "    remove: ['.ok', 'div >']\n")


def test_missing_url_and_unknown_top_level_key_are_reported() -> None:
    assert _error("feeds:\n  - name: a\n") == "feeds.yaml:2: feed 'a': missing key 'url'"
    assert _error("archives: x\nfeeds: []\n").startswith("feeds.yaml:1: unknown key 'archives'")
    assert _error("http:\n  timeout: soon\n") == "feeds.yaml:2: http.timeout 'soon' is not a duration like 10m"


def test_invalid_yaml_names_the_line() -> None:
    assert _error("feeds:\n  - name: a\n    url: [unclosed\n").startswith("feeds.yaml:4: invalid YAML")


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "feeds.yaml")


def test_durations_and_sizes() -> None:
    assert [parse_duration(v) for v in ("500ms", "10s", "10m", "1h", "1d", 5)] == [0.5, 10, 600, 3600, 86400, 5]
    assert [parse_size(v) for v in ("10MB", "512KB", "1MiB", 100)] == [10_000_000, 512_000, 1_048_576, 100]


def test_the_shipped_feeds_yaml_is_valid() -> None:
    config = load_config(Path(__file__).resolve().parent.parent / "feeds.yaml")
    assert any(feed.content == "feed" for feed in config.feeds)
    assert any(feed.body == "#artibody" and ".appendQr_wrap" in feed.remove for feed in config.feeds)


# A `!` anywhere (here in a comment) sends the file to the round-trip reader: the reference for the fast one.
_ROUND_TRIP = "\n# !\n"
_SPELLINGS = [
    "10m", "90", "1.5", "1.", ".5", "+.5", "1e3", "1_000", "010", "0o10", "0x1F", "1:30", "yes", "no", "on", "off",
    "y", "true", "True", "FALSE", "~", "null", "", "2021-01-01", ".inf", "-.inf", ".nan", "NaN", "'010'", '"yes"',
    "0", "-0", "+5", "[a, b]", "{a: b}", "1.5e+3", "0b101",
]  # fmt: skip


@pytest.mark.parametrize(
    "key", ["interval", "enabled", "categories", "title", "site", "headers", "timezone", "content"]
)
@pytest.mark.parametrize("value", _SPELLINGS)
def test_fast_reading_gives_the_round_trip_result_or_error(key: str, value: str) -> None:
    text = f"feeds:\n  - name: a\n    url: https://example.com/feed\n    {key}: {value}\n"
    outcomes = []
    for variant in (text, text + _ROUND_TRIP):
        try:
            outcomes.append(parse_config(variant, Path("feeds.yaml")))
        except ConfigError as exc:
            outcomes.append(str(exc))
    assert outcomes[0] == outcomes[1]


def test_fast_reading_keeps_duplicate_keys_an_error_with_its_line() -> None:
    text = "feeds:\n  - name: a\n    url: https://example.com/a\n    url: https://example.com/b\n"
    with pytest.raises(ConfigError, match=r"feeds.yaml:4: invalid YAML"):
        parse_config(text, Path("feeds.yaml"))


def test_an_empty_feeds_key_is_an_empty_list() -> None:
    assert parse_config("archive: archive\nfeeds:\n", Path("/srv/feeds.yaml")).feeds == ()


def test_workers_is_auto_or_a_process_count() -> None:
    assert parse_config(GOLDEN_EXAMPLE, Path("feeds.yaml")).workers == "auto"
    assert parse_config("workers: 0\n" + GOLDEN_EXAMPLE, Path("feeds.yaml")).workers == 0
    assert parse_config("workers: 4\n" + GOLDEN_EXAMPLE, Path("feeds.yaml")).workers == 4
    for bad in ("-1", "lots", "2.5", "65", "true"):
        assert _error(f"workers: {bad}\n" + GOLDEN_EXAMPLE) == (
            f"feeds.yaml:1: workers '{'True' if bad == 'true' else bad}' is not 'auto' or a number of worker "
            "processes from 0 to 64"
        )


def test_render_is_hexo_by_default_verbatim_by_choice_and_anything_else_names_the_line() -> None:
    assert parse_config(GOLDEN_EXAMPLE, Path("/srv/feeds.yaml")).feeds[0].render == "hexo"
    verbatim = parse_config(GOLDEN_EXAMPLE + "    render: verbatim\n", Path("/srv/feeds.yaml"))
    assert verbatim.feeds[0].render == "verbatim"
    by_default = parse_config("defaults:\n  render: verbatim\n" + GOLDEN_EXAMPLE, Path("/srv/feeds.yaml"))
    assert by_default.feeds[0].render == "verbatim"

    error = _error(GOLDEN_EXAMPLE + "    render: markdown\n")

    assert error.startswith("feeds.yaml:8: feed 'sina-finance-china': render 'markdown' is not one of")
    assert "'hexo'" in error and "'verbatim'" in error
    assert _error("defaults:\n  render: raw\n" + GOLDEN_EXAMPLE).startswith("feeds.yaml:2: ")
