"""The compact reading of a large feeds.yaml: libyaml's events built straight into values must give what the
round-trip reading gives (or give up), and the compacted FeedConfigs must be the validated ones, only smaller."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path
from typing import Any

import pytest

from crawler.config.load import parse_config
from crawler.config.settings import FeedConfig, FeedShapes
from crawler.config.yamlread import read_yaml, read_yaml_fast


def _plain(value: Any) -> Any:
    # ruamel's CommentedMap and CommentedSeq, as the plain dicts and lists the fast reading gives
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


AGREEING = [
    "archive: a\nfeeds:\n  - name: n\n    url: http://x.example/f\n    interval: 10m\n",
    "a: 1\nb: [x, ~, true, 1.5, \"2\", -3, '']\nc:\n",
    "defaults: &d {interval: 1h, headers: {X-A: b}}\nother: *d\n",
    "feeds:\n  - {name: a, url: 'http://x/'}\n  - name: b\n    categories: [金融, news]\n",
    "a: |\n  two\n  lines\nb: >\n  folded\n",
]
DOUBTFUL = [
    "a: 1\na: 2\n",  # duplicate key: the round trip refuses it, libyaml keeps the last
    "~: 1\nnull: 2\n",  # one key spelt twice
    "a: 1e5\n",  # a number in YAML 1.2, a string in 1.1
    "a: 2001-01-01\n",  # a timestamp in 1.1
    "a: yes\n",  # a bool in 1.1
    "? [a]\n: 1\n",  # a key no dict can hold
    "a: 1\n---\nb: 2\n",  # two documents
    "= : 1\n",  # the value key
    "a: *nowhere\n",  # an alias of no anchor
    "a: [\n",  # broken
]


@pytest.mark.parametrize("text", AGREEING)
def test_fast_reading_gives_what_the_round_trip_gives(text: str) -> None:
    fast = read_yaml_fast(text)

    assert fast is not None
    assert fast == _plain(read_yaml(text, "feeds.yaml"))


@pytest.mark.parametrize("text", DOUBTFUL)
def test_fast_reading_gives_up_where_it_could_differ(text: str) -> None:
    assert read_yaml_fast(text) is None


def test_an_aliased_mapping_is_one_value_as_in_pyyaml() -> None:
    data = read_yaml_fast("a: &x {k: v}\nb: *x\n")

    assert isinstance(data, dict)
    assert data["a"] is data["b"]


def test_compacted_feeds_equal_the_validated_ones_and_share_their_keys() -> None:
    raws: list[dict[str, Any]] = [
        {"name": "a", "url": "http://a.example/f", "headers": {"X-A": "b"}, "interval": "1h"},
        {"name": "b", "url": "http://b.example/f"},
        {"name": "c", "url": "http://c.example/f"},
    ]
    shapes = FeedShapes()
    for raw in raws:
        validated = FeedConfig.model_validate(raw)
        compact = shapes.compact(validated)
        assert compact == validated
        assert compact.model_dump() == validated.model_dump()
        assert compact.model_fields_set == set(raw)
        assert repr(compact) == repr(validated)
        assert pickle.loads(pickle.dumps(compact)) == validated
        assert sys.getsizeof(compact.__dict__) < sys.getsizeof(validated.__dict__) // 2  # the keys are shared
    with pytest.raises(Exception, match="frozen"):
        compact.name = "d"  # type: ignore[misc]


def test_a_large_file_reads_into_compact_feeds() -> None:
    text = "feeds:\n" + "".join(f"  - name: f{n}\n    url: http://h{n}.example/f\n" for n in range(50))
    config = parse_config(text, Path("feeds.yaml"))

    assert [feed.name for feed in config.feeds] == [f"f{n}" for n in range(50)]
    assert config.feeds[0].model_fields_set is config.feeds[49].model_fields_set
    assert sys.getsizeof(config.feeds[0].__dict__) < 400
