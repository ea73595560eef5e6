"""Body HTML -> the same HTML laid out for Markdown renderers (docs/FORMAT.md, "Layout of the body", `render: hexo`).

Hexo, Jekyll and Hugo read a post as Markdown, where raw HTML stays HTML only until a blank line: after one, a line
indented by four spaces is a code block and the page's markup shows as escaped source. A body with no blank line
is one HTML block from its opening `<div>` to its end, whatever its lines hold, so the layout guarantees exactly
that, for any input:

- outside `<pre>`, `<listing>` and `<textarea>`, every run of white space that holds a line break becomes one line
  break (so no line is blank or indented);
- inside them the text is kept exactly: a line break that would leave a blank line is written as `&#10;`;
- comments and the page's `<style>` elements are dropped (a comment may hold blank lines, `<!-- more -->` cuts a
  Hexo post short, and a stranger's CSS would restyle the whole published page); so are `<noembed>` and
  `<noframes>`, whose text no browser shows;
- `<xmp>` and `<plaintext>`, whose raw text could not carry `&#10;`, become `<pre>` with their text escaped;
- a line break inside a tag (an attribute value) is written as `&#10;`;
- a line that would start a Markdown code fence (```` ``` ````, `~~~`) starts with a character reference instead, so
  Hexo's fenced-code filter, which runs before Markdown and ignores HTML, leaves it alone.

The input is the body as fixes.py serialises it (Lexbor): text holds no raw `<`, attribute values no raw `<` or
`>`. One regular-expression pass tokenises it: text and ordinary one-line tags are consumed inside each match (so
scanning never starts inside a tag, where an attribute name may hold `<!--`), and the Python callback runs once per
comment, preformatted element or tag across lines, folding the text before it with string methods.
"""

from __future__ import annotations

import html
import re
from typing import Literal

Render = Literal["hexo", "verbatim"]  # a feed's `render:`; "verbatim" keeps the page's own layout

_WS = "[ \\t\\n\\r\\f]"  # HTML white space
_NAME_END = "(?=[ \\t\\n\\r\\f/>])"
# Comments, and the elements dropped with their text (raw text: it ends at the first end tag of its name).
_DROPPED = (
    r"<!--.*?(?:-->|\Z)"
    rf"|<(?P<dropped>style|noembed|noframes){_NAME_END}[^>]*+>.*?(?:</(?P=dropped)\s*>|\Z)"
)
_TOKEN = re.compile(
    rf"""
    (?P<skip>(?:
        [^<]++                                                     # text and white space
      | <(?!(?:/?(?:pre|listing)|textarea|xmp|plaintext|style|noembed|noframes){_NAME_END})
        [A-Za-z/][^>\n\r]*+>                                       # an ordinary tag on one line
    )*+)
    (?:
        (?P<drop>(?:{_WS}*+(?:{_DROPPED}))++{_WS}*+)
      | (?P<raw><(?P<rawname>textarea|xmp|plaintext){_NAME_END}(?P<rawattrs>[^>]*+)>(?P<rawtext>.*?)
        (?:</(?P=rawname)\s*>|\Z))
      | (?P<open><(?:pre|listing){_NAME_END}[^>]*+>)(?P<lead>{_WS}*+)
      | (?P<close></(?:pre|listing)\s*>)
      | (?P<tag><[A-Za-z/][^>]*+>)                                 # a tag across lines
      | (?P<lt><)
      | \Z
    )
    """,
    # Case-sensitive: Lexbor writes HTML element names in lower case, and matching without case folding is
    # a third faster. (Any other spelling is laid out as an ordinary element: still no blank line.)
    re.VERBOSE | re.DOTALL,
)
_DROPPED_RE = re.compile(_DROPPED, re.DOTALL)
# A line break that would leave the line after it blank (white space only, to Markdown). Led by a literal, so the
# regular-expression engine can skip ahead to each line break instead of trying every position.
_BREAK_BEFORE_BLANK = re.compile(r"\n(?=[ \t\f]*\n)")
# Hexo's backtick_code_block filter: a fence at a line start (JavaScript's `^` with the m flag: after \n, \r,
# U+2028 or U+2029), after an optional list marker and any white space but a line break.
_FENCE = re.compile(r"([\n\r\u2028\u2029](?:[-*+]|[0-9]+\.)?(?:[^\S\n\r]|\ufeff)*)(`(?=``)|~(?=~~))")
_FENCE_ENTITY = {"`": "&#96;", "~": "&#126;"}


