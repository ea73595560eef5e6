"""`crawler init [DIR]`: a commented feeds.yaml that names every key with its default, and an archive folder, so
the first `crawler feeds add` or `crawler feeds import` works in an empty folder."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from crawler.config.load import parse_config
from crawler.config.settings import FileSettings, HttpConfig, PolitenessConfig
from crawler.config.starter import TEMPLATE
from tests.conftest import FIXTURES, Workdir

FEEDLY = FIXTURES / "opml" / "feedly-export.opml"
_COMMENTED_KEY = re.compile(r"# ( *[a-z0-9_]+:.*)\Z")


def _uncommented_settings(template: str) -> str:
    """The template with every commented-out setting (above the example feed) made live."""
    settings, example = template.split("# Each feed:", 1)
    lines = [_COMMENTED_KEY.sub(r"\1", line) for line in settings.splitlines()]
    return "\n".join(lines) + "\n# Each feed:" + example


def _uncommented_example(template: str) -> str:
    settings, example = template.split("# Each feed:", 1)
    feed = [line[2:] for line in example.splitlines() if line.startswith("#   ") or line.startswith("#     ")]
    return settings + "feeds:\n" + "\n".join(feed) + "\n"


def test_add_in_an_empty_folder_points_at_init(work: Workdir) -> None:
    added = work.run("feeds", "add", "news", "https://example.com/feed.xml", "--no-probe")
    imported = work.run("feeds", "import", str(FEEDLY))

    for result in (added, imported):
        assert result.code == 2
        assert result.stderr.strip().splitlines() == [
            "crawler: feeds.yaml: no such file here: run `crawler init` first (or pass --config PATH)"
        ]
    assert not work.config.exists()


def test_init_makes_a_valid_config_and_archive_that_add_and_import_then_use(work: Workdir) -> None:
    made = work.run("init")

    assert made.code == 0, made.stderr
    assert work.config.read_text(encoding="utf-8") == TEMPLATE
    assert work.archive.is_dir()
    # Loadable (not a config error, exit 2), but a file with no feeds would fetch nothing: check says what to do.
    empty = work.run("check")
    assert (empty.code, empty.stdout) == (1, "")
    assert "no feeds: nothing to fetch (add one with `crawler feeds add NAME URL`)" in empty.stderr
    added = work.run("feeds", "add", "news", "https://example.com/feed.xml", "--no-probe")
    assert added.code == 0, added.stderr
    imported = work.run("feeds", "import", str(FEEDLY))
    assert imported.code == 0, imported.stderr
    checked = work.run("check")
    assert checked.code == 0, checked.stderr
    text = work.config.read_text(encoding="utf-8")
    assert text.startswith(TEMPLATE.removesuffix("feeds: []\n"))  # every comment kept
    assert "  - name: news\n    url: https://example.com/feed.xml\n" in text


def test_init_dir_creates_the_folder(work: Workdir) -> None:
    made = work.run("init", "site/crawl")

    assert made.code == 0, made.stderr
    assert (work.path / "site" / "crawl" / "feeds.yaml").is_file()
    assert (work.path / "site" / "crawl" / "archive").is_dir()
    checked = work.run("check", "--config", "site/crawl/feeds.yaml")
    assert checked.code == 1 and "site/crawl/feeds.yaml: no feeds: nothing to fetch" in checked.stderr


def test_init_never_overwrites_feeds_yaml(work: Workdir) -> None:
    work.write_config("feeds: []  # mine\n")

    again = work.run("init")

    assert again.code == 2
    assert again.stderr.strip().splitlines() == [
        "crawler: feeds.yaml: already exists; not overwritten (edit it, or remove it first)"
    ]
    assert work.config.read_text(encoding="utf-8") == "feeds: []  # mine\n"


def test_template_names_every_top_level_key_with_its_default() -> None:
    live = _uncommented_settings(TEMPLATE)

    data = yaml.safe_load(live)
    assert set(data) == set(FileSettings.model_fields)
    assert set(data["http"]) == set(HttpConfig.model_fields)
    assert set(data["politeness"]) == set(PolitenessConfig.model_fields)
    defaults = parse_config("{}", Path("feeds.yaml"))
    assert parse_config(live, Path("feeds.yaml")) == defaults


def test_template_example_feed_is_valid_once_uncommented() -> None:
    config = parse_config(_uncommented_example(TEMPLATE), Path("feeds.yaml"))

    assert [feed.name for feed in config.feeds] == ["example"]
    assert config.feeds[0].body == "#article"
    assert config.feeds[0].categories == ("news", "world")
