"""`crawler fetch --json` prints its document one feed at a time: the text must be json.dumps(indent=2)'s."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest

from crawler.cli.fetch import show_json
from crawler.pipeline.results import FeedResult


def _whole(results: list[FeedResult]) -> str:
    feeds = []
    for result in results:
        data = asdict(result)
        del data["timing"]
        data["ok"] = result.ok
        feeds.append(data)
    return json.dumps({"ok": all(r.ok for r in results), "feeds": feeds}, ensure_ascii=False, indent=2) + "\n"


@pytest.mark.parametrize("count", [0, 1, 3])
def test_the_streamed_document_is_the_whole_one(count: int, capsys: pytest.CaptureFixture[str]) -> None:
    results = [
        FeedResult(
            feed=f"f{n}", url="http://x.example/", new=n, errors=('bad "x"\nline',) if n == 1 else (), notes=("金融",)
        )
        for n in range(count)
    ]

    show_json(results)

    out = capsys.readouterr().out
    assert out == _whole(results)
    assert json.loads(out)["ok"] is (count < 2)
