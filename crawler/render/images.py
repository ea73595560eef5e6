"""The images of an archive file (`images: keep`): which remote images it shows (the body's `<img>` `src` and
`srcset`, a `<picture>`'s `<source>` `srcset`, the front matter's `headimg`/`thumbnail`), and the same file pointing
at local copies. Pure text in, text out, over the file as crawler.render writes it: attribute values double-quoted,
front matter one key a line.

A rewritten `<img>` keeps where it came from: `data-original-src` (and `data-original-srcset`), so the remote
address is never lost and a later poll can try an image that could not be had again (it still has its remote URL).
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping

import yaml

from crawler.render import srcset
from crawler.render.frontmatter import quoted

# A `<source>` counts for its `srcset` only (a `<picture>`'s choices); its `src` is a `<video>`'s or `<audio>`'s.
_IMG = re.compile(r"<img\b[^>]*>|<source\b[^>]*\bsrcset=[^>]*>", re.IGNORECASE)
_ATTR = re.compile(r'(?<=\s)(src|srcset)="([^"]*)"', re.IGNORECASE)
_IMAGE_KEYS = ("headimg: ", "thumbnail: ")
_HEAD_END = "\n---\n"


def image_urls(text: str, local_prefix: str) -> list[str]:
    """The remote (http/https) image URLs of an archive file, each once, in order of appearance; those already
    pointing under `local_prefix` are not remote."""
    head, body = _split(text)
    found: dict[str, None] = {}
    for line in head.splitlines():
        url = _front_value(line)
        if url is not None:
            found[url] = None
    for tag in _IMG.findall(body):
        for name, value in _ATTR.findall(tag):
            for url in _urls_in(tag, name.lower(), html.unescape(value)):
                found[url] = None
    return [url for url in found if url.startswith(("http://", "https://")) and not url.startswith(local_prefix)]


def point_at(text: str, local: Mapping[str, str]) -> str:
    """The file with every image URL in `local` replaced by its local address (the original kept on the element)."""
    if not local:
        return text
    head, body = _split(text)
    lines = []
    for line in head.splitlines(keepends=True):
        url = _front_value(line)
        if url is not None and url in local:
            key = line.split(":", 1)[0]
            line = f"{key}: {quoted(local[url])}" + ("\n" if line.endswith("\n") else "")
        lines.append(line)
    new_body = _IMG.sub(lambda match: _rewrite_tag(match.group(0), local), body)
    return "".join(lines) + (_HEAD_END if head else "") + new_body if head else new_body


def _rewrite_tag(tag: str, local: Mapping[str, str]) -> str:
    originals: list[str] = []

    def attr(match: re.Match[str]) -> str:
        name, raw = match.group(1).lower(), match.group(2)
        value = html.unescape(raw)
        if name == "src":
            if value not in local or _is_source(tag):
                return match.group(0)
            if "data-original-src=" not in tag.lower():
                originals.append(f'data-original-src="{html.escape(value)}"')
            return f'{match.group(1)}="{html.escape(local[value])}"'
        rewritten = srcset.map_urls(value, lambda url: local.get(url, url))
        if rewritten == value:
            return match.group(0)
        if "data-original-srcset=" not in tag.lower():
            originals.append(f'data-original-srcset="{html.escape(value)}"')
        return f'{match.group(1)}="{html.escape(rewritten)}"'

    new = _ATTR.sub(attr, tag)
    if not originals:
        return new
    end = len(new) - (2 if new.endswith("/>") else 1)
    return new[:end].rstrip() + " " + " ".join(originals) + new[end:]


def _is_source(tag: str) -> bool:
    return tag[1:7].lower() == "source"


def _urls_in(tag: str, name: str, value: str) -> list[str]:
    if name == "src":
        return [] if _is_source(tag) else [value.strip()]
    return [url for url, _ in srcset.candidates(value)]


def _split(text: str) -> tuple[str, str]:
    """(front matter without its closing line, body) of an archive file; ("", text) with no front matter."""
    if not text.startswith("---\n"):
        return "", text
    head, sep, body = text.partition(_HEAD_END)
    return (head, body) if sep else ("", text)


def _front_value(line: str) -> str | None:
    if not line.startswith(_IMAGE_KEYS):
        return None
    try:
        value = yaml.safe_load(line.split(":", 1)[1])
    except yaml.YAMLError:
        return None
    return value if isinstance(value, str) else None
