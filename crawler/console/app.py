"""The console's routes: a request's path and query -> a `Response`, read from a store of its own (opened read-only)
and the archive's files. Runs on the console's own event loop (server.py), never the daemon's: a slow page waits on
its own store connection and thread, so it cannot hold up a poll; under `crawler run --http` in a process of its own
too (process.py), so that its Python work never holds the daemon's interpreter lock."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any
from urllib.parse import unquote

import yaml

from crawler.config.settings import Config
from crawler.console import data, pages
from crawler.store.base import Store, StoreError
from crawler.store.history import HISTORY_DAYS, ArticleHit, ArticleQuery, day_of

log = logging.getLogger("crawler.console")

PAGE_SIZE = 50
FEED_POLLS_SHOWN = 200
FEED_ARTICLES_SHOWN = 20
HTML = "text/html; charset=utf-8"
_BODY_START = "\n---\n\n<div>"
_BODY_END = "</div>\n"


@dataclass(frozen=True)
class Response:
    """What the server sends back."""

    status: int
    content_type: str
    body: bytes
    article: bool = False  # an archived body is on it: the policy lets its images load (and still no script)


def html(status: int, text: str, *, article: bool = False) -> Response:
    """An HTML response."""
    return Response(status, HTML, text.encode("utf-8"), article)


class Console:
    """The pages over one store and the config's archive; `config` gives the config in force (the daemon's changes
    on reload)."""

    def __init__(self, store: Store, config: Callable[[], Config], clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._config = config
        self._clock = clock

    async def handle(self, path: str, query: Mapping[str, str]) -> Response:
        """Answer one GET; a failing state database answers 503 with its message."""
        try:
            return await self._route(path, query)
        except StoreError as exc:
            return html(503, pages.message_page("The state database is failing", str(exc)))

    async def _route(self, path: str, query: Mapping[str, str]) -> Response:
        if path == "/":
            return await self.dashboard(query)
        if path == "/articles":
            return await self.articles(query)
        if path.startswith("/feeds/"):
            return await self.feed(unquote(path[len("/feeds/") :]))
        if path.startswith("/articles/"):
            rest = unquote(path[len("/articles/") :])
            if rest.endswith("/file"):
                return await self.article_file(rest[: -len("/file")])
            return await self.article(rest)
        if path.startswith("/static/"):
            return static(path[len("/static/") :])
        return not_found("There is no such page.")

    async def dashboard(self, query: Mapping[str, str]) -> Response:
        """/: the plots and every feed in one table, arranged as the query asks."""
        now = self._clock()
        view = data.TableView(
            sort=pages.valid_sort(query.get("sort", "state")),
            descending=query.get("order") == "desc",
            text=query.get("q", "").strip(),
            state=query.get("state", "") if query.get("state") in data.STATES else "",
            page=_positive(query.get("page")),
            per_page=0 if query.get("rows") == "all" else data.PAGE_ROWS,
        )
        board = await data.dashboard(self._store, self._config(), now, view)
        return html(200, pages.dashboard_page(board, view, now))

    async def feed(self, name: str) -> Response:
        """/feeds/NAME: one feed's history."""
        config = self._config()
        state = await self._store.feed_state(name)
        if config.feed(name) is None and state.last_poll is None:
            return not_found(f"No feed is named {name!r}.")
        today = day_of(self._clock())
        first = today - timedelta(days=HISTORY_DAYS - 1)
        spark = await self._store.archived_days_by_feed(today - timedelta(days=data.SPARK_DAYS - 1), [name])
        summaries = await self._store.feed_summaries()
        misses = await self._store.all_selector_misses()
        rows = data.feed_rows(config, [state], summaries, misses)
        [only] = data.with_sparks([r for r in rows if r.name == name], spark, today)
        text = pages.feed_page(
            only,
            await self._store.poll_log(name, FEED_POLLS_SHOWN),
            await self._store.days(name, first),
            first,
            today,
            [entry for entry in await self._store.pending(name) if entry.attempts > 0],
            await self._store.search_articles(ArticleQuery(feed=name, limit=FEED_ARTICLES_SHOWN)),
        )
        return html(200, text)

    async def articles(self, query: Mapping[str, str]) -> Response:
        """/articles?q=&feed=&since=&page=: the archive, newest first, a page at a time."""
        params = {key: query[key].strip() for key in ("q", "feed", "since") if query.get(key, "").strip()}
        page = _positive(query.get("page"))
        since, error = _since(params.get("since"))
        hits = await self._store.search_articles(
            ArticleQuery(
                text=params.get("q"),
                feed=params.get("feed"),
                since=since,
                limit=PAGE_SIZE + 1,
                offset=(page - 1) * PAGE_SIZE,
            )
        )
        return html(200, pages.articles_page(hits[:PAGE_SIZE], params, page, len(hits) > PAGE_SIZE, error))

    async def _hit(self, article_id: str) -> ArticleHit | None:
        hit = await self._store.indexed_article(article_id)
        if hit is not None:
            return hit
        # Archived before the index existed (and not reindexed since): the file is still there to show.
        path = await self._store.article_path(article_id)
        return None if path is None else ArticleHit(article_id, None, article_id, path, None, 0.0, "")

    async def article(self, article_id: str) -> Response:
        """/articles/ID: the archived article, its front matter as a header and its body as archived."""
        hit = await self._hit(article_id)
        if hit is None:
            return not_found(f"No article has the id {article_id!r}.")
        text = self._read(hit.path)
        if text is None:
            return not_found(f"The file of article {article_id} ({hit.path}) is gone from the archive.")
        front, body = split_file(text)
        entries = await self._store.entries_of(article_id)
        original = next((entry.link for entry in entries if entry.link), None)
        title = front.get("title")
        if isinstance(title, str) and title:
            hit = ArticleHit(hit.article_id, hit.feed, title, hit.path, hit.published, hit.archived_at, hit.summary)
        return html(200, pages.article_page(hit, front, body, original), article=True)

    async def article_file(self, article_id: str) -> Response:
        """/articles/ID/file: the archive file itself, as text."""
        hit = await self._hit(article_id)
        text = self._read(hit.path) if hit is not None else None
        if text is None:
            return not_found(f"No archived file for article {article_id!r}.")
        return Response(200, "text/plain; charset=utf-8", text.encode("utf-8"))

    def _read(self, relative: str) -> str | None:
        root = self._config().archive.resolve()
        path = (root / relative).resolve()
        if not path.is_relative_to(root):  # the state names a path outside the archive: never read it
            log.warning("article path outside the archive", extra={"path": relative})
            return None
        try:
            return path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None


