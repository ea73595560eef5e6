"""What class and id names say about a block: boilerplate (two tiers) or content, and Readability's weight."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypeAlias

from selectolax.lexbor import LexborNode

_Trie: TypeAlias = dict[str, "_Trie"]


def trie_pattern(words: str) -> str:
    """One regex alternation as a character trie: Python's re tries every branch of a flat alternation at
    every position, which made these class/id tests the hot spot of the whole extractor."""
    trie: _Trie = {}
    for word in words.split():
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}  # end of a word
    # Iterative post-order build (no recursion, per the house rule).
    built: dict[int, str] = {}
    stack: list[tuple[_Trie, bool]] = [(trie, False)]
    while stack:
        node, children_done = stack.pop()
        if not children_done:
            stack.append((node, True))
            stack.extend((child, False) for key, child in node.items() if key)
            continue
        branches = [re.escape(key) + built[id(child)] for key, child in sorted(node.items()) if key]
        optional = "" in node
        if not branches:
            built[id(node)] = ""
        elif len(branches) == 1 and not optional:
            built[id(node)] = branches[0]
        else:
            built[id(node)] = "(?:" + "|".join(branches) + ")" + ("?" if optional else "")
    return built[id(trie)]


@dataclass(frozen=True)
class NameTest:
    """Whether a lower-cased class/id string holds one of some words (a `trie_pattern`) or matches a token pattern.

    The two are kept apart because one regex alternation of both is tried at every position of the string, while
    the trie alone lets ``re`` skip to positions where a word can start; and the token pattern, the costlier scan,
    runs only on strings holding a substring without which it cannot match (``needs``). The answer is the one
    alternation's: `search` is true exactly where ``words|tokens`` finds a match.
    """

    words: re.Pattern[str]
    tokens: re.Pattern[str]
    needs: tuple[str, ...]

    def search(self, low: str) -> bool:
        if self.words.search(low) is not None:
            return True
        return any(part in low for part in self.needs) and self.tokens.search(low) is not None


# Class/id fragments of blocks that are almost never the article, in two tiers. Strict: Readability's
# list, removed whatever their size unless that would leave the page without prose. Widget: share bars,
# newsletter and cookie boxes, and the names Chinese portals use for QR codes and rankings; these names
# also occur on real content ("sharing-with-a-team" sections), so only small blocks go.
# Hints are lower-cased before matching.
_STRICT_RE = re.compile(
    trie_pattern(
        "-ad- ai2html banner breadcrumb combx comment community cover-wrap disqus extra footer "
        "gdpr header legends menu related remark replies rss shoutbox sidebar skyscraper social sponsor "
        "supplemental ad-break agegate pagination pager popup yom-remote"
    )
)
_WIDGET = NameTest(
    re.compile(
        trie_pattern(
            "adsbygoogle cookie consent newsletter subscribe signup share sharing toolbar qrcode qr-code _qr "
            "recommend hotnews hot-news breaking ranking paging copyright feedback login modal overlay tooltip "
            "masthead navbar topbar bottombar promo outbrain taboola zergnet byline dateline writtenby p-author "
            "author-info keywords statement disclaimer"
        )
    ),
    re.compile(r"(?:^|\s)(?:ads?|ad-\S*|tags?)(?:\s|$)|-ads?(?:\s|$)"),
    ("ad", "tag"),
)
_WIDGET_MAX_CHARS = 500
_MIN_PROSE_LEFT = 500
_HINT_BUDGET = 300  # size checks per page; nested hinted wrappers would make them quadratic
# Overrides for the list above: "article-header-comment" must not kill the article wrapper.
_MAYBE_RE = re.compile(
    trie_pattern("and article body column content main mathjax shadow entry post-text story"),
)
_POSITIVE_RE = re.compile(
    trie_pattern(
        "article body content entry hentry h-entry main page post text blog story detail artic zhengwen "
        "neirong endtext cont"
    )
)
_NEGATIVE = NameTest(
    re.compile(
        trie_pattern(
            "-ad- hidden banner combx comment com- contact footer gdpr masthead media meta outbrain promo "
            "related "
            "scroll share shoutbox sidebar skyscraper sponsor shopping tags widget recommend hotnews hot-news "
            "hot_news ranking navbar nav- -nav _nav qrcode qr-code qr_code "
            "copyright statement disclaimer"
        )
    ),
    re.compile(r"(?:^|\s)hid(?:\s|$)"),
    ("hid",),
)
# Everything preclean looks at, in one selector. Class/id hints are only tested on containers: a hint


_CACHE_LIMIT = 50_000
_weight_cache: dict[str, int] = {}
_unlikely_cache: dict[str, int] = {}


def _value_weight(value: str) -> int:
    weight = _weight_cache.get(value)
    if weight is None:
        low = value.lower()
        weight = (25 if _POSITIVE_RE.search(low) else 0) - (25 if _NEGATIVE.search(low) else 0)
        if len(_weight_cache) > _CACHE_LIMIT:
            _weight_cache.clear()
        _weight_cache[value] = weight
    return weight


def class_weight(node: LexborNode) -> int:
    attrs = node.attributes
    cls, ident = attrs.get("class"), attrs.get("id")
    return (_value_weight(cls) if cls else 0) + (_value_weight(ident) if ident else 0)


def unlikely(hint: str) -> int:
    """0: no verdict, 1: strict boilerplate name, 2: widget name (see _STRICT_RE / _WIDGET)."""
    verdict = _unlikely_cache.get(hint)
    if verdict is None:
        low = hint.lower()
        verdict = 0
        if not _MAYBE_RE.search(low):
            verdict = 1 if _STRICT_RE.search(low) else 2 if _WIDGET.search(low) else 0
        if len(_unlikely_cache) > _CACHE_LIMIT:
            _unlikely_cache.clear()
        _unlikely_cache[hint] = verdict
    return verdict
