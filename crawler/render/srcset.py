"""A `srcset` attribute's candidates (`url 640w, url 2x`), read as the HTML standard's parser reads them: a URL is
a run of non-space characters, commas at its end part it from the next candidate, and a descriptor runs to the next
comma outside parentheses. So `a.jpg 1x,b.jpg 2x` is two candidates and `i.jpg?w=1,2 1x` one; splitting at `, `
would read the first as one and drop nothing from the second only by luck.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_SPACE = " \t\n\f\r"
# A URL: a run of non-space characters after the white space and commas that part candidates.
_URL = re.compile(r"[^ \t\n\f\r,][^ \t\n\f\r]*")


def candidates(value: str) -> list[tuple[str, str]]:
    """The (URL, descriptor) pairs of a `srcset` value, in order; a descriptor's white space folded to one space."""
    if "(" in value:
        return full_candidates(value)  # a descriptor may hold a comma inside parentheses
    # Without parentheses a descriptor runs to the next comma: the standard's reading, each run found in C (a test
    # holds this to `full_candidates`).
    found: list[tuple[str, str]] = []
    pos = 0
    while (match := _URL.search(value, pos)) is not None:  # past white space and commas
        url, pos = match.group(), match.end()
        if url.endswith(","):
            found.append((url.rstrip(","), ""))
            continue
        comma = value.find(",", pos)
        descriptor_end = len(value) if comma < 0 else comma
        found.append((url, " ".join(value[pos:descriptor_end].split())))
        pos = descriptor_end
    return found


def full_candidates(value: str) -> list[tuple[str, str]]:
    """`candidates` read character by character, parentheses counted."""
    found: list[tuple[str, str]] = []
    pos, end = 0, len(value)
    while True:
        while pos < end and (value[pos] in _SPACE or value[pos] == ","):
            pos += 1
        if pos >= end:
            return found
        start = pos
        while pos < end and value[pos] not in _SPACE:
            pos += 1
        url = value[start:pos]
        if url.endswith(","):
            found.append((url.rstrip(","), ""))
            continue
        start, depth = pos, 0
        while pos < end and (value[pos] != "," or depth):
            depth += value[pos] == "("
            depth -= value[pos] == ")" and depth > 0
            pos += 1
        found.append((url, " ".join(value[start:pos].split())))


def write(pairs: list[tuple[str, str]]) -> str:
    """A `srcset` value of (URL, descriptor) pairs, in the form crawler.render writes: `url desc, url desc`."""
    return ", ".join(f"{url} {descriptor}" if descriptor else url for url, descriptor in pairs)


def map_urls(value: str, change: Callable[[str], str]) -> str:
    """`value` with each candidate's URL passed through `change`; `value` itself when no URL changes."""
    pairs = candidates(value)
    changed = [(change(url), descriptor) for url, descriptor in pairs]
    return value if changed == pairs else write(changed)
