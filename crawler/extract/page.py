"""Page -> body and metadata: the feed's CSS selector, else a built-in site rule, else automatic extraction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from selectolax.lexbor import LexborHTMLParser, LexborNode, SelectolaxError

from crawler import sanitize
from crawler.errors import CrawlerError
from crawler.extract.auto import FeedHint, largest_prose, main_html, main_nodes
from crawler.extract.metadata import PageMeta, page_metadata
from crawler.extract.sites import rule_for
from crawler.render import fixes, parse_limits


@dataclass(frozen=True)
class Extracted:
    """An article page reduced to what the archive keeps: the fixed body and what the page says of itself."""

    body: str
    first_image: str | None
    text: str
    meta: PageMeta
    method: str  # "selector", "site-rule" or "automatic": which way the body was found
    # The feed's `body:` selector when it matched nothing on this page (a site redesign shows this way): the body
    # came from a site rule or automatic extraction instead, and the operator must be told.
    selector_missed: str | None = None


class ExtractError(CrawlerError):
    """No article body could be found on the page; `selector_missed` is the `body:` selector that matched nothing,
    if one was given."""

    def __init__(self, message: str, selector_missed: str | None = None) -> None:
        super().__init__(message)
        self.selector_missed = selector_missed


def extract_page(
    html: str, url: str, body: str | None = None, remove: Sequence[str] = (), hint: FeedHint | None = None
) -> Extracted:
    """Extract the article at `url` from its decoded HTML; raise ExtractError when no body is found. `hint`, the
    feed item's title and teaser, guides automatic extraction.

    The page is parsed once: metadata reads the tree before anything changes it, then the body is found in the
    same tree (by selector, site rule or automatic extraction) and finished in place there."""
    problem = parse_limits.markup_problem(html)
    if problem is not None:  # parsing it could take minutes
        raise ExtractError(f"refused: the page {problem}")
    tree = LexborHTMLParser(html)
    meta = page_metadata(tree, url)
    missed: str | None = None
    if body:
        node = _select(tree, (body,), remove)
        if node is not None:
            return _finish([node], url, meta, "selector")
        missed = body
    rule = rule_for(url)
    if rule is not None:
        node = _select(tree, rule.body, (*rule.remove, *remove))
        if node is not None:
            return replace(_finish([node], url, meta, "site-rule"), selector_missed=missed)
    # Automatic extraction rewrites the tree it is given. Nothing has changed this one yet (metadata only reads it;
    # a selector that matched would have returned above) and nothing reads it after, so it needs no second parse.
    nodes = main_nodes(tree, url, hint)
    if nodes and _has_content(nodes):
        return replace(_finish(_without(nodes, remove), url, meta, "automatic"), selector_missed=missed)
    # Nothing looked like an article. On this path only (the pages that would otherwise fail), the page is parsed
    # again, since extraction rewrote the tree, for its largest block of clear prose.
    main = largest_prose(LexborHTMLParser(html))
    if main is None or not main.strip():
        if missed is not None:
            raise ExtractError(
                f"body selector {missed!r} matched nothing, and no article body was found automatically", missed
            )
        raise ExtractError("no article body found on the page")
    fixed = fixes.fix_body(_remove_inside(main, remove), url)
    return Extracted(
        body=fixed.html,
        first_image=fixed.first_image,
        text=fixes.body_text(fixed.html),
        meta=meta,
        method="automatic",
        selector_missed=missed,
    )


def _select(tree: LexborHTMLParser, selectors: Sequence[str], remove: Sequence[str]) -> LexborNode | None:
    for selector in selectors:
        try:
            node = tree.css_first(selector)
        except SelectolaxError:
            node = None
        if node is not None:
            return _drop(node, remove)
    return None


def _has_content(nodes: list[LexborNode]) -> bool:
    """Whether the HTML `nodes` stand for holds anything but white space (see `main_html`)."""
    if len(nodes) > 1:
        return True
    children = nodes[0].iter(include_text=True)
    return any(child.tag != "-text" or (child.text_content or "").strip() for child in children)


def _without(nodes: list[LexborNode], remove: Sequence[str]) -> list[LexborNode]:
    """The body's nodes with the feed's `remove:` matches gone: inside them, or (when there are several, each
    standing for itself) a whole node."""
    if not remove:
        return nodes
    if len(nodes) > 1:
        nodes = [node for node in nodes if not any(_matches(node, unwanted) for unwanted in remove)]
    return [_drop(node, remove) for node in nodes]


def _matches(node: LexborNode, selector: str) -> bool:
    try:
        return any(match.mem_id == node.mem_id for match in node.css(selector))
    except SelectolaxError:
        return False


def _remove_inside(fragment: str, remove: Sequence[str]) -> str:
    if not remove:
        return fragment
    wrapper = LexborHTMLParser(f"<div id=crawler-remove-root>{fragment}</div>").css_first("#crawler-remove-root")
    if wrapper is None:
        return fragment
    return _drop(wrapper, remove).inner_html or ""


def _drop(node: LexborNode, remove: Sequence[str]) -> LexborNode:
    """`node` with every element inside it that a `remove` selector matches decomposed (never `node` itself:
    Lexbor's css() includes it, and freeing it would leave the handle dangling)."""
    root = node.mem_id
    for unwanted in remove:
        try:
            matches = node.css(unwanted)
        except SelectolaxError:
            continue
        for match in reversed(matches):  # descendants before their ancestors: no handle into a freed subtree
            if match.mem_id != root:
                match.decompose()
    return node


def _body_html(nodes: list[LexborNode]) -> str:
    """`main_html`, sanitised nodes in: where several nodes stand for their outer HTML, one whose own element is
    not allowed in a body (a custom element, a `<form>`: the sanitiser keeps a subtree's root) gives its inner HTML."""
    if len(nodes) == 1 or all(sanitize.element_allowed(node.tag or "") for node in nodes):
        return main_html(nodes)
    return "".join((node.html if sanitize.element_allowed(node.tag or "") else node.inner_html) or "" for node in nodes)


def _finish(nodes: list[LexborNode], url: str, meta: PageMeta, method: str) -> Extracted:
    """The body from its nodes, fixed in place in the page's tree (docs/FORMAT.md's body fixes): one node stands
    for its inner HTML, several for their outer HTML in order (see `main_html`)."""
    first_image: str | None = None
    for node in nodes:
        image = fixes.fix_node(node, url)
        first_image = first_image or image
    html = fixes.brace_escape(_body_html(nodes))
    if fixes.has_junk(html):
        # Sanitised with its control characters in, it is sanitised again without them (see `strip_junk`), and its
        # text read from what is kept.
        fixed = fixes.fix_body(html, url)
        return Extracted(
            body=fixed.html,
            first_image=fixed.first_image or first_image,
            text=fixes.body_text(fixed.html),
            meta=meta,
            method=method,
        )
    for node in nodes:
        # Removals leave text nodes side by side that a parse of the body would read as one ("2014" "." is
        # "2014."): merged, the text is the body's as any reader of the file gets it.
        node.merge_text_nodes()
    text = " ".join(node.text(separator=" ") or "" for node in nodes)
    return Extracted(body=html, first_image=first_image, text=" ".join(text.split()), meta=meta, method=method)
