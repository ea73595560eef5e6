"""Article -> the archive file's text: front matter, blank line, `<div>` body `</div>`, newline (docs/FORMAT.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from crawler.render import layout
from crawler.render.fixes import strip_junk
from crawler.render.frontmatter import front_matter


@dataclass(frozen=True)
class Article:
    """Everything the archive file says about one article, already chosen by precedence."""

    title: str
    categories: tuple[str, ...]
    author: str | None
    comments: bool
    date: datetime
    body: str
    image: str | None


def render(article: Article, mode: layout.Render = "hexo") -> str:
    """The complete archive file for `article`: front matter, blank line, `<div>` body `</div>`, newline; the body
    laid out for Markdown (`hexo`) or as the page has it (`verbatim`), by docs/FORMAT.md's "Layout of the body"."""
    head = front_matter(
        title=article.title,
        categories=article.categories,
        image=article.image,
        author=article.author,
        comments=article.comments,
        date=article.date,
    )
    # Control characters (NUL ...) have no place in a text file, and a lone surrogate cannot be written as UTF-8.
    # They go before the layout: a dropped carriage return could otherwise join two line breaks into a blank line.
    body = strip_junk(article.body)
    if mode == "hexo":
        body = layout.for_markdown(body)
    return head + "\n\n<div>" + body + "</div>\n"