def split_file(text: str) -> tuple[dict[str, Any], str]:
    """An archive file's front matter (as YAML reads it; {} when it cannot) and its body's HTML."""
    start = text.find(_BODY_START)
    if not text.startswith("---\n") or start < 0:
        return {}, text
    body = text[start + len(_BODY_START) :]
    body = body[: -len(_BODY_END)] if body.endswith(_BODY_END) else body
    try:
        front = yaml.safe_load(text[4 : start + 1])
    except yaml.YAMLError:
        front = None
    return ({str(k): v for k, v in front.items()} if isinstance(front, dict) else {}), body


def _positive(text: str | None) -> int:
    return int(text) if text is not None and text.isdigit() and 0 < int(text) < 1_000_000 else 1


def _since(text: str | None) -> tuple[float | None, str | None]:
    if not text:
        return None, None
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC).timestamp(), None
    except ValueError:
        return None, f"since: {text!r} is not a date like 2024-05-01; showing every date"


def not_found(text: str) -> Response:
    """A 404 page."""
    return html(404, pages.message_page("Not found", text))


_STATIC = {"console.css": "text/css; charset=utf-8", "article.css": "text/css; charset=utf-8"}


def static(name: str) -> Response:
    """A file of the package's static folder (the style sheets)."""
    if name not in _STATIC:
        return not_found("There is no such file.")
    content = resources.files("crawler.console").joinpath("static", name).read_bytes()
    return Response(200, _STATIC[name], content)
