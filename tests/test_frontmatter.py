"""The front matter cannot be broken: hostile titles, authors and categories read back exactly as docs/FORMAT.md
says."""

from __future__ import annotations

from datetime import UTC, datetime

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.render.archive_file import Article, render
from crawler.render.frontmatter import clean_value, http_date

HOSTILE_PIECES = [
    "'",
    '"',
    ": ",
    "#",
    " #",
    "---",
    "\n",
    "\r\n",
    "- ",
    "&",
    "*",
    "!",
    "|",
    ">",
    "%",
    "@",
    "`",
    "{{ }}",
    "{% x %}",
    "[",
    "]",
    "{",
    "}",
    ",",
    "?",
    "~",
    "null",
    "yes",
    "No",
    "true",
    "0x1F",
    "012",
    "1e3",
    ".inf",
    "<<",
    "=",
    "\t",
    "\x00",
    "\x07",
    "\x1b",
    "\x7f",
    "\x85",
    "\u2028",
    "\u2029",
    "\ufeff",
    "\ud800",
    "😀",
    "标题",
    "\u00a0",
]

hostile_text = st.lists(
    st.one_of(st.sampled_from(HOSTILE_PIECES), st.text(min_size=0, max_size=6)), min_size=0, max_size=12
).map("".join)


def _read_back(text: str) -> dict[str, object]:
    assert text.startswith("---\n")
    head, rest = text[4:].split("\n---\n\n", 1)
    assert rest.startswith("<div>") and rest.endswith("</div>\n")
    loaded = yaml.safe_load(head)
    assert isinstance(loaded, dict)
    return loaded


@settings(max_examples=300, deadline=None)
@given(title=hostile_text, author=hostile_text, categories=st.lists(hostile_text, max_size=4))
def test_hostile_values_read_back_folded_and_otherwise_unchanged(
    title: str, author: str, categories: list[str]
) -> None:
    article = Article(
        title=title,
        categories=tuple(categories),
        author=author,
        comments=False,
        date=datetime(2021, 8, 24, 7, 7, 13, tzinfo=UTC),
        body="<p>x</p>",
        image=None,
    )

    text = render(article)
    loaded = _read_back(text)

    assert loaded["title"] == clean_value(title)
    expected_author = clean_value(author)
    if expected_author:
        assert loaded["author"] == expected_author
    else:
        assert "author" not in loaded
    expected_categories = [clean_value(c) for c in categories if clean_value(c)]
    if expected_categories:
        assert loaded["categories"] == expected_categories
    else:
        assert "categories" not in loaded
    assert loaded["comments"] is False
    assert loaded["date"] == "Tue, 24 Aug 2021 07:07:13 GMT"
    # Front matter is exactly the lines we wrote: nothing spans a line or opens a second document.
    head = text.split("\n---\n\n", 1)[0]
    keys = [line.split(":", 1)[0] for line in head.splitlines()[1:] if not line.startswith(" - ")]
    assert keys == [k for k in ("title", "categories", "author", "comments", "date") if k in loaded]


def test_clean_value_folds_white_space_and_drops_control_characters() -> None:
    assert clean_value("  a\n\tb\r\n c\x00d\x1b\u2028e  ") == "a b cd e"


def test_plain_values_stay_plain_and_ambiguous_ones_are_quoted() -> None:
    article = Article(
        "t",
        ("金融", "yes", "a: b", "- x", "12", "新浪财经－国內"),
        "新浪财经",
        True,
        datetime(2021, 1, 1, tzinfo=UTC),
        "",
        None,
    )
    text = render(article)
    assert " - 金融\n" in text
    assert " - 'yes'\n" in text
    assert " - 'a: b'\n" in text
    assert " - '- x'\n" in text
    assert " - '12'\n" in text
    assert " - 新浪财经－国內\n" in text
    assert "author: 新浪财经\n" in text
    assert "comments: true\n" in text


def test_dates_are_rfc822_in_gmt_with_english_names() -> None:
    from zoneinfo import ZoneInfo

    moment = datetime(2021, 8, 24, 15, 7, 13, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert http_date(moment) == "Tue, 24 Aug 2021 07:07:13 GMT"