def for_markdown(body: str) -> str:
    """`body` laid out so a Markdown renderer keeps all of it as HTML: no blank line, no indented line outside
    preformatted text, no comment or `<style>`; what a browser shows of it is unchanged."""
    depth = 0  # how many <pre>/<listing> elements we are inside
    pre_start = False  # the last token was a <pre> start tag with nothing after it yet

    def replace(match: re.Match[str]) -> str:
        nonlocal depth, pre_start
        at_pre_start, pre_start = pre_start, False
        text = match.group("skip")
        drop = match.group("drop")
        if drop is not None:  # what was around and between the dropped parts joins the text before them
            text += _DROPPED_RE.sub("", drop)
        out = _preformatted(text, at_pre_start) if depth else _folded(text)
        if drop is not None:
            return out
        opening = match.group("open")
        if opening is not None:
            depth += 1
            lead = match.group("lead")
            pre_start = not lead
            return out + _one_line(opening) + _preformatted(lead, True)
        closing = match.group("close")
        if closing is not None:
            depth = max(0, depth - 1)
            return out + closing
        if match.group("raw") is not None:
            return out + _raw_element(match)
        tag = match.group("tag")
        if tag is not None:
            return out + _one_line(tag)
        return out + (match.group("lt") or "")

    laid_out = _TOKEN.sub(replace, body)
    if "```" in laid_out or "~~~" in laid_out:
        laid_out = _FENCE.sub(_fence_entity, laid_out)
    return laid_out


def _folded(text: str) -> str:
    """Text outside preformatted elements: each run of white space holding a line break becomes one line break (a
    line break is white space like any other there, so one is enough, and no line needs indenting)."""
    if "\r" in text:
        text = text.replace("\r", "\n")
    if "\n" not in text:
        return text
    lines = text.split("\n")
    inner = [line for line in (middle.strip(" \t\f") for middle in lines[1:-1]) if line]
    return "\n".join([lines[0].rstrip(" \t\f"), *inner, lines[-1].lstrip(" \t\f")])


def _preformatted(text: str, at_start: bool) -> str:
    """Preformatted text kept exactly, with no line left blank."""
    if "\r" in text:  # an HTML parser reads CR and CR LF as LF
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\n" not in text:
        return text
    if at_start and text[0] == "\n":
        # The parser drops a line break right after a <pre> start tag and Lexbor writes none back, so the page's
        # own leading line break needs one in front of it, and must itself be a reference to survive.
        return "\n&#10;" + _BREAK_BEFORE_BLANK.sub("&#10;", text[1:])
    return _BREAK_BEFORE_BLANK.sub("&#10;", text)


def _one_line(tag: str) -> str:
    # A line break can only be in an attribute value, where a character reference means the same.
    if "\n" not in tag and "\r" not in tag:
        return tag
    return tag.replace("\n", "&#10;").replace("\r", "&#13;")


def _raw_element(match: re.Match[str]) -> str:
    name = match.group("rawname").lower()
    attributes = _one_line(match.group("rawattrs"))
    text = match.group("rawtext")
    if name == "textarea":  # escaped text, like <pre>'s, and its leading line break is dropped the same way
        return f"<textarea{attributes}>{_preformatted(text, True)}</textarea>"
    # <xmp> and <plaintext> hold raw text, where `&#10;` would show as itself: the same text as an escaped <pre>.
    # (Their leading line break is not dropped, so as <pre> text it needs the same care as the page's own.) The
    # braces written as references for Hexo showed as such in raw text; in <pre> they can be braces again.
    text = html.escape(text.replace("&#123;", "{").replace("&#125;", "}"), quote=False)
    text = text.replace("{", "&#123;").replace("}", "&#125;")
    return f"<pre{attributes}>{_preformatted(text, True)}</pre>"


def _fence_entity(match: re.Match[str]) -> str:
    return match.group(1) + _FENCE_ENTITY[match.group(2)]
